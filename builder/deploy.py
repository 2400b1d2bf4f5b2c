"""Deploy and diff through change sets; stream stack events until the stack settles.

For one stack: wait for (or refuse) another running operation, recover a ROLLBACK_COMPLETE stack,
create a change set (CREATE or UPDATE) with every parameter value passed explicitly, print it, stop
if it would replace or remove a bucket or table (the data guard), execute it, stream its events and
write its outputs. Several environments run concurrently in a bounded pool; the stacks of one
environment run in order (the replica before the primary).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence
from urllib.parse import quote

from builder.stack import client as aws
from builder.errors import BuilderError, Interrupted, OperationError, RefusedError, UsageError
from builder.report import Reporter, table
from builder.resources import STATEFUL_TYPES
from builder.synth import TEMPLATE_BODY_LIMIT, Stack, write_files

EVENTS_EVERY = 1.0  # seconds between DescribeStackEvents calls of one stack
SUCCESS = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
# Settled states from which the stack cannot take a change set without a human.
STUCK = {"ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"}
NO_CHANGES = ("didn't contain changes", "No updates are to be performed", "No changes")


def is_no_changes(reason: str | None) -> bool:
    """Does a FAILED change set's reason only say that there is nothing to change?"""
    return any(text in (reason or "") for text in NO_CHANGES)


def in_progress(status: str) -> bool:
    """An operation is running (REVIEW_IN_PROGRESS is a stack waiting for its first change set)."""
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


@dataclass(frozen=True)
class Change:
    action: str
    logical_id: str
    resource_type: str
    replacement: str = ""
    physical_id: str = ""
    causes: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, change: Mapping[str, Any]) -> "Change":
        rc = change.get("ResourceChange", {})
        causes = tuple(dict.fromkeys(
            d.get("Target", {}).get("Name") or d.get("Target", {}).get("Attribute", "")
            for d in rc.get("Details", []) if d.get("Target", {}).get("RequiresRecreation") in ("Always", "Conditionally")))
        return cls(rc.get("Action", ""), rc.get("LogicalResourceId", ""), rc.get("ResourceType", ""),
                   rc.get("Replacement", "") or "", rc.get("PhysicalResourceId", "") or "", causes)

    def data_loss(self) -> str | None:
        """Why this change would lose the data of a stateful resource, or None."""
        if self.resource_type not in STATEFUL_TYPES:
            return None
        what = f"{self.resource_type} {self.logical_id}" + (f" ({self.physical_id})" if self.physical_id else "")
        if self.action == "Remove":
            return f"{what} would be deleted: it is no longer in the template"
        if self.replacement in ("True", "Conditional"):
            by = f" because {', '.join(self.causes)} changed" if self.causes else ""
            certainty = "would" if self.replacement == "True" else "may"
            return f"{what} {certainty} be replaced{by} (Replacement={self.replacement}): a new, empty one"
        return None


@dataclass
class ChangeSet:
    id: str
    stack_id: str
    kind: str  # CREATE or UPDATE
    changes: list[Change]


@dataclass
class Outcome:
    stack: str
    region: str
    result: str
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    changes: int = 0
    error: BuilderError | None = None


@dataclass(frozen=True)
class Options:
    out_dir: str = "out"
    allow_replacement: bool = False
    wait_for_others: bool = True
    artifact_bucket: str | None = None
    concurrency: int = 4


def change_rows(changes: Sequence[Change]) -> list[str]:
    rows = [(c.action, c.logical_id, c.resource_type, c.replacement or "-") for c in changes]
    return table(rows, ("Action", "Logical id", "Type", "Replacement"))


class StackOps:
    """CloudFormation calls about one stack, with polling and event streaming."""

    def __init__(self, name: str, region: str, reporter: Reporter, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.region, self.reporter = name, region, reporter
        self.session = aws.session(region)
        self.cf = aws.client(self.session, "cloudformation")
        self._sleep, self._clock = sleep, clock
        self.events: list[Mapping[str, Any]] = []  # events of the operation being watched, oldest first

    def backoff(self) -> aws.Backoff:
        return aws.Backoff(sleep=self._sleep)

    def say(self, text: str, **data: Any) -> None:
        self.reporter.line(text, self.name, **data)

    def describe(self, stack_id: str | None = None) -> dict | None:
        """The stack, or None when it does not exist."""
        try:
            found = aws.poll(lambda: self.cf.describe_stacks(StackName=stack_id or self.name), self.backoff())
        except Exception as exc:  # noqa: BLE001 - only the missing-stack error is an answer here
            if aws.is_missing_stack(exc):
                return None
            raise
        stacks = found.get("Stacks", [])
        return stacks[0] if stacks else None

    # ------------------------------------------------------------------ events
    def latest_event_id(self, stack_id: str) -> str | None:
        events = self.cf.describe_stack_events(StackName=stack_id).get("StackEvents", [])
        return events[0]["EventId"] if events else None

    def _new_events(self, stack_id: str, stop_at: set[str], backoff: aws.Backoff) -> list[Mapping[str, Any]]:
        """Events newer than the ones already seen, oldest first (pages until a known event)."""
        new: list[Mapping[str, Any]] = []
        token = None
        while True:
            kwargs = {"StackName": stack_id, **({"NextToken": token} if token else {})}
            page = aws.poll(lambda: self.cf.describe_stack_events(**kwargs), backoff)
            for event in page.get("StackEvents", []):
                if event["EventId"] in stop_at:
                    return new[::-1]
                new.append(event)
            token = page.get("NextToken")
            if not token:
                return new[::-1]

    def with_outputs(self, final: dict, expected: bool, tries: int = 3) -> dict:
        """The settled stack, read again (briefly) if it declares outputs that are not readable yet.

        LocalStack reports a stack complete a moment before its outputs can be read; writing an
        empty outputs file then would mislead whoever reads it. Costs no call when outputs are there.
        """
        for _ in range(tries):
            if final.get("Outputs") or not expected:
                break
            self._sleep(0.2)
            final = self.describe(final["StackId"]) or final
        return final

    def watch(self, stack_id: str, baseline: str | None, stream: bool = True) -> dict:
        """Poll until the stack settles, streaming its new events; return its final description.

        DescribeStacks is polled fast at first, backing off to a ceiling; DescribeStackEvents at most
        once per EVENTS_EVERY, and once more when the stack settles so the last events are shown.
        """
        backoff = self.backoff()
        seen: set[str] = {baseline} if baseline else set()
        self.events = []
        last_events = float("-inf")
        while True:
            stack = aws.poll(lambda: self.cf.describe_stacks(StackName=stack_id), backoff)["Stacks"][0]
            settled = not stack["StackStatus"].endswith("_IN_PROGRESS")
            if stream and (settled or self._clock() - last_events >= EVENTS_EVERY):
                last_events = self._clock()
                new = self._new_events(stack_id, seen, backoff)
                for event in new:
                    seen.add(event["EventId"])
                    self.events.append(event)
                    self.reporter.event(self.name, event)
                if new:
                    backoff.progressed()
            if settled:
                return stack
            self.reporter.tick()
            backoff.wait()

    def root_cause(self) -> str:
        """The first FAILED resource event of the watched operation, with its reason."""
        for event in self.events:
            if event.get("ResourceStatus", "").endswith("_FAILED") and event.get("ResourceType") != \
                    "AWS::CloudFormation::Stack":
                return (f"{event['LogicalResourceId']} ({event.get('ResourceType')}) "
                        f"{event['ResourceStatus']}: {event.get('ResourceStatusReason') or 'no reason given'}")
        for event in self.events:
            if event.get("ResourceStatusReason") and event.get("ResourceStatus", "").endswith("_FAILED"):
                return f"{event['ResourceStatus']}: {event['ResourceStatusReason']}"
        return "no FAILED event found; see the stack's events in the console"

    def wait_for_others(self, stack: dict, wait: bool) -> dict | None:
        """If another operation runs on the stack, wait for it to settle (or refuse); return the stack."""
        status = stack["StackStatus"]
        if not in_progress(status):
            return stack
        if not wait:
            raise OperationError(self.name, f"another operation is running ({status}); wait for it, or drop "
                                            f"--no-wait-for-others to have builder wait")
        self.say(f"another operation is running ({status}); waiting for it to settle")
        settled = self.watch(stack["StackId"], None, stream=False)
        self.say(f"the other operation settled: {settled['StackStatus']}")
        return None if settled["StackStatus"] == "DELETE_COMPLETE" else settled

    def state_now(self) -> str:
        """Where the stack stands, for a message after Ctrl-C: one quick call, never an exception."""
        try:
            stack = self.cf.describe_stacks(StackName=self.name)["Stacks"][0]
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - a second Ctrl-C ends the question
            return "the stack does not exist" if aws.is_missing_stack(exc) else "the stack's state is unknown"
        return f"the stack was left in {stack['StackStatus']}"

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Ctrl-C stops builder, not CloudFormation: say where the stack stands and how to resume."""
        try:
            yield
        except KeyboardInterrupt:
            raise Interrupted(self.name, f"interrupted; {self.state_now()} (CloudFormation carries on without "
                                         f"builder); run deploy again to resume") from None

    def delete_and_wait(self, stack: dict) -> dict:
        baseline = self.latest_event_id(stack["StackId"])
        self.cf.delete_stack(StackName=stack["StackId"])
        return self.watch(stack["StackId"], baseline)

    # ------------------------------------------------------------------ change sets
    def template_args(self, body: str, artifact_bucket: str | None) -> dict[str, str]:
        size = len(body.encode("utf-8"))
        if size <= TEMPLATE_BODY_LIMIT:
            return {"TemplateBody": body}
        if not artifact_bucket:
            raise UsageError(self.name, f"the template is {size:,} bytes, over CloudFormation's "
                                        f"{TEMPLATE_BODY_LIMIT:,}-byte TemplateBody limit; pass "
                                        f"--artifact-bucket BUCKET to upload it to S3 first")
        s3 = aws.client(self.session, "s3")
        key = f"builder/{self.name}/{hashlib.sha256(body.encode()).hexdigest()[:16]}.template.json"
        s3.put_object(Bucket=artifact_bucket, Key=key, Body=body.encode("utf-8"))
        url = f"{s3.meta.endpoint_url.rstrip('/')}/{artifact_bucket}/{quote(key)}"
        self.say(f"template ({size:,} bytes) uploaded to s3://{artifact_bucket}/{key}")
        return {"TemplateURL": url}

    def create_change_set(self, stack: Stack, kind: str, template: Mapping[str, str]) -> ChangeSet | None:
        """Make a change set and wait for it; None (and the change set deleted) when nothing changes."""
        created = self.cf.create_change_set(
            StackName=stack.name, ChangeSetName=f"builder-{uuid.uuid4().hex[:12]}", ChangeSetType=kind,
            Description="builder deploy", Parameters=[
                {"ParameterKey": key, "ParameterValue": value} for key, value in stack.parameters.items()],
            Tags=[{"Key": key, "Value": value} for key, value in stack.tags.items()],
            Capabilities=list(stack.capabilities), **template)
        change_set_id = created["Id"]
        backoff = self.backoff()
        while True:
            described = aws.poll(lambda: self.cf.describe_change_set(ChangeSetName=change_set_id), backoff)
            if described["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
                break
            backoff.wait()
        if described["Status"] == "FAILED":
            reason = described.get("StatusReason", "")
            if is_no_changes(reason):
                self.cf.delete_change_set(ChangeSetName=change_set_id)
                return None
            raise OperationError(self.name, f"the change set failed: {reason} (kept for inspection: "
                                            f"{described.get('ChangeSetName')})")
        changes = [Change.from_api(c) for c in described.get("Changes", [])]
        token = described.get("NextToken")
        while token:
            page = aws.poll(lambda: self.cf.describe_change_set(ChangeSetName=change_set_id, NextToken=token),
                            backoff)
            changes += [Change.from_api(c) for c in page.get("Changes", [])]
            token = page.get("NextToken")
        return ChangeSet(change_set_id, created.get("StackId") or described["StackId"], kind, changes)

    def prepare(self, options: Options) -> dict | None:
        """The stack as it stands once no other operation runs on it; None when it does not exist."""
        current = self.describe()
        if current is not None:
            current = self.wait_for_others(current, options.wait_for_others)
        if current is not None and current["StackStatus"] in STUCK:
            raise OperationError(self.name, f"the stack is {current['StackStatus']}; it needs a human (see its "
                                            f"events), then deploy again")
        return current

    def plan(self, stack: Stack, options: Options, current: dict | None) -> ChangeSet | None:
        kind = "CREATE" if current is None or current["StackStatus"] == "REVIEW_IN_PROGRESS" else "UPDATE"
        return self.create_change_set(stack, kind, self.template_args(stack.template_body, options.artifact_bucket))


def stack_outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o.get("OutputValue", "") for o in sorted(stack.get("Outputs", []),
                                                                    key=lambda o: o["OutputKey"])}


def _show_changes(ops: StackOps, change_set: ChangeSet) -> None:
    for change in change_set.changes:
        ops.reporter.record("change", stack=ops.name, action=change.action, logical_id=change.logical_id,
                            type=change.resource_type, replacement=change.replacement)
    ops.say(f"{len(change_set.changes)} change(s) planned ({change_set.kind}):")
    ops.reporter.lines(change_rows(change_set.changes), ops.name)


def deploy_stack(stack: Stack, options: Options, reporter: Reporter, ops_factory=StackOps) -> Outcome:
    started = time.monotonic()
    ops = ops_factory(stack.name, stack.region, reporter)
    with aws.translate(stack.name, stack.region), ops.interruptible():
        current = ops.prepare(options)
        if current is not None and current["StackStatus"] == "ROLLBACK_COMPLETE":
            ops.say("ROLLBACK_COMPLETE: a failed create left an empty stack; deleting it, then creating again")
            ops.delete_and_wait(current)
            current = None
        change_set = ops.plan(stack, options, current)
        if change_set is None:
            ops.say("no changes; the empty change set was deleted")
            outputs = stack_outputs(current or {})
            _write_outputs(stack, outputs, options.out_dir)
            return Outcome(stack.name, stack.region, "no changes", time.monotonic() - started, outputs)
        _show_changes(ops, change_set)
        _guard(ops, change_set, options.allow_replacement)
        baseline = ops.latest_event_id(change_set.stack_id)
        ops.cf.execute_change_set(ChangeSetName=change_set.id)
        reporter.begin(stack.name, len(change_set.changes))
        try:
            final = ops.watch(change_set.stack_id, baseline)
        finally:
            reporter.end(stack.name)
    if final["StackStatus"] not in SUCCESS:
        raise OperationError(stack.name, f"{final['StackStatus']}: {ops.root_cause()}")
    final = ops.with_outputs(final, expected=_declares_outputs(stack))
    outputs = stack_outputs(final)
    ops.say(f"{final['StackStatus']} in {time.monotonic() - started:.1f} s")
    if outputs:
        ops.reporter.lines(table(list(outputs.items()), ("Output", "Value")), stack.name)
    path = _write_outputs(stack, outputs, options.out_dir)
    ops.say(f"outputs written to {path}", outputs=outputs)
    result = "created" if change_set.kind == "CREATE" else "updated"
    return Outcome(stack.name, stack.region, result, time.monotonic() - started, outputs, len(change_set.changes))


def _guard(ops: StackOps, change_set: ChangeSet, allowed: bool) -> None:
    """The data guard: no change set that replaces or removes a bucket or table runs unless allowed."""
    losses = [why for why in (c.data_loss() for c in change_set.changes) if why]
    if not losses:
        return
    for why in losses:
        ops.say(f"data guard: {why}")
    if allowed:
        ops.say("data guard: going ahead because of --allow-replacement")
        return
    with aws.translate(ops.name, ops.region):
        ops.cf.delete_change_set(ChangeSetName=change_set.id)
    raise RefusedError(ops.name, f"refused: the change set would replace or delete {len(losses)} stateful "
                                 f"resource(s) (listed above); it was deleted and the stack is unchanged. "
                                 f"Rerun with --allow-replacement to accept losing that data")


def _declares_outputs(stack: Stack) -> bool:
    """Does the template declare an output that exists whatever the conditions?"""
    if stack.template_format != "json":
        return False
    outputs = json.loads(stack.template_body).get("Outputs", {})
    return any("Condition" not in output for output in outputs.values())


def _write_outputs(stack: Stack, outputs: Mapping[str, str], out_dir: str) -> Path:
    text = json.dumps(dict(outputs), indent=2, sort_keys=True) + "\n"
    return write_files({f"{stack.name}.outputs.json": text}, Path(out_dir))[0]


def diff_stack(stack: Stack, options: Options, reporter: Reporter, ops_factory=StackOps) -> Outcome:
    """Make the change set, print it, delete it (and the empty REVIEW_IN_PROGRESS stack a CREATE leaves)."""
    started = time.monotonic()
    ops = ops_factory(stack.name, stack.region, reporter)
    with aws.translate(stack.name, stack.region):
        current = ops.prepare(options)
        if current is not None and current["StackStatus"] == "ROLLBACK_COMPLETE":
            ops.say("ROLLBACK_COMPLETE (a failed create): deploy would delete it and create it again")
            return Outcome(stack.name, stack.region, "changes", time.monotonic() - started)
        change_set = ops.plan(stack, options, current)
        if change_set is None:
            ops.say("no changes")
            return Outcome(stack.name, stack.region, "no changes", time.monotonic() - started)
        if current is None:
            ops.say("does not exist yet; deploy would create:")
        _show_changes(ops, change_set)
        for why in (c.data_loss() for c in change_set.changes):
            if why:
                ops.say(f"data guard: {why}; deploy would refuse without --allow-replacement")
        ops.cf.delete_change_set(ChangeSetName=change_set.id)
        if current is None:
            review = ops.describe(change_set.stack_id)
            if review is not None and review["StackStatus"] == "REVIEW_IN_PROGRESS":
                ops.cf.delete_stack(StackName=change_set.stack_id)
    return Outcome(stack.name, stack.region, "changes", time.monotonic() - started, changes=len(change_set.changes))


# ---------------------------------------------------------------------- several stacks


Action = Callable[[Stack], Outcome]


def _run_group(group: Sequence[Stack], action: Action, reporter: Reporter) -> list[Outcome]:
    """The stacks of one environment, in order; after a failure the rest are skipped."""
    outcomes: list[Outcome] = []
    for stack in group:
        if outcomes and outcomes[-1].error is not None:
            outcomes.append(Outcome(stack.name, stack.region, f"skipped: {outcomes[-1].stack} failed"))
            continue
        started = time.monotonic()
        try:
            outcomes.append(action(stack))
        except BuilderError as exc:
            result = "refused" if isinstance(exc, RefusedError) else "failed"
            outcomes.append(Outcome(stack.name, stack.region, result, time.monotonic() - started, error=exc))
    return outcomes


def run_all(groups: Sequence[Sequence[Stack]], action: Action, reporter: Reporter, concurrency: int) -> list[Outcome]:
    """Environments concurrently (at most `concurrency` at once); outcomes in the order given."""
    if len(groups) == 1:
        return _run_group(groups[0], action, reporter)
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(groups)))) as pool:
        futures = [pool.submit(_run_group, group, action, reporter) for group in groups]
        return [outcome for future in futures for outcome in future.result()]


def finish(outcomes: Sequence[Outcome], reporter: Reporter, command: str, summary: bool) -> None:
    """Print the summary (several stacks; always in JSON mode) and raise when any stack failed."""
    if summary:
        rows = [(o.stack, o.region, o.result, f"{o.seconds:.1f} s") for o in outcomes]
        reporter.lines(["", "summary:", *table(rows, ("Stack", "Region", "Result", "Time"))])
    errors = [o.error for o in outcomes if o.error is not None]
    reporter.record("summary", command=command, stacks=[
        {"stack": o.stack, "region": o.region, "result": o.result, "seconds": round(o.seconds, 2),
         "changes": o.changes, "outputs": o.outputs, "error": o.error.message if o.error else None}
        for o in outcomes], exit_code=max((e.exit_code for e in errors), default=0))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        for error in errors:
            for line in error.lines():
                print(line, file=sys.stderr)
        failed = [o.stack for o in outcomes if o.error is not None]
        error = OperationError(command, f"{len(errors)} of {len(outcomes)} stacks failed: {', '.join(failed)}")
        error.exit_code = max(e.exit_code for e in errors)
        raise error
