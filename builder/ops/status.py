"""Status of deployed stacks: the given ones, or every stack named <stack_prefix>-* in some regions."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from builder.ops.pool import Outcome, raise_failures, run_all
from builder.stack import client as aws
from builder.stack import policy
from builder.stack.deployed import DeployedStack
from builder.stack.poller import Pollers
from builder.stack.watch import describe_stack
from builder.synth import Stack

StatusRecord = dict[str, Any]


def status_record(stack: DeployedStack, region: str) -> StatusRecord:
    last = stack.last_change
    return {"stack": stack.name, "region": region, "status": stack.status,
            "last_change": last.strftime("%Y-%m-%d %H:%M:%S UTC") if last is not None else "",
            "environment": stack.tags.get("Environment", ""), "outputs": dict(stack.outputs)}


def missing_record(name: str, region: str) -> StatusRecord:
    return {"stack": name, "region": region, "status": "NOT DEPLOYED", "last_change": "", "environment": "",
            "outputs": {}}


class StatusResult(StrEnum):
    """What status found of one stack (it changes nothing)."""

    DEPLOYED = "deployed"
    NOT_DEPLOYED = "not deployed"


def stack_status(groups: Sequence[Sequence[Stack]], pollers: Pollers, concurrency: int = 4) -> list[StatusRecord]:
    """Each stack's record, in the order given: environments read concurrently by the executor (`pollers`,
    the run's, stop on Ctrl-C). Raises when a read failed. Each read is drawn from the run's budget of its
    region."""
    records: dict[tuple[str, str], StatusRecord] = {}

    def look(stack: Stack) -> Outcome:
        with aws.translate(stack.name, stack.region):
            read = pollers.poller(stack.region).read
            found = describe_stack(read, stack.name)
            protection = policy.protection(read, found.stack_id, stack.protected) if found is not None else None
        records[stack.name, stack.region] = (status_record(found, stack.region) if found is not None
                                             else missing_record(stack.name, stack.region))
        if protection is not None:  # whether its stack policy protects what holds data (GetStackPolicy)
            records[stack.name, stack.region]["stack_policy"] = protection
        return Outcome(stack.name, stack.region, StatusResult.DEPLOYED if found else StatusResult.NOT_DEPLOYED)

    outcomes = run_all(groups, look, concurrency, pollers)
    raise_failures(outcomes, "status")
    return [records[o.stack, o.region] for o in outcomes]

