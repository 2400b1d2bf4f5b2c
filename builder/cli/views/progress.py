"""The sentences a command says about a stack while it runs (deploy, diff, destroy, drift).

builder.ops and builder.stack say what happened as a kind and its data (`StackWatcher.say("deploy settled",
status=..., seconds=...)`); the words for each kind are here, one function each, taking exactly the data
its kind carries. Text mode prints the sentence; JSON mode writes it as a `message` record (with the data
a kind names in `recorded`, such as the outputs written)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from builder.environment import MANAGED_BY_TAG
from builder.report import Shown, View
from builder.stack.tags import TagChange
from builder.stack.validation import Unavailable, Unreadable
from builder.stack_policy import inline_command


@dataclass(frozen=True)
class Said:
    words: Callable[..., str]  # (the kind's data, by keyword) -> the sentence
    recorded: tuple[str, ...] = ()  # data the JSON record carries beside the sentence


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f} s"


def _keeping(noun: str, physical_id: str, deletion_policy: str) -> str:
    policy = f"{deletion_policy}: retain_data" if deletion_policy == "Retain" else deletion_policy
    return f"keeping {noun} {physical_id} and its data (DeletionPolicy {policy})"


def _force_delete(failed: Sequence[tuple[str, str]]) -> str:
    left = ", ".join(f"{logical_id} {physical_id}" for logical_id, physical_id in failed)
    return f"force delete (the stack is DELETE_FAILED): leaving behind {left or 'nothing it failed on'}"


def _importing(found: Sequence[tuple[str, str]]) -> str:
    named = [f"{noun} {name}" for noun, name in found]
    return (f"adopt: importing {' and '.join(named)} already {'exist' if len(named) > 1 else 'exists'} "
            f"(IMPORT change set, DeletionPolicy Retain):")


def _tag_change(change: TagChange) -> str:
    """`key: old → new`, `(none)` for a side without the tag."""
    old, new = ("(none)" if value is None else value for value in (change.old, change.new))
    return f"{change.key}: {old} → {new}"


def _findings_unavailable(unavailable: Unavailable) -> str:
    """Why CloudFormation's validation findings are not shown, in words that say what to do."""
    if unavailable.cause is Unreadable.NOT_IMPLEMENTED:
        return (f"validation: this endpoint does not implement DescribeEvents ({unavailable.code}), so "
                f"CloudFormation's validation findings are not shown; AWS itself shows them")
    if unavailable.cause is Unreadable.UNREACHABLE:
        return f"validation: could not read CloudFormation's validation findings ({unavailable.code})"
    return (f"validation: could not read CloudFormation's validation findings (DescribeEvents: {unavailable.code}: "
            f"{unavailable.message})")


EXPRESS_GAP = ("this endpoint does not implement express mode (its change set came back without "
               "DeploymentConfig Mode EXPRESS); the stack deploys in standard mode, and is deleted in it")

ROLLBACK_GAP = ("this endpoint keeps no rollback triggers (DescribeStacks shows no RollbackConfiguration), so "
                "deploy cannot set them there; AWS keeps and applies them")

SAID: dict[str, Said] = {
    # a stack that is not there
    "missing, nothing to check": Said(lambda name, region: f"{name} does not exist in {region}; nothing to check"),
    "missing, nothing to delete": Said(lambda name, region: f"{name} does not exist in {region}; nothing to delete"),
    # another operation on the stack (stack/watch.py)
    "others running": Said(lambda status: f"another operation is running ({status}); waiting for it to settle"),
    "others settled": Said(lambda status: f"the other operation settled: {status}"),
    # deploy
    "service role kept": Said(lambda role_arn: (
        f"the stack keeps its service role {role_arn}: CloudFormation uses it when none is given and cannot "
        f"remove it; set cloudformation_role_arn to it (or to another role) to say which role deploys")),
    "deploy unchanged": Said(lambda: "no changes: the stack already has this template, these parameters and tags"),
    "empty change set": Said(lambda: "no changes; the empty change set was deleted"),
    "deploy settled": Said(lambda status, seconds: f"{status} in {_seconds(seconds)}"),
    "outputs written": Said(lambda path, outputs: f"outputs written to {path}", recorded=("outputs",)),
    "failed create deleted": Said(
        lambda: "ROLLBACK_COMPLETE: a failed create left an empty stack; deleting it, then creating again"),
    "earlier builder's stack adopted": Said(
        lambda: f"an earlier builder made this stack: this deploy adopts it, adding the {MANAGED_BY_TAG} tag"),
    "express not implemented": Said(lambda: EXPRESS_GAP),  # deployment_mode express on an endpoint without it
    "termination protection set": Said(
        lambda on: f"termination protection turned {'on' if on else 'off'} (setting termination_protection)"),
    "template uploaded": Said(lambda size, bucket, key: f"template ({size:,} bytes) uploaded to s3://{bucket}/{key}"),
    "tags only, updating": Said(lambda changes: (
        f"only the stack tags change ({'; '.join(map(_tag_change, changes))}): updating them with the deployed "
        f"template")),
    "rollback triggers only, updating": Said(
        lambda: "only the rollback triggers change: updating them with the deployed template"),
    "rollback triggers not kept": Said(lambda: ROLLBACK_GAP),  # rollback_alarms on an endpoint that keeps none
    # the stack policy (stack/policy.py)
    "stack policy not implemented": Said(lambda code: (
        f"this endpoint does not implement stack policies ({code} on SetStackPolicy); the stack has none: only "
        f"builder's data guard protects its data")),
    "stack policy lifted": Said(
        lambda: "stack policy lifted for this update (--allow-data-loss); it is put back afterwards"),
    "stack policy put back": Said(lambda: "stack policy put back"),
    "stack policy not put back": Said(lambda error, message, stack_name, region, policy: (
        f"the stack policy could not be put back ({error}: {message}); restore it with: "
        f"{inline_command(stack_name, region, policy)}")),
    # adopting retained resources (ops/adopt.py)
    "adopt check skipped": Said(lambda reason: (
        f"cannot look for retained data with these credentials ({reason}); with cloudformation_role_arn that is "
        f"expected, so going on without the check")),
    "adopt sets later": Said(lambda prop: (
        f"adopt: {prop} refers to resources not imported yet; the change set after the import sets it")),
    "adopt importing": Said(_importing),
    "adopt imported": Said(lambda: "adopt: imported; now the change set for everything else"),
    # drift before a deploy, and in diff (ops/drift.py)
    "check_drift detecting": Said(lambda: "check_drift: detecting drift before deploying"),
    "check_drift not detected": Said(lambda reason: (
        f"check_drift: could not detect drift ({reason}); going on because of --allow-drift")),
    "check_drift in sync": Said(lambda status: f"check_drift: {status}"),
    "check_drift allowed": Said(
        lambda: "check_drift: drifted; deploying anyway because of --allow-drift (the template's values win)"),
    "drift not detected": Said(lambda reason: f"drift: could not detect drift ({reason})"),
    # diff
    "diff failed create": Said(
        lambda: "ROLLBACK_COMPLETE (a failed create): deploy would delete it and create it again"),
    "diff new stack": Said(lambda: "does not exist yet; deploy would create:"),
    "diff tags only": Said(lambda tags: (  # tags: the stack tags change; else the rollback triggers alone
        f"only {'the stack tags' if tags else 'the rollback triggers'} change: deploy would update them with the "
        f"deployed template")),
    "diff no changes": Said(lambda losses: "no resource changes" if losses else "no changes"),
    "cost not priced": Said(lambda reason: f"monthly cost: not priced: {reason}"),
    # destroy
    "kept with its data": Said(_keeping),
    "prepared for delete": Said(lambda done: done),  # the family's own line: what its PreDelete did
    "already gone": Said(lambda noun, physical_id: f"{noun} {physical_id} is already gone"),
    "force delete": Said(_force_delete),
    "deleted": Said(lambda seconds: f"deleted in {_seconds(seconds)}"),
    "outputs removed": Said(lambda path: f"removed {path}: its stack no longer exists"),
    # CloudFormation's validation findings (stack/validation.py)
    "validation unavailable": Said(_findings_unavailable),
}


def said(kind: str) -> View:
    """The view of a kind the operations say: the sentence, or in JSON a `message` record."""
    how = SAID[kind]

    def view(data: Mapping[str, Any], stack: str | None) -> Shown:
        text = how.words(**data)
        return Shown([text], [{"event": "message", "stack": stack, "message": text,
                               **{key: data[key] for key in how.recorded}}])

    return view


def views() -> dict[str, View]:
    return {kind: said(kind) for kind in SAID}
