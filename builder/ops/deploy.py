"""Deploy one stack through a change set.

Wait for (or refuse) another running operation, recover a ROLLBACK_COMPLETE stack, read the deployed
template once (for the no-op skip and the data guard), make a change set with every parameter value
passed explicitly, show it, stop if it would lose data (the data guard: before anything runs, even
termination protection), execute it, stream its events and write its outputs. A change set that comes
back empty while the stack's tags differ is not "no changes": the tags are applied another way
(builder.stack.tags).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import NoReturn

from builder.data_guard import Finding
from builder.errors import Interrupted, OperationError
from builder.ops import adopt, drift, ownership
from builder.ops.ownership import Owner
from builder.ops.plan import Deployed, current_stack, data_losses, is_update, plan, read_deployed, show_changes
from builder.ops.pool import Outcome
from builder.ops.protection import match_termination_protection
from builder.report import Reporter
from builder.stack import client as aws
from builder.stack import policy, rollback, validation
from builder.stack.changeset import ChangeSet, guard, guard_change_set
from builder.stack.deployed import EXPRESS, DeployedStack
from builder.stack.tags import tag_changes, update_rollback, update_tags
from builder.stack.unchanged import kept_role, reason_to_deploy
from builder.stack.watch import StackWatcher, WatcherFactory, starts_create
from builder.stack_policy import document, inline_command
from builder.synth import Stack, write_files


class DeployResult(StrEnum):
    """What deploy did to one stack; the text is what the summary prints."""

    CREATED = "created"
    UPDATED = "updated"
    NO_CHANGES = "no changes"


@dataclass(frozen=True)
class DeployOptions:
    """What deploy was asked to do besides which stacks."""

    out_dir: str = "out"  # where <stack>.outputs.json go
    allow_data_loss: bool = False  # go ahead although the data guard finds that data would be lost
    wait_for_others: bool = True  # wait for another operation on the stack instead of failing
    artifact_bucket: str | None = None  # S3 bucket for a template over the inline limit
    force: bool = False  # make the change set even when the deployed stack already matches
    allow_drift: bool = False  # deploy over drift of a check_drift environment
    adopt_retained: bool = False  # import a retained bucket and table into a new stack
    drift_timeout_s: float = 300.0  # how long the drift check of a check_drift environment may take
    revert_drift: bool = False  # a drift-aware change set: put drifted properties back to the template's


def deploy_stack(stack: Stack, options: DeployOptions, reporter: Reporter, watcher_factory: WatcherFactory) -> Outcome:
    started = time.monotonic()
    watcher = watcher_factory(stack.name, stack.region, reporter)
    with aws.translate(stack.name, stack.region), watcher.interruptible():
        current = _ready_stack(watcher, stack, options)
        deployed = read_deployed(watcher, current) if is_update(current) else None
        role = kept_role(stack, deployed.described) if deployed is not None else None
        if role is not None:
            watcher.say("service role kept", role_arn=role)
        planned = _skip_or_plan(watcher, stack, current, deployed, options, started)
        if isinstance(planned, Outcome):  # the no-op skip
            return planned
        change_set, triggers, losses = planned
        if change_set is None:
            done = _without_change_set(watcher, stack, current, triggers, options, started)
            if isinstance(done, Outcome):
                return done
            final, kind, changes = done, "UPDATE", 0
        else:
            express_gap(watcher, stack, change_set)
            show_changes(watcher, change_set)
            guard_change_set(watcher, stack, change_set, losses, options.allow_data_loss)
            # a new stack's events start at its own CREATE_IN_PROGRESS (a stack is created once): no baseline read
            creating = change_set.kind == "CREATE"
            baseline = None if creating else watcher.latest_event_id(change_set.stack_id)
            with policy.for_update(watcher, stack, change_set.stack_id, options.allow_data_loss, change_set.kind):
                watcher.cf.execute_change_set(ChangeSetName=change_set.id)
                reporter.begin(stack.name, len(change_set.changes))
                try:
                    final = watcher.watch(change_set.stack_id, baseline, begins=starts_create if creating else None)
                finally:
                    reporter.end(stack.name)
            kind, changes = change_set.kind, len(change_set.changes)
    if not final.succeeded:
        operation_failed(watcher, final)
    protected: list[bool] = [kind != "CREATE"]  # an update's policy was set before it ran
    try:
        outputs = _after_settle(watcher, stack, final, kind, options, started, protected)
    except KeyboardInterrupt:
        raise _interrupted_after_settle(stack, final, protected[0], options.out_dir) from None
    result = DeployResult.CREATED if kind == "CREATE" else DeployResult.UPDATED
    return Outcome(stack.name, stack.region, result, time.monotonic() - started, outputs, changes)


def _after_settle(watcher: StackWatcher, stack: Stack, final: DeployedStack, kind: str, options: DeployOptions,
                  started: float, protected: list[bool]) -> dict[str, str]:
    """What follows a successful change set: termination protection, a new stack's policy (protected[0]
    says once it is set), the outputs and their file."""
    with aws.translate(stack.name, stack.region):
        match_termination_protection(watcher, final, stack.config.termination_protection)
        if kind == "CREATE":
            policy.protect(watcher, stack, final.stack_id)
            protected[0] = True
    final = watcher.with_outputs(final, expected=declares_outputs(stack))
    outputs = dict(final.outputs)
    watcher.say("deploy settled", status=final.status, seconds=time.monotonic() - started)
    if outputs:
        watcher.reporter.show("outputs", outputs, stack.name)
    path = write_outputs(stack, outputs, options.out_dir)
    watcher.say("outputs written", path=path, outputs=outputs)
    return outputs


def _interrupted_after_settle(stack: Stack, final: DeployedStack, protected: bool, out_dir: str) -> Interrupted:
    """Ctrl-C once CloudFormation had finished: what builder had not done yet. A new stack's policy matters
    most: a deploy again finds the stack unchanged and skips it, so it would never set the policy."""
    settled = f"interrupted after the stack had settled in {final.status}: CloudFormation had finished"
    if not protected:
        command = inline_command(stack.name, stack.region, document(stack.protected))
        return Interrupted(stack.name, f"{settled}, but builder may not have set its stack policy yet, and a deploy "
                                       f"again skips the unchanged stack; set it with: {command}")
    return Interrupted(stack.name, f"{settled}; deploy again writes {outputs_file(stack.name, out_dir)}")


Planned = tuple[ChangeSet | None, rollback.RollbackTriggers | None, tuple[Finding, ...]]


def _skip_or_plan(watcher: StackWatcher, stack: Stack, current: DeployedStack | None, deployed: Deployed | None,
                  options: DeployOptions, started: float) -> Planned | Outcome:
    """The outcome "no changes" when the deployed stack already is what deploy would send, its rollback
    triggers included; else the change set (None: it came back empty, or only the rollback triggers differ),
    the update's rollback triggers and the data guard's findings."""
    if deployed is not None and not (options.force or options.revert_drift) and \
            reason_to_deploy(stack, deployed.described, deployed.body) is None:  # drift is not in the template
        triggers = rollback.for_update(watcher.read, stack, deployed.described)
        if not rollback.differs(triggers, deployed.described):
            watcher.say("deploy unchanged")
            return _unchanged(stack, deployed.described, options, started)
        watcher.reporter.show("rollback triggers", triggers, stack.name)
        return None, triggers, ()  # no change set can carry the triggers alone: it would come back empty
    losses = data_losses(deployed, stack)
    guard(watcher, stack, losses, options.allow_data_loss)  # before any change set: a refusal changes nothing
    triggers = _rollback_triggers(watcher, stack, deployed)
    return plan(watcher, stack, current, options.artifact_bucket, options.revert_drift, triggers), triggers, losses


def _without_change_set(watcher: StackWatcher, stack: Stack, current: DeployedStack | None,
                        triggers: rollback.RollbackTriggers | None, options: DeployOptions,
                        started: float) -> DeployedStack | Outcome:
    """No resource changes: the stack tags, or the rollback triggers alone, are applied with UpdateStack and the
    deployed template (the settled stack is returned); otherwise the outcome "no changes"."""
    if current is not None and tag_changes(current, stack.tags):
        return update_tags(watcher, stack, current, triggers)
    if current is not None and triggers is not None and rollback.differs(triggers, current):
        updated = update_rollback(watcher, stack, current, triggers)
        return _unchanged(stack, current, options, started) if updated is None else updated
    watcher.say("empty change set")
    if current is not None:
        match_termination_protection(watcher, current, stack.config.termination_protection)
    outputs = dict(current.outputs) if current is not None else {}
    write_outputs(stack, outputs, options.out_dir)
    return Outcome(stack.name, stack.region, DeployResult.NO_CHANGES, time.monotonic() - started, outputs)


def _rollback_triggers(watcher: StackWatcher, stack: Stack,
                       deployed: Deployed | None) -> rollback.RollbackTriggers | None:
    """An update's rollback triggers (rollback_alarms), shown before its change set is made; None on a create."""
    if deployed is None:
        return None
    triggers = rollback.for_update(watcher.read, stack, deployed.described)
    if triggers is not None:
        watcher.reporter.show("rollback triggers", triggers, stack.name)
    return triggers


def _ready_stack(watcher: StackWatcher, stack: Stack, options: DeployOptions) -> DeployedStack | None:
    """The deployed stack once it may be changed (None: create it): no other operation running, ours,
    a failed create deleted, retained resources adopted into a new stack, drift checked before an update
    (not with --revert-drift: a drift-aware change set shows the drift)."""
    current = current_stack(watcher, options.wait_for_others)
    claim(watcher, stack, current)
    if current is not None and current.failed_create:
        watcher.say("failed create deleted")
        watcher.delete_and_wait(current, stack.config.cloudformation_role_arn)
        current = None
    if current is None or current.in_review:
        return adopt.before_create(watcher, stack, current, options.adopt_retained)
    if stack.config.check_drift and not options.revert_drift:
        drift.check_before_deploy(watcher, stack, options.allow_drift, options.drift_timeout_s)
    return current


def express_gap(watcher: StackWatcher, stack: Stack, change_set: ChangeSet) -> None:
    """Say in one line when the endpoint took a change set of an express stack (deployment_mode) in standard
    mode: DescribeChangeSet echoes the DeploymentConfig AWS takes; LocalStack 2026.3 drops it."""
    if stack.config.deployment_mode == "express" and change_set.deployment_mode != EXPRESS:
        watcher.say("express not implemented")


def operation_failed(watcher: StackWatcher, final: DeployedStack) -> NoReturn:
    """Raise the error of a stack operation that failed: its status and first failed event, after
    CloudFormation's validation findings of the operation (one DescribeEvents by its operation id, when the
    events carry one)."""
    cause = watcher.root_cause()
    operation = validation.operation_id(watcher.events)
    if operation is None:
        raise OperationError(watcher.name, f"{final.status}: {cause}")
    with aws.translate(watcher.name, watcher.region):
        found = validation.read_findings(watcher.read, operation_id=operation)
    validation.report(watcher.reporter, watcher.name, found)
    raise validation.ValidationFailed(watcher.name, f"{final.status}: {cause}{validation.failure_note(found)}", found)


def claim(watcher: StackWatcher, stack: Stack, current: DeployedStack | None) -> None:
    """Deploy changes only builder's stacks of this environment (ownership.claim, the one check that opens the
    watcher's writes): an earlier builder's (no builder:managed-by tag yet) is adopted, this deploy adding the
    tag; another tool's stack of the same name, or builder's of another environment (its Environment tag: the
    same name from another stack_prefix), is refused, untouched (exit 3). REVIEW_IN_PROGRESS holds nothing yet
    (a create that never ran): deploy goes on as for a new stack."""
    found = ownership.claim(watcher, current, stack.config.suffix,
                            (Owner.NONE, Owner.OURS, Owner.EARLIER), _refused)
    if found is Owner.EARLIER:
        watcher.say("earlier builder's stack adopted")


_refused = partial(ownership.refusal, refused="refused",
                   outcome="nothing was changed. Choose another suffix or stack_prefix")


def _unchanged(stack: Stack, current: DeployedStack, options: DeployOptions, started: float) -> Outcome:
    """The outcome of a skipped deploy: the outputs file is still written, from DescribeStacks' answer."""
    outputs = dict(current.outputs)
    write_outputs(stack, outputs, options.out_dir)
    return Outcome(stack.name, stack.region, DeployResult.NO_CHANGES, time.monotonic() - started, outputs)


def declares_outputs(stack: Stack) -> bool:
    """Does the template declare an output that exists whatever the conditions?"""
    if stack.template_format != "json":
        return False
    outputs = json.loads(stack.template_body).get("Outputs", {})
    return any("Condition" not in output for output in outputs.values())


def outputs_file(stack_name: str, out_dir: str) -> Path:
    return Path(out_dir) / f"{stack_name}.outputs.json"


def write_outputs(stack: Stack, outputs: Mapping[str, str], out_dir: str) -> Path:
    text = json.dumps(dict(outputs), indent=2, sort_keys=True) + "\n"
    path = outputs_file(stack.name, out_dir)
    return write_files({path.name: text}, path.parent)[0]
