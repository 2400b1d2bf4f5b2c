"""One poller per region and endpoint of a run (Pollers, at the end): every stack the run waits for, watched by
one loop under one budget.

Stacks register (stack id, a callback for their events, the baseline event id) and wait(). There is
no poller thread: whichever waiting thread finds the loop free leads it, polling for every registered
stack, until its own stack settles; then it hands the loop to one thread still waiting. The others
sleep, each on its own condition, and wake when their stack is settled or failed, when the loop is
handed to them, or on Ctrl-C: one wake-up per event, not one per waiting thread. So the loop
runs only while someone waits, only one thread ever sleeps on the clock (a fake clock stays
deterministic), and nothing is left running after the last wait.

Each decision of the loop (step) makes at most a few calls, every one drawn from the Budget, in this order:
- settle detection first: a status sweep of all stacks in flight whenever it is due, before anything else
  the loop has to do. With as many stacks as the last ListStacks took pages (one, at first), it is
  DescribeStacks(StackName=...) per stack; with more, ListStacks filtered to the *_IN_PROGRESS statuses of
  a running operation (REVIEW_IN_PROGRESS left out: a stack waiting for its change set to be executed is
  not watched, and a fleet's change sets would otherwise fill the pages), 100 stacks a page: a registered
  stack missing from every page of it has settled (or is about to be seen so). ListStacks is cheaper than
  DescribeStacks without StackName, whose pages cover every stack in the region, settled ones included.
  The sweep is due every 0.1 s at first (twice: the first comes right after the write, before most
  operations settle), then doubling to a ceiling of 2 s (as the watch loop of one stack does; new events
  bring it back to 1 s), 4 s for the ListStacks of a fleet of 20 stacks in flight or more (each costs a
  page's call and the parsing of every stack in flight, a large fleet's costliest read in CPU; 4 s still
  notices a settled stack within seconds; a few stacks keep 2 s, their wall time set by their last), and
  never more often than keeps it within STATUS_SHARE of the budget: 5 pages at 2 reads/s, every 4.2 s.
- then the settled stacks, one call a decision so the next sweep is never held back by more than one
  call: first, in the order they were noticed, DescribeStacks of each the sweep saw missing from a
  ListStacks (it confirms the stack settled, and is its final record with its outputs), then each
  one's final events, all of them up to the baseline, so the log the user sees is complete and in
  order; its wait returns after that.
- then progress events: no call tells cheaply that a stack has new events (neither summary changes when
  a resource event happens: the status stays UPDATE_IN_PROGRESS; LastUpdatedTime is the operation's
  start), so each stack in flight gets DescribeStackEvents in turn, least recently fetched first, at
  most once per EVENTS_EVERY and, in a fleet, within EVENTS_SHARE of the budget, only while no other
  caller waits for the budget and only when the call does not push the next sweep back. One stack gets
  them every second; 100 stacks at 2 reads/s every 100 s: each prints its events in batches, but
  completely, in order, and once more when it settles. Budget left unused is left to the account's
  other tools.

The loop's calls go before other callers waiting for the budget (the change-set and describe reads of
stacks still starting, through read()): while it has work to do the loop holds the budget (a token goes
to its next call, not to the queue, even while it is still reading the last reply), and lets go when it
sleeps. The others take what the loop leaves, the thread furthest along first, so noticing a settled
stack and reading its events are never held back by a fleet's queue.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Self

import botocore.exceptions

from builder.errors import UsageError
from builder.stack import client as aws

START_RATE = 20.0  # the adaptive default's first rate (calls a second, per region): measured side by side with
# Sceptre (which has no cap at all), 10 left deleting 10 stacks slower than it; Throttling then halves it
GROWTH = 1.0 / 60  # after a cut, the rate grows back by 1 read a second each minute (additive increase)
RATE_FLOOR = 0.1  # the slowest rate: Throttling halves it no lower, and --api-rate takes no less (a call each 10 s)
CUT_EVERY = 1.0  # one cut per this many seconds at most: a burst of Throttling replies is one signal
BURST_SECONDS = 0.5  # the budget's bucket holds this many seconds' worth of calls at its rate (one at least)
THROTTLED_TRIES = 5  # a read throttled this many times in a row fails with the Throttling error
EVENTS_EVERY = 1.0  # seconds between DescribeStackEvents calls of one stack
STATUS_FIRST, STATUS_AFTER_PROGRESS, STATUS_CEILING = 0.1, 1.0, 2.0
FLEET_CEILING = 4.0  # the ceiling of a large fleet's ListStacks sweep: half the calls of 2 s, noticed a second later
FLEET_FROM = 20  # stacks in flight from which the sweep backs off to FLEET_CEILING (a few stacks keep 2 s)
EVENTS_SHARE = 0.5  # progress events of a fleet take at most this share of the budget
STATUS_SHARE = 0.6  # the status sweep takes at most this share of the budget (then its interval grows)
IN_PROGRESS = ("CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "DELETE_IN_PROGRESS", "UPDATE_IN_PROGRESS",
               "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS",
               "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "IMPORT_IN_PROGRESS",
               "IMPORT_ROLLBACK_IN_PROGRESS")  # of a running operation: REVIEW_IN_PROGRESS is a stack waiting

EPSILON = 1e-9  # a token this close to whole is whole: a sleep of less would not move a float clock
SLICE = 1.0  # the longest one sleep for a token: a stopped budget is noticed within it

Event = Mapping[str, Any]


def settled(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


def burst(rate: float) -> float:
    """The most calls a budget at `rate` lets out at once: its bucket, BURST_SECONDS' worth, one call at least."""
    return max(1.0, rate * BURST_SECONDS)


class Budget:
    """A token bucket of API calls per second, shared by every thread that calls one region.

    Adapts (additive increase, multiplicative decrease, as TCP and botocore's adaptive retry mode do):
    it starts at `limit`, halves on a Throttling reply (down to `floor`; at most once per CUT_EVERY, so
    the replies of one burst count once) and grows back by GROWTH a second, never above `limit`. With
    `--api-rate N` the limit is N, a hard cap; without it, START_RATE. It caps every CloudFormation call
    of the run, reads and writes (Paced). Holds at most `capacity` tokens, BURST_SECONDS' worth at the current
    rate (one at least), so no t seconds let out more than capacity + rate * t calls. An account's throttle is a
    bucket too; one that holds a second's worth at the same rate keeps at least half its tokens for calls that
    reach it late, bunched with the calls after them (a busy client; the benchmarks' virtual clock, which moves
    on while a call is on its way). take()
    sleeps until one is there, one thread at a time (the others wait in a queue, each on its own
    condition, so calls go out in turn and only one thread sleeps on the clock). After stop()
    (Ctrl-C) every take() raises KeyboardInterrupt.
    """

    def __init__(self, limit: float = START_RATE, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, floor: float = RATE_FLOOR) -> None:
        if not RATE_FLOOR <= limit < float("inf"):
            raise UsageError("--api-rate", f"{limit} calls a second cannot make progress in time; give a number of "
                                           f"at least {RATE_FLOOR:g}, such as 2")
        self.limit = self.rate = float(limit)
        self.floor = min(floor, self.limit)
        self.tokens = self.capacity
        self._clock, self._sleep = clock, sleep
        self._stamp = clock()
        self._cut_at = float("-inf")
        self.cuts = 0  # Throttling replies that halved the rate
        self._lock = threading.Lock()
        self._queue: list[_Waiter] = []  # callers other than the watch loop waiting, a heap: the next one first
        self._sleeping = False  # the head of the queue sleeps on the clock until a token is there
        self._arrivals = itertools.count()
        self._made = threading.local()  # calls each thread has taken
        self._first = 0  # callers of the watch loop waiting, who go first
        self.held = False  # the watch loop has work to do: its next call goes first too, though not asked yet
        self._loop_idle = threading.Condition(self._lock)  # the loop neither holds the budget nor waits for it
        self.stopped = False

    @property
    def capacity(self) -> float:
        """The most tokens the bucket holds: the burst of the current rate."""
        return burst(self.rate)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = now - self._stamp
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate)
        self.rate = min(self.limit, self.rate + GROWTH * elapsed)
        self._stamp = now

    def delay(self) -> float:
        """Seconds until a token is there (0 when one is there now)."""
        with self._lock:
            self._refill()
            return 0.0 if self.tokens >= 1.0 - EPSILON else (1.0 - self.tokens) / self.rate

    def take(self, first: bool = False) -> None:
        """Sleep until a token is there and take it. `first` (the watch loop's calls) goes before every
        other caller waiting, so a fleet's change sets queued for the budget never hold back noticing
        that a stack has settled. Among the other callers, the thread that has made the most calls goes
        first: a stack under way (its change set made, its final writes due) finishes before another
        starts, so a fleet's stacks start one after another rather than all at once and none halfway."""
        if first:
            with self._lock:
                self._first += 1
            try:
                self._wait_for_token(yield_to_first=False)
            finally:
                with self._lock:
                    self._first -= 1
                    self._loop_idle.notify_all()
            return
        made = getattr(self._made, "calls", 0)
        me = _Waiter(-made, next(self._arrivals), threading.Condition(self._lock))
        with self._lock:
            heapq.heappush(self._queue, me)
        try:
            while True:
                with self._lock:  # one waiter at a time sleeps on the clock: the head of the queue
                    while self._queue[0] is not me or self._sleeping:
                        if self.stopped:
                            raise KeyboardInterrupt
                        me.woken.wait()
                    self._sleeping = True
                try:
                    if self._token_or_pause(yield_to_first=True):
                        self._made.calls = made + 1
                        return
                finally:
                    with self._lock:
                        self._sleeping = False
                        self._wake_head()
        finally:
            with self._lock:
                if self._queue[0] is me:  # served (or stopped) at the head: the usual way out
                    heapq.heappop(self._queue)
                else:
                    self._queue.remove(me)
                    heapq.heapify(self._queue)
                self._wake_head()

    def _wake_head(self) -> None:
        """Wake the waiter at the head of the queue (call holding the lock)."""
        if self._queue:
            self._queue[0].woken.notify()

    def _wait_for_token(self, yield_to_first: bool) -> None:
        while not self._token_or_pause(yield_to_first):
            pass

    def _token_or_pause(self, yield_to_first: bool) -> bool:
        """Take a token if one is there (True); else sleep until one should be, a SLICE at most (False)."""
        if self.stopped:
            raise KeyboardInterrupt
        with self._lock:
            self._refill()
            there = self.tokens >= 1.0 - EPSILON
            if there and not (yield_to_first and (self._first or self.held)):
                self.tokens -= 1.0
                return True
            if there:  # the loop's turn: wait for it to take its token or to stop holding (no clock to sleep on)
                self._loop_idle.wait()
                return False
            wait = 1.0 / self.rate if there else (1.0 - self.tokens) / self.rate
        self._sleep(min(wait, SLICE))
        return False

    def hold(self, held: bool) -> None:
        """The watch loop has work to do (True) until it sleeps or stops leading (False): while it holds the
        budget, a token goes to the loop's next call even when it is not asking yet (it is reading the last
        reply), not to the callers queued."""
        with self._lock:
            self.held = held
            if not held:
                self._loop_idle.notify_all()

    def busy(self) -> bool:
        """Is a caller other than the watch loop waiting for a token?"""
        with self._lock:
            return bool(self._queue)

    def stop(self) -> None:
        with self._lock:
            self.stopped = True
            for waiter in self._queue:
                waiter.woken.notify()
            self._loop_idle.notify_all()

    def throttled(self) -> None:
        """A Throttling reply: halve the rate (once per CUT_EVERY) and pause the whole region a moment."""
        with self._lock:
            self._refill()
            if self._clock() - self._cut_at >= CUT_EVERY:
                self._cut_at = self._clock()
                self.rate = max(self.floor, self.rate / 2)
                self.cuts += 1
            self.tokens = min(self.tokens, 0.0) - 1.0


@dataclass(order=True)
class _Waiter:
    """A caller waiting for the budget: the thread that has made more calls first, then the earlier."""

    made: int  # minus the calls its thread has taken
    arrival: int
    woken: threading.Condition = field(compare=False)


class Paced:
    """A client whose every call first takes a token of the budget: the writes of a run (CreateChangeSet,
    ExecuteChangeSet, DeleteStack, DetectStackDrift, ...), so `--api-rate` bounds every CloudFormation
    call of the run, not only the reads. `meta` and the other attributes are the client's own."""

    def __init__(self, cf: Any, budget: Budget) -> None:
        self.client, self.budget = cf, budget

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if name.startswith("_") or name in ("meta", "exceptions", "can_paginate", "get_paginator", "get_waiter") \
                or not callable(attr):
            return attr

        def paced(*args: Any, **kwargs: Any) -> Any:
            self.budget.take()
            return attr(*args, **kwargs)

        return paced


class Watched:
    """One registered stack and what the poller knows of it; read `status` after Ctrl-C."""

    def __init__(self, stack_id: str, on_event: Callable[[Event], None] | None, baseline: str | None,
                 stream: bool, woken: threading.Condition, on_idle: Callable[[], None] | None = None,
                 begins: Callable[[Event], bool] | None = None) -> None:
        self.stack_id, self.on_event, self.stream = stack_id, on_event, stream
        self.begins = begins  # without a baseline: the event that starts the watched operation (the oldest shown)
        self.on_idle = on_idle  # called when the loop sleeps (a live progress line redraws its elapsed time)
        self.woken = woken  # its waiting thread sleeps on this (the poller's lock): woken alone, not all
        self.waiting = False
        self.seen: set[str] = {baseline} if baseline else set()
        self.events: list[Event] = []  # new events of the watched operation, oldest first
        self.status = ""  # the last StackStatus seen; "" before the first
        self.final: dict[str, Any] | None = None  # the settled DescribeStacks record
        self.error: BaseException | None = None
        self.events_at = float("-inf")  # when its events were last fetched
        self.settling = False  # a sweep saw it settled: final events and record are due
        self.noticed = 0  # the order in which sweeps saw it settled: settled stacks are finished in this order
        self.noticed_at: float | None = None  # when a sweep first saw it settled (the poller's clock)
        self.record: dict[str, Any] | None = None  # its DescribeStacks record, when the sweep had one

    def done(self) -> bool:
        return self.final is not None or self.error is not None


class Poller:
    """Watches every registered stack of one region and endpoint; see the module docstring."""

    def __init__(self, cf: Any, budget: Budget, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, events_every: float = EVENTS_EVERY) -> None:
        self.cf, self.budget = cf, budget
        self.writer = Paced(cf, budget)  # write calls, each drawn from the budget like a read
        self._clock, self._sleep = clock, sleep
        self.events_every = events_every
        self._lock = threading.Lock()  # guards the registry and the lead; each Watched waits on its own condition
        self._stacks: dict[str, Watched] = {}  # in flight, by the id they registered with
        self._leading = False
        self._interrupted = False
        self._status_at = float("-inf")
        self._status_every = STATUS_FIRST
        self._list_pages = 1  # pages the last ListStacks took: DescribeStacks per stack up to that many
        self._swept = False  # a status sweep since the loop last slept (one stack's events come with it)
        self._fresh = False  # a stack registered since the last sweep: the next interval keeps its floor
        self._noticed = 0  # settled stacks noticed so far (their order)

    # ------------------------------------------------------------------ the interface
    def register(self, stack_id: str, on_event: Callable[[Event], None] | None = None,
                 baseline: str | None = None, stream: bool = True,
                 on_idle: Callable[[], None] | None = None, begins: Callable[[Event], bool] | None = None) -> Watched:
        """Watch a stack (its id, or its name while it exists) from now on; events after `baseline`, or with
        `begins`, from the newest event it accepts on (a read saved: no baseline to fetch first; events are
        shown only once that event is there, so none of an earlier operation is ever shown)."""
        watched = Watched(stack_id, on_event, baseline, stream, threading.Condition(self._lock), on_idle, begins)
        with self._lock:
            if stack_id in self._stacks:
                raise ValueError(f"{stack_id} is already being watched; wait for it before registering it again")
            self._stacks[stack_id] = watched
            self._status_every = self._sweep_floor(len(self._stacks))
            self._swept = False  # a lone stack's events come after a sweep that includes it
            self._fresh = True
        return watched

    def wait(self, watched: Watched) -> dict[str, Any]:
        """Block until the stack settles; its final DescribeStacks record. Raises the error of its own
        calls, and KeyboardInterrupt when Ctrl-C reaches any waiting thread (every wait then raises)."""
        try:
            while True:
                with self._lock:
                    if watched.done():
                        self._hand_over()  # it may have been handed the loop as its stack settled
                        if watched.final is not None:
                            return watched.final
                        assert watched.error is not None  # done(): the one or the other
                        raise watched.error
                    if self._interrupted:
                        raise KeyboardInterrupt
                    if self._stacks.get(watched.stack_id) is not watched:
                        raise ValueError(f"{watched.stack_id} was not registered with this poller")
                    if self._leading:
                        watched.waiting = True
                        watched.woken.wait()
                        watched.waiting = False
                        continue
                    self._leading = True
                try:
                    while not watched.done():
                        self.step()
                finally:
                    self.budget.hold(False)
                    with self._lock:
                        self._leading = False
                        self._hand_over()
        except KeyboardInterrupt:
            self.interrupt()
            raise

    def _hand_over(self) -> None:
        """With the loop free, wake one thread still waiting to lead it (call holding the lock)."""
        if not self._leading:
            successor = next((w for w in self._stacks.values() if w.waiting), None)
            if successor is not None:
                successor.woken.notify()

    def interrupt(self) -> None:
        """Stop every wait (they raise KeyboardInterrupt); what is known of each stack stays readable."""
        self.budget.stop()
        with self._lock:
            self._interrupted = True
            for watched in self._stacks.values():
                watched.woken.notify()

    def read(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One CloudFormation read call drawn from the budget; Throttling slows the budget and retries (up to
        THROTTLED_TRIES times in a row; then the Throttling error is raised)."""
        return self._read(operation, kwargs, first=False)

    def _loop_read(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """A read of the watch loop: it goes before the other callers waiting for the budget."""
        return self._read(operation, kwargs, first=True)

    def _read(self, operation: str, kwargs: Mapping[str, Any], first: bool) -> dict[str, Any]:
        for attempt in range(1, THROTTLED_TRIES + 1):
            if self._interrupted:
                raise KeyboardInterrupt
            self.budget.take(first)
            if self._interrupted:
                raise KeyboardInterrupt
            try:
                answer: dict[str, Any] = getattr(self.cf, operation)(**kwargs)
            except botocore.exceptions.ClientError as exc:
                if aws.error_code(exc) not in aws.THROTTLED or attempt == THROTTLED_TRIES:
                    raise
                self.budget.throttled()
                continue
            return answer
        raise AssertionError("unreachable: the last attempt returns or raises")

    def latest_event_id(self, stack_id: str) -> str | None:
        """The baseline to register with: the newest event of the stack before the operation starts."""
        events = self.read("describe_stack_events", StackName=stack_id).get("StackEvents", [])
        return str(events[0]["EventId"]) if events else None

    # ------------------------------------------------------------------ the loop
    def step(self) -> None:
        """One decision of the loop: sweep the status when due, else one call of the first settled stack
        (its record, then its final events), else one stack's progress events, else sleep until one of
        these is due."""
        if self._interrupted:
            raise KeyboardInterrupt
        with self._lock:
            stacks = [w for w in self._stacks.values() if not w.done()]
        if not stacks:
            return
        now = self._clock()
        status_due = self._status_at + self._status_every
        if now >= status_due:
            self.budget.hold(True)
            self._sweep(stacks)
            return
        settling = [w for w in stacks if w.settling]
        if settling:  # records first (each confirms a stack the pages missed), then final events
            self.budget.hold(True)
            self._finish(min(settling, key=lambda w: (w.record is not None, w.noticed)))
            return
        streaming = [w for w in stacks if w.stream]
        # a fleet: each stack in turn, in half the budget at most; one stack: right after its status
        # sweep, at most every EVENTS_EVERY (so every 2 s while nothing happens, every second after
        # progress, as the sweep goes)
        every = max(self.events_every, len(streaming) / (self.budget.rate * EVENTS_SHARE))
        stalest = min(streaming, key=lambda w: w.events_at) if streaming else None
        # progress events wait while other callers (a fleet's change sets) wait for the budget
        events_due = stalest.events_at + every if stalest is not None and not self.budget.busy() else float("inf")
        if len(stacks) == 1 and not (self._swept and events_due <= now):
            events_due = float("inf")
        if stalest is not None and events_due <= now and now + self.budget.delay() < status_due:
            self.budget.hold(True)
            self._guarded(stalest, partial(self._fetch_events, stalest))
            return
        self.budget.hold(False)  # nothing to do until the next sweep: the callers queued take the budget
        for idle in dict.fromkeys(w.on_idle for w in stacks if w.on_idle is not None):
            idle()
        self._swept = False
        self._sleep(max(0.0, min(status_due, max(events_due, now + self.budget.delay())) - now))

    def _sweep_floor(self, stacks: int) -> float:
        """The first interval after a stack registers: STATUS_FIRST, or for a fleet (a ListStacks sweep) the
        shortest that keeps its pages within STATUS_SHARE of the budget."""
        if stacks <= self._list_pages:
            return STATUS_FIRST
        return max(STATUS_FIRST, self._list_pages / (self.budget.rate * STATUS_SHARE))

    def _sweep(self, stacks: list[Watched]) -> None:
        started = self._clock()  # a fleet's interval runs from its sweep's start: the pages count in its share
        listed = len(stacks) > self._list_pages  # a fleet: ListStacks
        large = listed and len(stacks) >= FLEET_FROM
        if not listed:
            for watched in stacks:
                if not watched.settling:
                    self._guarded(watched, partial(self._describe, watched))
            pages = len(stacks)
            started = self._clock()  # a few stacks: from the end, as the watch loop of one stack waits
        else:
            try:
                pages = self._list(stacks)
            except Exception as exc:  # noqa: BLE001 - every stack waiting on this sweep gets its error
                for watched in stacks:
                    self._resolve(watched, error=exc)
                return
        self._status_at = started
        self._swept = True
        ceiling = max(FLEET_CEILING if large else STATUS_CEILING, pages / (self.budget.rate * STATUS_SHARE))
        # a few stacks: the first sweep after a start comes right after the write, before most operations have
        # settled (a delete on LocalStack takes about 0.15 s), so the second keeps the floor's interval and only
        # then it doubles; a fleet's sweep doubles at once (its pages count in the budget's share)
        self._status_every = min(self._status_every * (1 if self._fresh and not listed else 2), ceiling)
        self._fresh = False

    def _describe(self, watched: Watched) -> None:
        record = self._loop_read("describe_stacks", StackName=watched.stack_id)["Stacks"][0]
        watched.status = record["StackStatus"]
        if settled(watched.status):
            self._settling(watched, record)

    def _list(self, stacks: list[Watched]) -> int:
        """ListStacks of the stacks in progress; the ones missing from it are due a final look."""
        in_progress: dict[str, str] = {}
        token, pages = None, 0
        while True:
            page = self._loop_read("list_stacks", StackStatusFilter=list(IN_PROGRESS),
                             **({"NextToken": token} if token else {}))
            pages += 1
            for summary in page.get("StackSummaries", []):
                in_progress[summary["StackId"]] = in_progress[summary["StackName"]] = summary["StackStatus"]
            token = page.get("NextToken")
            if not token:
                break
        self._list_pages = max(1, pages)
        for watched in stacks:
            status = in_progress.get(watched.stack_id)
            if status is not None:
                watched.status = status
            elif not watched.settling:
                self._settling(watched, None)
        return pages

    def _settling(self, watched: Watched, record: dict[str, Any] | None) -> None:
        """A sweep saw the stack settled (record: its DescribeStacks record, None after a ListStacks)."""
        self._noticed += 1
        watched.record, watched.settling, watched.noticed = record, True, self._noticed
        watched.noticed_at = self._clock()

    def _finish(self, watched: Watched) -> None:
        """One call for a settled stack: its DescribeStacks record if the sweep had none (which confirms it
        settled), else its final events, after which its wait returns."""
        def confirm() -> None:
            record = self._loop_read("describe_stacks", StackName=watched.stack_id)["Stacks"][0]
            watched.status = record["StackStatus"]
            if not settled(watched.status):  # the pages missed it (or it had not started): not settled after all
                watched.settling, watched.noticed_at = False, None
                return
            watched.record = record

        def finish(record: dict[str, Any]) -> None:
            if watched.stream:
                self._fetch_events(watched)
            self._resolve(watched, final=record)

        if watched.record is None:
            self._guarded(watched, confirm)
        else:
            self._guarded(watched, partial(finish, watched.record))

    def _fetch_events(self, watched: Watched) -> None:
        """Events newer than the ones already seen, oldest first (pages until a known event)."""
        watched.events_at = self._clock()
        new: list[Event] = []
        taken: set[str] = set()  # of this fetch: events that arrive between two pages shift the older ones
        token = None  # onto the next page again, and are not shown twice
        while True:
            page = self._loop_read("describe_stack_events", StackName=watched.stack_id,
                             **({"NextToken": token} if token else {}))
            fresh, ended, begun = _unseen(watched, page.get("StackEvents", []), taken)
            new += fresh
            token = None if ended else page.get("NextToken")
            if not token:
                if watched.begins is not None and not watched.seen and not begun:
                    new = []  # its first event is not there yet: show nothing of an earlier operation
                break
        for event in reversed(new):
            watched.seen.add(event["EventId"])
            watched.events.append(event)
            if watched.on_event is not None:
                watched.on_event(event)
        if new and len(self._stacks) == 1:  # a fleet's sweep learns nothing from one stack's events
            self._status_every = min(self._status_every, STATUS_AFTER_PROGRESS)

    def _guarded(self, watched: Watched, call: Callable[[], None]) -> None:
        """Run one stack's calls; an error (not Throttling, not Ctrl-C) ends that stack's wait alone."""
        try:
            call()
        except Exception as exc:  # noqa: BLE001 - the error is the stack's answer, raised by its wait()
            self._resolve(watched, error=exc)

    def _resolve(self, watched: Watched, final: dict[str, Any] | None = None,
                 error: BaseException | None = None) -> None:
        with self._lock:
            watched.final, watched.error, watched.settling = final, error, False
            self._stacks.pop(watched.stack_id, None)
            watched.woken.notify()


def _unseen(watched: Watched, events: list[Event], taken: set[str]) -> tuple[list[Event], bool, bool]:
    """The events of one page (newest first) not seen yet nor `taken` by an earlier page of this fetch (added
    to it); whether the listing ends here (an event seen before, or the operation's first event: nothing
    older is its) and whether that first event was among them."""
    fresh: list[Event] = []
    for event in events:
        if event["EventId"] in watched.seen:
            return fresh, True, False
        if event["EventId"] in taken:
            continue
        taken.add(event["EventId"])
        fresh.append(event)
        if watched.begins is not None and not watched.seen and watched.begins(event):
            return fresh, True, True
    return fresh, False, False


class Pollers:
    """The pollers of one command run: one per region and endpoint, each with a budget of the run's
    rate, and whether Ctrl-C has stopped the run.

    A command makes one (`with Pollers(rate) as pollers:`) and passes it down: every stack of the run
    waits through `pollers.poller(region)`, so its stacks share one budget per region, and two runs in
    one process (the tests, a library user) share nothing. Ctrl-C reaches only the main thread, which
    calls interrupt(): every wait of the run, in whichever thread, then raises KeyboardInterrupt, and so
    does a stack of the run that starts later. Leaving the block unhooks the budgets from the shared
    clients. `make` builds a region's poller (default: one on the process's shared client).
    """

    def __init__(self, api_rate: float | None = None, make: Callable[[str, float], Poller] | None = None) -> None:
        """`api_rate`: the hard cap of `--api-rate`; None for the adaptive default (START_RATE, then AIMD)."""
        self.api_rate = START_RATE if api_rate is None else api_rate
        Budget(self.api_rate)  # a rate that cannot make progress is bad input before anything starts
        self.interrupted = False
        self._make = make or _shared_poller
        self._lock = threading.Lock()
        self._by_region: dict[str, Poller] = {}
        self._made: list[Poller] = []  # every poller of the run, also one replaced by a new client's

    def poller(self, region: str) -> Poller:
        """The run's poller of this region and of the endpoint its client talks to, made on first use."""
        with self._lock:
            made = self._by_region.get(region)
            if made is None or self._stale(region, made):
                made = self._by_region[region] = self._make(region, self.api_rate)
                self._made.append(made)
                if self.interrupted:  # a stack that starts after Ctrl-C stops at its first call
                    made.interrupt()
            return made

    def _stale(self, region: str, poller: Poller) -> bool:
        """Is the shared client the poller reads through no longer the one of the AWS environment (the
        credentials or the endpoint changed)? Then the region gets a new poller."""
        return self._make is _shared_poller and poller.cf is not aws.shared_client(region, "cloudformation")

    def interrupt(self) -> None:
        """Ctrl-C: stop every poller of the run, and the ones it makes from now on."""
        with self._lock:
            self.interrupted = True
            made = list(self._made)
        for poller in made:
            poller.interrupt()

    def close(self) -> None:
        """Unhook the run's budgets from the shared clients; the run's pollers are not used again."""
        with self._lock:
            made, self._made = self._made, []
            self._by_region.clear()
        for poller in made if self._make is _shared_poller else ():
            poller.cf.meta.events.unregister("needs-retry.cloudformation", unique_id=_budget_hook_id(poller.budget))

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()


def _shared_poller(region: str, api_rate: float) -> Poller:
    """A poller on the process's shared CloudFormation client of the region, its budget slowed by every
    Throttling reply that client gets."""
    cf = aws.shared_client(region, "cloudformation")
    budget = Budget(api_rate)
    budget_reacts_to_throttling(cf, budget)
    return Poller(cf, budget)


def _budget_hook_id(budget: Budget) -> str:
    return f"builder-budget-{id(budget)}"


READS = ("Describe", "List", "Get")  # the operations every caller makes through Poller.read (the budget)


def budget_reacts_to_throttling(cf: Any, budget: Budget) -> None:
    """Make the budget the one thing that reacts to Throttling on this client: each Throttling reply halves
    it, and botocore does not retry a throttled read itself (the reply reaches Poller.read, which waits
    for the slower budget and asks again). botocore still retries connection errors and 5xx replies, and
    throttled writes (CreateChangeSet, DeleteStack, ...), which go out once per operation, not per poll.

    botocore asks every needs-retry handler and follows the first answer that is not None; this one is
    registered first and answers False (no retry) for a throttled read, None otherwise."""
    def on_reply(response: Any = None, operation: Any = None, **_: Any) -> bool | None:
        parsed = response[1] if isinstance(response, tuple) and len(response) == 2 else None
        if not (isinstance(parsed, dict) and parsed.get("Error", {}).get("Code") in aws.THROTTLED):
            return None
        budget.throttled()
        return False if str(getattr(operation, "name", "")).startswith(READS) else None

    cf.meta.events.register_first("needs-retry.cloudformation", on_reply, unique_id=_budget_hook_id(budget))
