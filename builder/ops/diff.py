"""Diff one stack: make the change set deploy would make, show it with the data guard's verdict, delete it
(and the empty REVIEW_IN_PROGRESS stack a CREATE change set leaves behind)."""

from __future__ import annotations

import time

from builder.ops.deploy import WatcherFactory
from builder.ops.drift import drift_for_diff
from builder.ops.plan import current_stack, plan, show_changes
from builder.ops.pool import Options, Outcome, Result
from builder.report import Reporter
from builder.resources import STATEFUL_TYPES
from builder.stack import client as aws
from builder.stack.changeset import role_arg
from builder.stack.watch import StackWatcher
from builder.synth import Stack


def diff_stack(stack: Stack, options: Options, reporter: Reporter,
               watcher_factory: WatcherFactory = StackWatcher) -> Outcome:
    started = time.monotonic()
    watcher = watcher_factory(stack.name, stack.region, reporter)
    with aws.translate(stack.name, stack.region):
        current = current_stack(watcher, options)
        if current is not None and current["StackStatus"] == "ROLLBACK_COMPLETE":
            watcher.say("ROLLBACK_COMPLETE (a failed create): deploy would delete it and create it again")
            return Outcome(stack.name, stack.region, Result.CHANGES, time.monotonic() - started)
        if current is not None and current["StackStatus"] != "REVIEW_IN_PROGRESS" and stack.config.check_drift:
            drift_for_diff(watcher, options)
        change_set = plan(watcher, stack, options, current)
        if change_set is None:
            watcher.say("no changes")
            return Outcome(stack.name, stack.region, Result.NO_CHANGES, time.monotonic() - started)
        if current is None:
            watcher.say("does not exist yet; deploy would create:")
        show_changes(watcher, change_set)
        for why in change_set.data_losses(STATEFUL_TYPES):
            watcher.say(f"data guard: {why}; deploy would refuse without --allow-replacement")
        watcher.cf.delete_change_set(ChangeSetName=change_set.id)
        if current is None:
            review = watcher.describe(change_set.stack_id)
            if review is not None and review["StackStatus"] == "REVIEW_IN_PROGRESS":
                watcher.cf.delete_stack(StackName=change_set.stack_id, **role_arg(stack))
    return Outcome(stack.name, stack.region, Result.CHANGES, time.monotonic() - started,
                   changes=len(change_set.changes))
