"""`destroy`: delete stacks (primary, then replica), emptying their buckets unless they are kept."""

from __future__ import annotations

import argparse

from builder.cli.common import (
    Subparsers,
    add_command,
    add_output_option,
    add_pool_options,
    add_shard_option,
    confirm,
    nothing_in_shard,
    reporter_for,
    stack_groups,
)
from builder.errors import EXIT_OK, UsageError

DESCRIPTION = """\
Delete each environment's primary stack, then its replica stack. The stack's buckets are emptied
first (every object version and delete marker) unless the deployed template keeps them
(retain_data=true: the bucket and the table stay). Asks for confirmation on a terminal; without one,
--yes is required. A stack that does not exist is reported and skipped (exit 0).

examples:
  python -m builder destroy --suffix pr123
  python -m builder destroy --suffix pr123 --suffix pr124 --yes
"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "destroy", "delete stacks (primary, then replica), emptying their buckets",
                         DESCRIPTION, [common])
    add_output_option(parser)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--out", default="out", metavar="DIR",
                        help="where deploy wrote <stack>.outputs.json, removed with the stack (default: out)")
    add_pool_options(parser)
    add_shard_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    groups = stack_groups(args, reverse=True)
    if nothing_in_shard(args, groups):
        return EXIT_OK
    if not args.yes:
        stacks = [stack for group in groups for stack in group]
        listing = ", ".join(f"{s.name} ({s.region})" for s in stacks)
        data = [s.name for s in stacks if not s.config.retain_data]
        warning = " and the data in their buckets and tables" if data else ""
        refusal = UsageError("destroy", f"would delete {listing}; no terminal to confirm on, so pass --yes")
        if not confirm(f"Delete {listing}{warning}?", refusal):
            print("nothing deleted")
            return EXIT_OK
    from builder.ops.destroy import DestroyOptions, destroy_stack
    from builder.ops.pool import finish, run_all
    from builder.stack.poller import Pollers
    from builder.stack.watch import watchers

    reporter = reporter_for(args, groups)
    options = DestroyOptions(out_dir=args.out, wait_for_others=args.wait_for_others)
    with Pollers(args.api_rate) as pollers:
        watch = watchers(pollers)
        outcomes = run_all(groups, lambda stack: destroy_stack(stack.name, stack.region, options, reporter, watch,
                                                               role_arn=stack.config.cloudformation_role_arn),
                           args.concurrency, pollers)
    finish(outcomes, reporter, "destroy", summary=len(groups) > 1)
    return EXIT_OK
