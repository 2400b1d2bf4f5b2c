"""`destroy`: delete stacks (primary, then replica), emptying their buckets unless they are kept."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from builder.cli.common import (
    Subparsers,
    add_command,
    add_output_option,
    add_pool_options,
    add_shard_option,
    aws_configs_from_args,
    confirm,
    finish,
    folder,
    nothing_in_shard,
    reporter_for,
)
from builder.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from builder.ops.destroy import EnvironmentStacks
    from builder.ops.pool import Outcome

DESCRIPTION = """\
Delete each environment's primary stack, then its replica stack. Which stacks, and where, comes
from what is deployed, not from today's config: the replica is deleted in the region the deployed
primary names (also when the config now has replication off, or there is no config), and a replica
whose primary is already gone is found in the replication regions the config names, by its own tag
builder:primary-region. A replica that belongs to the same suffix's primary in another region is
left alone, and a stack without the tag builder:managed-by=builder is refused (exit 3): builder
deletes only what it made (deploy an earlier builder's stack once to adopt it).

The stack's buckets are emptied first (every object version and delete marker) unless the deployed
template keeps them (retain_data=true: the bucket and the table stay). Asks for confirmation on a
terminal; without one, --yes is required. A stack that does not exist is reported and skipped (exit 0).
A stack stuck in DELETE_FAILED: --force-delete deletes it with DeletionMode FORCE_DELETE_STACK and
leaves the resources CloudFormation could not delete. After any delete, a ledger lists what stays
(kept by DeletionPolicy, or left by a force delete), each with the AWS CLI command that removes it.

examples:
  python -m builder destroy --suffix pr123
  python -m builder destroy --suffix pr123 --suffix pr124 --yes
"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "destroy", "delete stacks (primary, then replica), emptying their buckets",
                         DESCRIPTION, [common])
    add_output_option(parser)
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    parser.add_argument("--force-delete", action="store_true",
                        help="delete a stack in DELETE_FAILED with DeletionMode FORCE_DELETE_STACK, leaving what "
                             "CloudFormation could not delete behind (listed first, with how to remove each)")
    parser.add_argument("--out", default="out", metavar="DIR", type=folder,
                        help="where deploy wrote <stack>.outputs.json, removed with the stack (default: out)")
    add_pool_options(parser)
    add_shard_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    configs = aws_configs_from_args(args)
    if nothing_in_shard(args, configs):
        return EXIT_OK
    from builder.cli.common import ledger_printer
    from builder.cli.views.destroy import found_by_text, left_alone_text
    from builder.environment import regions_named
    from builder.ops.destroy import DestroyOptions, describer, destroy_stack, environment_stacks
    from builder.ops.pool import run_all
    from builder.resources import schema
    from builder.stack.client import unknown_region_problem
    from builder.stack.poller import Pollers
    from builder.stack.watch import watchers

    config_regions = regions_named(config_path=args.config, schema=schema(), region_check=unknown_region_problem)
    with Pollers(args.api_rate) as pollers:
        try:  # what is deployed decides which stacks go
            found = [environment_stacks(config, config_regions, describer(pollers)) for config in configs]
        except KeyboardInterrupt:  # only the main thread hears it: stop every wait of the run too
            pollers.interrupt()
            raise
        reporter = reporter_for(args, [f.targets for f in found])
        for environment in found:
            for alone in environment.left_alone:
                reporter.line(left_alone_text(alone))
        if not args.yes:
            listing = ", ".join(f"{t.name} ({t.region})" for f in found for t in f.targets)
            data = [c.suffix for c in configs if not c.retain_data]
            warning = " and the data in their buckets and tables" if data else ""
            refusal = UsageError("destroy", f"would delete {listing}; no terminal to confirm on, so pass --yes")
            if not confirm(f"Delete {listing}{warning}?", refusal):
                print("nothing deleted")
                return EXIT_OK

        options = DestroyOptions(out_dir=args.out, wait_for_others=args.wait_for_others,
                                 force_delete=args.force_delete, on_ledger=ledger_printer(reporter))
        role_of = {(t.name, t.region): config.cloudformation_role_arn
                   for config, environment in zip(configs, found, strict=True) for t in environment.targets}
        for environment in found:
            for target in environment.targets[1:]:
                reporter.line(f"{target.name} in {target.region} is {found_by_text(environment.targets[0], target)}")
        watch = watchers(pollers)
        suffix_of = {(t.name, t.region): f.suffix for f in found for t in f.targets}
        outcomes = run_all([list(f.targets) for f in found],
                           lambda target: destroy_stack(target.name, target.region,
                                                        suffix_of[target.name, target.region], options, reporter, watch,
                                                        role_arn=role_of[target.name, target.region],
                                                        known=target.stack if args.yes else None),
                           args.concurrency, pollers)
    for line in deleted_lines(found, outcomes):
        reporter.line(line)
    finish(outcomes, reporter, "destroy", summary=len(found) > 1)
    return EXIT_OK


def deleted_lines(found: Sequence[EnvironmentStacks], outcomes: Sequence[Outcome]) -> list[str]:
    """One line per environment of which something was deleted: what, and where."""
    from builder.ops.destroy import DestroyResult

    gone = {(o.stack, o.region) for o in outcomes if o.result is DestroyResult.DELETED}
    lines = []
    for environment in found:
        deleted = [f"{t.name} in {t.region}" for t in environment.targets if (t.name, t.region) in gone]
        if deleted:
            lines.append(f"destroyed {environment.suffix}: deleted {' and '.join(deleted)}")
    return lines
