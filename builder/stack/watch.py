"""Watching one stack: describe it, page its events, wait for it to settle, and say where it stands.

DescribeStacks is polled fast at first, backing off to a ceiling; DescribeStackEvents at most once per
EVENTS_EVERY and once more when the stack settles, so the last events are shown. Ctrl-C stops builder,
not CloudFormation: `interruptible()` turns it into a message that says where the stack was left.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from builder.errors import Interrupted, OperationError
from builder.report import Reporter
from builder.stack import client as aws

EVENTS_EVERY = 1.0  # seconds between DescribeStackEvents calls of one stack
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"})
# Settled states from which the stack cannot take a change set without a human.
STUCK = frozenset({"ROLLBACK_FAILED", "DELETE_FAILED", "UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"})

StackDescription = dict[str, Any]  # one entry of DescribeStacks' "Stacks", as boto3 returns it


def in_progress(status: str) -> bool:
    """An operation is running (REVIEW_IN_PROGRESS is a stack waiting for its first change set)."""
    return status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS"


def stack_outputs(stack: Mapping[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o.get("OutputValue", "") for o in sorted(stack.get("Outputs", []),
                                                                    key=lambda o: o["OutputKey"])}


def describe_stack(cf: Any, name: str, backoff: aws.Backoff) -> StackDescription | None:
    """The stack (a name or a stack id), or None when it does not exist."""
    try:
        found = aws.poll(lambda: cf.describe_stacks(StackName=name), backoff)
    except Exception as exc:
        if aws.is_missing_stack(exc):  # only the missing-stack error is an answer here
            return None
        raise
    stacks = found.get("Stacks", [])
    return stacks[0] if stacks else None


class StackWatcher:
    """CloudFormation reads about one stack (and its deletion), with polling and event streaming."""

    def __init__(self, name: str, region: str, reporter: Reporter, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.name, self.region, self.reporter = name, region, reporter
        self.session = aws.session(region)
        self.cf = aws.client(self.session, "cloudformation")
        self._sleep, self._clock = sleep, clock
        self.events: list[Mapping[str, Any]] = []  # events of the operation being watched, oldest first

    def backoff(self) -> aws.Backoff:
        return aws.Backoff(sleep=self._sleep)

    def pause(self, seconds: float) -> None:
        self._sleep(seconds)

    def say(self, text: str, **data: Any) -> None:
        self.reporter.line(text, self.name, **data)

    def describe(self, stack_id: str | None = None) -> StackDescription | None:
        """The stack, or None when it does not exist."""
        return describe_stack(self.cf, stack_id or self.name, self.backoff())

    # ------------------------------------------------------------------ events
    def latest_event_id(self, stack_id: str) -> str | None:
        events = self.cf.describe_stack_events(StackName=stack_id).get("StackEvents", [])
        return str(events[0]["EventId"]) if events else None

    def _new_events(self, stack_id: str, stop_at: set[str], backoff: aws.Backoff) -> list[Mapping[str, Any]]:
        """Events newer than the ones already seen, oldest first (pages until a known event)."""
        new: list[Mapping[str, Any]] = []
        token = None
        while True:
            kwargs = {"StackName": stack_id, **({"NextToken": token} if token else {})}
            page = aws.poll(functools.partial(self.cf.describe_stack_events, **kwargs), backoff)
            for event in page.get("StackEvents", []):
                if event["EventId"] in stop_at:
                    return new[::-1]
                new.append(event)
            token = page.get("NextToken")
            if not token:
                return new[::-1]

    def with_outputs(self, final: StackDescription, expected: bool, tries: int = 3) -> StackDescription:
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

    def watch(self, stack_id: str, baseline: str | None, stream: bool = True) -> StackDescription:
        """Poll until the stack settles, streaming its new events; return its final description."""
        backoff = self.backoff()
        seen: set[str] = {baseline} if baseline else set()
        self.events = []
        last_events = float("-inf")
        while True:
            stack: StackDescription = aws.poll(lambda: self.cf.describe_stacks(StackName=stack_id),
                                               backoff)["Stacks"][0]
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

    def wait_for_others(self, stack: StackDescription, wait: bool) -> StackDescription | None:
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
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - any failure, or a second Ctrl-C, ends the question
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

    def delete_and_wait(self, stack: StackDescription, role_arn: str | None = None) -> StackDescription:
        """Delete the stack (through `role_arn`, the role CloudFormation assumes, when given) and wait."""
        baseline = self.latest_event_id(stack["StackId"])
        self.cf.delete_stack(StackName=stack["StackId"], **({"RoleARN": role_arn} if role_arn else {}))
        return self.watch(stack["StackId"], baseline)
