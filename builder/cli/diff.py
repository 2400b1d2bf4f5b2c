"""`diff`: show the change set deploy would execute, then delete it."""

from __future__ import annotations

import argparse

from builder.cli.common import (
    Subparsers,
    add_artifact_bucket_option,
    add_command,
    add_output_option,
    add_pool_options,
    add_shard_option,
    nothing_in_shard,
    pool_options,
    reporter_for,
    stack_groups,
)
from builder.errors import EXIT_FAILED, EXIT_OK

DESCRIPTION = """\
Make the change set deploy would make, print it, delete it. For a stack that does not exist, list
what deploy would create. Exit 0 either way, or with --exit-code 1 when there are changes.

examples:
  python -m builder diff --suffix pr123
  python -m builder diff --suffix prod --exit-code   # CI: fails when prod differs from the config
"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "diff", "show the change set deploy would execute", DESCRIPTION, [common])
    add_output_option(parser)
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when there are changes (like git diff)")
    add_artifact_bucket_option(parser)
    add_pool_options(parser)
    add_shard_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.ops.diff import diff_stack
    from builder.ops.pool import Result, finish, run_all

    groups = stack_groups(args)
    if nothing_in_shard(args, groups):
        return EXIT_OK
    reporter = reporter_for(args, groups)
    options = pool_options(args)
    outcomes = run_all(groups, lambda stack: diff_stack(stack, options, reporter), options.concurrency)
    finish(outcomes, reporter, "diff", summary=len(groups) > 1)
    changed = any(o.result is Result.CHANGES for o in outcomes)
    return EXIT_FAILED if (args.exit_code and changed) else EXIT_OK
