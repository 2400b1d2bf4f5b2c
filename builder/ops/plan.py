"""The steps deploy and diff share: find the stack once no other operation runs on it, make the change
set deploy would execute, and show it."""

from __future__ import annotations

from dataclasses import asdict

from builder.errors import OperationError
from builder.stack.changeset import ChangeSet, change_rows, create_change_set, template_args
from builder.stack.deployed import DeployedStack
from builder.stack.watch import StackWatcher
from builder.synth import Stack


def current_stack(watcher: StackWatcher, wait_for_others: bool) -> DeployedStack | None:
    """The stack as it stands once no other operation runs on it (waited for, or refused unless
    `wait_for_others`); None when it does not exist."""
    current = watcher.describe()
    if current is not None:
        current = watcher.wait_for_others(current, wait_for_others)
    if current is not None and current.stuck:
        raise OperationError(watcher.name, f"the stack is {current.status}; it needs a human (see its "
                                           f"events), then deploy again")
    return current


def plan(watcher: StackWatcher, stack: Stack, current: DeployedStack | None,
         artifact_bucket: str | None) -> ChangeSet | None:
    """The change set deploy would execute (CREATE or UPDATE; a template over the inline limit through
    `artifact_bucket`); None when nothing changes."""
    kind = "CREATE" if current is None or current.in_review else "UPDATE"
    return create_change_set(watcher, stack, kind, template_args(watcher, stack.template_body, artifact_bucket))


def show_changes(watcher: StackWatcher, change_set: ChangeSet) -> None:
    for change in change_set.changes:
        watcher.reporter.record("change", stack=watcher.name, action=change.action, logical_id=change.logical_id,
                                type=change.resource_type, replacement=change.replacement,
                                causes=[asdict(cause) for cause in change.details])
    watcher.say(f"{len(change_set.changes)} change(s) planned ({change_set.kind}):")
    watcher.reporter.lines(change_rows(change_set.changes), watcher.name)
    watcher.reporter.lines([f"  {change.logical_id}: {'; '.join(cause.text for cause in change.details)}"
                            for change in change_set.changes if change.details], watcher.name)
