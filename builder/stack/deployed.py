"""A deployed stack as DescribeStacks describes it: one typed value, made where the answer arrives.

Past the client nothing reads a DescribeStacks record as a dict: deploy, diff, destroy, status, reap
and the no-op skip ask a DeployedStack what they need to know (is an operation running, did a create
fail, does it need a person, its parameter values, tags, outputs, role, protection, times).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Settled in success: an operation ran to its end.
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
# Settled states from which the stack cannot take a change set without a human.
STUCK = frozenset({"ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"})
DELETED = "DELETE_COMPLETE"  # DescribeStacks by stack id still answers for a deleted stack (90 days)
FAILED_CREATE = "ROLLBACK_COMPLETE"  # a create that failed and was rolled back: an empty stack
EXPRESS = "EXPRESS"  # DeploymentConfig.Mode of CloudFormation's express mode (setting deployment_mode)
REVIEW = "REVIEW_IN_PROGRESS"  # made by a CREATE change set not executed yet: nothing runs, nothing exists


@dataclass(frozen=True)
class DeployedStack:
    """One entry of DescribeStacks' "Stacks", typed (aws-cdk-cli's CloudFormationStack is the model)."""

    name: str
    stack_id: str
    status: str
    status_reason: str = ""
    description: str = ""  # the template's Description
    parameters: Mapping[str, str] = field(default_factory=dict)  # ParameterValue, as sent
    resolved_parameters: Mapping[str, str] = field(default_factory=dict)  # an SSM-typed one's ResolvedValue wins
    tags: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)  # sorted by key
    role_arn: str | None = None  # the role CloudFormation assumes for the stack's operations
    termination_protection: bool = False
    deployment_mode: str = "STANDARD"  # DeploymentConfig.Mode: AWS's record of the mode its operations ran in
    notification_arns: tuple[str, ...] = ()
    created: datetime | None = None
    last_updated: datetime | None = None
    # RollbackConfiguration: CloudFormation keeps it for the stack's later updates until told otherwise
    rollback_triggers: tuple[str, ...] = ()  # the ARNs of its rollback triggers
    rollback_monitoring_minutes: int = 0

    @classmethod
    def from_api(cls, record: Mapping[str, Any]) -> DeployedStack:
        """From a DescribeStacks record as boto3 returns it."""
        given = [p for p in record.get("Parameters") or [] if "ParameterKey" in p]
        rollback = record.get("RollbackConfiguration") or {}
        return cls(
            name=str(record.get("StackName", "")), stack_id=str(record.get("StackId", "")),
            status=str(record.get("StackStatus", "")), status_reason=str(record.get("StackStatusReason", "")),
            description=str(record.get("Description") or ""),
            parameters={p["ParameterKey"]: str(p.get("ParameterValue", "")) for p in given},
            resolved_parameters={p["ParameterKey"]: str(p.get("ResolvedValue", p.get("ParameterValue", "")))
                                 for p in given},
            tags={t["Key"]: t["Value"] for t in record.get("Tags") or [] if "Key" in t and "Value" in t},
            outputs={o["OutputKey"]: o.get("OutputValue", "")
                     for o in sorted(record.get("Outputs") or [], key=lambda o: o["OutputKey"])},
            role_arn=record.get("RoleARN") or None,
            termination_protection=bool(record.get("EnableTerminationProtection")),
            deployment_mode=str((record.get("DeploymentConfig") or {}).get("Mode") or "STANDARD"),
            notification_arns=tuple(record.get("NotificationARNs") or ()),
            created=record.get("CreationTime"), last_updated=record.get("LastUpdatedTime"),
            rollback_triggers=tuple(str(t.get("Arn", "")) for t in rollback.get("RollbackTriggers") or ()),
            rollback_monitoring_minutes=int(rollback.get("MonitoringTimeInMinutes") or 0))

    @property
    def express(self) -> bool:
        """Deployed in express mode, by CloudFormation's own record (an endpoint that ignores the mode records
        none: standard)."""
        return self.deployment_mode == EXPRESS

    @property
    def exists(self) -> bool:
        """Not deleted (a stack looked up by its id is still described once deleted)."""
        return self.status != DELETED

    @property
    def in_progress(self) -> bool:
        """An operation is running (REVIEW_IN_PROGRESS is a stack waiting for its first change set)."""
        return self.status.endswith("_IN_PROGRESS") and self.status != REVIEW

    @property
    def settled(self) -> bool:
        return not self.status.endswith("_IN_PROGRESS")

    @property
    def in_review(self) -> bool:
        """Made by a CREATE change set not executed yet: a deploy creates it (CREATE, not UPDATE)."""
        return self.status == REVIEW

    @property
    def failed_create(self) -> bool:
        """A create failed and was rolled back: the stack is empty and can only be deleted."""
        return self.status == FAILED_CREATE

    @property
    def stuck(self) -> bool:
        """Settled where it cannot take a change set without a human."""
        return self.status in STUCK

    @property
    def succeeded(self) -> bool:
        """Settled in success."""
        return self.status in SUCCESS

    @property
    def last_change(self) -> datetime | None:
        """When the stack last changed: its last update, else its creation."""
        return self.last_updated or self.created
