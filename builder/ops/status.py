"""Status of deployed stacks: the given ones, or every stack named <stack_prefix>-* in some regions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from builder.ops.pool import Outcome, raise_failures, run_all
from builder.stack import client as aws
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


class StatusResult(StrEnum):
    """What status found of one stack (it changes nothing)."""

    DEPLOYED = "deployed"
    NOT_DEPLOYED = "not deployed"


def stack_status(groups: Sequence[Sequence[Stack]], pollers: Pollers, concurrency: int = 4) -> list[StackStatus]:
    """Each stack's status, in the order given: environments read concurrently by the executor (`pollers`,
    the run's, stop on Ctrl-C). Raises when a read failed. Its reads are not drawn from the run's budget
    yet: on a plain client, throttling only slows them."""
    records: dict[tuple[str, str], StackStatus] = {}

    def look(stack: Stack) -> Outcome:
        with aws.translate(stack.name, stack.region):
            found = describe_stack(_reads_of(aws.shared_client(stack.region, "cloudformation")), stack.name)
        records[stack.name, stack.region] = StackStatus(stack.name, stack.region, found)
        return Outcome(stack.name, stack.region, StatusResult.DEPLOYED if found else StatusResult.NOT_DEPLOYED)

    outcomes = run_all(groups, look, concurrency, pollers)
    raise_failures(outcomes, "status")
    return [records[o.stack, o.region] for o in outcomes]


def _reads_of(cf: Any) -> Callable[..., dict[str, Any]]:
    """`read(operation, **kwargs)` on a plain client: throttling only slows it (no shared budget here)."""
    backoff = aws.Backoff()

    def read(operation: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = aws.poll(functools.partial(getattr(cf, operation), **kwargs), backoff)
        return result

    return read
