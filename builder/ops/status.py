"""Status of deployed stacks: the given ones, or every stack named <stack_prefix>-* in some regions."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from builder.ops.pool import Outcome, raise_failures, run_all
from builder.stack import client as aws
from builder.stack import policy
from builder.stack.deployed import DeployedStack
from builder.stack.poller import Pollers
from builder.stack.watch import describe_stack
from builder.synth import Stack


@dataclass(frozen=True)
class StackStatus:
    """One stack asked about: where it was looked for, and what DescribeStacks says (None: not deployed)."""

    name: str
    region: str
    deployed: DeployedStack | None
    stack_policy: str | None = None  # whether its stack policy protects what holds data (None: not read)


class StatusResult(StrEnum):
    """What status found of one stack (it changes nothing)."""

    DEPLOYED = "deployed"
    NOT_DEPLOYED = "not deployed"


def stack_status(groups: Sequence[Sequence[Stack]], pollers: Pollers, concurrency: int = 4) -> list[StackStatus]:
    """Each stack's status, in the order given: environments read concurrently by the executor (`pollers`,
    the run's, stop on Ctrl-C). Raises when a read failed. Each read is drawn from the run's budget of its
    region."""
    records: dict[tuple[str, str], StackStatus] = {}

    def look(stack: Stack) -> Outcome:
        with aws.translate(stack.name, stack.region):
            read = pollers.poller(stack.region).read
            found = describe_stack(read, stack.name)
            protection = policy.protection(read, found.stack_id, stack.protected) if found is not None else None
        # protection: whether its stack policy protects what holds data (GetStackPolicy)
        records[stack.name, stack.region] = StackStatus(stack.name, stack.region, found, protection)
        return Outcome(stack.name, stack.region, StatusResult.DEPLOYED if found else StatusResult.NOT_DEPLOYED)

    outcomes = run_all(groups, look, concurrency, pollers)
    raise_failures(outcomes, "status")
    return [records[o.stack, o.region] for o in outcomes]
