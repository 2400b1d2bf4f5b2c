"""The executor: every command over many stacks (deploy, diff, destroy, drift, reap, status) runs one
verb over a plan of ordered groups and gets one Outcome per stack.

A plan is a list of groups: the groups run concurrently in a bounded pool, the stacks of one group
in order (an environment: the replica before the primary on deploy, after it on destroy; reap: a
primary, then its replica). What becomes of a stack whose predecessor in the group did not go well is
the plan's rule (`after`): by default it is skipped after a failure. One failure never stops another
group.

The run's waits go through its pollers (builder/stack/poller.py), made by the command and passed
here: one per region, all reads drawn from one budget. Ctrl-C reaches only the main thread: it stops
every poller of the run, so each stack in flight ends with an Interrupted outcome saying where it was
left, and a group not started yet is skipped.

Each command declares its own results (builder.ops.deploy's DeployResult, diff's DiffResult, ...); the
executor knows only its own: skipped, refused, failed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TypeVar

from builder.errors import BuilderError, DriftRefusedError, Interrupted, RefusedError
from builder.stack.poller import Pollers


class Result(StrEnum):
    """What the executor itself decides about a stack; the text is what the summary prints."""

    SKIPPED = "skipped"
    REFUSED = "refused"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # Ctrl-C while the stack was in flight: its message says where it stands


@dataclass(frozen=True)
class Skipped:
    """Why the executor did not run a stack: `after`, the stack before it in its group, failed; None: Ctrl-C
    came before its group started."""

    after: str | None = None


@dataclass(frozen=True)
class Outcome:
    """What happened to one stack. `result` is a command's own result (or the executor's); `detail` why it was
    skipped (Skipped) or kept (a command's own reason), a value the CLI words."""

    stack: str
    region: str
    result: StrEnum
    seconds: float = 0.0
    outputs: dict[str, str] = field(default_factory=dict)
    changes: int = 0
    error: BuilderError | None = None
    detail: object | None = None  # why a stack was skipped (or kept)


class Target(Protocol):
    """What a verb runs on: a synthesized Stack, a reap Row, ..."""

    @property
    def name(self) -> str: ...

    @property
    def region(self) -> str: ...


T = TypeVar("T", bound=Target)
Verb = Callable[[T], Outcome]
# What becomes of a stack whose predecessor in its group ended with this outcome: an outcome of its own
# (the stack is not run), or None to run it.
After = Callable[[Outcome, T], Outcome | None]


def skip_after_failure(before: Outcome, target: Target) -> Outcome | None:
    """The stacks of an environment depend on each other: after a failure, the rest are skipped."""
    if before.error is None:
        return None
    return Outcome(target.name, target.region, Result.SKIPPED, detail=Skipped(after=before.stack))


class StacksFailed(BuilderError):
    """Several stacks failed or were interrupted: each one's error, then a line that counts them, the
    interrupted apart (`1 of 6 stacks failed: app-bad; 3 interrupted: ...`). Exit: the highest code."""

    def __init__(self, command: str, outcomes: Sequence[Outcome]) -> None:
        self.errors = [o.error for o in outcomes if o.error is not None]
        interrupted = [o.stack for o in outcomes if isinstance(o.error, Interrupted)]
        failed = [o.stack for o in outcomes if o.error is not None and not isinstance(o.error, Interrupted)]
        (what, names), *more = [kind for kind in (("failed", failed), ("interrupted", interrupted)) if kind[1]]
        counts = [f"{len(names)} of {len(outcomes)} stacks {what}: {', '.join(names)}",
                  *(f"{len(others)} {kind}: {', '.join(others)}" for kind, others in more)]
        super().__init__(command, "; ".join(counts))
        self.exit_code = max(e.exit_code for e in self.errors)

    def lines(self) -> list[str]:
        return [line for error in self.errors for line in error.lines()] + super().lines()


def _run_one(target: T, verb: Verb[T]) -> Outcome:
    """The verb on one stack; an error (or Ctrl-C outside the verb's own handling) is its outcome."""
    started = time.monotonic()
    try:
        return verb(target)
    except KeyboardInterrupt:
        return Outcome(target.name, target.region, Result.INTERRUPTED, time.monotonic() - started,
                       error=Interrupted(target.name, "interrupted"))
    except BuilderError as exc:
        result = Result.REFUSED if isinstance(exc, (RefusedError, DriftRefusedError)) else \
            Result.INTERRUPTED if isinstance(exc, Interrupted) else Result.FAILED
        return Outcome(target.name, target.region, result, time.monotonic() - started, error=exc)


def _run_group(group: Sequence[T], verb: Verb[T], after: After[T]) -> list[Outcome]:
    """The stacks of one group, in order; each after the one before it as `after` rules."""
    outcomes: list[Outcome] = []
    for target in group:
        instead = after(outcomes[-1], target) if outcomes else None
        outcomes.append(instead if instead is not None else _run_one(target, verb))
    return outcomes


def run_all(groups: Sequence[Sequence[T]], verb: Verb[T], concurrency: int, pollers: Pollers,
            after: After[T] = skip_after_failure) -> list[Outcome]:
    """Run `verb` on every stack of the plan: groups concurrently (at most `concurrency` at once), the
    stacks of a group in order. Outcomes in the plan's order, whatever order they finished in, also
    after Ctrl-C (which stops `pollers`, the run's)."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1 (got {concurrency})")
    if len(groups) <= 1:
        return [outcome for group in groups for outcome in _run_group(group, verb, after)]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(groups))) as pool:
        futures: list[Future[list[Outcome]]] = []
        try:
            for group in groups:
                futures.append(pool.submit(_run_group, group, verb, after))
            return [outcome for future in futures for outcome in future.result()]
        except KeyboardInterrupt:
            for future in futures:  # first, so that no worker the interrupt frees takes up a new group
                future.cancel()
            pollers.interrupt()
            return [outcome for index, group in enumerate(groups)
                    for outcome in _after_interrupt(futures[index] if index < len(futures) else None, group)]


def _after_interrupt(future: Future[list[Outcome]] | None, group: Sequence[Target]) -> list[Outcome]:
    """A group's outcomes once Ctrl-C has stopped the pollers: a group not started yet is skipped;
    a running one ends at its next call to CloudFormation, each stack saying where it was left."""
    if future is None or future.cancelled():
        return [Outcome(t.name, t.region, Result.SKIPPED, detail=Skipped()) for t in group]
    return future.result()


def raise_failures(outcomes: Sequence[Outcome], command: str) -> None:
    """The one error of a failed stack, or StacksFailed naming every one; nothing when none failed."""
    errors = [o.error for o in outcomes if o.error is not None]
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise StacksFailed(command, outcomes)
