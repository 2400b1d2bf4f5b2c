"""Re-adopting retained data: find a bucket or table a destroyed stack left behind, import it.

With `retain_data`, destroy keeps the bucket and the table (DELETE_SKIPPED); a new stack of the
same suffix then fails on the table's name ("Table already exists"). `find_retained` asks S3 and
DynamoDB (HeadBucket, DescribeTable, in the stack's region) which of the stack's named data
resources already exist; `import_template` and `import_change_set` build the IMPORT change set
that brings them under the stack before the normal change set creates everything else.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import botocore.exceptions

from builder.errors import OperationError
from builder.stack.client import error_code, error_message, is_missing_stack, translate

BUCKET, TABLE = "AWS::S3::Bucket", "AWS::DynamoDB::Table"
# ResourceIdentifier keys for ResourcesToImport (CloudFormation User Guide, "Resource type support
# for imports and drift detection"; the primaryIdentifier of each type's resource schema)
IDENTIFIER_KEYS = {BUCKET: "BucketName", TABLE: "TableName"}
RETAIN = {"DeletionPolicy": "Retain", "UpdateReplacePolicy": "Retain"}  # IMPORT requires a DeletionPolicy

# What LocalStack (2026.3) answers to CreateChangeSet with ChangeSetType=IMPORT on an existing stack
EMULATOR_GAP_MARKER = "has not yet been emulated"


@dataclass(frozen=True)
class Retained:
    """A named data resource of the stack's template: logical id, type, and its physical name."""

    logical_id: str
    type: str
    name: str

    def to_import(self) -> dict[str, Any]:
        return {"ResourceType": self.type, "LogicalResourceId": self.logical_id,
                "ResourceIdentifier": {IDENTIFIER_KEYS[self.type]: self.name}}


@dataclass(frozen=True)
class ImportTemplate:
    """The template of an IMPORT change set, and the properties left out of it because they refer to
    resources outside the import (the normal change set after the import sets them)."""

    body: dict[str, Any]
    left_out: tuple[str, ...]  # "LogicalId.Property"


def _bucket_exists(s3: Any, name: str) -> bool:
    try:
        s3.head_bucket(Bucket=name)
        return True
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket", "NotFound"):
            return False
        if code in ("403", "AccessDenied"):
            raise OperationError(f"bucket {name}", "the name is taken by a bucket these credentials cannot read "
                                                   "(another account's?); pick another prefix or suffix") from exc
        raise


def _table_exists(dynamodb: Any, name: str) -> bool:
    try:
        dynamodb.describe_table(TableName=name)
        return True
    except botocore.exceptions.ClientError as exc:
        if error_code(exc) == "ResourceNotFoundException":
            return False
        raise


def find_retained(s3: Any, dynamodb: Any, resources: Sequence[Retained]) -> tuple[Retained, ...]:
    """The resources that already exist, in the order given. `s3` and `dynamodb` are clients in the
    stack's region; names must be resolved (no ${AWS::AccountId} left)."""
    found = []
    for resource in resources:
        client, exists = (s3, _bucket_exists) if resource.type == BUCKET else (dynamodb, _table_exists)
        with translate(f"{resource.type} {resource.name}", client.meta.region_name):
            if exists(client, resource.name):
                found.append(resource)
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
