"""A change of the stack's tags alone (a new `ttl`, `tags` or `cost_center`): make it reach the stack.

A change set is judged by its resources. When only the stack's tags differ, CloudFormation may answer
FAILED "The submitted information didn't contain changes" (tools that deploy through change sets have
met it: serverless#6243, senza#470, runway#499), so the tags would never change. UpdateStack with the
previous template, every parameter as it stands and the new tags applies them: CloudFormation
updates the stack's tags and propagates them to every taggable resource, and nothing else changes
(the change set just said so). LocalStack 2026.3 refuses a tags-only change both ways (STYLE.md trap
9); builder then says so in one line and fails, never "no changes" while the tags differ.

The same UpdateStack applies a change of the rollback triggers alone (update_rollback): a change set cannot
carry a RollbackConfiguration without a resource change. An endpoint that keeps no triggers (LocalStack
2026.3) refuses it; builder says so in one line and the stack stays as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import botocore.exceptions

from builder.errors import OperationError
from builder.stack import client as aws
from builder.stack.changeset import is_no_changes
from builder.stack.deployed import DeployedStack
from builder.stack.rollback import RollbackTriggers, differs
from builder.stack.watch import StackWatcher
from builder.synth import Stack


@dataclass(frozen=True)
class TagChange:
    """A stack tag that differs: its key, the deployed value and the wanted one (None: the side has no such tag)."""

    key: str
    old: str | None
    new: str | None


NONE = "(none)"  # a missing side, as an error message names it


def tag_changes(deployed: DeployedStack, wanted: Mapping[str, str]) -> tuple[TagChange, ...]:
    """Each tag that differs, sorted by key."""
    have = deployed.tags
    return tuple(TagChange(key, have.get(key), wanted.get(key)) for key in sorted({*have, *wanted})
                 if have.get(key) != wanted.get(key))


def _update_in_place(watcher: StackWatcher, stack: Stack, deployed: DeployedStack,
                     rollback: RollbackTriggers | None) -> str | None:
    """UpdateStack with the previous template, each of its parameters with the value deploy would send (the one
    it has, for a parameter only the deployed template declares), `stack.tags` and `rollback`'s configuration;
    returns the event id to watch from. A ClientError of the endpoint goes up as it came."""
    parameters = [{"ParameterKey": key, "ParameterValue": stack.parameters[key]} if key in stack.parameters
                  else {"ParameterKey": key, "UsePreviousValue": True}
                  for key in deployed.parameters]
    role = {"RoleARN": stack.config.cloudformation_role_arn} if stack.config.cloudformation_role_arn else {}
    baseline = watcher.latest_event_id(deployed.stack_id)
    watcher.cf.update_stack(StackName=deployed.stack_id, UsePreviousTemplate=True, Parameters=parameters,
                            Tags=[{"Key": key, "Value": value} for key, value in stack.tags.items()],
                            Capabilities=list(stack.capabilities), **role,
                            **(rollback.argument() if rollback is not None else {}))
    return baseline


def _settled(watcher: StackWatcher, stack: Stack, deployed: DeployedStack, baseline: str | None) -> DeployedStack:
    final = watcher.watch(deployed.stack_id, baseline)
    if not final.succeeded:
        raise OperationError(stack.name, f"{final.status}: {watcher.root_cause()}")
    return final


def update_tags(watcher: StackWatcher, stack: Stack, deployed: DeployedStack,
                rollback: RollbackTriggers | None = None) -> DeployedStack:
    """UpdateStack with the previous template, the parameters as deploy would send them, `stack.tags` and the
    update's rollback triggers (builder.stack.rollback; left out, CloudFormation would use the stack's old ones);
    wait for the stack to settle and return it. Raises OperationError when the endpoint refuses or the tags
    still differ afterwards (the stack is then as it was)."""
    changes = tag_changes(deployed, stack.tags)
    watcher.say("tags only, updating", changes=changes)
    try:
        baseline = _update_in_place(watcher, stack, deployed, rollback)
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) != "ValidationError":
            raise
        raise OperationError(stack.name, "the stack's tags differ (" + "; ".join(
            f"{c.key}: {NONE if c.old is None else c.old} → {NONE if c.new is None else c.new}" for c in changes)
            + f") but this endpoint changed nothing: the change set came back empty and UpdateStack answered "
              f"{aws.error_code(exc)}: {aws.error_message(exc).rstrip('.')}. LocalStack cannot change a stack's tags "
              f"alone (docs/commands/emulator.md: what the emulator cannot do); AWS applies them") from None
    final = _settled(watcher, stack, deployed, baseline)
    left = tag_changes(final, stack.tags)
    if left:
        raise OperationError(stack.name, f"the stack ended {final.status} but its tags still differ (" + "; ".join(
            f"{c.key}: {NONE if c.old is None else c.old} → {NONE if c.new is None else c.new}" for c in left)
            + "): this endpoint did not change them")
    return final



# LocalStack 2026.3's answer to UpdateStack with UsePreviousTemplate (AWS takes exactly one of TemplateBody,
# TemplateURL and UsePreviousTemplate, so it never says this of a request that has the third)
NO_PREVIOUS_TEMPLATE = "Specify exactly one of 'TemplateBody' or 'TemplateUrl'"


def update_rollback(watcher: StackWatcher, stack: Stack, deployed: DeployedStack,
                    rollback: RollbackTriggers) -> DeployedStack | None:
    """A change of the rollback triggers alone (rollback_alarms, rollback_monitoring_minutes): the same
    UpdateStack with the previous template, which AWS accepts for a RollbackConfiguration alone (aws-cdk#5170).
    Returns the settled stack; None when the endpoint cannot do it (LocalStack 2026.3 keeps no
    RollbackConfiguration and refuses UsePreviousTemplate, so every deploy asks again): deploy says so in one
    line (the view of "rollback triggers not kept") and the stack is unchanged."""
    watcher.say("rollback triggers only, updating")
    try:
        baseline = _update_in_place(watcher, stack, deployed, rollback)
    except botocore.exceptions.ClientError as exc:
        message = aws.error_message(exc)
        if aws.error_code(exc) != "ValidationError" or not (is_no_changes(message) or NO_PREVIOUS_TEMPLATE in message):
            raise
        watcher.reporter.show_once("rollback triggers not kept", {}, stack.name)
        return None
    final = _settled(watcher, stack, deployed, baseline)
    if differs(rollback, final):
        watcher.reporter.show_once("rollback triggers not kept", {}, stack.name)
    return final
