"""Status of deployed stacks: the given ones, or every stack named <stack_prefix>-* in some regions."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

from builder.stack import client as aws
from builder.stack.deployed import DeployedStack
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


def stack_status(stacks: Sequence[Stack]) -> list[StatusRecord]:
    records = []
    for stack in stacks:
        with aws.translate(stack.name, stack.region):
            cf = aws.client(aws.session(stack.region), "cloudformation")
            found = describe_stack(_reads_of(cf), stack.name)
        records.append(status_record(found, stack.region) if found else missing_record(stack.name, stack.region))
    return records


def _reads_of(cf: Any) -> Callable[..., dict[str, Any]]:
    """`read(operation, **kwargs)` on a plain client: throttling only slows it (no shared budget here)."""
    backoff = aws.Backoff()

    def read(operation: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = aws.poll(functools.partial(getattr(cf, operation), **kwargs), backoff)
        return result

    return read
