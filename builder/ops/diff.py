"""Diff one stack: make the change set deploy would make, show it with the data guard's findings, the
parameter values and tags that change and the monthly cost before and after, then delete it (and the
empty REVIEW_IN_PROGRESS stack a CREATE change set leaves behind). The deployed template is read once
(GetTemplate) for the data guard and the cost before.

Each stack's findings also go into `reviews` (by stack name), for the markdown block and the cost gate.
"""

from __future__ import annotations

import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial

from builder.cost import region_prices, stack_items
from builder.data_guard import Finding, merged
from builder.deployed_cost import deployed_items
from builder.ops import ownership
from builder.ops.drift import drift_for_diff
from builder.ops.ownership import Owner
from builder.ops.plan import Deployed, current_stack, data_losses, is_update, plan, read_deployed, show_changes
from builder.ops.pool import Outcome
from builder.ops.review import (
    CHANGES,
    FAILED,
    NEW,
    NO_CHANGES,
    RECREATE,
    CostChange,
    StackReview,
    ValueChange,
    compare_costs,
    value_changes,
)
from builder.pricing import CostError
from builder.report import Reporter
from builder.stack import client as aws
from builder.stack import policy, rollback, validation
from builder.stack.changeset import Verdict, report_losses, role_arg
from builder.stack.deployed import DeployedStack
from builder.stack.drift import DriftReport
from builder.stack.watch import StackWatcher, WatcherFactory
from builder.synth import Stack

Reviews = MutableMapping[str, StackReview]


class DiffResult(StrEnum):
    """What diff found for one stack (it changes nothing); the text is what the summary prints."""

    CHANGES = "changes"  # a change set with changes was made and deleted, or the data guard finds a loss
    NO_CHANGES = "no changes"


@dataclass(frozen=True)
class DiffOptions:
    """What diff was asked to do besides which stacks."""

    wait_for_others: bool = True  # wait for another operation on the stack instead of failing
    artifact_bucket: str | None = None  # S3 bucket for a template over the inline limit
    drift_timeout_s: float = 300.0  # how long the drift check of a check_drift environment may take
    revert_drift: bool = False  # the drift-aware change set deploy --revert-drift would make
    read_stack_policy: bool = False  # read whether the stack policy protects the stack (the markdown block says)


def diff_stack(stack: Stack, options: DiffOptions, reporter: Reporter, watcher_factory: WatcherFactory,
               reviews: Reviews | None = None) -> Outcome:
    started = time.monotonic()
    found = reviews if reviews is not None else {}
    watcher = watcher_factory(stack.name, stack.region, reporter)
    with aws.translate(stack.name, stack.region):
        current = current_stack(watcher, options.wait_for_others)
        _refuse_another_tools(watcher, stack, current)
        if current is not None and current.failed_create:
            watcher.say("diff failed create")
            found[stack.name] = StackReview(stack.name, stack.region, RECREATE)
            return Outcome(stack.name, stack.region, DiffResult.CHANGES, time.monotonic() - started)
        drifted = None
        if is_update(current) and stack.config.check_drift and not options.revert_drift:
            drifted = drift_for_diff(watcher, options.drift_timeout_s)
        deployed = read_deployed(watcher, current) if is_update(current) else None
        settings, acts = setting_changes(watcher, stack, deployed.described) if deployed is not None else ((), False)
        protection = _protection(watcher, stack, current) if options.read_stack_policy else None
        try:
            change_set = plan(watcher, stack, current, options.artifact_bucket, options.revert_drift)
        except validation.ValidationFailed as failed:  # kept for the markdown block and diff --all
            found[stack.name] = StackReview(stack.name, stack.region, FAILED, note=failed.message,
                                            validation=failed.findings.findings, stack_policy=protection)
            raise
        try:
            losses = data_losses(deployed, stack)
            if change_set is None:
                result = _no_change_set(watcher, stack, current, deployed, losses, drifted, found, protection,
                                        (settings, acts))
                return Outcome(stack.name, stack.region, result, time.monotonic() - started)
            if deployed is None:
                watcher.say("diff new stack")
            show_changes(watcher, change_set)
            losses = _show_losses(watcher, merged(losses, change_set.data_losses()))
            described = deployed.described if deployed is not None else None
            parameters = value_changes(dict(described.resolved_parameters) if described else {}, dict(stack.parameters))
            tags = value_changes(dict(described.tags) if described else {}, dict(stack.tags))
            if deployed is not None:
                watcher.reporter.show("parameter", parameters, watcher.name)
                watcher.reporter.show("tag", tags, watcher.name)
                watcher.reporter.show("stack setting", settings, watcher.name)
            cost, cost_error = _cost(stack, deployed)
            _show_cost(watcher, cost, cost_error)
        finally:  # also after Ctrl-C or a failure: no change set (nor the empty stack of one) stays behind
            if change_set is not None:
                _discard(watcher, stack, change_set.id, change_set.stack_id, current is None)
    exists = deployed is not None
    found[stack.name] = StackReview(stack.name, stack.region, CHANGES if exists else NEW, change_set.changes,
                                    losses, parameters if exists else (), tags if exists else (), cost,
                                    drift=drifted, validation=change_set.findings.findings,
                                    reverted=change_set.reverted, stack_policy=protection, settings=settings,
                                    cost_error=cost_error)
    return Outcome(stack.name, stack.region, DiffResult.CHANGES, time.monotonic() - started,
                   changes=len(change_set.changes))


def _refuse_another_tools(watcher: StackWatcher, stack: Stack, current: DeployedStack | None) -> None:
    """Deploy refuses a stack of this name that another tool made, or that builder made for another environment
    (exit 3; an earlier builder's it adopts): diff says so with the same exit code, and makes no change set on
    that stack. The same check as deploy's (ownership.claim), which opens the watcher's writes (the change set
    diff makes and deletes)."""
    ownership.claim(watcher, current, stack.config.suffix, (Owner.NONE, Owner.OURS, Owner.EARLIER), _refused)


_refused = partial(ownership.refusal, refused="deploy would refuse",
                   outcome="diff made no change set on it. Choose another suffix or stack_prefix")


def _protection(watcher: StackWatcher, stack: Stack, current: DeployedStack | None) -> str:
    """Whether the deployed stack's policy protects what the stack holds (one GetStackPolicy); NOT_YET for a
    stack that does not exist yet."""
    if not is_update(current):
        return policy.NOT_YET
    return policy.protection(watcher.read, current.stack_id, stack.protected)


def setting_changes(watcher: StackWatcher, stack: Stack,
                    deployed: DeployedStack) -> tuple[tuple[ValueChange, ...], bool]:
    """The stack's own settings that differ between DescribeStacks and the config: the deployment mode (AWS's
    record of the last operation's) and the rollback triggers and monitoring time an update would send (one
    ListStackResources with rollback_alarms, as deploy reads). With whether deploy acts on them: a difference
    of the triggers is applied; the mode alone changes nothing (it applies to operations, not to the stack)."""
    mode = value_changes({"deployment mode": deployed.deployment_mode.lower()},
                         {"deployment mode": stack.config.deployment_mode})
    triggers = rollback.for_update(watcher.read, stack, deployed)
    if triggers is None or not rollback.differs(triggers, deployed):
        return mode, False
    kept = {"rollback triggers": rollback.alarm_names(tuple(deployed.rollback_triggers)),
            "rollback monitoring minutes": str(deployed.rollback_monitoring_minutes)}
    wanted = {"rollback triggers": rollback.alarm_names(triggers.arns()),
              "rollback monitoring minutes": str(triggers.minutes)}
    return mode + value_changes(kept, wanted), True


def _no_change_set(watcher: StackWatcher, stack: Stack, current: DeployedStack | None, deployed: Deployed | None,
                   losses: tuple[Finding, ...], drifted: DriftReport | None, found: Reviews,
                   protection: str | None, settings: tuple[tuple[ValueChange, ...], bool]) -> DiffResult:
    """No change set: the stack tags or the rollback triggers alone may change (deploy updates them with the
    deployed template), or the data guard may still find a loss."""
    changed, acts = settings
    tags_only = value_changes(dict(current.tags), dict(stack.tags)) if current is not None else ()
    if current is not None and (tags_only or acts):
        watcher.say("diff tags only", tags=bool(tags_only))  # else the rollback triggers alone change
        watcher.reporter.show("tag", tags_only, watcher.name)
        watcher.reporter.show("stack setting", changed, watcher.name)
        _show_losses(watcher, losses)
        cost, cost_error = _cost(stack, deployed)
        _show_cost(watcher, cost, cost_error)
        found[stack.name] = StackReview(stack.name, stack.region, CHANGES, data_losses=losses, tags=tags_only,
                                        cost=cost, cost_error=cost_error, drift=drifted, stack_policy=protection,
                                        settings=changed)
        return DiffResult.CHANGES
    watcher.say("diff no changes", losses=bool(losses))
    watcher.reporter.show("stack setting", changed, watcher.name)
    _show_losses(watcher, losses)
    found[stack.name] = StackReview(stack.name, stack.region, CHANGES if losses else NO_CHANGES,
                                    data_losses=losses, drift=drifted, stack_policy=protection, settings=changed)
    return DiffResult.CHANGES if losses else DiffResult.NO_CHANGES


def _discard(watcher: StackWatcher, stack: Stack, change_set_id: str, stack_id: str, created: bool) -> None:
    """Delete the change set diff made, and the REVIEW_IN_PROGRESS stack a CREATE change set leaves."""
    try:
        watcher.cf.delete_change_set(ChangeSetName=change_set_id)
    except KeyboardInterrupt:  # Ctrl-C stopped the run's budget, whose calls now raise: the plain client, once
        watcher.cf_after_interrupt.delete_change_set(ChangeSetName=change_set_id)
        raise
    if created:
        review = watcher.describe(stack_id)
        if review is not None and review.in_review:
            watcher.cf.delete_stack(StackName=stack_id, **role_arg(stack))


def _show_losses(watcher: StackWatcher, losses: tuple[Finding, ...]) -> tuple[Finding, ...]:
    report_losses(watcher, losses, Verdict.WOULD_REFUSE)
    return losses


def _cost(stack: Stack, deployed: Deployed | None) -> tuple[CostChange | None, str]:
    """The monthly cost before (the deployed template with its deployed values) and after; or None and the
    pricing error's message when either side cannot be priced (the CLI says `not priced: <it>`)."""
    try:
        after = stack_items(stack, region_prices(stack.region), [])
        before = None if deployed is None else deployed_items(deployed.template, deployed.state.parameters,
                                                               stack.name, stack.region)
    except CostError as error:
        return None, error.message
    return compare_costs(before, after), ""


def _show_cost(watcher: StackWatcher, cost: CostChange | None, cost_error: str) -> None:
    if cost is None:
        watcher.say("cost not priced", reason=cost_error)
        return
    watcher.reporter.show("cost", cost, watcher.name)
