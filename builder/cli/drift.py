"""`drift`: does each deployed stack still match its template?"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from builder.cli.common import (
    Subparsers,
    add_api_rate_option,
    add_command,
    add_output_option,
    finish,
    positive_int,
    positive_number,
    stack_groups,
)
from builder.errors import EXIT_DRIFTED, EXIT_OK

if TYPE_CHECKING:
    from builder.stack.drift import DriftReport

DESCRIPTION = """\
Ask CloudFormation to detect drift on every stack of each environment (the replica too; several
environments at once), wait for it (at most --timeout seconds per stack) and print, for each resource
that no longer matches its template, each property that differs: its path, the expected (template)
and actual values, and whether it was modified, added or removed. Resources drift detection does not
cover are listed apart (not checked), and so are known false positives ("noise", each with the reason
it is not drift, such as a list in another order). A stack that does not exist is reported and skipped.

exit codes: 0 in sync (or drifted, without --exit-code), 1 detection failed, 2 bad input,
4 drifted with --exit-code (noise never counts)

examples:
  python -m builder drift --suffix prod
  python -m builder drift --suffix prod --exit-code --output markdown >> "$GITHUB_STEP_SUMMARY"

  $ python -m builder drift --suffix prod --exit-code      # someone raised read capacity by hand
  app-prod: DRIFTED (1 resource drifted)
    Stack     Resource   Property                                  Expected  Actual  Kind
    app-prod  DataTable  /ProvisionedThroughput/ReadCapacityUnits  5         50      MODIFIED
  (exit 4)
"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "drift", "show where deployed stacks differ from their templates",
                         DESCRIPTION, [common])
    add_output_option(parser, "text (default), json (one object per line: a \"drift\" record per stack, then a "
                              "summary) or markdown (a section per stack, for a pull request or job summary)",
                      choices=("text", "json", "markdown"))
    parser.add_argument("--exit-code", action="store_true", help="exit 4 when a stack has drifted")
    add_api_rate_option(parser)
    parser.add_argument("--timeout", type=positive_number("seconds > 0"), default=300.0, metavar="SECONDS",
                        help="how long detection of one stack may take (default: 300)")
    parser.add_argument("--concurrency", type=positive_int, default=4, metavar="N",
                        help="environments checked at once (default: 4)")
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.cli.views import drift as view
    from builder.cli.views import views
    from builder.ops.drift import DriftOptions, DriftResult, drift_stack
    from builder.ops.pool import run_all
    from builder.report import Reporter
    from builder.stack.poller import Pollers
    from builder.stack.watch import watchers

    groups = stack_groups(args)
    markdown = args.output == "markdown"
    reporter = Reporter(mode="text" if markdown else args.output, prefix=sum(len(g) for g in groups) > 1,
                        views=views())
    options = DriftOptions(timeout_s=args.timeout)
    reports: dict[str, DriftReport] = {}

    def show(report: DriftReport) -> None:
        reports[report.stack] = report
        if not markdown:
            reporter.show("drift", report)

    try:
        with Pollers(args.api_rate) as pollers:
            watch = watchers(pollers)
            outcomes = run_all(groups, lambda stack: drift_stack(stack, options, reporter, show, watch),
                               args.concurrency, pollers)
        finish(outcomes, reporter, "drift", summary=len(groups) > 1 and not markdown)
    finally:
        if markdown:  # in stack order whatever order detection finished in
            order = [stack.name for group in groups for stack in group]
            sys.stdout.write("\n".join(view.markdown(reports[name]) for name in order if name in reports))
    drifted = any(o.result is DriftResult.DRIFTED for o in outcomes)
    return EXIT_DRIFTED if (args.exit_code and drifted) else EXIT_OK
