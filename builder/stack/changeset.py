"""Change sets of one stack: make one (inline or through S3), read its changes, and the data guard.

Every parameter value is passed explicitly, never UsePreviousValue: a changed default must reach an
existing stack. A FAILED change set whose reason only says there is nothing to change means "no
changes" and is deleted; any other failed change set is kept for inspection.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from builder.errors import OperationError, RefusedError, UsageError
from builder.report import grid
from builder.stack import client as aws
from builder.stack.watch import StackWatcher
from builder.synth import TEMPLATE_BODY_LIMIT, Stack

NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "No changes")


def is_no_changes(reason: str | None) -> bool:
    """Does a FAILED change set's reason only say that there is nothing to change?"""
    return any(text in (reason or "") for text in NO_CHANGES)


@dataclass(frozen=True)
class Cause:
    """One entry of a change's Details: what changes (a property, the tags, ...) and what caused it.

    `before`/`after` are the property's values when the endpoint returns them (DescribeChangeSet with
    IncludePropertyValues: AWS does; LocalStack returns no Details at all).
    """

    source: str  # ChangeSource: ParameterReference, DirectModification, ResourceReference, ResourceAttribute, ...
    attribute: str = ""  # Target.Attribute: Properties, Tags, Metadata, DeletionPolicy, ...
    name: str = ""  # Target.Name: the property, when attribute is Properties
    entity: str = ""  # CausingEntity: the parameter, or the resource (Logical.Attr) referred to
    recreation: str = ""  # Target.RequiresRecreation: Never, Conditionally, Always
    before: str | None = None
    after: str | None = None

    @classmethod
    def from_api(cls, detail: Mapping[str, Any]) -> Cause:
        target = detail.get("Target") or {}

        def value(key: str) -> str | None:
            found = target.get(key)
            return None if found is None else str(found)

        return cls(detail.get("ChangeSource", "") or "", target.get("Attribute", "") or "",
                   target.get("Name", "") or "", detail.get("CausingEntity", "") or "",
                   target.get("RequiresRecreation", "") or "", value("BeforeValue"), value("AfterValue"))

    @property
    def text(self) -> str:
        """E.g. `LifecycleConfiguration: 30 → 14 (parameter BucketLifecycleDays)`."""
        what = self.name or self.attribute or "the resource"
        if self.before is not None or self.after is not None:
            before, after = ("-" if v is None else v for v in (self.before, self.after))
            what += f": {before} → {after}"
        why = {"ParameterReference": f"parameter {self.entity}", "DirectModification": "changed in the template",
               "ResourceReference": f"refers to {self.entity}", "ResourceAttribute": f"attribute {self.entity}",
               "Automatic": "automatic (a nested stack)"}.get(self.source, self.source)
        if self.recreation in ("Always", "Conditionally"):
            why += f"; recreation {self.recreation.lower()}"
        return f"{what} ({why})" if why else what


@dataclass(frozen=True)
class Change:
    """One resource change of a change set."""

    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""
    physical_id: str = ""
    causes: tuple[str, ...] = ()  # what requires recreation: the data guard's reasons
    details: tuple[Cause, ...] = ()  # every cause, in the change set's order, repeats dropped

    @classmethod
    def from_api(cls, change: Mapping[str, Any]) -> Change:
        rc = change.get("ResourceChange", {})
        causes = tuple(dict.fromkeys(
            d.get("Target", {}).get("Name") or d.get("Target", {}).get("Attribute", "")
            for d in rc.get("Details", [])
            if d.get("Target", {}).get("RequiresRecreation") in ("Always", "Conditionally")))
        details = tuple(dict.fromkeys(Cause.from_api(d) for d in rc.get("Details", [])))
        return cls(rc.get("Action", ""), rc.get("LogicalResourceId", ""), rc.get("ResourceType", ""),
                   rc.get("Replacement", "") or "", rc.get("PhysicalResourceId", "") or "", causes, details)

    def data_loss(self, stateful_types: Collection[str]) -> str | None:
        """Why this change would lose the data of a stateful resource, or None."""
        if self.resource_type not in stateful_types:
            return None
        what = f"{self.resource_type} {self.logical_id}" + (f" ({self.physical_id})" if self.physical_id else "")
        if self.action == "Remove":
            return f"{what} would be deleted: it is no longer in the template"
        if self.replacement in ("True", "Conditional"):
            by = f" because {', '.join(self.causes)} changed" if self.causes else ""
            certainty = "would" if self.replacement == "True" else "may"
            return f"{what} {certainty} be replaced{by} (Replacement={self.replacement}): a new, empty one"
        return None


@dataclass(frozen=True)
class ChangeSet:
    id: str
    stack_id: str
    kind: str  # CREATE or UPDATE
    changes: tuple[Change, ...]

    def data_losses(self, stateful_types: Collection[str]) -> list[str]:
        """The data guard's findings: why each stateful resource would be replaced or deleted."""
        return [why for why in (c.data_loss(stateful_types) for c in self.changes) if why]


def change_rows(changes: Sequence[Change]) -> list[str]:
    rows = [(c.action, c.logical_id, c.resource_type, c.replacement or "-") for c in changes]
    return grid(rows, ("Action", "Logical id", "Type", "Replacement"))


def template_args(watcher: StackWatcher, body: str, artifact_bucket: str | None) -> dict[str, str]:
    """TemplateBody, or a TemplateURL after uploading a template over the inline limit to S3."""
    size = len(body.encode("utf-8"))
    if size <= TEMPLATE_BODY_LIMIT:
        return {"TemplateBody": body}
    if not artifact_bucket:
        raise UsageError(watcher.name, f"the template is {size:,} bytes, over CloudFormation's "
                                       f"{TEMPLATE_BODY_LIMIT:,}-byte TemplateBody limit; pass "
                                       f"--artifact-bucket BUCKET to upload it to S3 first")
    s3 = watcher.client("s3")
    key = f"builder/{watcher.name}/{hashlib.sha256(body.encode()).hexdigest()[:16]}.template.json"
    s3.put_object(Bucket=artifact_bucket, Key=key, Body=body.encode("utf-8"))
    url = f"{s3.meta.endpoint_url.rstrip('/')}/{artifact_bucket}/{quote(key)}"
    watcher.say(f"template ({size:,} bytes) uploaded to s3://{artifact_bucket}/{key}")
    return {"TemplateURL": url}


def role_arg(stack: Stack) -> dict[str, str]:
    """RoleARN for every change set and stack deletion, when cloudformation_role_arn is set."""
    role_arn = stack.config.cloudformation_role_arn
    return {"RoleARN": role_arn} if role_arn else {}


def create_change_set(watcher: StackWatcher, stack: Stack, kind: str,
                      template: Mapping[str, str]) -> ChangeSet | None:
    """Make a change set and wait for it; None (and the change set deleted) when nothing changes."""
    cf = watcher.cf
    created = cf.create_change_set(
        StackName=stack.name, ChangeSetName=f"builder-{uuid.uuid4().hex[:12]}", ChangeSetType=kind,
        Description="builder deploy", Parameters=[
            {"ParameterKey": key, "ParameterValue": value} for key, value in stack.parameters.items()],
        Tags=[{"Key": key, "Value": value} for key, value in stack.tags.items()],
        Capabilities=list(stack.capabilities), **role_arg(stack), **template)
    change_set_id = created["Id"]
    backoff = watcher.backoff()
    while True:
        described = watcher.read("describe_change_set", ChangeSetName=change_set_id, IncludePropertyValues=True)
        if described["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            break
        backoff.wait()
    if described["Status"] == "FAILED":
        reason = described.get("StatusReason", "")
        if is_no_changes(reason):
            cf.delete_change_set(ChangeSetName=change_set_id)
            return None
        raise OperationError(watcher.name, f"the change set failed: {reason} (kept for inspection: "
                                           f"{described.get('ChangeSetName')})")
    changes = [Change.from_api(c) for c in described.get("Changes", [])]
    token = described.get("NextToken")
    while token:
        page = watcher.read("describe_change_set", ChangeSetName=change_set_id, NextToken=token,
                            IncludePropertyValues=True)
        changes += [Change.from_api(c) for c in page.get("Changes", [])]
        token = page.get("NextToken")
    return ChangeSet(change_set_id, created.get("StackId") or described["StackId"], kind, tuple(changes))


def guard(watcher: StackWatcher, change_set: ChangeSet, stateful_types: Collection[str], allowed: bool) -> None:
    """The data guard: no change set that replaces or removes a bucket or table runs unless allowed.

    Refused: the change set is deleted, the stack is unchanged, and RefusedError (exit 3) says why.
    """
    losses = change_set.data_losses(stateful_types)
    if not losses:
        return
    for why in losses:
        watcher.say(f"data guard: {why}")
    if allowed:
        watcher.say("data guard: going ahead because of --allow-replacement")
        return
    with aws.translate(watcher.name, watcher.region):
        watcher.cf.delete_change_set(ChangeSetName=change_set.id)
    raise RefusedError(watcher.name, f"refused: the change set would replace or delete {len(losses)} stateful "
                                     f"resource(s) (listed above); it was deleted and the stack is unchanged. "
                                     f"Rerun with --allow-replacement to accept losing that data")
