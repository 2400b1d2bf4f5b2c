"""`lint`: what cfn-lint reports on templates, informational findings and the package's cost rules included."""

from __future__ import annotations

import argparse
import sys

from builder.cli.common import Subparsers, add_command
from builder.errors import EXIT_FAILED, EXIT_OK

DESCRIPTION = """\
Report what `cfn-lint --include-checks I --append-rules builder/rules FILES` reports from this folder
(a .cfnlintrc here applies as it does to cfn-lint): informational findings included, plus the package's
cost rules (W9xxx), in cfn-lint's format; exit 1 when cfn-lint would exit non-zero (on any finding),
else 0. Every file is linted on its own: cfn-lint loads once, then the files are shared among worker
processes forked from it, one per CPU.

examples:
  python -m builder lint
  python -m builder lint out/app-pr123.template.json"""


def template_path(text: str) -> str:
    """A PATH: an empty one (`lint "$TEMPLATE"` with the variable unset) would lint every template below the
    working folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a template or a folder that holds them, such as out")
    return text


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "lint", "cfn-lint templates; fails on any finding, informational included",
                         DESCRIPTION)
    parser.add_argument("paths", nargs="*", metavar="PATH", type=template_path,
                        help="templates or folders (default: out)")
    parser.add_argument("--region", action="append", metavar="R", dest="regions",
                        help="regions to check resource availability in; repeatable (default: cfn-lint's: the "
                             ".cfnlintrc's regions, else AWS_REGION, AWS_DEFAULT_REGION or us-east-1)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.lint import lint_templates, templates_in

    files = templates_in(args.paths, "out")
    result = lint_templates(files, args.regions or ())
    if result.output:
        print(result.output)  # cfn-lint's own formatter, as `cfn-lint` prints it
    if result.exit_code:
        print(f"{len(result.findings)} finding(s) in {len(result.files)} template(s)", file=sys.stderr)
        return EXIT_FAILED
    print(f"{len(result.files)} template(s) linted: no findings")
    return EXIT_OK
