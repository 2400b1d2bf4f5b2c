"""The stack policy of a deployed stack: set after a create, kept current before each update, lifted by
`--allow-data-loss` for that one update and put back afterwards (after a failure and after Ctrl-C too).

The policy itself (what it denies, on which resources) is builder.stack_policy's, from the families'
DataHolder declarations. CreateChangeSet and ExecuteChangeSet take no stack policy (CreateStack and
UpdateStack do, but builder deploys through change sets), so builder calls SetStackPolicy: before an
update executes (the policy is evaluated when the update runs, so it must already be the new template's),
and after a create has succeeded (the stack must exist and hold its resources).

An endpoint that does not implement SetStackPolicy (LocalStack 2026.3 answers 501 InternalFailure) is
named in one line and the deploy goes on: the data guard still protects builder's own deploys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.exceptions

from builder.stack.client import error_code, error_message
from builder.stack.drift import EMULATOR_GAP_MARKER
from builder.stack.watch import StackWatcher
from builder.stack_policy import PERMISSIVE, document
from builder.synth import Stack

PROTECTED, UNPROTECTED, NOT_KNOWN = "protected", "not protected", "not known"  # what status and diff say
NOT_YET = "none yet"  # diff of a stack that does not exist: deploy sets its policy once it is created


def _gap(exc: botocore.exceptions.ClientError) -> bool:
    return EMULATOR_GAP_MARKER in error_message(exc)


def _set(watcher: StackWatcher, stack_name: str, body: str) -> bool:
    """SetStackPolicy; False (and one line said) when the endpoint does not implement it."""
    try:
        watcher.cf.set_stack_policy(StackName=stack_name, StackPolicyBody=body)
    except botocore.exceptions.ClientError as exc:
        if not _gap(exc):
            raise
        watcher.say("stack policy not implemented", code=error_code(exc))
        return False
    return True


def protect(watcher: StackWatcher, stack: Stack, stack_name: str | None = None) -> bool:
    """Set the protective policy (after a create); False when the endpoint does not implement it."""
    return _set(watcher, stack_name or stack.name, stack.policy_body)


@contextmanager
def for_update(watcher: StackWatcher, stack: Stack, stack_id: str, allow_data_loss: bool,
               kind: str = "UPDATE") -> Iterator[None]:
    """Around executing an update's change set: the new template's protective policy before it, or, with
    `allow_data_loss`, a permissive one for this update and the protective one back afterwards, whatever
    happened (a failed update, an error, Ctrl-C). If it cannot be put back: one line with the command.
    Nothing around a create (the stack has no resources yet: protect() follows its success)."""
    if kind != "UPDATE":
        yield
        return
    if not allow_data_loss:
        protect(watcher, stack, stack_id)
        yield
        return
    if not _set(watcher, stack_id, json.dumps(PERMISSIVE, sort_keys=True)):
        yield
        return
    watcher.say("stack policy lifted")
    try:
        yield
    finally:
        try:
            watcher.cf.set_stack_policy(StackName=stack_id, StackPolicyBody=stack.policy_body)
            watcher.say("stack policy put back")
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            # what the CLI needs to name the command that sets the protective policy by hand
            watcher.say("stack policy not put back", error=error_code(exc) or type(exc).__name__,
                        message=error_message(exc), stack_name=stack.name, region=stack.region,
                        policy=document(stack.protected))


def protection(read: Any, stack_name: str, protected: tuple[str, ...] | None = None) -> str:
    """Whether a deployed stack is protected by its policy (GetStackPolicy, one read): PROTECTED when its
    policy denies Update:Replace and Update:Delete on every one of `protected` (when given; else on
    something), UNPROTECTED without a policy or with a weaker one, NOT_KNOWN where the endpoint does not
    implement stack policies."""
    try:
        body = read("get_stack_policy", StackName=stack_name).get("StackPolicyBody")
    except botocore.exceptions.ClientError as exc:
        if _gap(exc):
            return NOT_KNOWN
        raise
    if not body:
        return UNPROTECTED
    try:
        statements = json.loads(body).get("Statement", [])
    except (ValueError, AttributeError):
        return UNPROTECTED
    denied: set[str] = set()
    for statement in statements if isinstance(statements, list) else []:
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        actions = statement.get("Action", [])
        actions = {actions} if isinstance(actions, str) else set(actions)
        if not ({"Update:*"} & actions or {"Update:Replace", "Update:Delete"} <= actions):
            continue
        resources = statement.get("Resource", [])
        denied |= {resources} if isinstance(resources, str) else set(resources)
    if "*" in denied or "LogicalResourceId/*" in denied:
        return PROTECTED
    wanted = {f"LogicalResourceId/{logical_id}" for logical_id in (protected or ())}
    if protected is None:
        return PROTECTED if denied else UNPROTECTED
    return PROTECTED if wanted <= denied else UNPROTECTED
