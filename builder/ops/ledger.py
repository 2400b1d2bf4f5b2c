"""What a delete leaves behind: the ledger destroy prints after any delete.

A resource stays when the deployed template keeps it (DeletionPolicy Retain, RetainExceptOnCreate,
Snapshot: retain_data), or when CloudFormation could not delete it and the stack is force-deleted
(`DeleteStack(DeletionMode="FORCE_DELETE_STACK")` leaves every resource in DELETE_FAILED behind).
Each entry carries the AWS CLI command that removes it; keeping it needs nothing (deploying the same
suffix again creates new resources beside it). Pure data: cli/ renders it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from builder.ops.review import fixed_monthly
from builder.pricing import LineItem

KEPT_POLICIES = frozenset({"Retain", "RetainExceptOnCreate", "Snapshot"})
FORCE_DELETE = "FORCE_DELETE_STACK"

_REMOVE = {  # types no family builds -> the AWS CLI command that removes one (the families' own: inventory)
    "AWS::Logs::LogGroup": "aws logs delete-log-group --log-group-name {id} --region {region}",
}
_GENERIC = "aws cloudcontrol delete-resource --type-name {type} --identifier {id} --region {region}"


class Stays(StrEnum):
    """Why a resource outlives its stack."""

    KEPT = "kept"  # the deployed template keeps it: its DeletionPolicy
    DELETE_FAILED = "delete failed"  # CloudFormation could not delete it, and the stack is force-deleted


@dataclass(frozen=True)
class LeftBehind:
    """One resource that outlives its stack, why, and the command that removes it."""

    logical_id: str
    resource_type: str
    physical_id: str
    stays: Stays
    deletion_policy: str  # the deployed template's (Delete when it names none)
    status_reason: str  # DELETE_FAILED: CloudFormation's ResourceStatusReason ("" when it gives none)
    remove_command: str
    monthly_usd: float | None = None  # its fixed monthly cost while it sits idle; None: not priced


def monthly_by_resource(items: Iterable[LineItem]) -> dict[str, float]:
    """The fixed monthly USD of each resource (logical id) of a stack's priced line items."""
    return fixed_monthly(items, lambda item: item.resource)


def remove_command(resource_type: str, physical_id: str, region: str) -> str:
    from builder.resources import inventory

    command = inventory().remove_commands.get(resource_type) or _REMOVE.get(resource_type, _GENERIC)
    return command.format(id=physical_id, region=region, type=resource_type)


def ledger(template: Mapping[str, Any], resources: Iterable[Mapping[str, Any]], region: str,
           force_delete: bool, monthly: Mapping[str, float] | None = None) -> tuple[LeftBehind, ...]:
    """What stays of the stack once deleted, from its deployed template and its resources (ListStackResources
    summaries) as they stood before the delete; `force_delete`: resources in DELETE_FAILED stay too.
    `monthly`: each resource's fixed monthly USD by logical id (None: the template could not be priced)."""
    declared = template.get("Resources", {})
    left = []
    for resource in resources:
        logical, physical = resource.get("LogicalResourceId", ""), resource.get("PhysicalResourceId")
        status = resource.get("ResourceStatus", "")
        if not physical or status == "DELETE_COMPLETE":
            continue
        policy = declared.get(logical, {}).get("DeletionPolicy", "Delete")
        kind = resource.get("ResourceType", declared.get(logical, {}).get("Type", ""))
        if policy in KEPT_POLICIES:
            stays = Stays.KEPT
        elif force_delete and status == "DELETE_FAILED":
            stays = Stays.DELETE_FAILED
        else:
            continue
        cost = None if monthly is None else monthly.get(logical, 0.0)
        left.append(LeftBehind(logical, kind, physical, stays, policy, resource.get("ResourceStatusReason") or "",
                               remove_command(kind, physical, region), cost))
    return tuple(sorted(left, key=lambda item: item.logical_id))
