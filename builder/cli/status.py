"""`status`: status, last change, Environment tag and outputs of stacks."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from builder.cli.common import (
    Subparsers,
    add_api_rate_option,
    add_command,
    add_output_option,
    aws_configs_from_args,
    regions_to_search,
    say_config,
)
from builder.errors import EXIT_OK, UsageError

if TYPE_CHECKING:
    from builder.environment import EnvironmentConfig

DESCRIPTION = """\
Show each stack's status, last change, Environment tag and outputs: for the given suffixes, or
with --all every stack named <stack_prefix>-* with builder's tags in the region and in every
replication_region the config file names. Only stacks with the tag builder:managed-by=builder are
builder's: --all lists a look-alike (builder's name and Environment and CostCenter tags, not that
tag) as keep, not made by builder, and does not price it.

examples:
  python -m builder status --suffix pr123
  python -m builder status --all --output json
"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "status", "status, last change, Environment tag and outputs of stacks",
                         DESCRIPTION, [common])
    add_output_option(parser, "text, or json: one object per stack (default: text)")
    parser.add_argument("--all", action="store_true",
                        help="every stack named <stack_prefix>-* (the fleet: idle time, ttl, idle cost)")
    add_api_rate_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.cli.views.status import as_record, status_lines
    from builder.ops.status import stack_status
    from builder.stack.poller import Pollers
    from builder.synth import stacks_for

    if args.all and args.suffix:  # the suffixes were ignored: the whole fleet was listed instead, as diff refuses
        raise UsageError("status", "--all lists every stack of the fleet; give --all or --suffix, not both")
    configs = aws_configs_from_args(args, say=not args.all)  # --all: said once the whole file is checked
    if args.all:
        return fleet_view(args, configs)
    with Pollers(args.api_rate) as pollers:
        records = [as_record(found) for found in stack_status([stacks_for(c) for c in configs], pollers)]
    for record in records:
        if args.output == "json":
            print(json.dumps(record))
        else:
            print("\n".join(status_lines(record)))
    if not records and args.output == "text":
        print(f"no stacks named {configs[0].stack_prefix}-*")
    return EXIT_OK


def fleet_view(args: argparse.Namespace, configs: Sequence[EnvironmentConfig]) -> int:
    """--all: every stack of builder's with its idle time, ttl and idle cost, then the fleet's total."""
    from builder.cli.views.fleet import fleet_json, fleet_text
    from builder.ops.fleet import fleet_rows
    from builder.stack.poller import Pollers

    prefix = configs[0].stack_prefix
    regions = regions_to_search(args, configs)
    say_config(args, configs)
    with Pollers(args.api_rate) as pollers:
        plan = fleet_rows(prefix, regions, pollers, policies=True)
    if not plan.rows and args.output == "text":
        print(f"no stacks named {prefix}-* in {', '.join(regions)}")
    else:
        print((fleet_json if args.output == "json" else fleet_text)(plan), end="")
    return EXIT_OK
