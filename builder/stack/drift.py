"""Drift detection of one stack: start it, wait for it, read every result, tell drift from noise.

`detect` makes the CloudFormation calls on a client it is given (DetectStackDrift, then
DescribeStackDriftDetectionStatus polled with the adaptive backoff deploy uses, then every page of
DescribeStackResourceDrifts and ListStackResources) and returns a `DriftReport`. Everything after
the calls is pure: classifying known false positives as noise (`noise_rules()`: LIST_ORDER for every
type and the rules each family declares for its own types, each with its source). The report is
shown as text lines, JSON records or markdown by builder.cli.views.drift.

A stack whose only differences are noise is IN_SYNC here, although CloudFormation calls it DRIFTED.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from builder.drift_noise import (
    ADDED,
    MODIFIED,
    REMOVED,
    Json,
    NoiseRule,
    PropertyDifference,
    parsed,
    segments,
    value_at,
)
from builder.errors import OperationError
from builder.resources import inventory
from builder.stack.client import error_code, error_message, intervals, pages, translate

IN_SYNC, DRIFTED, UNKNOWN = "IN_SYNC", "DRIFTED", "UNKNOWN"
DETECTION_COMPLETE, DETECTION_FAILED, DETECTION_IN_PROGRESS = (
    "DETECTION_COMPLETE", "DETECTION_FAILED", "DETECTION_IN_PROGRESS")
DELETED, NOT_CHECKED = "DELETED", "NOT_CHECKED"

# PropertyDifference.DifferenceType (API reference, PropertyDifference) -> what builder calls it
KINDS = {"NOT_EQUAL": MODIFIED, "ADD": ADDED, "REMOVE": REMOVED}
RESOURCE_STATUSES = [MODIFIED, DELETED, NOT_CHECKED, IN_SYNC]

DEFAULT_TIMEOUT_S = 300.0

# What LocalStack (2026.3) answers to every drift call: 501 InternalFailure with this message.
EMULATOR_GAP_MARKER = "has not yet been emulated"


@dataclass(frozen=True)
class ResourceDrift:
    logical_id: str
    physical_id: str
    type: str
    status: str  # MODIFIED, DELETED, NOT_CHECKED or IN_SYNC
    differences: tuple[PropertyDifference, ...] = ()


@dataclass(frozen=True)
class DriftReport:
    """`drifted` holds the real differences, `noise` the known false positives (a resource with both
    appears in each with its own differences); `checked` names every resource CloudFormation checked."""

    stack: str
    status: str  # IN_SYNC, DRIFTED or UNKNOWN (detection failed and nothing checked had drifted)
    detection_status: str  # DETECTION_COMPLETE or DETECTION_FAILED
    reason: str
    drifted: tuple[ResourceDrift, ...]
    not_checked: tuple[ResourceDrift, ...]
    noise: tuple[ResourceDrift, ...]
    checked: tuple[str, ...] = ()

    @property
    def has_drift(self) -> bool:
        """What --exit-code looks at: noise alone is not drift."""
        return bool(self.drifted)


# --------------------------------------------------------------------------- noise rules


def _canonical(value: Json) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def _same_items_other_order(expected: Json, actual: Json) -> bool:
    return (isinstance(expected, list) and isinstance(actual, list) and expected != actual
            and sorted(map(_canonical, expected)) == sorted(map(_canonical, actual)))


def _only_list_order(_type: str, diff: PropertyDifference, expected: Json, actual: Json) -> bool:
    """The difference lies in a list (the property itself or a list around it) whose items are the
    same on both sides, only in another order."""
    if _same_items_other_order(parsed(diff.expected), parsed(diff.actual)):
        return True
    steps = segments(diff.path)
    return any(_same_items_other_order(value_at(expected, steps[:n]), value_at(actual, steps[:n]))
               for n in range(1, len(steps) + 1))


# CloudFormation compares lists position by position, so a list the service hands back in its own
# order is reported as drift although no item changed: CloudFront origins,
# aws-cloudformation/cloudformation-coverage-roadmap#1369 ("the 'Actual' config lists the origins in
# some order ... whereas the 'Expected' config lists the origins in the order specified in the template").
LIST_ORDER = NoiseRule("only the order of a list differs; its items are the same", _only_list_order)


def noise_rules() -> tuple[NoiseRule, ...]:
    """The rules of every type, then each family's rules for its own types (Family.drift_noise)."""
    return (LIST_ORDER, *inventory().drift_noise)


def noise_reason(resource_type: str, diff: PropertyDifference, expected: Json, actual: Json,
                 rules: Sequence[NoiseRule] | None = None) -> str | None:
    return next((rule.reason for rule in (noise_rules() if rules is None else rules)
                 if rule.applies(resource_type, diff, expected, actual)), None)


# --------------------------------------------------------------------------- from API answers to a report


def _differences(drift: Mapping[str, Any], rules: Sequence[NoiseRule]) -> tuple[PropertyDifference, ...]:
    expected = parsed(drift.get("ExpectedProperties") or "null")
    actual = parsed(drift.get("ActualProperties") or "null")
    diffs = []
    for item in drift.get("PropertyDifferences", []):
        diff = PropertyDifference(item["PropertyPath"], item["ExpectedValue"], item["ActualValue"],
                                  KINDS.get(item["DifferenceType"], item["DifferenceType"]))
        reason = noise_reason(drift["ResourceType"], diff, expected, actual, rules)
        diffs.append(PropertyDifference(diff.path, diff.expected, diff.actual, diff.kind, reason))
    return tuple(sorted(diffs, key=lambda d: d.path))


def build_report(stack: str, detection: Mapping[str, Any], resource_drifts: Sequence[Mapping[str, Any]],
                 resources: Sequence[Mapping[str, Any]] = (),
                 rules: Sequence[NoiseRule] | None = None) -> DriftReport:
    """A report from the API answers: the final DescribeStackDriftDetectionStatus, every
    StackResourceDrift, and every StackResourceSummary (resources missing from the drift results
    were not checked, such as types drift detection does not support). `rules`: noise_rules() unless given."""
    rules = noise_rules() if rules is None else rules
    drifted, noise, not_checked, checked = [], [], [], []
    seen = set()
    for drift in sorted(resource_drifts, key=lambda d: d["LogicalResourceId"]):
        logical_id, status = drift["LogicalResourceId"], drift["StackResourceDriftStatus"]
        seen.add(logical_id)
        resource = ResourceDrift(logical_id, drift.get("PhysicalResourceId", ""), drift["ResourceType"], status)
        if status == NOT_CHECKED:
            not_checked.append(resource)
            continue
        checked.append(logical_id)
        if status == DELETED:
            drifted.append(resource)
        elif status == MODIFIED:
            diffs = _differences(drift, rules)
            real = tuple(d for d in diffs if d.noise_reason is None)
            known = tuple(d for d in diffs if d.noise_reason is not None)
            if real or not known:
                drifted.append(ResourceDrift(logical_id, resource.physical_id, resource.type, status, real))
            if known:
                noise.append(ResourceDrift(logical_id, resource.physical_id, resource.type, status, known))
    not_checked += _unchecked(resources, seen)
    detection_status = detection["DetectionStatus"]
    status = DRIFTED if drifted else IN_SYNC if detection_status == DETECTION_COMPLETE else UNKNOWN
    return DriftReport(stack, status, detection_status, detection.get("DetectionStatusReason", ""),
                       tuple(drifted), tuple(not_checked), tuple(noise), tuple(checked))


def _unchecked(resources: Sequence[Mapping[str, Any]], seen: set[str]) -> list[ResourceDrift]:
    """The stack's resources the drift results leave out (types drift detection does not support)."""
    return [ResourceDrift(summary["LogicalResourceId"], summary.get("PhysicalResourceId", ""),
                          summary["ResourceType"], NOT_CHECKED)
            for summary in sorted(resources, key=lambda r: r["LogicalResourceId"])
            if summary["LogicalResourceId"] not in seen]


# --------------------------------------------------------------------------- the calls


def _start(cf: Any, stack_name: str) -> str:
    try:
        return str(cf.detect_stack_drift(StackName=stack_name)["StackDriftDetectionId"])
    except botocore.exceptions.ClientError as exc:
        if EMULATOR_GAP_MARKER in error_message(exc):
            raise OperationError(stack_name, f"this endpoint does not implement drift detection ({error_code(exc)}: "
                                             f"{error_message(exc)}); run drift against AWS itself") from exc
        raise


def detect(cf: Any, stack_name: str, *, timeout_s: float = DEFAULT_TIMEOUT_S,
           sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
           read: Callable[..., Mapping[str, Any]] | None = None,
           rules: Sequence[NoiseRule] | None = None) -> DriftReport:
    """Detect drift of one stack with the CloudFormation client `cf` and report it; `read(operation,
    **kwargs)` makes the read calls (a command's: through the run's budget; default: `cf` directly).

    Polls DescribeStackDriftDetectionStatus fast at first, doubling to a ceiling. Raises OperationError
    when detection takes longer than `timeout_s`, or when a call fails (one line, via client.translate)."""
    reads = read or (lambda operation, **kwargs: getattr(cf, operation)(**kwargs))
    with translate(stack_name, cf.meta.region_name):
        detection_id = _start(cf, stack_name)
        pauses = intervals()
        started = clock()
        while True:
            status = reads("describe_stack_drift_detection_status", StackDriftDetectionId=detection_id)
            if status["DetectionStatus"] != DETECTION_IN_PROGRESS:
                break
            if clock() - started >= timeout_s:
                raise OperationError(stack_name, f"drift detection {detection_id} did not finish in {timeout_s:g} s; "
                                                 f"allow more with --timeout SECONDS")
            sleep(next(pauses))
        drifts = list(pages(reads, "describe_stack_resource_drifts", "StackResourceDrifts",
                             StackName=stack_name, StackResourceDriftStatusFilters=RESOURCE_STATUSES))
        resources = list(pages(reads, "list_stack_resources", "StackResourceSummaries",
                                StackName=stack_name))
    return build_report(stack_name, status, drifts, resources, rules)
