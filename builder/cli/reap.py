"""`reap`: list builder's stacks with their idle time, ttl and idle cost, and delete the expired ones."""

from __future__ import annotations

import argparse
import sys

from builder.cli.common import (
    REGION_CHAIN,
    Once,
    Subparsers,
    add_api_rate_option,
    add_command,
    add_output_option,
    add_shard_option,
    config_file,
    positive_int,
)
from builder.durations import DurationError, parse_duration
from builder.errors import EXIT_FAILED, EXIT_OK, UsageError

DESCRIPTION = """\
Look at every stack named <stack_prefix>-* with builder's tags, in the region (and the replication
regions the config names): its status, idle time (since its last change), ttl (setting ttl, the
stack tag builder:ttl) and what it costs idle per month, priced from its own deployed template.
Only stacks that carry the tag builder:managed-by=builder are builder's: a look-alike (the name and
the Environment and CostCenter tags, not that tag) is listed as keep and never deleted.

A stack with a ttl is reapable once it has been idle longer than its ttl, and only then: its ttl
wins over --older-than. --older-than makes stacks without a ttl reapable once idle longer than it.
--max-age is a hard cap over both: any stack idle longer is reapable, whatever its ttl. Never
reapable: not made by builder, termination protection on (setting termination_protection), an
operation in progress, a state that needs a person. A replica goes with the primary its own tag
builder:primary-region names, after it.

Without --yes nothing is deleted: every stack is listed with its verdict, then the fleet's idle cost
and what reaping would save. With --yes the reapable stacks are deleted as destroy does (buckets
emptied first; with retain_data the bucket and table stay), each looked at again right before.
Exit 0 when every delete succeeded (or nothing was reapable), 1 when any failed, 2 on bad input,
130 after Ctrl-C (each stack in flight says where it was left; CloudFormation carries on).

examples:
  python -m builder reap                                  # list; deletes nothing
  python -m builder reap --yes --concurrency 8
  python -m builder reap --older-than 14d --region us-east-1 --region eu-west-1 --output json
  python -m builder reap --max-age 30d --yes              # nothing idles past 30 days, ttl or not
"""


def duration(text: str) -> int:
    try:
        return parse_duration(text)
    except DurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "reap", "list idle stacks and their idle cost; delete expired ones with --yes",
                         DESCRIPTION)
    parser.add_argument("--config", metavar="PATH", action=Once, type=config_file,
                        help="config file (default: environments.toml in the working directory, if present)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                        help="override a setting, such as stack_prefix")
    parser.add_argument("--region", action="append", metavar="R", dest="regions",
                        help=f"a region to look in; repeat for several (default: {REGION_CHAIN}; the config's "
                             f"replication regions are always looked in)")
    parser.add_argument("--older-than", type=duration, metavar="DURATION",
                        help="also reap stacks WITHOUT a ttl idle longer than this, such as 14d (a stack's own "
                             "ttl wins)")
    parser.add_argument("--max-age", type=duration, metavar="DURATION",
                        help="reap every stack idle longer than this, whatever its ttl: a hard cap over ttls "
                             "(default: none)")
    parser.add_argument("--yes", action="store_true", help="delete the reapable stacks (default: only list)")
    parser.add_argument("--force-delete", action="store_true",
                        help="with --yes: delete a stack in DELETE_FAILED with DeletionMode FORCE_DELETE_STACK, "
                             "leaving what CloudFormation could not delete behind (listed, with how to remove it)")
    parser.add_argument("--concurrency", type=positive_int, default=4, metavar="N",
                        help="stacks priced or deleted at once (default: 4)")
    add_shard_option(parser)
    add_api_rate_option(parser)
    add_output_option(parser, "text, or json: one object per stack, then a summary object (default: text)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
    return parser


def fleet_scope(args: argparse.Namespace) -> tuple[str, list[str]]:
    """(stack_prefix, regions): the given regions (else the resolved one), their configs' replication
    regions, and every replication_region the config file names, where replicas live."""
    from builder.cli.common import regions_to_search, say_config
    from builder.environment import resolve_configs
    from builder.resources import schema
    from builder.stack.client import unknown_region_problem

    configs = [resolve_configs(config_path=args.config, sets=args.sets, region=region, schema=schema(),
                               region_check=unknown_region_problem)[0] for region in args.regions or [None]]
    regions = regions_to_search(args, configs)
    say_config(args, configs)  # once every table of the file is checked
    return configs[0].stack_prefix, regions


def run(args: argparse.Namespace) -> int:
    if args.force_delete and not args.yes:
        raise UsageError("reap", "--force-delete deletes stacks, so it needs --yes (without it reap only lists)")
    prefix, regions = fleet_scope(args)
    from builder.cli.common import ledger_printer
    from builder.cli.views import views
    from builder.cli.views.fleet import failure_text, reap_json, reap_text
    from builder.ops.destroy import DestroyOptions
    from builder.ops.fleet import destroyer, fleet_plan
    from builder.ops.pool import Outcome
    from builder.ops.reap import AgeLimits, reap
    from builder.report import Reporter
    from builder.stack.poller import Pollers
    from builder.stack.watch import watchers

    owns = args.shard.owns if args.shard is not None else None
    limits = AgeLimits(older_than=args.older_than, max_age=args.max_age)
    outcomes: tuple[Outcome, ...] = ()
    with Pollers(args.api_rate) as pollers:  # every CloudFormation read of the run from one budget per region
        try:
            plan = fleet_plan(prefix, regions, limits, args.concurrency, pollers, owns=owns)
        except KeyboardInterrupt:  # only the main thread hears it: stop every wait of the run too
            pollers.interrupt()
            raise
        if args.yes and plan.reapable:
            reporter = Reporter(stream=sys.stderr, mode="text", prefix=True, views=views())  # stdout holds the rows
            # the ledger: with --output json one record on stdout beside the rows, else lines with the progress
            ledger_to = Reporter(mode="json", views=views()) if args.output == "json" else reporter
            options = DestroyOptions(force_delete=args.force_delete, on_ledger=ledger_printer(ledger_to))
            destroy_one = destroyer(options, reporter, limits, watchers(pollers))
            outcomes = reap(plan, destroy_one, args.concurrency, pollers)
    if not plan.rows and args.output == "text":
        print(f"no stacks of builder named {prefix}-* in {', '.join(regions)}; nothing to reap")
    else:
        sys.stdout.write((reap_json if args.output == "json" else reap_text)(plan, outcomes))
    failed = [o for o in outcomes if failure_text(o) is not None]
    for outcome in failed:
        print(f"error: {outcome.stack} ({outcome.region}): not deleted: {failure_text(outcome)}", file=sys.stderr)
    return max((o.error.exit_code if o.error else EXIT_FAILED for o in failed), default=EXIT_OK)
