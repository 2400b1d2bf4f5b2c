"""The stack policy: CloudFormation itself refuses to replace or delete what holds data, for every client.

builder's data guard (data_guard.py) protects only deploys made by builder; `aws cloudformation deploy`
with synth's files, or the console, can replace the table or delete the bucket without a word. A stack
policy is enforced by CloudFormation on every update, whoever sends it. This one denies `Update:Replace`
and `Update:Delete` on each resource of a type a family in use declares as holding data (DataHolder:
the bucket, the table, the customer managed key when there is one) and allows every other update.

A stack policy guards updates only: DeleteStack is guarded by termination protection and the
DeletionPolicy, as before. Pure: no boto3, no files; the document's bytes depend only on the template.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from builder.families import Family
from builder.resources import inventory

DENIED_ACTIONS = ("Update:Replace", "Update:Delete")  # what loses the data; Update:Modify keeps it


def protected_resources(template: Mapping[str, Any], families: tuple[Family, ...] | None = None) -> tuple[str, ...]:
    """The logical ids, sorted, of the template's resources whose type holds data (whatever their
    Condition: a policy may name a resource the stack does not have)."""
    holders = inventory(families).data_holders
    return tuple(sorted(str(logical_id) for logical_id, resource in (template.get("Resources") or {}).items()
                        if isinstance(resource, Mapping) and resource.get("Type") in holders))


def document(protected: tuple[str, ...]) -> dict[str, Any]:
    """The policy: allow every update, deny replacing or deleting the protected resources (an explicit
    Deny wins over the Allow). With nothing protected, only the Allow."""
    statements: list[dict[str, Any]] = [{"Effect": "Allow", "Action": "Update:*", "Principal": "*", "Resource": "*"}]
    if protected:
        statements.append({"Effect": "Deny", "Action": list(DENIED_ACTIONS), "Principal": "*",
                           "Resource": [f"LogicalResourceId/{logical_id}" for logical_id in protected]})
    return {"Statement": statements}


PERMISSIVE = document(())  # what `--allow-data-loss` sets for its one deploy


def body(protected: tuple[str, ...]) -> str:
    """The document's bytes as synth writes them and deploy sends them: sorted keys, one trailing newline."""
    return json.dumps(document(protected), indent=2, sort_keys=True) + "\n"


def inline_command(stack_name: str, region: str, policy: Mapping[str, Any]) -> str:
    """The exact command that sets a stack policy by hand (the body inline: no file needed)."""
    inline = json.dumps(policy, sort_keys=True, separators=(",", ":"))
    return (f"aws cloudformation set-stack-policy --stack-name {stack_name} --region {region} "
            f"--stack-policy-body '{inline}'")
