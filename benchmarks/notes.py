"""What BENCHMARKS.md says beside a number: computed from the run's own data, never fixed text.

Each function takes what a benchmark measured and returns a sentence that states it (medians, calls,
throttles and when, load averages), so a note cannot say more than the run shows. tests/test_bench_notes.py
feeds them made-up data.
"""

from __future__ import annotations

import bisect
import statistics
from collections import Counter
from collections.abc import Sequence

READS = ("Describe", "List", "Get")  # CloudFormation's read calls, the ones builder's budget paces
WINDOW_S = 10.0  # seconds: reads a second are read off every sliding window this long


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def calls_text(calls: Counter[str]) -> str:
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(calls.items()))


def reads(calls: Counter[str]) -> int:
    return sum(n for name, n in calls.items() if name.startswith(READS))


def busiest_window(times: Sequence[float], width: float = WINDOW_S) -> tuple[int, float]:
    """The most calls in any window [t, t + width) that starts at a call, and where it starts (sliding, not
    aligned to a grid: a burst across a grid line is still seen whole)."""
    ordered = sorted(times)
    best, at = 0, ordered[0] if ordered else 0.0
    for i, start in enumerate(ordered):
        count = bisect.bisect_left(ordered, start + width) - i
        if count > best:
            best, at = count, start
    return best, at


def windows_over(times: Sequence[float], rate: float, burst: float, width: float = WINDOW_S) \
        -> list[tuple[float, int]]:
    """Every window [t, t + width) starting at a call that holds more than rate * width + burst calls:
    (start, calls). A token bucket of `burst` tokens refilled at `rate` a second can never allow more."""
    ordered = sorted(times)
    limit = rate * width + burst
    out = []
    for i, start in enumerate(ordered):
        count = bisect.bisect_left(ordered, start + width) - i
        if count > limit:
            out.append((start, count))
    return out


def load_note(loads: tuple[str, str], cores: int) -> str:
    """The load averages recorded around a section, against the machine's cores."""
    return f"load average (1/5/15 min) {loads[0]} before the section and {loads[1]} after, on {cores} cores"


def busy_note(loads: Sequence[str], cores: int) -> str:
    """A warning when a recorded 1-minute load average exceeded half the cores; "" otherwise."""
    ones = [float(x.split(" / ")[0]) for x in loads if x != "unknown"]
    if not ones or max(ones) <= cores / 2:
        return ""
    return (f"**The machine was busy**: the 1-minute load average reached {max(ones):.2f} around a section, on "
            f"{cores} cores (more than half of them). The load average counts the benchmark's own processes too: it "
            f"says the CPU was in demand around that section, not by whom.")


def throttled_text(throttled: Sequence[tuple[float, str]], first: float) -> str:
    """How many Throttling replies, to which calls and when (seconds after `first`)."""
    if not throttled:
        return "0"
    kinds = Counter(a for _, a in throttled)
    when = ", ".join(f"{t - first:.0f}" for t, _ in throttled[:5]) + (", ..." if len(throttled) > 5 else "")
    return f"{len(throttled)} ({calls_text(kinds)}; at {when} s)"


def many_note(many: Sequence[float], one: Sequence[float], suffixes: int) -> str:
    m, o = statistics.median(many), statistics.median(one)
    return (f"{suffixes} suffixes in one call took {fmt_s(m)} against {fmt_s(o)} for one (medians): "
            f"{(m - o) / max(suffixes - 1, 1) * 1000:.2f} ms more for each further suffix")


def noop_note(calls: Counter[str]) -> str:
    change_sets = [name for name in calls if "ChangeSet" in name]
    return (f"the no-op made {sum(calls.values())} calls ({calls_text(calls)})"
            + (f", change set calls among them: {', '.join(sorted(change_sets))}" if change_sets else ""))


def settle_note(worst_n: int, delays: Sequence[float], polls: Sequence[int], watched: Sequence[float]) -> str:
    """The polling section's worst N: its delays, and the DescribeStacks calls over the time they watched."""
    gaps = [w / p for w, p in zip(watched, polls, strict=True) if p]
    return (f"at N = {worst_n} s the settle-to-exit delays ran from {fmt_s(min(delays))} to {fmt_s(max(delays))} "
            f"(median {fmt_s(statistics.median(delays))}); DescribeStacks came every "
            f"{fmt_s(statistics.median(gaps)) if gaps else '?'} on average (median over the runs) from "
            f"ExecuteChangeSet to exit")


def fleet_note(what: str, size: int, wall: Sequence[float], calls: Counter[str], extra: str = "") -> str:
    """A fleet command: its time, its calls and CloudFormation reads, and reads a second over its life."""
    w = statistics.median(wall)
    r = reads(calls)
    return (f"{what} of {size} took {fmt_s(w)} (median); one run made {sum(calls.values())} calls, {r} of them "
            f"CloudFormation reads ({r / size:.1f} a stack, {r / w:.2f} a second over the median time): "
            f"{calls_text(calls)}" + (f"; {extra}" if extra else ""))


def throttle_note(by_size: Sequence[tuple[int, str, float]], limit: float) -> str:
    """by_size: (stacks, throttled_text, busiest WINDOW_S of reads a second) of each run that got Throttling."""
    parts = [f"{n} stacks: {text}, busiest {WINDOW_S:g} s of reads {peak:.1f}/s" for n, text, peak in by_size]
    return f"the stand-in throttles reads above {limit:g} a second (a token bucket); " + "; ".join(parts)


def cpu_note(n: int, cpu: float, calls: Counter[str], split: dict | None = None, target_ms: float = 30.0) -> str:
    """The fleet's CPU and where it went. `calls`: what the stand-in saw; `split`: what the process measured
    of itself (benchmarks/hooks/sitecustomize.py, BENCH_CPU_FILE): every AWS call it made and the CPU its
    threads spent inside them, and the CPU of the virtual clock's sleeps. From those, what the calls alone
    cost a stack at the measured cost a call, and how many calls a stack `target_ms` would allow at that cost."""
    said = (f"at {n} stacks the process used {fmt_s(cpu)} of CPU ({cpu / n * 1000:.1f} ms a stack) and made "
            f"{sum(calls.values())} calls ({sum(calls.values()) / n:.1f} a stack): {calls_text(calls)}")
    if not split or not split.get("calls"):
        return said
    made, in_calls, clock = int(split["calls"]), float(split["call_cpu"]), float(split["clock_cpu"])
    per_call = in_calls / made * 1000
    ops = sorted(split.get("by_operation", {}).items(), key=lambda kv: -kv[1][1])
    costliest = ", ".join(f"{name} {count} x {total / count * 1000:.2f} ms" for name, (count, total) in ops[:4])
    rest = cpu - in_calls - clock
    return (said + f". Measured inside the process: its {made} AWS calls ({made / n:.1f} a stack, the S3, "
            f"DynamoDB and STS look-ups included) spent {fmt_s(in_calls)} of CPU in botocore (parameters, endpoint, "
            f"signing, the HTTP exchange, parsing), {per_call:.2f} ms a call, {in_calls / n * 1000:.1f} ms a stack "
            f"(costliest: {costliest}); the virtual clock's calls to the stand-in at each of "
            f"{int(split.get('sleeps', 0))} sleeps {clock / n * 1000:.1f} ms a stack (a real sleep spends none); "
            f"the rest {rest / n * 1000:.1f} ms a "
            f"stack (start-up, imports, synth, threads, builder's own work). At {per_call:.2f} ms a call, "
            f"{target_ms:g} ms a stack is {target_ms / per_call:.1f} calls a stack with nothing else; this run "
            f"made {made / n:.1f}")


def delay_note(rows: Sequence[tuple[int, float, float]], median_max: float, worst_max: float) -> str:
    """rows: (stacks, median, worst) settle-to-noticed of each size at the budget."""
    over = [f"{n} stacks: median {fmt_s(m)}, worst {fmt_s(w)}" for n, m, w in rows
            if m > median_max or w > worst_max]
    return "over the target at " + "; ".join(over) if over else ""


def lint_note(one: float, per_file: float, workers: int, files: int, target: float, measured: float) -> str:
    """What linting `files` files on `workers` processes should cost, from this run's cost of one more file to
    cfn-lint (`per_file`) and of one file to the gate (`one`), beside the `measured` ratio; the conclusion follows
    the estimate, either way."""
    more = (files - 1) * per_file / workers
    estimate = (one + more) / one
    said = (f"every file is linted on its own; one more file cost cfn-lint {fmt_s(per_file)} in this run, so "
            f"{files - 1} more on {workers} worker process(es) add about {fmt_s(more)} to the {fmt_s(one)} of one "
            f"({estimate:.1f}x, against {measured:.2f}x measured)")
    if estimate > target:
        return said + f": above {target:g}x by that estimate, which more CPUs, or fewer files to lint, would lower"
    return said + f": within {target:g}x by that estimate, so it does not explain the ratio measured"
