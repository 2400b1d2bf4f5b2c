"""Change sets of one stack: make one (inline or through S3), read its changes, and the data guard's
refusal (what it finds is builder/data_guard.py's, from the templates, plus the change set's replacements).

Every parameter value is passed explicitly, never UsePreviousValue: a changed default must reach an
existing stack. A FAILED change set whose reason only says there is nothing to change means "no
changes" and is deleted; any other failed change set is kept for inspection.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from builder.config_file import DEFAULT_CONFIG_FILE
from builder.data_guard import Finding, merged, replaced_per_change_set
from builder.errors import RefusedError, UsageError
from builder.families import DataHolder
from builder.resources import inventory
from builder.stack import client as aws
from builder.stack import revert, validation
from builder.stack.deployed import EXPRESS
from builder.stack.rollback import RollbackTriggers
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
    reverted: tuple[revert.RevertedProperty, ...] = ()  # a drift-aware change set: the drift it puts back

    @classmethod
    def from_api(cls, change: Mapping[str, Any]) -> Change:
        rc = change.get("ResourceChange", {})
        causes = tuple(dict.fromkeys(
            d.get("Target", {}).get("Name") or d.get("Target", {}).get("Attribute", "")
            for d in rc.get("Details", [])
            if d.get("Target", {}).get("RequiresRecreation") in ("Always", "Conditionally")))
        details = tuple(dict.fromkeys(Cause.from_api(d) for d in rc.get("Details", [])))
        return cls(rc.get("Action", ""), rc.get("LogicalResourceId", ""), rc.get("ResourceType", ""),
                   rc.get("Replacement", "") or "", rc.get("PhysicalResourceId", "") or "", causes, details,
                   revert.reverted(rc))

    def data_loss(self, holders: Mapping[str, DataHolder]) -> Finding | None:
        """The change set's own word that a resource holding data would be replaced (Replacement True
        or Conditional), or None. (Removals, and everything else, the templates show: data_guard.)"""
        holder = holders.get(self.resource_type)
        if holder is None or self.action != "Modify" or self.replacement not in ("True", "Conditional"):
            return None
        return replaced_per_change_set(self.logical_id, self.resource_type, self.replacement, self.causes,
                                       self.physical_id, holder)


@dataclass(frozen=True)
class ChangeSet:
    id: str
    stack_id: str
    kind: str  # CREATE or UPDATE
    changes: tuple[Change, ...]
    findings: validation.Findings = validation.NO_FINDINGS  # CloudFormation's findings (WARN: it was made)
    revert_drift: bool = False  # made with DeploymentMode=REVERT_DRIFT
    deployment_mode: str = "STANDARD"  # DeploymentConfig.Mode as DescribeChangeSet echoes it (none: STANDARD)

    @property
    def reverted(self) -> tuple[revert.RevertedProperty, ...]:
        """Every drifted property the change set puts back (a drift-aware change set only)."""
        return tuple(p for c in self.changes for p in c.reverted)

    def data_losses(self, holders: Mapping[str, DataHolder] | None = None) -> tuple[Finding, ...]:
        """What the change set itself says would replace a resource that holds data (the families in use
        declare which types do, unless `holders` says)."""
        found = inventory().data_holders if holders is None else holders
        return tuple(f for f in (c.data_loss(found) for c in self.changes) if f is not None)


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
    watcher.say("template uploaded", size=size, bucket=artifact_bucket, key=key)
    return {"TemplateURL": url}


def role_arg(stack: Stack) -> dict[str, str]:
    """RoleARN for every change set and stack deletion, when cloudformation_role_arn is set."""
    role_arn = stack.config.cloudformation_role_arn
    return {"RoleARN": role_arn} if role_arn else {}


def deployment_config(stack: Stack) -> dict[str, Any]:
    """DeploymentConfig for a change set of an express stack (setting deployment_mode), rollback kept on (AWS
    turns it off in express mode unless told: a failed deploy must leave the stack as it was); nothing for a
    standard one, so its request is as it always was."""
    if stack.config.deployment_mode != "express":
        return {}
    return {"DeploymentConfig": {"Mode": EXPRESS, "DisableRollback": False}}


def create_change_set(watcher: StackWatcher, stack: Stack, kind: str, template: Mapping[str, str],
                      revert_drift: bool = False, rollback: RollbackTriggers | None = None) -> ChangeSet | None:
    """Make a change set and wait for it; None (and the change set deleted) when nothing changes. Its
    validation findings are read (one DescribeEvents) when it fails and when it is made; `revert_drift`
    makes a drift-aware change set (an UPDATE only); `rollback`, its RollbackConfiguration (builder.stack.rollback)."""
    mode = {"DeploymentMode": revert.DEPLOYMENT_MODE} if revert_drift and kind == "UPDATE" else {}
    name = f"builder-{uuid.uuid4().hex[:12]}"  # named here: a Ctrl-C before CreateChangeSet answers can still delete it
    cf = watcher.cf
    try:
        created = cf.create_change_set(
            StackName=stack.name, ChangeSetName=name, ChangeSetType=kind,
            Description="builder deploy", Parameters=[
                {"ParameterKey": key, "ParameterValue": value} for key, value in stack.parameters.items()],
            Tags=[{"Key": key, "Value": value} for key, value in stack.tags.items()],
            Capabilities=list(stack.capabilities), **role_arg(stack), **deployment_config(stack), **template, **mode,
            **(rollback.argument() if rollback is not None else {}))
        return _read(watcher, created["Id"], created.get("StackId"), kind, bool(mode))
    except KeyboardInterrupt:  # diff promises no change set stays behind; deploy makes a new one next time
        with contextlib.suppress(Exception):  # the run's budget is stopped: the plain client, one call, best effort
            watcher.cf_after_interrupt.delete_change_set(StackName=stack.name, ChangeSetName=name)
        raise


def _read(watcher: StackWatcher, change_set_id: str, stack_id: str | None, kind: str,
          drift_aware: bool) -> ChangeSet | None:
    """The change set once made, with its changes and validation findings; None (and it deleted) when it
    changes nothing; ValidationFailed (it kept for inspection) when it failed."""
    described = _made(watcher, change_set_id)
    if described["Status"] == "FAILED":
        reason = described.get("StatusReason", "")
        if is_no_changes(reason):
            watcher.cf.delete_change_set(ChangeSetName=change_set_id)
            return None
        found = validation.read_findings(watcher.read, change_set=change_set_id)
        validation.report(watcher.reporter, watcher.name, found)
        raise validation.ValidationFailed(watcher.name, f"the change set failed: {reason} (kept for inspection: "
                                                        f"{described.get('ChangeSetName')})"
                                                        f"{validation.failure_note(found)}", found)
    changes = [Change.from_api(c) for c in described.get("Changes", [])]
    token = described.get("NextToken")
    while token:
        page = watcher.read("describe_change_set", ChangeSetName=change_set_id, NextToken=token,
                            IncludePropertyValues=True)
        changes += [Change.from_api(c) for c in page.get("Changes", [])]
        token = page.get("NextToken")
    found = validation.read_findings(watcher.read, change_set=change_set_id)
    validation.report(watcher.reporter, watcher.name, found, warnings_only=True)
    echoed = (described.get("DeploymentConfig") or {}).get("Mode") or "STANDARD"
    return ChangeSet(change_set_id, stack_id or described["StackId"], kind, tuple(changes), found, drift_aware, echoed)


def _made(watcher: StackWatcher, change_set_id: str) -> dict[str, Any]:
    """DescribeChangeSet once the change set is made (or has failed)."""
    pauses = aws.intervals()
    while True:
        described: dict[str, Any] = watcher.read("describe_change_set", ChangeSetName=change_set_id,
                                                 IncludePropertyValues=True)
        if described["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            return described
        watcher.pause(next(pauses))


class Verdict(enum.Enum):
    """What the data guard decided about a change that would lose data."""

    ALLOWED = "allowed"  # deploy goes ahead: --allow-data-loss
    REFUSED = "refused"  # deploy refuses (exit 3)
    WOULD_REFUSE = "would refuse"  # diff: what deploy would do


@dataclass(frozen=True)
class GuardVerdict:
    """What the data guard found in one stack's change and what it decided (shown by the CLI)."""

    findings: tuple[Finding, ...]
    verdict: Verdict


def report_losses(watcher: StackWatcher, losses: Sequence[Finding], verdict: Verdict) -> None:
    """Hand the findings and the verdict to the reporter (the CLI shows each as a `data guard:` line, then the
    verdict; in JSON one `data_guard` record)."""
    watcher.reporter.show("data guard", GuardVerdict(tuple(losses), verdict), watcher.name)


def guard(watcher: StackWatcher, stack: Stack, losses: Sequence[Finding], allowed: bool) -> None:
    """The data guard before any change set is made: what the templates show (data_guard.findings of the
    deployed and the new stack) is refused unless allowed: RefusedError (exit 3), nothing changed."""
    _verdict(watcher, stack, tuple(losses), allowed, None)


def guard_change_set(watcher: StackWatcher, stack: Stack, change_set: ChangeSet, seen: Sequence[Finding],
                     allowed: bool) -> None:
    """The data guard once the change set is made: its own replacements that the templates did not show
    (`seen`: what `guard` already found) are refused unless allowed; the change set is then deleted."""
    _verdict(watcher, stack, merged(seen, change_set.data_losses())[len(seen):], allowed, change_set)


def _verdict(watcher: StackWatcher, stack: Stack, found: tuple[Finding, ...], allowed: bool,
             change_set: ChangeSet | None) -> None:
    if not found:
        return
    if allowed:
        report_losses(watcher, found, Verdict.ALLOWED)
        return
    report_losses(watcher, found, Verdict.REFUSED)
    if change_set is not None:
        with aws.translate(watcher.name, watcher.region):
            watcher.cf.delete_change_set(ChangeSetName=change_set.id)
    config_file = stack.config.config_file
    raise RefusedError(watcher.name, f"refused: {len(found)} change(s) would lose data (listed above); " + (
        "the change set was deleted and the stack is unchanged" if change_set is not None
        else "nothing was changed (no change set made)") + "; " + (
        f"config read from {config_file}" if config_file
        else f"no config file was read (built-in defaults; is this the folder with the {DEFAULT_CONFIG_FILE} that "
             f"made the stack? --config names one)") + ". Rerun with --allow-data-loss to accept losing it")
