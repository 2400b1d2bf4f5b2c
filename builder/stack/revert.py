"""Drift-aware change sets (CreateChangeSet with DeploymentMode=REVERT_DRIFT): what they say of drift.

CloudFormation compares three states for such a change set: the resource as it actually is (read
from the service when the change set is made), as the last deployment left it, and as the new
template wants it. A drifted resource's change carries ResourceDriftStatus (MODIFIED, DELETED, ...) and
each property it would put back a Detail whose Target has BeforeValueFrom=ACTUAL_STATE and a Drift
(PreviousValue: the last deployment's, ActualValue: the live one); AfterValue is the template's. Executing
the change set brings the actual values back to the template's (and, where the new template already
says what the resource actually is, only resets its drift status: Action SyncWithActual).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

DEPLOYMENT_MODE = "REVERT_DRIFT"
DRIFTED = ("MODIFIED", "DELETED")


@dataclass(frozen=True)
class RevertedProperty:
    """One drifted property a drift-aware change set puts back: actual → desired (the template's)."""

    logical_id: str
    resource_type: str
    path: str  # the property (Target.Path, else Target.Name); "" for a resource deleted by hand
    actual: str | None  # the live value (None: absent, or the resource is gone)
    desired: str | None  # what the new template says
    previous: str | None  # what the last deployment set
    drift_status: str  # the resource's ResourceDriftStatus: MODIFIED or DELETED


    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def reverted(resource_change: Mapping[str, Any]) -> tuple[RevertedProperty, ...]:
    """The drifted properties one ResourceChange of a drift-aware change set puts back (none for a resource
    in sync, or a change set made without DeploymentMode=REVERT_DRIFT)."""
    status = resource_change.get("ResourceDriftStatus") or ""
    if status not in DRIFTED:
        return ()
    logical, type_ = resource_change.get("LogicalResourceId", ""), resource_change.get("ResourceType", "")
    found = []
    for detail in resource_change.get("Details", []):
        target = detail.get("Target") or {}
        drift = target.get("Drift")
        if drift is None and target.get("BeforeValueFrom") != "ACTUAL_STATE":
            continue
        drift = drift or {}
        actual = drift.get("ActualValue", target.get("BeforeValue"))
        previous = drift.get("PreviousValue")
        desired = target.get("AfterValue")
        if drift and actual == previous and actual == desired:
            continue  # read from the actual state, but not drifted
        path = target.get("Path") or target.get("Name") or target.get("Attribute") or ""
        found.append(RevertedProperty(logical, type_, str(path), _text(actual), _text(desired), _text(previous),
                                      status))
    if not found and status == "DELETED":
        found.append(RevertedProperty(logical, type_, "", None, None, None, status))
    return tuple(dict.fromkeys(found))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
