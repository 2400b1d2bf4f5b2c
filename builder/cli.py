"""The command line. The one place that turns errors into exit codes and one-line messages.

Exit codes: 0 success (including nothing to change), 1 an operation failed, 2 bad input or usage,
3 refused because it would destroy data, 130 interrupted (Ctrl-C).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Sequence

from builder.errors import (
    EXIT_BAD_INPUT,
    EXIT_BROKEN_PIPE,
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_OK,
    BuilderError,
    UsageError,
)

PROG = "python -m builder"

DESCRIPTION = """\
Build one CloudFormation stack per environment suffix (pr123, synth-12345, staging, prod, ...):
an S3 data bucket, a DynamoDB table, an SNS alert topic and CloudWatch alarms.

examples:
  python -m builder synth --suffix pr123            # writes out/app-pr123.*
  python -m builder lint                            # cfn-lint every template in out/
  python -m builder synth --suffix prod --config environments.toml --set bucket_lifecycle_days=90
"""


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so errors stay one line."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(self.prog, f"{message}; see `{self.prog} --help`")


def common_options() -> argparse.ArgumentParser:
    """--suffix, --config, --set, --region and --debug, shared by every environment command."""
    common = _Parser(add_help=False)
    group = common.add_argument_group("environment options")
    group.add_argument("--suffix", action="append", metavar="S",
                       help="environment suffix; repeat for several (default: $ENVIRONMENT_SUFFIX, else dev)")
    group.add_argument("--config", metavar="PATH",
                       help="config file (default: environments.toml in the working directory, if present)")
    group.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                       help="override a setting, highest precedence; tags: --set tags.Team=data")
    group.add_argument("--region", metavar="R",
                       help="stack region (default: $AWS_REGION, else the AWS_REGION file, else us-east-1)")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for errors")
    return common


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    common = common_options()

    synth = commands.add_parser(
        "synth", parents=[common], help="write templates, parameters and tags to out/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Write <stack>.template.json, .parameters.json and .tags.json for each suffix (and its "
                    "replica stack when replication is on), then print the aws cloudformation deploy command "
                    "for each. Needs no credentials and no network.\n\nexample:\n"
                    "  python -m builder synth --suffix pr123 --suffix pr124 --out out")
    synth.add_argument("--out", default="out", metavar="DIR", help="output folder (default: out)")
    synth.add_argument("--format", choices=("json", "yaml"), default="json", help="template format (default: json)")

    lint = commands.add_parser(
        "lint", help="cfn-lint templates; fails on any finding, informational included",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run cfn-lint (its Python API) on templates, informational findings included, plus the "
                    "package's cost rules (W9xxx); exit 0 only when there are none. Templates that differ "
                    "only in their suffix and parameter defaults are linted once.\n\nexamples:\n  python -m builder lint\n"
                    "  python -m builder lint out/app-pr123.template.json")
    lint.add_argument("paths", nargs="*", metavar="PATH", help="templates or folders (default: out)")
    lint.add_argument("--region", action="append", metavar="R", dest="regions",
                      help="regions to check resource availability in; repeatable (default: us-east-1)")
    lint.add_argument("--no-cache", action="store_true",
                      help="run cfn-lint on every file, not once per distinct template structure")
    lint.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
    synth.set_defaults(func=cmd_synth)
    lint.set_defaults(func=cmd_lint)
    # Commands that live in their own modules. Each module's add_commands(commands, common) adds its
    # subparsers with set_defaults(func=...); it must not import boto3 or cfn-lint at import time.
    for module in EXTENSIONS:
        importlib.import_module(module).add_commands(commands, common)
    return parser


def configs_from_args(args: argparse.Namespace):
    """The validated configs named by the common environment options."""
    from builder.environment import resolve_configs

    return resolve_configs(suffixes=args.suffix, config_path=args.config, sets=args.sets, region=args.region)


def cmd_synth(args: argparse.Namespace) -> int:
    from builder.synth import all_stacks, deploy_command, file_contents, write_files_reporting

    stacks = all_stacks(configs_from_args(args), args.format)
    contents: dict[str, str] = {}
    for stack in stacks:
        contents.update(file_contents(stack))
    for path, changed in write_files_reporting(contents, Path(args.out)):
        print(f"{'wrote' if changed else 'unchanged'} {path}")
    print("\ndeploy with:")
    for stack in stacks:
        print(f"  {deploy_command(stack, args.out)}")
    return EXIT_OK


def cmd_lint(args: argparse.Namespace) -> int:
    from builder.lint import lint_templates, templates_in

    files = templates_in(args.paths, "out")
    result = lint_templates(files, args.regions or ["us-east-1"], cache=not args.no_cache)
    for finding in result.findings:
        print(finding + "\n")
    if result.findings:
        print(f"{len(result.findings)} finding(s) in {len(files)} template(s)", file=sys.stderr)
        return EXIT_FAILED
    print(f"{len(files)} template(s) linted ({result.runs} distinct structure(s)): no findings")
    return EXIT_OK


EXTENSIONS: tuple[str, ...] = ("builder.cost_cli", "builder.deploy_cli")


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:  # --help and --version print, then exit 0
            return int(exc.code or 0)
        if not args.command:
            build_parser().print_help()
            return EXIT_BAD_INPUT
        return args.func(args)
    except BuilderError as exc:
        if debug:
            raise
        for line in exc.lines():
            print(line, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        if debug:
            raise
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `python -m builder status | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as exc:  # the boundary: never a traceback without --debug
        if debug:
            raise
        print(f"error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)", file=sys.stderr)
        return EXIT_FAILED


def main_entry() -> None:
    """Console script `builder`."""
    sys.exit(main())
