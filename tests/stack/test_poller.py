"""The shared poller (builder/stack/poller.py) on a fake clock against a fake CloudFormation.

No emulator: these are the poller's own decisions (which call, when, under which budget), and
LocalStack can neither throttle nor hold 100 stacks in progress for minutes. The fake answers the
three read calls the poller makes with responses shaped like CloudFormation's (StackEvents newest
first, ListStacks filtered by StackStatusFilter in pages of 100, Throttling as a ClientError).
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import botocore.exceptions
import pytest
from botocore.awsrequest import AWSResponse
from botocore.hooks import first_non_none_response

from benchmarks.standin import Throttle
from builder.errors import UsageError
from builder.stack import client as aws
from builder.stack import poller as poller_module
from builder.stack.poller import (
    BURST_SECONDS,
    FLEET_CEILING,
    FLEET_FROM,
    START_RATE,
    STATUS_CEILING,
    Budget,
    Poller,
    Pollers,
    budget_reacts_to_throttling,
)
from tests.factories import FakeClock

RESOURCES = ("Bucket", "Table", "Topic")


@dataclass
class FakeStack:
    name: str
    settle_at: float
    final: str = "CREATE_COMPLETE"
    events: list[tuple[float, str, str]] = field(default_factory=list)  # (time, logical id, status)

    @property
    def id(self) -> str:
        return f"arn:aws:cloudformation:us-east-1:000000000000:stack/{self.name}/0000"

    def status(self, now: float) -> str:
        return self.final if now >= self.settle_at else "CREATE_IN_PROGRESS"


class FakeCloudFormation:
    """Stacks that started at time 0 and settle at a known time; counts calls; throttles above a rate."""

    def __init__(self, clock: FakeClock, throttle_above: float | None = None) -> None:
        self.clock = clock
        self.stacks: dict[str, FakeStack] = {}
        self.calls: list[tuple[float, str]] = []
        self.throttled = 0
        self.throttle_above = throttle_above
        self.missing: set[str] = set()
        self.described: list[tuple[float, str, str]] = []  # (time, stack name, the status DescribeStacks answered)
        # when a reply first showed each stack settled: a DescribeStacks, or the last page of a ListStacks that
        # listed it on none of its pages (as benchmarks/standin.py measures it)
        self.seen_settled: dict[str, float] = {}
        self._listed: set[str] = set()

    def add(self, name: str, settle_at: float, final: str = "CREATE_COMPLETE") -> FakeStack:
        stack = FakeStack(name, settle_at, final)
        stack.events = [(0.0, name, "CREATE_IN_PROGRESS")]
        stack.events += [(settle_at * (i + 1) / (len(RESOURCES) + 2), r, "CREATE_IN_PROGRESS")
                         for i, r in enumerate(RESOURCES)]
        stack.events += [(settle_at, name, final)]
        self.stacks[stack.id] = stack
        return stack

    def _call(self, operation: str) -> None:
        now = self.clock.now
        if self.throttle_above is not None:
            recent = sum(1 for t, _ in self.calls if now - 1.0 < t <= now)
            if recent >= self.throttle_above:
                self.throttled += 1
                raise botocore.exceptions.ClientError(
                    {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, operation)
        self.calls.append((now, operation))

    def _stack(self, name: str, operation: str) -> FakeStack:
        stack = self.stacks.get(name) or next((s for s in self.stacks.values() if s.name == name), None)
        if stack is None or stack.name in self.missing:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": "ValidationError", "Message": f"Stack with id {name} does not exist"}}, operation)
        return stack

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self._call("DescribeStacks")
        stack = self._stack(StackName, "DescribeStacks")
        self.described.append((self.clock.now, stack.name, stack.status(self.clock.now)))
        if stack.status(self.clock.now) == stack.final:
            self.seen_settled.setdefault(stack.name, self.clock.now)
        return {"Stacks": [{"StackName": stack.name, "StackId": stack.id,
                            "StackStatus": stack.status(self.clock.now), "Outputs": []}]}

    def list_stacks(self, StackStatusFilter: list[str], NextToken: str | None = None) -> dict[str, Any]:
        self._call("ListStacks")
        now = self.clock.now
        matching = [s for s in self.stacks.values() if s.status(now) in StackStatusFilter]
        start = int(NextToken or 0)
        page = matching[start:start + 100]
        answer: dict[str, Any] = {"StackSummaries": [{"StackId": s.id, "StackName": s.name,
                                                      "StackStatus": s.status(now)} for s in page]}
        if start + 100 < len(matching):
            answer["NextToken"] = str(start + 100)
        self._listed = (self._listed if NextToken else set()) | {s.name for s in page}
        if "NextToken" not in answer:
            for s in self.stacks.values():
                if s.name not in self._listed and s.status(now) == s.final:
                    self.seen_settled.setdefault(s.name, now)
        return answer

    def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> dict[str, Any]:
        self._call("DescribeStackEvents")
        stack = self._stack(StackName, "DescribeStackEvents")
        happened = [e for e in stack.events if e[0] <= self.clock.now][::-1]
        start = int(NextToken or 0)
        answer: dict[str, Any] = {"StackEvents": [
            {"EventId": f"{stack.name}-{at}-{logical}-{status}", "StackName": stack.name,
             "LogicalResourceId": logical, "ResourceStatus": status}
            for at, logical, status in happened[start:start + 2]]}
        if start + 2 < len(happened):  # pages of 2, so that paging is exercised
            answer["NextToken"] = str(start + 2)
        return answer

    def per_second(self) -> Counter[int]:
        return Counter(int(t) for t, _ in self.calls)


def make(rate: float = 2.0, throttle_above: float | None = None) -> tuple[FakeClock, FakeCloudFormation, Poller]:
    clock = FakeClock()
    cf = FakeCloudFormation(clock, throttle_above)
    return clock, cf, Poller(cf, Budget(rate, clock, clock.sleep), clock, clock.sleep)


def event_ids(stack: FakeStack) -> list[str]:
    return [f"{stack.name}-{at}-{logical}-{status}" for at, logical, status in stack.events]


def test_one_stack_is_noticed_within_2_s_and_prints_every_event_once_in_order() -> None:
    for settle_at in [10 + i / 10 for i in range(30)] + [60.05, 300.7]:
        clock, cf, poller = make()
        stack = cf.add("app-one", settle_at)
        printed: list[str] = []
        watched = poller.register(stack.id, lambda e, printed=printed: printed.append(e["EventId"]))
        final = poller.wait(watched)
        assert final["StackStatus"] == "CREATE_COMPLETE"
        assert 0 <= clock.now - settle_at <= 2.0, settle_at
        assert printed == event_ids(stack)
        kinds = Counter(op for _, op in cf.calls)
        assert set(kinds) == {"DescribeStacks", "DescribeStackEvents"}  # one stack: no ListStacks


def test_events_before_the_baseline_are_not_printed() -> None:
    clock, cf, poller = make()
    stack = cf.add("app-one", 20)
    clock.now = 4.0  # the operation runs; its second event (at 4 s) is the newest when we start watching
    printed: list[str] = []
    poller.wait(poller.register(stack.id, lambda e: printed.append(e["EventId"]), baseline=event_ids(stack)[1]))
    assert printed == event_ids(stack)[2:]


@pytest.mark.parametrize("rate", [2.0, 0.5, 5.0])
def test_every_call_of_a_fleet_is_drawn_from_the_budget(rate: float) -> None:
    clock, cf, poller = make(rate)
    stacks = [cf.add(f"app-{i}", 60 + (i * 37) % 240) for i in range(100)]
    watched = [poller.register(s.id, lambda e: None) for s in stacks]
    for w in watched:
        poller.wait(w)
    capacity = poller.budget.capacity  # half a second's worth, one call at least
    assert capacity == max(1.0, rate * BURST_SECONDS)
    for start in range(int(clock.now)):
        for length in (1, 10):
            calls = sum(1 for t, _ in cf.calls if start <= t < start + length)
            assert calls <= rate * length + capacity, (start, length, calls)


def test_a_fleet_shares_each_status_sweep() -> None:
    clock, cf, poller = make()
    stacks = [cf.add(f"app-{i}", 120 + i % 7) for i in range(150)]
    watched = [poller.register(s.id, lambda e: None) for s in stacks]
    for w in watched:
        poller.wait(w)
    kinds = Counter(op for _, op in cf.calls)
    # status: 2 ListStacks pages a sweep, not 150 DescribeStacks; DescribeStacks once a stack settles, and
    # before only for a stack the pages missed (settled stacks shift it onto the page read before)
    settled = Counter(name for _, name, status in cf.described if status == "CREATE_COMPLETE")
    assert settled == Counter(s.name for s in stacks)
    assert len(cf.described) - 150 <= 10
    assert kinds["ListStacks"] <= 2 * (clock.now / 2.0 + 4)
    assert sum(kinds.values()) <= 2.0 * clock.now + 2


def test_settle_detection_goes_before_the_final_events_queued_behind_it() -> None:
    """250 stacks settle at once: their records and final events take the budget for minutes. Stacks that
    settle one a second meanwhile are still noticed by the next sweep (every FLEET_CEILING s, 0.5 s a page at
    2 reads/s), not after the queue; each stack's events are still complete and in order, read in the order noticed."""
    clock, cf, poller = make()
    burst = [cf.add(f"app-b{i}", 60) for i in range(250)]
    late = [cf.add(f"app-l{i}", 61 + i) for i in range(50)]
    printed: dict[str, list[str]] = {s.name: [] for s in [*burst, *late]}
    watched = {s.name: poller.register(s.id, lambda e, n=s.name: printed[n].append(e["EventId"]))
               for s in [*burst, *late]}
    for w in watched.values():
        poller.wait(w)
    assert clock.now > 250  # the final events of the burst alone took minutes of the budget
    for stack in late:  # seen missing from every page of the next sweep, while the queue lasts
        assert 0 <= cf.seen_settled[stack.name] - stack.settle_at <= FLEET_CEILING + 1.0, \
            (stack.name, cf.seen_settled[stack.name])
    for stack in [*burst, *late]:
        assert printed[stack.name] == event_ids(stack)
    order = sorted(watched.values(), key=lambda w: w.noticed)
    assert [w.noticed_at for w in order] == sorted(w.noticed_at or 0.0 for w in order)
    sweeps = [t for t, op in cf.calls if op == "ListStacks"]
    assert max(b - a for a, b in pairwise(sweeps)) <= FLEET_CEILING + 1.0  # never starved by the queue


def test_stacks_settle_in_any_order_and_each_gets_its_own_record_and_events() -> None:
    _clock, cf, poller = make()
    settle = [200, 61, 150, 90, 300, 75, 120, 61]
    stacks = [cf.add(f"app-{i}", t) for i, t in enumerate(settle)]
    printed: dict[str, list[str]] = {s.name: [] for s in stacks}
    watched = [poller.register(s.id, lambda e, n=s.name: printed[n].append(e["EventId"])) for s in stacks]
    finals = [poller.wait(w) for w in watched]  # waiting in registration order, not settle order
    assert [f["StackName"] for f in finals] == [s.name for s in stacks]
    for stack in stacks:
        assert printed[stack.name] == event_ids(stack)


def test_threads_waiting_together_each_get_their_stack() -> None:
    clock, cf, poller = make()
    stacks = [cf.add(f"app-{i}", 60 + (i * 53) % 240) for i in range(40)]
    finals: dict[str, str] = {}
    errors: list[BaseException] = []

    def deploy(stack: FakeStack) -> None:
        try:
            finals[stack.name] = poller.wait(poller.register(stack.id, lambda e: None))["StackName"]
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=deploy, args=(s,)) for s in stacks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors
    assert finals == {s.name: s.name for s in stacks}
    assert len(cf.calls) <= 2.0 * clock.now + 2


def test_one_stack_failing_leaves_the_others_to_succeed() -> None:
    _clock, cf, poller = make()
    good = [cf.add(f"app-{i}", 100 + i) for i in range(5)]
    bad = cf.add("app-bad", 80, final="ROLLBACK_COMPLETE")
    gone = cf.add("app-gone", 500)
    watched = {s.name: poller.register(s.id, lambda e: None) for s in [*good, bad, gone]}
    cf.missing.add("app-gone")  # deleted behind our back: its calls answer ValidationError
    with pytest.raises(botocore.exceptions.ClientError, match="does not exist"):
        poller.wait(watched["app-gone"])
    assert poller.wait(watched["app-bad"])["StackStatus"] == "ROLLBACK_COMPLETE"
    assert [poller.wait(watched[s.name])["StackStatus"] for s in good] == ["CREATE_COMPLETE"] * 5


def test_throttling_slows_the_whole_budget() -> None:
    _clock, cf, poller = make(rate=4.0, throttle_above=2)  # the account allows 2 calls a second; we ask 4
    stacks = [cf.add(f"app-{i}", 100 + i * 3) for i in range(30)]
    watched = [poller.register(s.id, lambda e: None) for s in stacks]
    assert [poller.wait(w)["StackStatus"] for w in watched] == ["CREATE_COMPLETE"] * 30
    assert cf.throttled > 0
    # each Throttling halves the rate, which creeps back over a minute: the budget hovers near what the
    # account allows (a budget that did not back off would be refused about every other call)
    assert cf.throttled <= len(cf.calls) / 10


def test_budget_halves_on_throttling_once_a_second_and_grows_back_by_one_a_minute() -> None:
    clock = FakeClock()
    budget = Budget(2.0, clock, clock.sleep)
    budget.throttled()
    budget.throttled()  # the same burst of replies: one cut
    assert (budget.rate, budget.cuts) == (1.0, 1)
    started = clock.now
    budget.take()
    # the bucket was emptied twice over: the next call waits about 3 s at the halved rate
    assert 2.8 < clock.now - started <= 3.0
    assert budget.rate == pytest.approx(1.0 + (clock.now - started) / 60)
    clock.now += 1.0
    budget.throttled()  # a second later: a new signal, another cut
    assert budget.cuts == 2 and budget.rate < 0.6
    before, at = budget.rate, clock.now
    clock.now += 30
    budget.take()
    assert budget.rate == pytest.approx(before + (clock.now - at) / 60)  # additive: 1 read a second per minute
    clock.now += 120
    budget.take()
    assert budget.rate == 2.0  # back to the cap, never above it


def test_the_default_adapts_from_the_start_rate_and_a_given_rate_caps_it() -> None:
    assert Pollers().api_rate == START_RATE
    assert Pollers(0.5).api_rate == 0.5
    clock = FakeClock()
    budget = Budget(START_RATE, clock, clock.sleep)
    for _ in range(3):
        budget.throttled()
        clock.now += 1.0
    assert budget.rate == pytest.approx(START_RATE / 8, rel=0.01)
    clock.now += 3600
    budget.take()
    assert budget.rate == START_RATE


def budget_takes(rate: float, calls: int = 300) -> tuple[list[float], Budget]:
    """When a budget at `rate` lets out each of `calls` calls asked one after another, idle now and then (its
    bucket fills up), on a fake clock."""
    clock = FakeClock()
    budget = Budget(rate, clock, clock.sleep)
    takes = []
    for i in range(calls):
        clock.now += 5.0 if i % 50 == 0 else 0.3 if i % 7 == 0 else 0.0
        budget.take()
        takes.append(clock.now)
    return takes, budget


def refused_when_bunched(takes: list[float], account: float, late: float) -> list[float]:
    """Feed the calls to the stand-in's throttle (benchmarks/standin.py: a bucket of one second's worth at `account`
    a second), each bunched as badly as a delay of at most `late` can: for every call, the ones taken within `late`
    after it reach the throttle together, `late` after it. The first window each time that was refused."""
    refused = []
    for i, start in enumerate(takes):
        bunch = bisect.bisect_right(takes, start + late)
        arrivals = [*takes[:i], *[start + late] * (bunch - i), *takes[bunch:]]
        throttle = Throttle(account, takes[0] - 1.0)
        if any(throttle.refuses(at) for at in arrivals):
            refused.append(start)
    return refused


@pytest.mark.parametrize(("rate", "account"),
                         [(2.0, 3.0), (2.0, 2.0), (3.0, 3.0), (4.0, 4.0), (START_RATE, START_RATE)])
def test_the_budgets_calls_pass_a_throttle_of_a_seconds_worth_even_when_they_arrive_late(rate: float,
                                                                                        account: float) -> None:
    """An account throttles with a bucket too: the stand-in's holds one second's worth (`account` calls, refilled at
    `account` a second), so it refuses a call only when some window [a, b] of arrivals holds more than
    account * (1 + b - a). The budget holds half a second's worth at its rate: no t seconds let out more than
    capacity + rate * t, and a call may reach the throttle up to (account - capacity) / rate late, bunched with the
    calls after it, with none refused. That is half a second at least when both rates are the same (2 calls a second
    and up), and a second for the benchmarks' `--api-rate 2` against the stand-in's 3. A bucket of a second's worth
    at the same rate has no room for lateness at all."""
    takes, budget = budget_takes(rate)
    assert budget.capacity == max(1.0, rate * BURST_SECONDS)
    for i, start in enumerate(takes):  # the budget's own windows
        assert bisect.bisect_right(takes, start + 1.0) - i <= budget.capacity + rate * 1.0
    late = (account - budget.capacity) / rate
    assert late >= BURST_SECONDS
    # a microsecond less: at exactly that lateness a window holds exactly a full bucket, which the throttle's
    # floats may find a billionth of a token short
    assert refused_when_bunched(takes, account, late - 1e-6) == []


def test_a_bucket_of_a_seconds_worth_is_throttled_by_calls_that_arrive_half_a_second_late(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the half-second bucket is for: at 2 calls a second against a throttle of 2, the budget's own burst of a
    second's worth spends the throttle's bucket, and calls that arrive late are refused."""
    monkeypatch.setattr(poller_module, "BURST_SECONDS", 1.0)
    takes, budget = budget_takes(2.0)
    assert budget.capacity == 2.0
    assert refused_when_bunched(takes, 2.0, BURST_SECONDS)


@pytest.mark.parametrize("rate", [0, -1, 1e-300, 0.099, float("inf"), float("nan")])
def test_a_rate_that_cannot_make_progress_is_bad_input(rate: float) -> None:
    with pytest.raises(UsageError, match="at least 0.1"):
        Budget(rate)


def test_ctrl_c_with_many_stacks_in_flight_leaves_each_state_readable() -> None:
    clock, cf, poller = make()
    stacks = [cf.add(f"app-{i}", 30 + i * 20) for i in range(10)]
    watched = [poller.register(s.id, lambda e: None) for s in stacks]
    clock.interrupt_at = 100.0
    with pytest.raises(KeyboardInterrupt):
        for w in watched:
            poller.wait(w)
    states = {s.name: w.status for s, w in zip(stacks, watched, strict=False)}
    for stack, w in zip(stacks, watched, strict=False):
        if stack.settle_at < 95:
            assert w.final is not None and states[stack.name] == "CREATE_COMPLETE"
        elif stack.settle_at > 100:
            assert states[stack.name] == "CREATE_IN_PROGRESS"
    assert [w.stack_id for w in watched if not w.done()] == [s.id for s in stacks if s.settle_at > 100]
    with pytest.raises(KeyboardInterrupt):  # every later wait stops too
        poller.wait(watched[-1])


def test_ctrl_c_in_the_leading_thread_stops_every_thread_waiting() -> None:
    clock, cf, poller = make()
    stacks = [cf.add(f"app-{i}", 100 + i) for i in range(8)]
    watched = [poller.register(s.id, lambda e: None) for s in stacks]
    clock.interrupt_at = 50.0
    outcomes: list[str] = []

    def wait(w: Any) -> None:
        try:
            poller.wait(w)
            outcomes.append("settled")
        except KeyboardInterrupt:
            outcomes.append("interrupted")

    threads = [threading.Thread(target=wait, args=(w,)) for w in watched]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert outcomes == ["interrupted"] * 8
    assert all(w.status == "CREATE_IN_PROGRESS" for w in watched)


def test_the_budget_alone_reacts_to_throttling_of_a_real_client(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore asks its needs-retry handlers whether to retry, as its endpoint does (emitted here, no request
    sent): a throttled read is not retried by botocore (the budget halves and Poller.read asks again), a
    throttled write still is (the budget halves all the same), and nothing else changes botocore's answer."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    cf = aws.shared_client("us-east-1", "cloudformation")
    clock = FakeClock()
    budget = Budget(2.0, clock, clock.sleep)
    budget_reacts_to_throttling(cf, budget)

    def retry_delay(operation: str, status: int, parsed: dict[str, Any]) -> object:
        http = AWSResponse("http://127.0.0.1:9", status, {}, None)
        answers = cf.meta.events.emit(f"needs-retry.cloudformation.{operation}", response=(http, parsed), attempts=1,
                                      endpoint=cf._endpoint, operation=cf.meta.service_model.operation_model(operation),
                                      caught_exception=None, request_dict={"context": {}})
        return first_non_none_response(answers)

    throttled = {"Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                 "ResponseMetadata": {"HTTPStatusCode": 400}}
    assert retry_delay("DescribeStacks", 400, throttled) is False
    assert budget.rate == 1.0
    clock.now += 1.0
    assert isinstance(retry_delay("DeleteStack", 400, throttled), (int, float))  # botocore's own retry, delayed
    assert budget.cuts == 2 and budget.rate < 0.51
    assert retry_delay("DescribeStacks", 200, {"Stacks": [], "ResponseMetadata": {}}) is None
    assert budget.cuts == 2


def test_a_stack_is_watched_once_at_a_time() -> None:
    _clock, cf, poller = make()
    stack = cf.add("app-one", 30)
    watched = poller.register(stack.id)
    with pytest.raises(ValueError, match="already being watched"):
        poller.register(stack.id)
    poller.wait(watched)
    poller.wait(poller.register(stack.id))  # settled and waited for: it may be watched again
    with pytest.raises(ValueError, match="not registered"):
        make()[2].wait(poller.register(cf.add("app-two", 30).id))


def test_each_run_has_pollers_of_its_own_with_its_rate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A poller stays stopped after Ctrl-C; another run in the same process (the tests call main() many
    times; a library user may run two at once) shares nothing with it, and a stack that starts after
    Ctrl-C within the interrupted run is stopped from the start."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with Pollers(0.5) as run, Pollers(3.0) as other:
        first = run.poller("us-east-1")
        assert run.poller("us-east-1") is first and first.budget.limit == 0.5
        second = other.poller("us-east-1")
        assert second is not first and second.budget.limit == 3.0
        run.interrupt()
        assert first.budget.stopped and run.interrupted
        with pytest.raises(KeyboardInterrupt):
            first.read("describe_stacks")
        assert run.poller("eu-west-1").budget.stopped  # started after Ctrl-C: stopped from the start
        assert not second.budget.stopped and not other.interrupted  # the other run goes on
    with pytest.raises(UsageError, match="at least 0.1"), Pollers(0):
        pass


def test_a_run_forgets_its_budgets_when_it_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared client outlives the run: once the run ends, a Throttling reply slows no budget of it."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    throttled = {"Error": {"Code": "Throttling", "Message": "Rate exceeded"}, "ResponseMetadata": {}}

    def reply_throttled(cf: Any) -> None:
        cf.meta.events.emit("needs-retry.cloudformation.DescribeStacks", response=(
            AWSResponse("http://127.0.0.1:9", 400, {}, None), throttled), attempts=1, endpoint=cf._endpoint,
            operation=cf.meta.service_model.operation_model("DescribeStacks"), caught_exception=None,
            request_dict={"context": {}})

    with Pollers(2.0) as run:
        poller = run.poller("us-east-1")
        reply_throttled(poller.cf)
        assert poller.budget.rate == pytest.approx(1.0, abs=0.05)  # hooked while the run lasts
    reply_throttled(poller.cf)
    assert poller.budget.rate == pytest.approx(1.0, abs=0.05)


def test_the_watch_loop_goes_before_callers_queued_for_the_budget() -> None:
    """A fleet's change-set reads queue for the budget; the loop's next status read must not wait behind
    them, or a settled stack is noticed minutes late. Real time here (about 2 s): two threads sleep."""
    budget = Budget(1.0)
    budget.take()  # the bucket (one token at 1 call/s) is empty
    order: list[str] = []
    queued = threading.Thread(target=lambda: (budget.take(), order.append("queued")))
    queued.start()
    while not budget.busy():
        pass
    budget.take(first=True)
    order.append("loop")
    queued.join(timeout=10)
    assert order == ["loop", "queued"]
    assert not budget.busy()


def test_a_caller_queued_waits_while_the_watch_loop_holds_the_budget() -> None:
    """Between two of its calls the loop reads the last reply; a token that comes meanwhile is the loop's,
    not the queued caller's, until the loop has nothing more to do. Real time (under a second)."""
    budget = Budget(2.0)
    budget.hold(True)
    served = threading.Event()
    queued = threading.Thread(target=lambda: (budget.take(), served.set()))
    queued.start()
    assert not served.wait(timeout=0.6)  # a token is there all along: the loop's
    budget.take(first=True)  # the loop's call, without waiting
    assert not served.is_set()
    budget.hold(False)  # the loop sleeps: the queued caller goes, with the next token
    assert served.wait(timeout=5)
    queued.join(timeout=5)


def test_of_the_callers_queued_the_thread_furthest_along_goes_first() -> None:
    """A stack under way (its thread has made calls) takes the next token before a stack that has not
    started, though that one queued first: a fleet's stacks finish their writes instead of all starting
    at once. Real time here (about 2 s): two threads sleep."""
    budget = Budget(1.0)
    order: list[str] = []
    asked = threading.Event()

    def under_way() -> None:
        budget.take()  # its first call: the bucket's one token
        asked.wait(timeout=10)
        budget.take()
        order.append("under way")

    old = threading.Thread(target=under_way)
    old.start()
    while budget.tokens >= 1.0:
        pass
    new = threading.Thread(target=lambda: (budget.take(), order.append("new")))
    new.start()
    while not budget.busy():
        pass
    asked.set()  # queues while the new one sleeps for the next token
    old.join(timeout=10)
    new.join(timeout=10)
    assert order == ["under way", "new"]


def test_a_delete_without_a_baseline_shows_its_own_events_only_once_its_first_is_there() -> None:
    """No baseline read before DeleteStack: the events start at the stack's DELETE_IN_PROGRESS. Until that
    event is listed, nothing is shown (the older events are an earlier operation's)."""
    def stack_event(number: int, status: str, kind: str = "AWS::CloudFormation::Stack") -> dict[str, Any]:
        return {"EventId": f"e{number}", "ResourceStatus": status, "ResourceType": kind, "LogicalResourceId": "x"}

    pages = [[stack_event(1, "CREATE_COMPLETE")],
             [stack_event(3, "DELETE_IN_PROGRESS", "AWS::S3::Bucket"), stack_event(2, "DELETE_IN_PROGRESS"),
              stack_event(1, "CREATE_COMPLETE")],
             [stack_event(4, "DELETE_COMPLETE"), stack_event(3, "DELETE_IN_PROGRESS", "AWS::S3::Bucket"),
              stack_event(2, "DELETE_IN_PROGRESS"), stack_event(1, "CREATE_COMPLETE")]]

    class Events:
        def describe_stack_events(self, StackName: str) -> dict[str, Any]:
            return {"StackEvents": pages.pop(0)}

    clock = FakeClock()
    poller = Poller(Events(), Budget(2.0, clock, clock.sleep), clock, clock.sleep)
    shown: list[str] = []
    watched = poller.register("stack-id", lambda event: shown.append(event["EventId"]),
                              begins=lambda e: e["ResourceType"] == "AWS::CloudFormation::Stack"
                              and e["ResourceStatus"] == "DELETE_IN_PROGRESS")
    poller._fetch_events(watched)
    assert shown == []  # the delete's first event is not listed yet
    poller._fetch_events(watched)
    assert shown == ["e2", "e3"]
    poller._fetch_events(watched)
    assert shown == ["e2", "e3", "e4"]


def test_events_that_arrive_between_two_pages_do_not_show_an_older_event_twice() -> None:
    """DescribeStackEvents pages newest first; an event that happens between two pages shifts the older ones
    down, so the next page starts again with the last event of the one before. Each event is shown once,
    oldest first, and the newer one with the next fetch."""
    listed = ["e3", "e2", "e1"]  # newest first, as CloudFormation lists them

    class Events:
        def describe_stack_events(self, StackName: str, NextToken: str | None = None) -> dict[str, Any]:
            start = int(NextToken or 0)
            page = listed[start:start + 2]
            if start == 0 and listed[0] == "e3":
                listed.insert(0, "e4")  # happens while the first page is being read
            answer: dict[str, Any] = {"StackEvents": [{"EventId": e} for e in page]}
            if start + 2 < len(listed):
                answer["NextToken"] = str(start + 2)
            return answer

    clock = FakeClock()
    poller = Poller(Events(), Budget(2.0, clock, clock.sleep), clock, clock.sleep)
    shown: list[str] = []
    watched = poller.register("stack-id", lambda event: shown.append(event["EventId"]))
    poller._fetch_events(watched)
    assert shown == ["e1", "e2", "e3"]  # e2 came again on the second page (after e4 arrived): shown once
    poller._fetch_events(watched)
    assert shown == ["e1", "e2", "e3", "e4"]


def test_a_fleets_sweep_backs_off_to_the_fleet_ceiling_and_a_lone_stacks_to_two_seconds() -> None:
    """A large fleet's ListStacks (a call plus every stack in flight parsed, its costliest read in CPU) is
    made every FLEET_CEILING seconds once it has backed off, not every STATUS_CEILING; a few stacks, and a
    stack alone, are still read every STATUS_CEILING. Each settled stack is still noticed within a sweep and
    a page."""
    _clock, cf, poller = make()
    fleet = [cf.add(f"app-{i}", 100 + i / 10) for i in range(FLEET_FROM)]
    watched = [poller.register(s.id, lambda e: None) for s in fleet]
    for w in watched:
        poller.wait(w)
    sweeps = [t for t, op in cf.calls if op == "ListStacks"]
    gaps = [b - a for a, b in pairwise(sweeps) if 20 < a < 100]  # backed off, all of them in flight
    assert gaps and min(gaps) >= FLEET_CEILING and max(gaps) <= FLEET_CEILING + 1.0
    for stack in fleet:
        assert cf.seen_settled[stack.name] - stack.settle_at <= FLEET_CEILING + 1.0

    _clock, cf, poller = make()
    few = [cf.add(f"app-f{i}", 100 + i) for i in range(FLEET_FROM - 1)]
    for w in [poller.register(s.id, lambda e: None) for s in few]:
        poller.wait(w)
    sweeps = [t for t, op in cf.calls if op == "ListStacks" and 20 < t < 100]
    assert max(b - a for a, b in pairwise(sweeps)) <= STATUS_CEILING + 0.5

    _clock, cf, poller = make()
    alone = cf.add("app-alone", 100)
    poller.wait(poller.register(alone.id, lambda e: None))
    reads = [t for t, op in cf.calls if op == "DescribeStacks" and t > 20]
    assert max(b - a for a, b in pairwise(reads)) <= STATUS_CEILING + 0.5
