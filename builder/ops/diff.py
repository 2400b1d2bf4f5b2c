"""Diff one stack: make the change set deploy would make, show it with the data guard's findings, the
parameter values and tags that change and the monthly cost before and after, then delete it (and the
empty REVIEW_IN_PROGRESS stack a CREATE change set leaves behind). The deployed template is read once
(GetTemplate) for the data guard and the cost before.

Each stack's findings also go into `reviews` (by stack name), for the markdown block and the cost gate.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import asdict

from builder.cost import stack_items
from builder.data_guard import Finding, merged
from builder.deployed_cost import deployed_items, deployed_parameters
from builder.ops.deploy import WatcherFactory
from builder.ops.drift import drift_for_diff
from builder.ops.plan import Deployed, current_stack, data_losses, is_update, plan, read_deployed, show_changes
from builder.ops.pool import Options, Outcome, Result
from builder.ops.review import (
    CHANGES,
    NEW,
    NO_CHANGES,
    RECREATE,
    CostChange,
    StackReview,
    ValueChange,
    compare_costs,
    signed_usd,
    usd,
    value_changes,
)
from builder.pricing import CostError, prices_for
from builder.report import Reporter
from builder.stack import client as aws
from builder.stack.changeset import report_losses, role_arg
from builder.stack.watch import StackDescription, StackWatcher
from builder.synth import Stack

Reviews = MutableMapping[str, StackReview]


def diff_stack(stack: Stack, options: Options, reporter: Reporter,
               watcher_factory: WatcherFactory = StackWatcher, reviews: Reviews | None = None) -> Outcome:
    started = time.monotonic()
    found = reviews if reviews is not None else {}
    watcher = watcher_factory(stack.name, stack.region, reporter)
    with aws.translate(stack.name, stack.region):
        current = current_stack(watcher, options)
        if current is not None and current["StackStatus"] == "ROLLBACK_COMPLETE":
            watcher.say("ROLLBACK_COMPLETE (a failed create): deploy would delete it and create it again")
            found[stack.name] = StackReview(stack.name, stack.region, RECREATE)
            return Outcome(stack.name, stack.region, Result.CHANGES, time.monotonic() - started)
        drifted = None
        if is_update(current) and stack.config.check_drift:
            drifted = drift_for_diff(watcher, options)
        deployed = read_deployed(watcher, current) if is_update(current) else None
        change_set = plan(watcher, stack, options, current)
        if change_set is None:
            losses = data_losses(deployed, stack)
            watcher.say("no resource changes" if losses else "no changes")
            _show_losses(watcher, losses)
            found[stack.name] = StackReview(stack.name, stack.region, CHANGES if losses else NO_CHANGES,
                                            data_losses=losses, drift=drifted)
            return Outcome(stack.name, stack.region, Result.CHANGES if losses else Result.NO_CHANGES,
                           time.monotonic() - started)
        if deployed is None:
            watcher.say("does not exist yet; deploy would create:")
        show_changes(watcher, change_set)
        losses = _show_losses(watcher, merged(data_losses(deployed, stack), change_set.data_losses()))
        record: StackDescription = deployed.record if deployed is not None else {}
        parameters = value_changes(deployed_parameters(record), dict(stack.parameters))
        tags = value_changes({t["Key"]: t["Value"] for t in record.get("Tags") or []}, dict(stack.tags))
        if deployed is not None:
            _show_values(watcher, "parameter", parameters)
            _show_values(watcher, "tag", tags)
        cost, note = _cost(stack, deployed)
        _show_cost(watcher, cost, note)
        watcher.cf.delete_change_set(ChangeSetName=change_set.id)
        if current is None:
            review = watcher.describe(change_set.stack_id)
            if review is not None and review["StackStatus"] == "REVIEW_IN_PROGRESS":
                watcher.cf.delete_stack(StackName=change_set.stack_id, **role_arg(stack))
    exists = deployed is not None
    found[stack.name] = StackReview(stack.name, stack.region, CHANGES if exists else NEW, change_set.changes,
                                    losses, parameters if exists else (), tags if exists else (), cost, note,
                                    drifted)
    return Outcome(stack.name, stack.region, Result.CHANGES, time.monotonic() - started,
                   changes=len(change_set.changes))


def _show_losses(watcher: StackWatcher, losses: tuple[Finding, ...]) -> tuple[Finding, ...]:
    report_losses(watcher, losses, "deploy would refuse (exit 3) unless --allow-data-loss")
    return losses


def _cost(stack: Stack, deployed: Deployed | None) -> tuple[CostChange | None, str]:
    """The monthly cost before (the deployed template with its deployed values) and after; with the
    reason when either side cannot be priced."""
    try:
        after = stack_items(stack, prices_for(stack.region), [])
        before = None if deployed is None else deployed_items(deployed.template, deployed.state.parameters,
                                                               stack.name, stack.region)
    except CostError as error:
        return None, f"not priced: {error.message}"
    return compare_costs(before, after), ""


def _show_values(watcher: StackWatcher, what: str, changes: tuple[ValueChange, ...]) -> None:
    for change in changes:
        watcher.reporter.record(what, stack=watcher.name, **asdict(change))
    watcher.reporter.lines([f"{what} {c.name}: {c.old if c.old is not None else '(none)'} → "
                            f"{c.new if c.new is not None else '(none)'}" for c in changes], watcher.name)


def _show_cost(watcher: StackWatcher, cost: CostChange | None, note: str) -> None:
    if cost is None:
        watcher.say(f"monthly cost: {note}")
        return
    watcher.reporter.record("cost", stack=watcher.name, before_monthly_usd=cost.before,
                            after_monthly_usd=cost.after, difference_monthly_usd=round(cost.difference, 6),
                            fixed_rows=[asdict(r) for r in cost.fixed_rows],
                            rate_rows=[asdict(r) for r in cost.rate_rows])
    line = f"monthly fixed cost: {usd(cost.before)} → {usd(cost.after)} USD ({signed_usd(cost.difference)})"
    watcher.reporter.lines([line], watcher.name)
