"""Rollback triggers of an update (`rollback_alarms`): the stack's own alarms, as deployed, given to
CreateChangeSet as its RollbackConfiguration, so CloudFormation rolls the update back when one goes to
ALARM while it runs or in the monitoring time after it.

Which alarms: the logical ids the families declare as rollback triggers (AlarmSpec.rollback_trigger,
carried as Stack.rollback_alarms: the new template has them) that the deployed stack has too
(ListStackResources, one read through the run's budget: an alarm's physical id is its name), of the
same type. A trigger
that is missing fails the whole update, so an alarm this update adds is not one yet. At most
MAX_TRIGGERS, CloudFormation's limit, in logical-id order. Each ARN is built from the stack's own ARN
(partition, region, account): no call.

Not on a create: the stack has no alarms yet. CloudFormation keeps a stack's triggers and monitoring
time for its later updates while RollbackConfiguration is left out; so with rollback_alarms off nothing
is sent, unless the deployed stack still has some from before: then an empty list and 0 minutes clear them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from builder.stack.client import pages
from builder.stack.deployed import DeployedStack
from builder.synth import Stack

MAX_TRIGGERS = 5  # RollbackTriggers' "max" in CloudFormation's service model

Read = Callable[..., dict[str, Any]]  # read(operation, **kwargs): one read through the run's budget


@dataclass(frozen=True)
class RollbackTriggers:
    """The RollbackConfiguration of one update's change set, and what deploy says of it."""

    alarms: tuple[tuple[str, str, str], ...]  # (logical id, alarm ARN, resource type), in logical-id order
    minutes: int  # MonitoringTimeInMinutes
    cleared: bool = False  # rollback_alarms off: what the stack kept from an earlier update is cleared
    before: tuple[str, ...] = ()  # the trigger ARNs the deployed stack has (when cleared)
    minutes_before: int = 0  # its monitoring time (when cleared)
    not_deployed: tuple[str, ...] = ()  # declared, but the deployed stack has no such alarm yet
    over_limit: tuple[str, ...] = ()  # declared and deployed, past MAX_TRIGGERS: not watched

    def arns(self) -> tuple[str, ...]:
        """The trigger ARNs, sorted (as the comparison with the deployed stack's takes them)."""
        return tuple(sorted(arn for _, arn, _ in self.alarms))

    def argument(self) -> dict[str, Any]:
        """CreateChangeSet's RollbackConfiguration argument."""
        return {"RollbackConfiguration": {
            "RollbackTriggers": [{"Arn": arn, "Type": type_} for _, arn, type_ in self.alarms],
            "MonitoringTimeInMinutes": self.minutes}}


def alarm_arn(stack_id: str, alarm_name: str) -> str:
    """The ARN of an alarm of the stack's account and region, from the stack's ARN
    (arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>)."""
    _, partition, _, region, account, _ = stack_id.split(":", 5)
    return f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{alarm_name}"


def deployed_resources(read: Read, stack_id: str) -> dict[str, tuple[str, str]]:
    """The deployed stack's resources that exist: logical id -> (resource type, physical id) (ListStackResources,
    every page). An alarm's physical id is its name."""
    found: dict[str, tuple[str, str]] = {}
    for resource in pages(read, "list_stack_resources", "StackResourceSummaries", StackName=stack_id):
        status = str(resource.get("ResourceStatus", ""))
        if resource.get("PhysicalResourceId") and not status.startswith("DELETE_") and status != "CREATE_FAILED":
            found[str(resource["LogicalResourceId"])] = (str(resource.get("ResourceType", "")),
                                                         str(resource["PhysicalResourceId"]))
    return found


def for_update(read: Read, stack: Stack, deployed: DeployedStack) -> RollbackTriggers | None:
    """The RollbackConfiguration of an update of `deployed` to `stack`; None: send none (rollback_alarms is
    off and the stack has no triggers from before). Reads the stack's resources only with rollback_alarms."""
    if not stack.config.rollback_alarms:
        if deployed.rollback_triggers or deployed.rollback_monitoring_minutes:
            return RollbackTriggers((), 0, cleared=True, before=deployed.rollback_triggers,
                                    minutes_before=deployed.rollback_monitoring_minutes)
        return None
    resources = deployed_resources(read, deployed.stack_id)
    declared = sorted(stack.rollback_alarms)
    present = [(logical, type_) for logical, type_ in declared if resources.get(logical, ("", ""))[0] == type_]
    return RollbackTriggers(
        tuple((logical, alarm_arn(deployed.stack_id, resources[logical][1]), type_)
              for logical, type_ in present[:MAX_TRIGGERS]),
        stack.config.rollback_monitoring_minutes,
        not_deployed=tuple(logical for logical, type_ in declared if (logical, type_) not in present),
        over_limit=tuple(logical for logical, _ in present[MAX_TRIGGERS:]))


def differs(wanted: RollbackTriggers | None, deployed: DeployedStack) -> bool:
    """Does the RollbackConfiguration an update would send differ from the one the stack keeps (DescribeStacks)?
    None (rollback_alarms off, none kept) never differs; trigger order does not count."""
    if wanted is None:
        return False
    return (wanted.arns(), wanted.minutes) != (tuple(sorted(deployed.rollback_triggers)),
                                               deployed.rollback_monitoring_minutes)


def alarm_names(arns: tuple[str, ...]) -> str:
    """Trigger ARNs as the alarm names they end in, sorted and comma-separated; `(none)` for none."""
    return ", ".join(sorted(arn.rsplit(":", 1)[-1] for arn in arns)) or "(none)"
