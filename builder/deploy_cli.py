"""The deploy, diff, destroy and status commands.

Importing this module imports neither boto3 nor cfn-lint: `python -m builder synth` stays free of
them. The commands import builder.deploy (and so boto3) when they run.
"""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from builder.errors import EXIT_FAILED, EXIT_OK, UsageError

DEPLOY_HELP = """\
Synthesize each stack in memory (the same bytes synth writes), make a change set with every parameter
value passed explicitly, print it, execute it and stream the stack events until the stack settles;
then print the outputs and write them to <out>/<stack>.outputs.json. Nothing to change: says so,
exit 0. A change set that would replace or delete the bucket or the table is not executed (exit 3)
unless --allow-replacement is given. The replica stack (replication on) deploys before the primary;
several suffixes deploy concurrently.

Credentials, region and endpoint come from boto3's standard configuration (AWS_PROFILE,
AWS_ACCESS_KEY_ID, ..., AWS_ENDPOINT_URL for an emulator); the stack region from --region,
AWS_REGION, an AWS_REGION file, else us-east-1.

exit codes: 0 deployed or nothing to change, 1 failed, 2 bad input, 3 refused by the data guard,
130 interrupted (Ctrl-C: CloudFormation carries on; deploy again to resume)

examples:
  python -m builder deploy --suffix pr123
  python -m builder deploy --suffix pr123 --suffix pr124 --concurrency 2 --output json
  python -m builder deploy --suffix prod --allow-replacement   # accept a new, empty table or bucket
"""

DIFF_HELP = """\
Make the change set deploy would make, print it, delete it. For a stack that does not exist, list
what deploy would create. Exit 0 either way, or with --exit-code 1 when there are changes.

examples:
  python -m builder diff --suffix pr123
  python -m builder diff --suffix prod --exit-code   # CI: fails when prod differs from the config
"""

DESTROY_HELP = """\
Delete each environment's primary stack, then its replica stack. The stack's buckets are emptied
first (every object version and delete marker) unless the deployed template keeps them
(retain_data=true: the bucket and the table stay). Asks for confirmation on a terminal; without one,
--yes is required. A stack that does not exist is reported and skipped (exit 0).

examples:
  python -m builder destroy --suffix pr123
  python -m builder destroy --suffix pr123 --suffix pr124 --yes
"""

STATUS_HELP = """\
Show each stack's status, last change, Environment tag and outputs: for the given suffixes, or
with --all every stack named <stack_prefix>-* in the region (and the replication region).

examples:
  python -m builder status --suffix pr123
  python -m builder status --all --output json
"""


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return value


def add_commands(commands, common: argparse.ArgumentParser) -> None:
    def command(name: str, help_text: str, description: str, func: Callable) -> argparse.ArgumentParser:
        parser = commands.add_parser(name, parents=[common], help=help_text, description=description,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--output", choices=("text", "json"), default="text",
                            help="text (a live line on a terminal, a line per event otherwise) or json: one "
                                 "object per line (default: text)")
        parser.set_defaults(func=func)
        return parser

    def changes_stacks(parser: argparse.ArgumentParser) -> None:
        """Options of every command that changes stacks (or plans to): a pool, and waiting for others."""
        parser.add_argument("--concurrency", type=_positive, default=4, metavar="N",
                            help="environments handled at once (default: 4)")
        parser.add_argument("--no-wait-for-others", dest="wait_for_others", action="store_false",
                            help="fail instead of waiting when another operation runs on a stack")

    def uploads_templates(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--artifact-bucket", metavar="BUCKET",
                            help="S3 bucket for templates over CloudFormation's 51,200-byte inline limit")

    deploy = command("deploy", "deploy stacks through change sets, streaming events", DEPLOY_HELP, cmd_deploy)
    deploy.add_argument("--out", default="out", metavar="DIR", help="where <stack>.outputs.json go (default: out)")
    deploy.add_argument("--allow-replacement", action="store_true",
                        help="execute a change set even when it replaces or deletes the bucket or the table")
    uploads_templates(deploy)
    changes_stacks(deploy)

    diff = command("diff", "show the change set deploy would execute", DIFF_HELP, cmd_diff)
    diff.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes (like git diff)")
    uploads_templates(diff)
    changes_stacks(diff)

    destroy = command("destroy", "delete stacks (primary, then replica), emptying their buckets", DESTROY_HELP,
                      cmd_destroy)
    destroy.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    changes_stacks(destroy)

    status = command("status", "status, last change, Environment tag and outputs of stacks", STATUS_HELP,
                     cmd_status)
    status.add_argument("--all", action="store_true", help="every stack named <stack_prefix>-*")


def _groups(args: argparse.Namespace, reverse: bool = False):
    from builder.cli import configs_from_args
    from builder.synth import stacks_for

    groups = [stacks_for(config) for config in configs_from_args(args)]
    return [group[::-1] for group in groups] if reverse else groups


def _reporter(args: argparse.Namespace, groups):
    from builder.report import Reporter

    return Reporter(mode=args.output, prefix=sum(len(g) for g in groups) > 1)


def _options(args: argparse.Namespace):
    from builder.deploy import Options

    return Options(out_dir=getattr(args, "out", "out"), allow_replacement=getattr(args, "allow_replacement", False),
                   wait_for_others=args.wait_for_others, artifact_bucket=getattr(args, "artifact_bucket", None),
                   concurrency=args.concurrency)


def _run(args: argparse.Namespace, command: str, action_name: str, reverse: bool = False):
    from builder import deploy, destroy

    groups = _groups(args, reverse)
    reporter = _reporter(args, groups)
    options = _options(args)
    action = {"deploy": deploy.deploy_stack, "diff": deploy.diff_stack, "destroy": destroy.destroy_stack}[action_name]
    outcomes = deploy.run_all(groups, lambda stack: action(stack, options, reporter), reporter, options.concurrency)
    deploy.finish(outcomes, reporter, command, summary=len(groups) > 1)
    return outcomes


def cmd_deploy(args: argparse.Namespace) -> int:
    _run(args, "deploy", "deploy")
    return EXIT_OK


def cmd_diff(args: argparse.Namespace) -> int:
    outcomes = _run(args, "diff", "diff")
    changed = any(o.result == "changes" for o in outcomes)
    return EXIT_FAILED if (args.exit_code and changed) else EXIT_OK


def cmd_destroy(args: argparse.Namespace) -> int:
    groups = _groups(args, reverse=True)
    if not args.yes:
        stacks = [stack for group in groups for stack in group]
        listing = ", ".join(f"{s.name} ({s.region})" for s in stacks)
        if not sys.stdin.isatty():
            raise UsageError("destroy", f"would delete {listing}; no terminal to confirm on, so pass --yes")
        data = [s.name for s in stacks if not s.config.retain_data]
        warning = " and the data in their buckets and tables" if data else ""
        answer = input(f"Delete {listing}{warning}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("nothing deleted")
            return EXIT_OK
    _run(args, "destroy", "destroy", reverse=True)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    import json

    from builder import destroy
    from builder.cli import configs_from_args
    from builder.synth import stacks_for

    configs = configs_from_args(args)
    if args.all:
        regions = [c.region for c in configs] + [c.replication_region for c in configs if c.replication_region]
        records = destroy.stacks_with_prefix(configs[0].stack_prefix, regions)
    else:
        records = destroy.stack_status([s for c in configs for s in stacks_for(c)])
    for record in records:
        if args.output == "json":
            print(json.dumps(record))
        else:
            print("\n".join(destroy.status_lines(record)))
    if not records and args.output == "text":
        print(f"no stacks named {configs[0].stack_prefix}-*")
    return EXIT_OK
