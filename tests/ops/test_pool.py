"""run_all with stacks waiting through one shared poller: one failing while others succeed, and Ctrl-C
with many stacks in flight, on a fake clock against a fake CloudFormation.

No emulator: LocalStack settles a stack in seconds, so it cannot hold several in flight while Ctrl-C
arrives. The fake answers the poller's three read calls with responses shaped like CloudFormation's
(DescribeStacks, DescribeStackEvents newest first, ListStacks filtered by StackStatusFilter). Ctrl-C is
a real SIGINT sent to the main thread, as a terminal sends it, while the worker threads wait.
"""

from __future__ import annotations

import io
import signal
import threading
import time
from typing import Any

import botocore.exceptions
import pytest

from builder.cli.common import finish
from builder.cli.views.fleet import failure_text
from builder.cli.views.outcome import outcome_text
from builder.environment import EnvironmentConfig
from builder.errors import EXIT_INTERRUPTED, Interrupted, OperationError
from builder.ops.deploy import DeployResult
from builder.ops.destroy import DestroyResult
from builder.ops.fleet import priced
from builder.ops.pool import Outcome, Result, Skipped, StacksFailed, run_all
from builder.ops.reap import REAP, Row, reap, was_deleted
from builder.ops.reap import Plan as ReapPlan
from builder.report import Reporter
from builder.stack.deployed import DeployedStack
from builder.stack.poller import Budget, Poller, Pollers, Watched
from builder.stack.watch import StackWatcher
from builder.synth import Stack


class RecordingPoller(Poller):
    """The poller, keeping every stack registered with it: the test sees which are in flight (not settled)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.registered: list[Watched] = []

    def register(self, *args: Any, **kwargs: Any) -> Watched:
        watched = super().register(*args, **kwargs)
        self.registered.append(watched)
        return watched

    def in_flight(self) -> int:
        return sum(not w.done() for w in list(self.registered))


class InterruptingClock:
    """Virtual time that moves when the poller sleeps, but not while fewer than `in_flight` stacks are
    (so a worker that takes a settled stack's place starts at a known time, whatever the threads do);
    at `interrupt_at` it sends SIGINT to the main thread once and holds still until that has stopped
    the poller."""

    def __init__(self, interrupt_at: float = float("inf"), in_flight: int = 0) -> None:
        self.now = 0.0
        self.interrupt_at, self.in_flight = interrupt_at, in_flight
        self.poller: RecordingPoller | None = None

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert self.poller is not None
        deadline = time.monotonic() + 30
        while self.poller.in_flight() < self.in_flight and time.monotonic() < deadline:
            time.sleep(0.005)
        self.now += seconds
        if self.now >= self.interrupt_at:
            self.interrupt_at = float("inf")
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)
            while not self.poller.budget.stopped and time.monotonic() < deadline:
                time.sleep(0.005)


class FakeCloudFormation:
    """Stacks created at time 0 that settle at a known time into a known status."""

    def __init__(self, clock: InterruptingClock, settles: dict[str, tuple[float, str]],
                 in_progress: str = "CREATE_IN_PROGRESS") -> None:
        self.clock, self.settles, self.in_progress = clock, settles, in_progress

    @staticmethod
    def stack_id(name: str) -> str:
        return f"arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/1"

    def _name(self, name_or_id: str, operation: str) -> str:
        name = name_or_id.split("/")[1] if name_or_id.startswith("arn:") else name_or_id
        if name not in self.settles:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ValidationError", "Message": f"Stack with id {name_or_id} does not exist"}},
                operation)
        return name

    def _status(self, name: str) -> str:
        at, final = self.settles[name]
        return final if self.clock.now >= at else self.in_progress

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        name = self._name(StackName, "DescribeStacks")
        return {"Stacks": [{"StackName": name, "StackId": self.stack_id(name), "StackStatus": self._status(name)}]}

    def describe_stack_events(self, StackName: str) -> dict[str, Any]:
        name = self._name(StackName, "DescribeStackEvents")
        at, final = self.settles[name]
        happened = [(0.0, self.in_progress), *([(at, final)] if self.clock.now >= at else [])]
        return {"StackEvents": [{"EventId": f"{name}-{status}", "StackName": name, "LogicalResourceId": name,
                                 "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": status}
                                for _, status in happened[::-1]]}

    def list_stacks(self, StackStatusFilter: list[str], NextToken: str | None = None) -> dict[str, Any]:
        return {"StackSummaries": [{"StackName": n, "StackId": self.stack_id(n), "StackStatus": self._status(n)}
                                   for n in self.settles if self._status(n) in StackStatusFilter]}


def stack(name: str) -> Stack:
    return Stack(name=name, region="us-east-1", template_body="{}", template_format="json", parameters={},
                 tags={}, capabilities=(), config=EnvironmentConfig(suffix=name.removeprefix("app-")))


def run_fleet(settles: dict[str, tuple[float, str]], concurrency: int, interrupt_at: float = float("inf"),
              in_flight: int = 0) -> list[Outcome]:
    """Each stack waited for as deploy waits (watch inside interruptible), all through one poller."""
    clock = InterruptingClock(interrupt_at, in_flight)
    poller = clock.poller = RecordingPoller(FakeCloudFormation(clock, settles), Budget(2.0, clock, clock.sleep), clock,
                                   clock.sleep)
    pollers = Pollers(make=lambda region, rate: poller)  # the run: Ctrl-C stops every poller it made
    reporter = Reporter(io.StringIO(), tty=False)

    def wait_for(s: Stack) -> Outcome:
        watcher = StackWatcher(s.name, s.region, reporter, poller=pollers.poller(s.region))
        with watcher.interruptible():
            final = watcher.watch(FakeCloudFormation.stack_id(s.name), None)
        if not final.succeeded:
            raise OperationError(s.name, final.status)
        return Outcome(s.name, s.region, DeployResult.CREATED)

    return run_all([[stack(name)] for name in settles], wait_for, concurrency, pollers)


def test_one_stack_failing_leaves_the_others_to_succeed() -> None:
    outcomes = run_fleet({"app-a": (50, "CREATE_COMPLETE"), "app-bad": (80, "ROLLBACK_COMPLETE"),
                          "app-c": (120, "CREATE_COMPLETE")}, concurrency=3)
    assert [(o.stack, o.result) for o in outcomes] == [
        ("app-a", DeployResult.CREATED), ("app-bad", Result.FAILED), ("app-c", DeployResult.CREATED)]
    with pytest.raises(OperationError, match="ROLLBACK_COMPLETE"):
        finish(outcomes, Reporter(io.StringIO(), tty=False), "deploy", summary=True)


def test_after_a_failure_the_rest_of_its_group_is_skipped_naming_the_stack_that_failed() -> None:
    def verb(s: Stack) -> Outcome:
        if s.name == "app-bad":
            raise OperationError(s.name, "ROLLBACK_COMPLETE")
        return Outcome(s.name, s.region, DeployResult.CREATED)

    outcomes = run_all([[stack("app-bad"), stack("app-next")], [stack("app-c")]], verb, 2, Pollers())
    assert outcomes[1].detail == Skipped(after="app-bad")  # the fact; the summary's words:
    assert [outcome_text(o) for o in outcomes] == ["failed", "skipped: app-bad failed", "created"]


def test_ctrl_c_with_many_stacks_in_flight_says_where_each_was_left() -> None:
    """Three workers; app-a settles before Ctrl-C and app-d takes its place; app-bad fails and app-e
    takes its place; app-f never starts. Ctrl-C at 100 s stops every wait at once."""
    settles = {"app-a": (50.0, "CREATE_COMPLETE"), "app-bad": (80.0, "ROLLBACK_COMPLETE"),
               "app-c": (300.0, "CREATE_COMPLETE"), "app-d": (400.0, "CREATE_COMPLETE"),
               "app-e": (500.0, "CREATE_COMPLETE"), "app-f": (600.0, "CREATE_COMPLETE")}
    outcomes = run_fleet(settles, concurrency=3, interrupt_at=100.0, in_flight=3)
    assert [(o.stack, outcome_text(o)) for o in outcomes] == [
        ("app-a", "created"), ("app-bad", "failed"), ("app-c", "interrupted"), ("app-d", "interrupted"),
        ("app-e", "interrupted"), ("app-f", "skipped: interrupted before it started")]
    with pytest.raises(StacksFailed) as raised:
        finish(outcomes, Reporter(io.StringIO(), tty=False), "deploy", summary=True)
    assert raised.value.exit_code == EXIT_INTERRUPTED
    left = ("interrupted; the stack was left in CREATE_IN_PROGRESS (CloudFormation carries on without builder); "
            "run deploy again to resume")
    assert raised.value.lines() == [
        "error: app-bad: ROLLBACK_COMPLETE", f"error: app-c: {left}", f"error: app-d: {left}",
        f"error: app-e: {left}", "error: deploy: 1 of 6 stacks failed: app-bad; 3 interrupted: app-c, app-d, app-e"]


def test_ctrl_c_during_reap_stops_every_delete_and_no_replica_goes_without_its_primary() -> None:
    """reap through the executor: groups of a primary and its replica, two at once. app-a is deleted
    and its replica takes its place; Ctrl-C at 100 s stops both deletes in flight; app-b's replica is
    not attempted, app-c never starts."""
    settles = {"app-a": (50.0, "DELETE_COMPLETE"), "app-a-replica": (500.0, "DELETE_COMPLETE"),
               "app-b": (400.0, "DELETE_COMPLETE"), "app-b-replica": (600.0, "DELETE_COMPLETE"),
               "app-c": (700.0, "DELETE_COMPLETE")}
    clock = InterruptingClock(interrupt_at=100.0, in_flight=2)
    poller = clock.poller = RecordingPoller(FakeCloudFormation(clock, settles, "DELETE_IN_PROGRESS"),
                                   Budget(2.0, clock, clock.sleep), clock, clock.sleep)
    pollers = Pollers(make=lambda region, rate: poller)
    reporter = Reporter(io.StringIO(), tty=False)

    def row(name: str, region: str = "us-east-1", replica_of: str | None = None) -> Row:
        deployed = DeployedStack(name, FakeCloudFormation.stack_id(name), "UPDATE_COMPLETE")
        return Row(name, region, deployed.status, name.split("-")[1], 7200, 3600, REAP, "past its ttl",
                   replica_of=replica_of, record=deployed)

    def destroy_one(r: Row) -> Outcome:
        watcher = StackWatcher(r.stack, r.region, reporter, pollers.poller(r.region))
        with watcher.interruptible("destroy"):
            final = watcher.watch(FakeCloudFormation.stack_id(r.stack), None)
        assert not final.exists
        return Outcome(r.stack, r.region, DestroyResult.DELETED)

    fleet = ReapPlan((row("app-a"), row("app-a-replica", "eu-west-1", "app-a"), row("app-b"),
                      row("app-b-replica", "eu-west-1", "app-b"), row("app-c")))
    outcomes = reap(fleet, destroy_one, 2, pollers)
    left = ("interrupted; the stack was left in DELETE_IN_PROGRESS (CloudFormation carries on without builder); "
            "run destroy again to resume")
    assert [(o.stack, was_deleted(o), failure_text(o)) for o in outcomes] == [
        ("app-a", True, None), ("app-a-replica", False, left), ("app-b", False, left),
        ("app-b-replica", False, "not attempted: its primary app-b was not deleted"),
        ("app-c", False, "interrupted before it started")]
    assert {o.error.exit_code for o in outcomes if o.error is not None} == {EXIT_INTERRUPTED}



def test_ctrl_c_after_the_stack_settled_says_it_finished() -> None:
    """Ctrl-C once the watched operation has settled (while deploy writes the outputs, say): CloudFormation
    had finished, so nothing is 'left in CREATE_COMPLETE' to resume."""
    clock = InterruptingClock()
    poller = clock.poller = RecordingPoller(FakeCloudFormation(clock, {"app-a": (5.0, "CREATE_COMPLETE")}),
                                   Budget(2.0, clock, clock.sleep), clock, clock.sleep)
    watcher = StackWatcher("app-a", "us-east-1", Reporter(io.StringIO(), tty=False), poller=poller)
    with pytest.raises(Interrupted) as raised, watcher.interruptible():
        assert watcher.watch(FakeCloudFormation.stack_id("app-a"), None).status == "CREATE_COMPLETE"
        raise KeyboardInterrupt
    assert raised.value.lines() == [("error: app-a: interrupted after the stack had settled in CREATE_COMPLETE: "
                                     "CloudFormation had finished, nothing of it is still running")]


def test_only_interrupted_stacks_are_counted_as_interrupted() -> None:
    outcomes = [Outcome("app-a", "us-east-1", DeployResult.CREATED),
                Outcome("app-b", "us-east-1", Result.INTERRUPTED, error=Interrupted("app-b", "interrupted; ...")),
                Outcome("app-c", "us-east-1", Result.INTERRUPTED, error=Interrupted("app-c", "interrupted; ..."))]
    with pytest.raises(StacksFailed) as raised:
        finish(outcomes, Reporter(io.StringIO(), tty=False), "deploy", summary=False)
    assert raised.value.lines()[-1] == "error: deploy: 2 of 3 stacks interrupted: app-b, app-c"


class StoppedPoller:
    """A poller Ctrl-C has stopped: every read raises KeyboardInterrupt, as Poller.read does then."""

    def read(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        raise KeyboardInterrupt


class AnsweringPoller:
    """A poller whose GetTemplate answers an empty template (which costs nothing a month)."""

    def read(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        assert operation == "get_template"
        return {"TemplateBody": '{"Resources": {}}'}


def fleet_of(*names: str) -> ReapPlan:
    return ReapPlan(tuple(Row(name, "us-east-1", "UPDATE_COMPLETE", name.split("-")[1], 7200, 3600, REAP,
                              "past its ttl", record=DeployedStack(name, FakeCloudFormation.stack_id(name),
                                                                   "UPDATE_COMPLETE"))
                          for name in names))


@pytest.mark.parametrize("names", [("app-a",), ("app-a", "app-b", "app-c")], ids=["one stack", "several"])
def test_the_fleet_is_priced_through_the_executor_and_ctrl_c_stops_it(names: tuple[str, ...]) -> None:
    """Pricing the fleet (status --all, reap) reads each stack's template through run_all; a Ctrl-C during
    those reads is not a fleet of unpriced stacks to judge: it stops the command."""
    answering = Pollers(make=lambda region, rate: AnsweringPoller())  # stand-ins: pricing calls read() only
    answered = priced(fleet_of(*names), 2, answering)
    assert [(row.stack, row.monthly_idle_usd) for row in answered.rows] == [(name, 0.0) for name in names]
    with pytest.raises(KeyboardInterrupt):
        priced(fleet_of(*names), 2, Pollers(make=lambda region, rate: StoppedPoller()))


def test_diff_deletes_its_change_set_with_the_plain_client_once_ctrl_c_stopped_the_budget():
    """Several stacks: Ctrl-C stops the run's budget, whose write calls then raise KeyboardInterrupt, so diff's
    cleanup of a change set already made failed and left it on the stack; it goes through the plain client."""
    from types import SimpleNamespace

    from builder.ops.diff import _discard

    deleted: list[str] = []

    def stopped(**_kwargs):
        raise KeyboardInterrupt

    from builder.stack.watch import StackWatcher

    poller = SimpleNamespace(writer=SimpleNamespace(delete_change_set=stopped), cf=SimpleNamespace(
        delete_change_set=lambda ChangeSetName: deleted.append(ChangeSetName)))
    watcher = StackWatcher("app-pr1", "us-east-1", Reporter(), poller=poller)  # type: ignore[arg-type]
    watcher.allow_writes(None)  # diff's claim came first; the plain client keeps the same gate
    with pytest.raises(KeyboardInterrupt):
        _discard(watcher, None, "arn:changeSet/builder-1", "arn:stack/app-pr1", created=False)
    assert deleted == ["arn:changeSet/builder-1"]
