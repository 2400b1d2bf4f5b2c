"""Drift of one stack, three ways: the `drift` command, the check before a check_drift deploy, and the
drift `diff` shows for a check_drift environment.

Detection itself (the calls, the noise rules) is builder.stack.drift; the CLI shows the reports
(builder.cli.views.drift).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from builder.errors import DriftRefusedError, OperationError
from builder.ops.pool import Outcome
from builder.report import Reporter
from builder.stack import client as aws
from builder.stack import drift
from builder.stack.watch import StackWatcher, WatcherFactory
from builder.synth import Stack

Show = Callable[[drift.DriftReport], None]


class Drifted(DriftRefusedError):
    """check_drift refused a deploy over drift; the message names each drifted resource and property
    (`DataBucket deleted`, `DataTable/ProvisionedThroughput/ReadCapacityUnits modified (expected 5, actual 50)`)."""

    def __init__(self, stack: str, report: drift.DriftReport) -> None:
        parts = []
        for resource in report.drifted:
            if resource.status == drift.DELETED:
                parts.append(f"{resource.logical_id} deleted")
            parts += [f"{resource.logical_id}{d.path} {d.kind.lower()} (expected {d.expected or '-'}, "
                      f"actual {d.actual or '-'})" for d in resource.differences]
        super().__init__(stack, f"refused: the stack has drifted from its template: {'; '.join(parts)}; nothing was "
                                f"changed. Put the values back (or into the config), rerun with --revert-drift to have "
                                f"a drift-aware change set put them back (diff --revert-drift shows actual → desired), "
                                f"or with --allow-drift to deploy a standard change set over them")
        self.report = report


class DriftResult(StrEnum):
    """How one stack stands against its template; the text is what the summary prints."""

    IN_SYNC = "in sync"  # the stack matches its template (noise aside)
    DRIFTED = "drifted"  # a resource differs from its template
    NOT_FOUND = "not found"


@dataclass(frozen=True)
class DriftOptions:
    """What drift was asked to do besides which stacks."""

    timeout_s: float = 300.0  # how long the detection of one stack may take


def detect(watcher: StackWatcher, timeout_s: float) -> drift.DriftReport:
    return drift.detect(watcher.paced, watcher.name, timeout_s=timeout_s, sleep=watcher.pause, read=watcher.read)


def drift_stack(stack: Stack, options: DriftOptions, reporter: Reporter, show: Show,
                watcher_factory: WatcherFactory) -> Outcome:
    """The `drift` command for one stack: detect, hand the report to `show`, and say how it stands.

    Raises OperationError when detection fails (after showing what it did check)."""
    started = time.monotonic()
    watcher = watcher_factory(stack.name, stack.region, reporter)
    with aws.translate(stack.name, stack.region):
        current = watcher.describe()
    if current is None:
        watcher.say("missing, nothing to check", name=stack.name, region=stack.region)
        return Outcome(stack.name, stack.region, DriftResult.NOT_FOUND, time.monotonic() - started)
    report = detect(watcher, options.timeout_s)
    show(report)
    if report.detection_status == drift.DETECTION_FAILED:
        raise OperationError(stack.name, f"drift detection failed: {report.reason or 'no reason given'} "
                                         f"(checked: {', '.join(report.checked) or 'nothing'})")
    result = DriftResult.DRIFTED if report.has_drift else DriftResult.IN_SYNC
    return Outcome(stack.name, stack.region, result, time.monotonic() - started, changes=len(report.drifted))


def check_before_deploy(watcher: StackWatcher, stack: Stack, allow_drift: bool, timeout_s: float) -> None:
    """check_drift: detect drift on the existing stack and refuse to deploy over it (DriftRefusedError,
    exit 5, nothing changed) unless --allow-drift. With --allow-drift a detection that cannot run is
    reported and the deploy goes on; without it, it fails the deploy (exit 1) with a line that names
    --allow-drift (an endpoint without drift detection, such as LocalStack, can deploy only so)."""
    watcher.say("check_drift detecting")
    try:
        report = detect(watcher, timeout_s)
    except OperationError as exc:
        if not allow_drift:
            raise OperationError(stack.name, f"check_drift: could not detect drift before deploying "
                                             f"({exc.message}); nothing was changed. Rerun with --allow-drift "
                                             f"to deploy without the check (the template's values then replace "
                                             f"any change made by hand)") from exc
        watcher.say("check_drift not detected", reason=exc.message)
        return
    watcher.reporter.show("drift before deploy", report, stack.name)
    if report.detection_status == drift.DETECTION_FAILED and not allow_drift:
        raise OperationError(stack.name, f"check_drift: drift detection failed: {report.reason or 'no reason given'}; "
                                         f"deploy with --allow-drift to go on without it")
    if not report.has_drift:
        watcher.say("check_drift in sync", status=report.status)
        return
    if allow_drift:
        watcher.say("check_drift allowed")
        return
    raise Drifted(stack.name, report)


def drift_for_diff(watcher: StackWatcher, timeout_s: float) -> drift.DriftReport | None:
    """check_drift: the drift diff shows beside the change set (text lines; a "drift" record in JSON);
    None, after one line saying why, when detection cannot run. diff keeps it in its StackReview, whose
    markdown section renders it."""
    try:
        report = detect(watcher, timeout_s)
    except OperationError as exc:
        watcher.say("drift not detected", reason=exc.message)
        return None
    watcher.reporter.show("drift in diff", report, watcher.name)
    return report
