"""Many stacks at once: environments concurrently in a bounded pool, the stacks of one environment
in order (the replica before the primary on deploy, after it on destroy), and one outcome each.

A run waits for its stacks through one shared poller per region (builder/stack/poller.py), all
reads drawn from one budget of `api_rate` calls a second. Ctrl-C reaches only the main thread: it
stops every poller, so each stack in flight ends with an Interrupted outcome saying where it was left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum

from builder.errors import BuilderError, DriftRefusedError, Interrupted, RefusedError
from builder.report import Reporter, grid
from builder.stack.poller import DEFAULT_RATE, fresh_pollers, interrupt_all
from builder.synth import Stack


class Result(StrEnum):
    """What happened to one stack; the text is what the summary prints."""

    CREATED = "created"
    UPDATED = "updated"
    NO_CHANGES = "no changes"
    CHANGES = "changes"  # diff: a change set with changes was made and deleted
    DELETED = "deleted"
    NOT_FOUND = "not found"
    SKIPPED = "skipped"
    REFUSED = "refused"
    FAILED = "failed"
    IN_SYNC = "in sync"  # drift: the stack matches its template (noise aside)
    DRIFTED = "drifted"  # drift: a resource differs from its template


@dataclass(frozen=True)
class Options:
    """What deploy, diff and destroy were asked to do besides which stacks."""

    out_dir: str = "out"
    allow_data_loss: bool = False  # deploy: go ahead although the data guard finds a loss
    wait_for_others: bool = True
    artifact_bucket: str | None = None
    concurrency: int = 4
    force: bool = False  # deploy: make the change set even when the deployed stack already matches
    allow_drift: bool = False  # deploy over drift of a check_drift environment
    adopt_retained: bool = False  # import a retained bucket and table into a new stack
    drift_timeout_s: float = 300.0  # how long one drift detection may take
    api_rate: float = DEFAULT_RATE  # CloudFormation read calls a second, per region, for the whole run


@dataclass(frozen=True)
class Outcome:
    stack: str
    region: str
    result: Result
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    changes: int = 0
    error: BuilderError | None = None
    detail: str = ""  # why a stack was skipped

    @property
    def text(self) -> str:
        return f"{self.result}: {self.detail}" if self.detail else str(self.result)


Action = Callable[[Stack], Outcome]


class StacksFailed(BuilderError):
    """Several stacks failed: each one's error, then a line that counts them. Exit: the highest code."""

    def __init__(self, command: str, outcomes: Sequence[Outcome]) -> None:
        self.errors = [o.error for o in outcomes if o.error is not None]
        failed = [o.stack for o in outcomes if o.error is not None]
        super().__init__(command, f"{len(self.errors)} of {len(outcomes)} stacks failed: {', '.join(failed)}")
        self.exit_code = max(e.exit_code for e in self.errors)

    def lines(self) -> list[str]:
        return [line for error in self.errors for line in error.lines()] + super().lines()


def _run_group(group: Sequence[Stack], action: Action) -> list[Outcome]:
    """The stacks of one environment, in order; after a failure the rest are skipped."""
    outcomes: list[Outcome] = []
    for stack in group:
        if outcomes and outcomes[-1].error is not None:
            outcomes.append(Outcome(stack.name, stack.region, Result.SKIPPED, detail=f"{outcomes[-1].stack} failed"))
            continue
        started = time.monotonic()
        try:
            outcomes.append(action(stack))
        except KeyboardInterrupt:  # outside the action's own handling: still one outcome
            outcomes.append(Outcome(stack.name, stack.region, Result.FAILED, time.monotonic() - started,
                                    error=Interrupted(stack.name, "interrupted")))
        except BuilderError as exc:
            result = Result.REFUSED if isinstance(exc, (RefusedError, DriftRefusedError)) else Result.FAILED
            outcomes.append(Outcome(stack.name, stack.region, result, time.monotonic() - started, error=exc))
    return outcomes


def run_all(groups: Sequence[Sequence[Stack]], action: Action, concurrency: int,
            api_rate: float = DEFAULT_RATE) -> list[Outcome]:
    """Environments concurrently (at most `concurrency` at once), waiting through fresh pollers with a
    budget of `api_rate` reads a second per region; outcomes in the order given, also after Ctrl-C."""
    with fresh_pollers(api_rate):
        if len(groups) == 1:
            return _run_group(groups[0], action)
        with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(groups)))) as pool:
            futures: list[Future[list[Outcome]]] = []
            try:
                for group in groups:
                    futures.append(pool.submit(_run_group, group, action))
                return [outcome for future in futures for outcome in future.result()]
            except KeyboardInterrupt:
                for future in futures:  # first, so that no worker the interrupt frees takes up a new group
                    future.cancel()
                interrupt_all()
                return [outcome for index, group in enumerate(groups)
                        for outcome in _after_interrupt(futures[index] if index < len(futures) else None, group)]


def _after_interrupt(future: Future[list[Outcome]] | None, group: Sequence[Stack]) -> list[Outcome]:
    """A group's outcomes once Ctrl-C has stopped the pollers: a group not started yet is skipped;
    a running one ends at its next call to CloudFormation, each stack saying where it was left."""
    if future is None or future.cancelled():
        return [Outcome(s.name, s.region, Result.SKIPPED, detail="interrupted before it started") for s in group]
    return future.result()


def finish(outcomes: Sequence[Outcome], reporter: Reporter, command: str, summary: bool) -> None:
    """Report the summary (several stacks; always in JSON mode) and raise when any stack failed."""
    if summary:
        rows = [(o.stack, o.region, o.text, f"{o.seconds:.1f} s") for o in outcomes]
        reporter.lines(["", "summary:", *grid(rows, ("Stack", "Region", "Result", "Time"))])
    errors = [o.error for o in outcomes if o.error is not None]
    reporter.record("summary", command=command, stacks=[
        {"stack": o.stack, "region": o.region, "result": o.text, "seconds": round(o.seconds, 2),
         "changes": o.changes, "outputs": o.outputs, "error": o.error.message if o.error else None}
        for o in outcomes], exit_code=max((e.exit_code for e in errors), default=0))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise StacksFailed(command, outcomes)

