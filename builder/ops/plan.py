"""The steps deploy and diff share: find the stack once no other operation runs on it, read what is
deployed (once), find what the new stack would lose, make the change set deploy would execute, and show it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeGuard

from builder.data_guard import Finding, StackState, findings, pseudo_parameters
from builder.errors import RefusedError
from builder.stack.changeset import ChangeSet, create_change_set, template_args
from builder.stack.deployed import DeployedStack
from builder.stack.rollback import RollbackTriggers
from builder.stack.template import template_from_body
from builder.stack.watch import StackWatcher
from builder.synth import Stack


@dataclass(frozen=True)
class Deployed:
    """What is deployed, read once per stack: the stack as DescribeStacks describes it, GetTemplate's body
    as returned (the no-op skip compares it), the template as a dict, and the state the data guard
    compares with."""

    described: DeployedStack
    body: Mapping[str, Any] | str
    template: Mapping[str, Any]
    state: StackState


def is_update(current: DeployedStack | None) -> TypeGuard[DeployedStack]:
    """Is there a deployed stack to update? (REVIEW_IN_PROGRESS: a CREATE change set, nothing deployed.)"""
    return current is not None and not current.in_review


def read_deployed(watcher: StackWatcher, current: DeployedStack) -> Deployed:
    """The deployed template (GetTemplate, TemplateStage=Original: as submitted, before transforms), its
    parameter values (an SSM-typed one's resolved value) and termination protection: one call besides
    the DescribeStacks already made."""
    body = watcher.read("get_template", StackName=current.stack_id, TemplateStage="Original")["TemplateBody"]
    template = template_from_body(body, watcher.name)
    return Deployed(current, body, template, StackState(template, dict(current.resolved_parameters),
                                                        current.termination_protection,
                                                        pseudo_parameters(current.stack_id)))


def data_losses(deployed: Deployed | None, stack: Stack) -> tuple[Finding, ...]:
    """What deploying `stack` over what is deployed would lose (nothing when nothing is deployed)."""
    if deployed is None:
        return ()
    new = StackState(template_from_body(stack.template_body, stack.name), dict(stack.parameters),
                     stack.config.termination_protection, deployed.state.pseudo)
    return findings(deployed.state, new, stack.name)


def current_stack(watcher: StackWatcher, wait_for_others: bool) -> DeployedStack | None:
    """The stack as it stands once no other operation runs on it (waited for, or refused unless
    `wait_for_others`); None when it does not exist."""
    current = watcher.describe()
    if current is not None:
        current = watcher.wait_for_others(current, wait_for_others)
    if current is not None and current.stuck:  # refused, nothing changed: a person must decide first (exit 3)
        raise RefusedError(watcher.name, f"the stack is {current.status}; it needs a human (see its "
                                           f"events), then deploy again")
    return current


def plan(watcher: StackWatcher, stack: Stack, current: DeployedStack | None,
         artifact_bucket: str | None, revert_drift: bool = False,
         rollback: RollbackTriggers | None = None) -> ChangeSet | None:
    """The change set deploy would execute (CREATE or UPDATE; a template over the inline limit through
    `artifact_bucket`; drift-aware with `revert_drift`, for an UPDATE; with `rollback`'s triggers); None when
    nothing changes."""
    kind = "CREATE" if current is None or current.in_review else "UPDATE"
    return create_change_set(watcher, stack, kind, template_args(watcher, stack.template_body, artifact_bucket),
                             revert_drift, rollback)


def show_changes(watcher: StackWatcher, change_set: ChangeSet) -> None:
    watcher.reporter.show("change set", change_set, watcher.name)
