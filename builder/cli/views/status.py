"""A stack's status as `status` prints it: a JSON object, or a line with its outputs as columns."""

from __future__ import annotations

from typing import Any

from builder.environment import SUFFIX_TAG
from builder.ops.status import StackStatus
from builder.report import grid
from builder.stack.deployed import DeployedStack

StatusRecord = dict[str, Any]


def status_record(stack: DeployedStack, region: str) -> StatusRecord:
    last = stack.last_change
    return {"stack": stack.name, "region": region, "status": stack.status,
            "last_change": last.strftime("%Y-%m-%d %H:%M:%S UTC") if last is not None else "",
            "environment": stack.tags.get(SUFFIX_TAG, ""), "outputs": dict(stack.outputs)}


def missing_record(name: str, region: str) -> StatusRecord:
    return {"stack": name, "region": region, "status": "NOT DEPLOYED", "last_change": "", "environment": "",
            "outputs": {}}


def as_record(found: StackStatus) -> StatusRecord:
    record = (status_record(found.deployed, found.region) if found.deployed is not None
              else missing_record(found.name, found.region))
    record["stack_policy"] = found.stack_policy  # null when not read (no stack): every record has the same keys
    if found.deployed is not None and found.deployed.express:  # as CloudFormation records it (deployment_mode)
        record["deployment_mode"] = "express"
    return record


def status_lines(record: StatusRecord) -> list[str]:
    """A stack's line, then its outputs as columns."""
    head = f"{record['stack']}  {record['region']}  {record['status']}"
    if record["last_change"]:
        head += f"  last change {record['last_change']}"
    if record["environment"]:
        head += f"  Environment={record['environment']}"
    if record.get("stack_policy"):
        head += f"  stack policy: {record['stack_policy']}"
    if record.get("deployment_mode"):
        head += f"  deployment mode: {record['deployment_mode']}"
    rows = list(record["outputs"].items())
    return [head, *(grid(rows, ("Output", "Value")) if rows else [])]
