"""Re-adopting retained data: find the named resources a destroyed stack left behind, import them.

With `retain_data`, destroy keeps the bucket and the table (DELETE_SKIPPED); a new stack of the
same suffix then fails on the table's name ("Table already exists"). `find_retained` asks AWS, in
the stack's region and the way each type's family says (`ResourceKind.lookup`: HeadBucket,
DescribeTable ...), which of the stack's named data resources already exist; `import_template` and
`import_change_set` build the IMPORT change set that brings them under the stack before the normal
change set creates everything else.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from builder.errors import OperationError
from builder.families import ResourceKind
from builder.resources import inventory
from builder.stack.client import error_code, error_message, is_missing_stack, translate
from builder.stack.lookup import look_up

RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}  # IMPORT requires a DeletionPolicy

# What LocalStack (2026.3) answers to CreateChangeSet with ChangeSetType=IMPORT on an existing stack
EMULATOR_GAP_MARKER = "has not yet been emulated"


@dataclass(frozen=True)
class Retained:
    """A named data resource of the stack's template: logical id, type, and its physical name; once
    found, what its lookup answered."""

    logical_id: str
    type: str
    name: str
    answer: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

    @property
    def kind(self) -> ResourceKind:
        return inventory().kinds[self.type]

    def to_import(self) -> dict[str, Any]:
        """Its entry in ResourcesToImport: the identifier key of its type's resource schema (CloudFormation
        User Guide, "Resource type support for imports and drift detection"), with the name or the value
        its lookup answered."""
        kind = self.kind
        value = self.answer[kind.identifier_in_answer] if kind.identifier_in_answer else self.name
        return {"ResourceType": self.type, "LogicalResourceId": self.logical_id,
                "ResourceIdentifier": {kind.identifier: value}}


@dataclass(frozen=True)
class ImportTemplate:
    """The template of an IMPORT change set, and the properties left out of it because they refer to
    resources outside the import (the normal change set after the import sets them)."""

    body: dict[str, Any]
    left_out: tuple[str, ...]  # "LogicalId.Property"


def find_retained(client: Callable[[str], Any], resources: Sequence[Retained]) -> tuple[Retained, ...]:
    """The resources that already exist, in the order given, each with its lookup's answer. `client(service)`
    gives a client in the stack's region; names must be resolved (no ${AWS::AccountId} left)."""
    found = []
    for resource in resources:
        kind = resource.kind
        assert kind.lookup is not None, f"{resource.type} has no lookup: named_data_resources leaves it out"
        service = client(kind.lookup.service)
        with translate(f"{resource.type} {resource.name}", service.meta.region_name):
            answer = look_up(service, kind.lookup, resource.name, kind.noun)
        if answer is not None:
            found.append(dataclasses.replace(resource, answer=answer))
    return tuple(found)


def _referenced(value: Any) -> set[str]:
    """Logical ids (and parameter names) a property value refers to with Ref, Fn::GetAtt or Fn::Sub."""
    if isinstance(value, list):
        return {name for item in value for name in _referenced(item)}
    if not isinstance(value, dict):
        return set()
    names: set[str] = set()
    for key, inner in value.items():
        if key == "Ref" and isinstance(inner, str):
            names.add(inner)
        elif key == "Fn::GetAtt":
            names.add(inner[0] if isinstance(inner, list) else str(inner).split(".")[0])
        elif key == "Fn::Sub":
            text, variables = (inner[0], inner[1]) if isinstance(inner, list) else (inner, {})
            names |= {m.split(".")[0] for m in re.findall(r"\$\{([^!}][^}]*)\}", str(text))} - set(variables)
            names |= _referenced(variables)
        else:
            names |= _referenced(inner)
    return names


def import_template(template: Mapping[str, Any], resources: Sequence[Retained]) -> ImportTemplate:
    """The template restricted to `resources`, each with DeletionPolicy and UpdateReplacePolicy
    Retain; Parameters, Mappings and Conditions kept, Outputs dropped, and properties (and DependsOn)
    that refer to other resources left out."""
    keep = {r.logical_id for r in resources}
    others = set(template.get("Resources", {})) - keep
    kept: dict[str, Any] = {}
    left_out = []
    for logical_id in sorted(keep):
        resource = dict(template["Resources"][logical_id])
        properties = {}
        for name, value in resource.get("Properties", {}).items():
            if _referenced(value) & others:
                left_out.append(f"{logical_id}.{name}")
            else:
                properties[name] = value
        resource["Properties"] = properties
        depends = resource.pop("DependsOn", None)
        depends = [d for d in ([depends] if isinstance(depends, str) else depends or []) if d in keep]
        if depends:
            resource["DependsOn"] = depends
        kept[logical_id] = {**resource, **RETAIN}
    body = {key: value for key, value in template.items() if key not in ("Resources", "Outputs")}
    body["Resources"] = kept
    return ImportTemplate(body, tuple(left_out))


def import_change_set(cf: Any, stack_name: str, change_set_name: str, template: ImportTemplate,
                      resources: Sequence[Retained], *, parameters: Sequence[Mapping[str, str]] = (),
                      role_arn: str | None = None) -> str:
    """Create (not execute) an IMPORT change set of `resources` into `stack_name` (new or existing)
    and return its id."""
    request: dict[str, Any] = {
        "StackName": stack_name, "ChangeSetName": change_set_name, "ChangeSetType": "IMPORT",
        "TemplateBody": json.dumps(template.body, sort_keys=True),
        "ResourcesToImport": [r.to_import() for r in resources], "Parameters": list(parameters)}
    if role_arn:
        request["RoleARN"] = role_arn
    with translate(stack_name, cf.meta.region_name):
        try:
            return str(cf.create_change_set(**request)["Id"])
        except botocore.exceptions.ClientError as exc:
            if EMULATOR_GAP_MARKER in error_message(exc):
                raise OperationError(stack_name, f"this endpoint does not implement IMPORT change sets "
                                                 f"({error_code(exc)}: {error_message(exc)}); adopt retained "
                                                 f"resources against AWS itself") from exc
            if is_missing_stack(exc):  # AWS creates a new stack from an IMPORT change set; LocalStack does not
                raise OperationError(stack_name, f"this endpoint does not create a stack from an IMPORT change set "
                                                 f"({error_code(exc)}: {error_message(exc)}); adopt retained "
                                                 f"resources against AWS itself") from exc
            raise
