"""Status of deployed stacks: the given ones, or every stack named <stack_prefix>-* in some regions."""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from builder.stack import client as aws
from builder.stack.watch import describe_stack, stack_outputs
from builder.synth import Stack

StatusRecord = dict[str, Any]


def _tag(stack: Mapping[str, Any], key: str) -> str:
    return next((t["Value"] for t in stack.get("Tags", []) if t["Key"] == key), "")


def status_record(stack: Mapping[str, Any], region: str) -> StatusRecord:
    last = stack.get("LastUpdatedTime") or stack.get("CreationTime")
    return {"stack": stack["StackName"], "region": region, "status": stack["StackStatus"],
            "last_change": last.strftime("%Y-%m-%d %H:%M:%S UTC") if isinstance(last, datetime.datetime)
            else str(last or ""),
            "environment": _tag(stack, "Environment"), "outputs": stack_outputs(stack)}


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
