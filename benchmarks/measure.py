"""Timing, statistics, the machine description and the Markdown the benchmarks write."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() else os.sys.executable
HOOKS = str(Path(__file__).resolve().parent / "hooks")


class BenchError(RuntimeError):
    pass


@dataclass
class Run:
    seconds: float
    exited_at: float  # time.time() right after the process exited
    stdout: str
    stderr: str
    calls: Counter = field(default_factory=Counter)
    cpu: float = 0.0  # user + system CPU seconds of the process (and children it waited for)


def run(argv: Sequence[str], *, cwd: str | Path | None = None, env: Mapping[str, str] | None = None,
        calls_file: Path | None = None, ok_codes: Sequence[int] = (0,)) -> Run:
    """Run one process to its end; its wall time (and the API calls it made, with calls_file)."""
    full_env = dict(env if env is not None else os.environ)
    if calls_file is not None:
        calls_file.unlink(missing_ok=True)
        full_env["BENCH_CALLS_FILE"] = str(calls_file)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(list(argv), cwd=cwd, env=full_env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          check=False)
    seconds = time.perf_counter() - started
    exited_at = time.time()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in ok_codes:
        raise BenchError(f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stderr[-3000:]}\n{proc.stdout[-2000:]}")
    calls = Counter()
    if calls_file is not None and calls_file.exists():
        calls = Counter(line for line in calls_file.read_text().splitlines() if line)
    return Run(seconds, exited_at, proc.stdout, proc.stderr, calls, cpu)


def progress(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def with_hooks(env: Mapping[str, str]) -> dict[str, str]:
    """env with benchmarks/hooks first on PYTHONPATH (the call counter and the virtual clock)."""
    return {**env, "PYTHONPATH": os.pathsep.join(p for p in (HOOKS, env.get("PYTHONPATH", "")) if p)}


# ---------------------------------------------------------------------- statistics and Markdown
def summary(values: Sequence[float]) -> tuple[float, float, float]:
    return statistics.median(values), min(values), max(values)


def fmt_s(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def fmt_x(ratio: float) -> str:
    return f"{ratio:.2f}x" if ratio < 10 else f"{ratio:.1f}x"


def row_seconds(label: str, values: Sequence[float]) -> list[str]:
    med, lo, hi = summary(values)
    return [label, fmt_s(med), fmt_s(lo), fmt_s(hi), str(len(values))]


def row_ratio(label: str, numerators: Sequence[float], denominators: Sequence[float]) -> list[str]:
    """Ratios of the i-th numerator to the i-th denominator: pairs measured next to each other."""
    ratios = [n / d for n, d in zip(numerators, denominators, strict=False)]
    med, lo, hi = summary(ratios)
    return [label, fmt_x(med), fmt_x(lo), fmt_x(hi), str(len(ratios))]


def ratio_median(numerators: Sequence[float], denominators: Sequence[float]) -> float:
    return statistics.median(n / d for n, d in zip(numerators, denominators, strict=False))


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


TIME_HEADER = ("measurement", "median", "min", "max", "runs")
RATIO_HEADER = ("ratio (pair by pair)", "median", "min", "max", "pairs")


@dataclass
class Target:
    goal: str
    measured: str
    met: bool
    note: str = ""


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)  # Markdown blocks, in order
    targets: list[Target] = field(default_factory=list)
    loads: tuple[str, str] = ("unknown", "unknown")  # load averages before and after the section ran

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        self.text.append(md_table(header, rows))

    def para(self, text: str) -> None:
        self.text.append(text)


# ---------------------------------------------------------------------- the machine
def machine() -> list[tuple[str, str]]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    python = subprocess.run([PYTHON, "-c", "import platform; print(platform.python_version())"],
                            capture_output=True, text=True, check=False).stdout.strip()
    return [("CPU", cpu), ("cores (logical, usable)", str(len(os.sched_getaffinity(0)))), ("memory", memory),
            ("Python (builder's venv)", python), ("OS", f"{platform.system()} {platform.release()} "
                                                        f"({platform.freedesktop_os_release().get('PRETTY_NAME', '?')})"
             if hasattr(platform, "freedesktop_os_release") else platform.platform())]


def load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
        return f"{one:.2f} / {five:.2f} / {fifteen:.2f}"
    except OSError:
        return "unknown"
