"""`diff`: show the change set deploy would execute, then delete it."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from builder.cli.common import (
    Subparsers,
    add_artifact_bucket_option,
    add_command,
    add_output_option,
    add_pool_options,
    add_shard_option,
    finish,
    nothing_in_shard,
    regions_to_search,
    stack_groups,
    usd,
)
from builder.errors import EXIT_FAILED, EXIT_OK, EXIT_REFUSED, OverBudgetError, UsageError

if TYPE_CHECKING:
    from builder.ops.review import StackReview

DESCRIPTION = """\
Make the change set deploy would make, print it, delete it. For a stack that does not exist, list
what deploy would create. For each change: what caused it (the property, the parameter, a change in
the template) and, where CloudFormation says, the old and new value; the parameter values and tags
that change; the monthly cost before (the deployed template with its deployed values) and after.

The data guard's findings: every change deploy would refuse (exit 3) unless --allow-data-loss, one
line each (the resource, what changes, what is lost), found by comparing the deployed template,
parameter values and termination protection with the new ones (deploy --help lists what counts).

Exit 0 either way; with --exit-code, 1 when there are changes and 3 when deploy would refuse them
because data would be lost.

--revert-drift makes the drift-aware change set deploy --revert-drift would make (DeploymentMode=
REVERT_DRIFT): each drifted property it puts back, actual -> desired (and the last deployed value).
CloudFormation's validation findings of the change set (DescribeEvents) are listed too: the WARN ones
of a change set that was made, all of a failed one.

--output markdown prints one block a reviewer can read in a pull request: a summary line, then per
stack the change table, the data guard's findings, parameters, tags and the cost difference (cut at a
stack boundary past 60,000 characters). --output-file F writes it to F instead of standard output;
--github-step-summary appends it to the file $GITHUB_STEP_SUMMARY names (GitHub Actions' job summary).

examples:
  python -m builder diff --suffix pr123
  python -m builder diff --suffix prod --exit-code   # CI: exit 1 when prod differs, 3 when data would be lost
  python -m builder diff --suffix pr123 --output markdown --output-file diff.md --fail-on-cost-increase 5
  python -m builder diff --suffix prod --revert-drift  # what deploy --revert-drift would put back
"""


def _output_file(text: str) -> str:
    """--output-file's value: an empty one (`--output-file "$SUMMARY"`, unset) was taken as no option at all,
    or failed after the whole diff as 'error: : cannot write ...'."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a file, such as diff.md, or - for standard output")
    return text


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "diff", "show the change set deploy would execute", DESCRIPTION, [common])
    add_output_option(parser, "text (default), json (one object per line) or markdown (one block for a pull "
                              "request)", choices=("text", "json", "markdown"))
    parser.add_argument("--output-file", metavar="F", type=_output_file,
                        help="with --output markdown: write the block to F (`-`: standard output)")
    parser.add_argument("--github-step-summary", action="store_true",
                        help="with --output markdown: also append the block to the file $GITHUB_STEP_SUMMARY names")
    parser.add_argument("--exit-code", action="store_true",
                        help="exit 1 when there are changes (like git diff), 3 when deploy would refuse them because "
                             "data would be lost")
    parser.add_argument("--revert-drift", action="store_true",
                        help="make the drift-aware change set deploy --revert-drift would: each drifted property, "
                             "actual → desired")
    parser.add_argument("--fail-on-cost-increase", type=usd, metavar="USD",
                        help="exit 6 when the fixed monthly cost of all the stacks diffed together would rise by "
                             "more than USD (a stack that cannot be priced fails it too)")
    parser.add_argument("--all", action="store_true",
                        help="every live stack of builder's named <stack_prefix>-* (as status --all finds them), "
                             "each against its suffix's config, then one matrix of the fleet")
    add_artifact_bucket_option(parser)
    add_pool_options(parser)
    add_shard_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.cli.views import views
    from builder.cli.views.outcome import outcome_text
    from builder.cli.views.review import markdown
    from builder.cli.views.what_if import matrix_markdown
    from builder.ops.diff import DiffOptions, DiffResult, diff_stack
    from builder.ops.pool import run_all
    from builder.ops.review import FAILED, StackReview
    from builder.ops.what_if import matrix as what_if_matrix
    from builder.report import Reporter
    from builder.stack.poller import Pollers
    from builder.stack.watch import watchers

    markdown_wanted = args.output == "markdown"
    summary_file = _summary_file(args, markdown_wanted)
    if args.all:
        if args.suffix:
            raise UsageError("diff", "--all diffs every live stack of the fleet; give --all or --suffix, not both")
        args.suffix = fleet_suffixes(args)
        if not args.suffix:
            return EXIT_OK
    groups = stack_groups(args)
    if nothing_in_shard(args, groups):
        return EXIT_OK
    several = sum(len(g) for g in groups) > 1
    # The markdown block replaces the progress lines on standard output, which then go to standard error.
    to_stdout = markdown_wanted and args.output_file in (None, "-")
    reporter = Reporter(stream=sys.stderr if to_stdout else None, mode="json" if args.output == "json" else "text",
                        prefix=several, views=views())
    options = DiffOptions(wait_for_others=args.wait_for_others, artifact_bucket=args.artifact_bucket,
                          revert_drift=args.revert_drift, read_stack_policy=markdown_wanted)
    reviews: dict[str, StackReview] = {}
    with Pollers(args.api_rate) as pollers:
        watch = watchers(pollers)
        outcomes = run_all(groups, lambda stack: diff_stack(stack, options, reporter, watch, reviews),
                           args.concurrency, pollers)
    try:
        finish(outcomes, reporter, "diff", summary=len(groups) > 1)
    finally:
        ordered = [reviews.get(o.stack) or StackReview(o.stack, o.region, FAILED, note=outcome_text(o)
                                                       if o.error is None else o.error.message) for o in outcomes]
        fleet = what_if_matrix(ordered, args.revert_drift) if args.all else None
        if markdown_wanted:
            block = markdown(ordered) + ("\n" + matrix_markdown(fleet) if fleet is not None else "")
            _write_markdown(block, args.output_file, summary_file)
        elif fleet is not None:
            reporter.show("fleet matrix", fleet)
    if args.fail_on_cost_increase is not None:
        _cost_gate(ordered, args.fail_on_cost_increase)
    if not args.exit_code:
        return EXIT_OK
    if any(r.data_losses for r in ordered):
        return EXIT_REFUSED
    return EXIT_FAILED if any(o.result is DiffResult.CHANGES for o in outcomes) else EXIT_OK


def _summary_file(args: argparse.Namespace, markdown_wanted: bool) -> str | None:
    """$GITHUB_STEP_SUMMARY with --github-step-summary (None without); UsageError when the options clash."""
    if (args.output_file or args.github_step_summary) and not markdown_wanted:
        raise UsageError("diff", "--output-file and --github-step-summary write the markdown block; "
                                 "add --output markdown")
    summary_file = os.environ.get("GITHUB_STEP_SUMMARY") if args.github_step_summary else None
    if args.github_step_summary and not summary_file:
        raise UsageError("diff", "--github-step-summary: GITHUB_STEP_SUMMARY is not set (GitHub Actions sets it "
                                 "in a job); use --output-file F outside Actions")
    return summary_file


def _write_markdown(block: str, output_file: str | None, summary_file: str | None) -> None:
    if output_file in (None, "-"):
        sys.stdout.write(block)
    else:
        try:
            Path(output_file).write_text(block, encoding="utf-8")
        except OSError as exc:  # a folder in the way, a file where a folder goes: the user's path, exit 2
            raise UsageError(output_file, f"cannot write the markdown block there ({exc.strerror or exc}); "
                                          f"choose another --output-file") from None
    if summary_file:
        try:
            with open(summary_file, "a", encoding="utf-8") as summary:
                summary.write(block)
        except OSError as exc:
            raise UsageError(summary_file, f"cannot append the markdown block to GITHUB_STEP_SUMMARY "
                                           f"({exc.strerror or exc})") from None


def _cost_gate(reviews: list[StackReview], limit: float) -> None:
    """OverBudgetError when the stacks' fixed monthly cost, all together, would rise by more than `limit`."""
    from builder.cli.views.review import signed_usd
    from builder.ops.review import CHANGES, NEW

    unpriced = [r.stack for r in reviews if r.state in (NEW, CHANGES) and r.cost is None]
    if unpriced:
        raise OverBudgetError("--fail-on-cost-increase", f"cannot price {', '.join(unpriced)}, so the gate cannot "
                                                         f"pass (see the cost note in the diff)")
    rise = sum(r.cost.difference for r in reviews if r.cost is not None)
    if round(rise, 2) > limit:
        raise OverBudgetError("--fail-on-cost-increase", f"the fixed monthly cost would rise by {signed_usd(rise)} "
                                                         f"USD, more than {limit:,.2f}")


def fleet_suffixes(args: argparse.Namespace) -> list[str]:
    """--all: the suffixes of every live stack of builder's (builder:managed-by tag) in the regions
    status --all searches, in this shard with --shard; says so in one line when there are none."""
    from builder.environment import resolve_configs
    from builder.ops.fleet import fleet_rows
    from builder.resources import schema
    from builder.stack.client import unknown_region_problem
    from builder.stack.poller import Pollers

    configs = resolve_configs(suffixes=None, config_path=args.config, sets=args.sets, region=args.region,
                              schema=schema(), region_check=unknown_region_problem)
    prefix, regions = configs[0].stack_prefix, regions_to_search(args, configs)
    with Pollers(args.api_rate) as pollers:  # the listing ends before the diffs start: one rate at a time
        plan = fleet_rows(prefix, regions, pollers)
    suffixes = sorted({row.suffix for row in plan.rows
                       if row.managed and row.replica_of is None and not row.status.startswith("DELETE_")})
    if not suffixes:
        print(f"no live stacks of builder named {prefix}-* in {', '.join(regions)}; nothing to diff", file=sys.stderr)
    return suffixes
