"""Run every benchmark and write BENCHMARKS.md:  .venv/bin/python benchmarks/run.py

Each measurement is a whole process, timed from start to exit. Pairs that are compared (ours and
the tool people use today, or two sizes of one job) run next to each other in the same round, so a
ratio is taken pair by pair and a busy moment disturbs both sides alike. Nothing leaves the machine:
the deploy benchmarks talk to a LocalStack server (builder/emulator) or to benchmarks/standin.py,
both on 127.0.0.1, with dummy credentials.

    .venv/bin/python benchmarks/run.py                     # everything (BENCHMARKS.md says how long it took)
    .venv/bin/python benchmarks/run.py --runs 3 --only synth,lint   # a quick look at some
    .venv/bin/python benchmarks/run.py --only 9 --long-runs 1 --output /tmp/peer.md   # one section alone

The sections, their numbers and --only keys are benchmarks/sections.py. Every note beside a missed
target is computed from the run's data (benchmarks/notes.py).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import notes as Note
from measure import (
    PYTHON,
    RATIO_HEADER,
    REPO,
    TIME_HEADER,
    BenchError,
    Section,
    Target,
    fmt_s,
    fmt_x,
    load,
    machine,
    md_table,
    progress,
    ratio_median,
    row_ratio,
    row_seconds,
    run,
    summary,
    with_hooks,
)
from sections import BY_KEY, SECTIONS, chosen, heading

from builder.stack.poller import burst as poller_burst

BUILDER = [PYTHON, "-m", "builder"]
CFN_LINT = str(Path(PYTHON).parent / "cfn-lint")
RULES = str(REPO / "builder" / "rules")


def aws_cli() -> str:
    """The AWS CLI the tests use (tests/factories.py: aws_cli): `aws` on PATH, else the one next to LocalStack.
    A pyenv shim is resolved to the real script, so the shim's own start-up is not counted."""
    found = shutil.which("aws")
    if found and "/shims/" in found:
        real = subprocess.run(["pyenv", "which", "aws"], capture_output=True, text=True, check=False).stdout.strip()
        found = real or found
    if not found:
        from builder.emulator import emulator_python

        found = str(emulator_python().parent / "aws")
    return found


def aws_env(endpoint: str) -> dict[str, str]:
    """Dummy credentials and one loopback endpoint for boto3 and the AWS CLI (as tests/conftest.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="test", AWS_SECRET_ACCESS_KEY="test", AWS_DEFAULT_REGION="us-east-1",
               AWS_ENDPOINT_URL=endpoint, AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true", AWS_PAGER="", NO_PROXY="127.0.0.1,localhost",
               no_proxy="127.0.0.1,localhost")
    env.pop("ENVIRONMENT_SUFFIX", None)
    return env


def synth_files(work: Path, suffixes: list[str], out: str, *sets: str) -> None:
    args = [a for s in suffixes for a in ("--suffix", s)] + [a for s in sets for a in ("--set", s)]
    run([*BUILDER, "synth", *args, "--out", out], cwd=work)


def cli_deploy_argv(cli: str, out: Path, stack: str, files: str | None = None) -> list[str]:
    """The command synth prints for `stack`, with the files synth wrote for `files` (default: the stack) in `out`."""
    files = files or stack
    return [cli, "cloudformation", "deploy", "--stack-name", stack, "--region", "us-east-1",
            "--template-file", str(out / f"{files}.template.json"),
            "--parameter-overrides", f"file://{out / f'{files}.parameters.json'}",
            "--tags", f"file://{out / f'{files}.tags.json'}", "--capabilities", "CAPABILITY_IAM",
            "--no-fail-on-empty-changeset"]


def calls_text(calls: Counter) -> str:
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(calls.items()))


# ---------------------------------------------------------------------- targets
# What each section's target holds a measurement to; the goal's text is rendered from these, never typed beside them
SYNTH_WITHIN = 8.0  # synth of one suffix / `python -c pass`
SUFFIXES_WITHIN = 3.0  # 200 suffixes in one call / one suffix
LINT_WITHIN = 1.5  # builder lint over the 50 / builder lint over one
NOOP_CALLS = 2  # API calls of a deploy that changes nothing
FLEET_WITHIN = 4.0  # a fleet / one stack, deploy and destroy
SETTLE_TO_EXIT_S = 2.0  # settle to exit, median at every N
EVENTS_PER_S = 1.0  # DescribeStackEvents calls a second, at most
NOTICED_MEDIAN_S, NOTICED_WORST_S = 5.0, 15.0  # a fleet's settle to noticed at every size: median, worst
CPU_A_STACK_S, CPU_AT_STACKS = 0.030, 100  # a fleet deploy's CPU time a stack, at most, at this many stacks
FLEET_SETTLE_S = (60.0, 300.0)  # section 7's stacks settle this long after they start, spread evenly


# ---------------------------------------------------------------------- 1 and 2: synth
def bench_synth(work: Path, runs: int, long_runs: int, many_suffixes: int = 200) -> list[Section]:
    one, empty, many, loop = [], [], [], []
    suffixes = [f"s{i:03d}" for i in range(many_suffixes)]
    for i in range(runs):
        progress(f"synth round {i + 1}/{runs}")
        one.append(run([*BUILDER, "synth", "--suffix", "x", "--out", "o1"], cwd=work).seconds)
        empty.append(run([PYTHON, "-c", "pass"], cwd=work).seconds)
        # a fresh folder each round: the worst case (synth leaves files that already hold the same bytes alone)
        many.append(run([*BUILDER, "synth", *[a for s in suffixes for a in ("--suffix", s)], "--out", f"o200-{i}"],
                        cwd=work).seconds)
        if i < long_runs:
            started = time.perf_counter()
            for s in suffixes:
                run([*BUILDER, "synth", "--suffix", s, "--out", "oloop"], cwd=work)
            loop.append(time.perf_counter() - started)
    start = Section(heading("synth"))
    start.para("`python -m builder synth --suffix x` as a whole process (writes 3 files) against "
               "`python -c pass`, the same interpreter, alternating.")
    start.table(TIME_HEADER, [row_seconds("`python -c pass`", empty), row_seconds("`builder synth --suffix x`", one)])
    start.table(RATIO_HEADER, [row_ratio("synth one suffix / `python -c pass`", one, empty)])
    r1 = ratio_median(one, empty)
    start.targets.append(Target(f"synth of one suffix within {SYNTH_WITHIN:g}x of `python -c pass`", fmt_x(r1),
                                r1 <= SYNTH_WITHIN))

    batch = Section(heading("suffixes"))
    n = len(suffixes)
    batch.para(f"One `synth` invocation with {n} `--suffix` options ({3 * n} files) against one suffix, "
               f"in the same rounds; and against {n} invocations of one suffix in a row ({long_runs} rounds: each "
               f"is {n} processes).")
    rows = [row_seconds("synth, 1 suffix", one), row_seconds(f"synth, {n} suffixes in one call", many)]
    if loop:
        rows.append(row_seconds(f"synth, {n} calls of 1 suffix", loop))
    batch.table(TIME_HEADER, rows)
    ratios = [row_ratio(f"{n} in one call / 1 suffix", many, one)]
    if loop:
        ratios.append(row_ratio(f"{n} calls of 1 / {n} in one call", loop, many[:len(loop)]))
    batch.table(RATIO_HEADER, ratios)
    r2 = ratio_median(many, one)
    batch.targets.append(Target(f"{len(suffixes)} suffixes in one call within {SUFFIXES_WITHIN:g}x of one suffix",
                                fmt_x(r2), r2 <= SUFFIXES_WITHIN,
                                Note.many_note(many, one, len(suffixes))))
    return [start, batch]


# ---------------------------------------------------------------------- 3: lint
def bench_lint(work: Path, runs: int, long_runs: int, count: int = 50) -> list[Section]:
    """`builder lint` against `cfn-lint` as a user runs it: one process over the same files, the same checks
    (`--include-checks I --append-rules builder/rules`), the project's .cfnlintrc in the working folder."""
    shutil.copy(REPO / ".cfnlintrc", work / ".cfnlintrc")
    synth_files(work, [f"l{i:02d}" for i in range(count)], "lint50")
    files = sorted(str(p.relative_to(work)) for p in (work / "lint50").glob("*.template.json"))
    assert len(files) == count, files
    raw_argv = [CFN_LINT, "--include-checks", "I", "--append-rules", RULES, "--"]
    gate50: list[float] = []
    gate1: list[float] = []
    raw50: list[float] = []
    raw1: list[float] = []
    for i in range(runs):
        progress(f"lint round {i + 1}/{runs}")
        gate1.append(run([*BUILDER, "lint", files[0]], cwd=work).seconds)
        raw1.append(run([*raw_argv, files[0]], cwd=work).seconds)
        if i < long_runs:  # each side over the 50 files, which goes first alternating by round
            sides = [(gate50, [*BUILDER, "lint", "lint50"]), (raw50, [*raw_argv, *files])]
            for times, argv in sides if i % 2 == 0 else sides[::-1]:
                times.append(run(argv, cwd=work).seconds)  # exit 0 on both sides: no finding in synth's files
    workers = min(count, len(os.sched_getaffinity(0)))
    section = Section("3. Lint gate")
    section.para(f"`python -m builder lint lint50` (the templates of {count} synthesized suffixes) against "
                 f"`cfn-lint` as a user runs it on the same {count} files: one process over all of them (`cfn-lint "
                 "--include-checks I --append-rules builder/rules -- lint50/*.template.json`: the checks the gate "
                 "runs, from the same venv and working folder, the project's .cfnlintrc there), and each on one "
                 "template. Both exited 0 (no finding); tests/test_lint.py holds their findings equal file by file. "
                 "`builder lint` lints every file on its own: cfn-lint and its rules load once, then "
                 f"{workers} forked worker process(es) (one per CPU this run could use) lint a share of the files "
                 f"each. The {count}-file runs took place in the first {long_runs} round(s), which of the two went "
                 "first alternating by round.")
    section.table(TIME_HEADER, [row_seconds("`builder lint`, 1 template", gate1),
                                row_seconds("`cfn-lint`, 1 template", raw1),
                                row_seconds(f"`builder lint`, {count} templates", gate50),
                                row_seconds(f"`cfn-lint`, {count} templates in one process", raw50)])
    section.table(RATIO_HEADER, [row_ratio(f"`builder lint` {count} / `cfn-lint` {count}", gate50, raw50),
                                 row_ratio(f"`builder lint` {count} / `builder lint` 1", gate50, gate1[:len(gate50)]),
                                 row_ratio(f"`cfn-lint` {count} / `cfn-lint` 1", raw50, raw1[:len(raw50)]),
                                 row_ratio("`builder lint` 1 / `cfn-lint` 1", gate1, raw1)])
    r_raw, r_self = ratio_median(gate50, raw50), ratio_median(gate50, gate1[:len(gate50)])
    one = summary(gate1)[0]
    per_file = (summary(raw50)[0] - summary(raw1)[0]) / (len(files) - 1)  # what one more file costs cfn-lint
    n = len(files)
    section.targets.append(Target(
        f"lint gate over {n} at or below `cfn-lint` over the same {n} in one process", fmt_x(r_raw), r_raw <= 1))
    section.targets.append(Target(f"lint gate over {n} within {LINT_WITHIN:g}x of linting one", fmt_x(r_self),
                                  r_self <= LINT_WITHIN,
                                  Note.lint_note(one, per_file, workers, n, LINT_WITHIN, r_self)))
    return [section]


# ---------------------------------------------------------------------- 4 and 6: LocalStack
def stack_span(endpoint: str, stack: str) -> tuple[float, float]:
    """(first, last) stack-level event of the stack's latest operation in LocalStack, as epoch seconds:
    when it started and when it reached its final status."""
    import boto3

    cf = boto3.session.Session(region_name="us-east-1").client(
        "cloudformation", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
    events = [e for e in cf.describe_stack_events(StackName=stack)["StackEvents"]
              if e["ResourceType"] == "AWS::CloudFormation::Stack"]
    events.sort(key=lambda e: e["Timestamp"])
    final = max(i for i, e in enumerate(events) if e["ResourceStatus"] in FINAL)
    start = max(i for i, e in enumerate(events[:final + 1]) if e["ResourceStatus"].endswith("_IN_PROGRESS")
                and not e["ResourceStatus"].endswith("CLEANUP_IN_PROGRESS"))
    return events[start]["Timestamp"].timestamp(), events[final]["Timestamp"].timestamp()


FINAL = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE")


def bench_deploy(work: Path, runs: int, long_runs: int, endpoint: str) -> list[Section]:
    env = with_hooks(aws_env(endpoint))
    cli = aws_cli()
    calls_file = work / "calls.txt"
    kinds = ("create", "no-op", "update")
    times = {(who, k): [] for who in ("ours", "cli") for k in kinds}
    settle = {(who, k): [] for who in ("ours", "cli") for k in ("create", "update")}
    calls: dict[tuple[str, str], Counter] = {}
    server: dict[str, list[float]] = {"create": [], "update": []}
    for i in range(runs):
        progress(f"deploy round {i + 1}/{runs}" + (" (with the AWS CLI)" if i < long_runs else ""))
        ours, theirs = f"bo{i}x{os.getpid()}", f"ba{i}x{os.getpid()}"
        synth_files(work, [theirs], f"cli{i}")
        synth_files(work, [theirs], f"cli{i}u", "bucket_lifecycle_days=60")
        steps = [("create", []), ("no-op", []), ("update", ["--set", "bucket_lifecycle_days=60"])]
        for kind, sets in steps:
            r = run([*BUILDER, "deploy", "--suffix", ours, "--out", "deployed", *sets], cwd=work, env=env,
                    calls_file=calls_file)
            times["ours", kind].append(r.seconds)
            calls.setdefault(("ours", kind), r.calls)
            if kind != "no-op":
                first, last = stack_span(endpoint, f"app-{ours}")
                settle["ours", kind].append(r.exited_at - last)
                server[kind].append(last - first)
            if i >= long_runs:
                continue
            out = work / (f"cli{i}u" if kind == "update" else f"cli{i}")
            r = run(cli_deploy_argv(cli, out, f"app-{theirs}"), cwd=work, env=env, calls_file=calls_file)
            times["cli", kind].append(r.seconds)
            calls.setdefault(("cli", kind), r.calls)
            if kind != "no-op":
                settle["cli", kind].append(r.exited_at - stack_span(endpoint, f"app-{theirs}")[1])
    section = Section(heading("deploy"))
    section.para(f"One stack: create, no-op (same files again) and update (`bucket_lifecycle_days=60`), "
                 f"`python -m builder deploy` against `aws cloudformation deploy` with synth's files "
                 f"(`{Path(cli).name}` {_cli_version(cli)}), on one LocalStack server on 127.0.0.1. Ours ran "
                 f"{runs} rounds; the AWS CLI {long_runs}. "
                 "API calls are counted by a botocore `before-call` hook loaded into both processes "
                 "(benchmarks/hooks/sitecustomize.py). Settle to exit: from the timestamp of the stack's final "
                 "event (LocalStack's clock, same machine) to the process exit.")
    rows = []
    for kind in kinds:
        rows.append(row_seconds(f"{kind}: `builder deploy`", times["ours", kind]))
        if times["cli", kind]:
            rows.append(row_seconds(f"{kind}: `aws cloudformation deploy`", times["cli", kind]))
    section.table(TIME_HEADER, rows)
    section.table(RATIO_HEADER, [row_ratio(f"{kind}: AWS CLI / ours", times["cli", kind], times["ours", kind])
                                 for kind in kinds if times["cli", kind]])
    srows = []
    for kind in ("create", "update"):
        srows.append(row_seconds(f"{kind}: LocalStack's own time, first to final stack event (ours)", server[kind]))
        for who, label in (("ours", "`builder deploy`"), ("cli", "`aws cloudformation deploy`")):
            if settle[who, kind]:
                srows.append(row_seconds(f"{kind}: {label}, final status to exit", settle[who, kind]))
    section.table(TIME_HEADER, srows)
    section.table(("API calls (first round)", "`builder deploy`", "`aws cloudformation deploy`"),
                  [(kind, (f"{sum(calls.get(('ours', kind), Counter()).values())}: "
                          f"{calls_text(calls.get(('ours', kind), Counter()))}"),
                    (f"{sum(calls.get(('cli', kind), Counter()).values())}: "
                    f"{calls_text(calls.get(('cli', kind), Counter()))}")) for kind in kinds])
    noop = sum(calls["ours", "no-op"].values())
    section.targets.append(Target(f"no-op deploy with at most {NOOP_CALLS} API calls and no change set",
                                  f"{noop} calls",
                                  noop <= NOOP_CALLS and not any("ChangeSet" in op for op in calls["ours", "no-op"]),
                                  Note.noop_note(calls["ours", "no-op"])))
    return [section]


def _cli_version(cli: str) -> str:
    out = subprocess.run([cli, "--version"], capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).split()[0] if (out.stdout or out.stderr) else "?"


def bench_fleet(work: Path, runs: int, endpoint: str, size: int = 20, concurrency: int = 8) -> list[Section]:
    env = with_hooks(aws_env(endpoint))
    calls_file = work / "calls.txt"
    up = {"fleet": [], "one": []}
    down = {"fleet": [], "one": []}
    span = {"fleet": [], "one": []}  # LocalStack: first stack starts to last stack settles
    after = {"fleet": [], "one": []}  # last stack settles to our exit
    cpu = {"fleet": [], "one": []}  # CPU seconds of our deploy process
    fleet_calls, destroy_calls = Counter(), Counter()
    for i in range(runs):
        progress(f"fleet round {i + 1}/{runs}")
        names = {"fleet": [f"f{i}n{j}x{os.getpid()}" for j in range(size)], "one": [f"f{i}solo{os.getpid()}"]}
        conc = ["--concurrency", str(concurrency)]
        for which in ("fleet", "one"):
            suffixes = [a for name in names[which] for a in ("--suffix", name)]
            r = run([*BUILDER, "deploy", *suffixes, *conc, "--out", "fleet"], cwd=work, env=env, calls_file=calls_file)
            up[which].append(r.seconds)
            cpu[which].append(r.cpu)
            if which == "fleet" and i == 0:
                fleet_calls = r.calls
            spans = [stack_span(endpoint, f"app-{name}") for name in names[which]]
            span[which].append(max(last for _, last in spans) - min(first for first, _ in spans))
            after[which].append(r.exited_at - max(last for _, last in spans))
        for which in ("fleet", "one"):
            suffixes = [a for name in names[which] for a in ("--suffix", name)]
            r = run([*BUILDER, "destroy", *suffixes, *conc, "--yes"], cwd=work, env=env, calls_file=calls_file)
            down[which].append(r.seconds)
            if which == "fleet" and i == 0:
                destroy_calls = r.calls
    section = Section(heading("fleet"))
    section.para(f"`python -m builder deploy` with {size} `--suffix` options and `--concurrency {concurrency}`, "
                 "then one suffix alone; then `destroy --yes` of each, the same way. LocalStack on 127.0.0.1 "
                 f"shares the machine's {len(os.sched_getaffinity(0))} cores with us.")
    section.table(TIME_HEADER, [
        row_seconds("deploy 1 suffix", up["one"]), row_seconds(f"deploy {size} suffixes", up["fleet"]),
        row_seconds("destroy 1 suffix", down["one"]), row_seconds(f"destroy {size} suffixes", down["fleet"]),
        row_seconds("deploy 1: LocalStack's time, stack start to settle", span["one"]),
        row_seconds(f"deploy {size}: LocalStack's time, first start to last settle", span["fleet"]),
        row_seconds("deploy 1: last settle to our exit", after["one"]),
        row_seconds(f"deploy {size}: last settle to our exit", after["fleet"]),
        row_seconds("deploy 1: CPU time of our process", cpu["one"]),
        row_seconds(f"deploy {size}: CPU time of our process", cpu["fleet"])])
    section.table(RATIO_HEADER, [row_ratio(f"deploy {size} / deploy 1", up["fleet"], up["one"]),
                                 row_ratio(f"destroy {size} / destroy 1", down["fleet"], down["one"]),
                                 row_ratio(f"LocalStack's time, {size} / 1", span["fleet"], span["one"])])
    for what, counted in (("deploy", fleet_calls), ("destroy", destroy_calls)):
        total = sum(counted.values())
        section.para(f"API calls of one {size}-suffix {what}: {total} ({total / size:.1f} a stack): "
                     f"{calls_text(counted)}.")
    r_up, r_down = ratio_median(up["fleet"], up["one"]), ratio_median(down["fleet"], down["one"])
    section.targets.append(Target(f"{size} suffixes at concurrency {concurrency} within {FLEET_WITHIN:g}x of one "
                                  "(deploy)", fmt_x(r_up), r_up <= FLEET_WITHIN, Note.fleet_note(
                                      "deploy", size, up["fleet"], fleet_calls,
                                      f"LocalStack's first start to last settle {fmt_s(summary(span['fleet'])[0])}, "
                                      f"last settle to our exit {fmt_s(summary(after['fleet'])[0])} (medians)")))
    section.targets.append(Target(f"{size} suffixes at concurrency {concurrency} within {FLEET_WITHIN:g}x of one "
                                  "(destroy)", fmt_x(r_down), r_down <= FLEET_WITHIN,
                                  Note.fleet_note("destroy", size, down["fleet"], destroy_calls)))
    return [section]


# ---------------------------------------------------------------------- 5: polling
# the AWS CLI's waiters (awscli/customizations/cloudformation/deployer.py: WaiterConfig Delay): section 5 quotes them
# with what the run measured, and spreads its settle times over the stack waiter's interval
CLI_CHANGE_SET_DELAY, CLI_STACK_DELAY = 5, 30
def bench_polling(work: Path, runs: int, settles: tuple[int, ...] = (10, 60, 300)) -> list[Section]:
    from standin import StandIn

    cli = aws_cli()
    synth_files(work, ["poll"], "poll")
    out = work / "poll"
    rows, count_rows = [], []
    results: dict[tuple[str, int], dict[str, list[float]]] = {}
    with StandIn() as standin:
        env = with_hooks({**aws_env(standin.url), "BENCH_CLOCK_URL": f"{standin.url}/__advance"})
        for n in settles:
            for i in range(runs):
                # settle at N, N + 3 s, ... N + 27 s: every phase of the AWS CLI's 30-second poll is sampled
                settle_at = n + i * CLI_STACK_DELAY / runs
                progress(f"polling N={n} run {i + 1}/{runs} (settles after {settle_at:.0f} virtual s)")
                for who in ("ours", "cli"):
                    stack = f"app-p{n}r{i}{who}"
                    standin.reset(settle_at)
                    argv = ([*BUILDER, "deploy", "--suffix", stack[4:], "--out", "standin"] if who == "ours"
                            else cli_deploy_argv(cli, out, stack, files="app-poll"))
                    real = run(argv, cwd=work, env=env).seconds
                    exit_at = standin.now()
                    fake = standin.stack(stack)
                    if fake is None or fake.executed_at is None:
                        raise BenchError(f"{who}: the stand-in never saw {stack} executed")
                    settled = fake.executed_at + fake.settle_seconds
                    watched = [(t, a) for t, a in standin.calls if t >= fake.executed_at]
                    r = results.setdefault((who, n), {"delay": [], "stacks": [], "events": [], "rate": [], "total": [],
                                                      "watched": [], "real": [], "gaps": []})
                    r["real"].append(real)
                    polls = [t for t, a in watched if a == "DescribeStacks"]
                    r["gaps"] += [b - a for a, b in itertools.pairwise(polls)]
                    r["watched"].append(exit_at - fake.executed_at)
                    r["delay"].append(exit_at - settled)
                    r["stacks"].append(sum(1 for _, a in watched if a == "DescribeStacks"))
                    r["events"].append(sum(1 for _, a in watched if a == "DescribeStackEvents"))
                    r["rate"].append(r["events"][-1] / max(exit_at - fake.executed_at, 1e-9))
                    r["total"].append(len(standin.calls))
    longest = max(settles)
    cli_gaps = [g for n in settles for g in results["cli", n]["gaps"]]
    section = Section(heading("polling"))
    section.para(
        "A stack that settles a known time after ExecuteChangeSet, served by benchmarks/standin.py (CloudFormation's "
        "query protocol on 127.0.0.1; resources report progress spread over the wait). Both tools run for real "
        "(`python -m builder deploy`, and `aws cloudformation deploy`, whose waiters poll DescribeChangeSet every "
        f"{CLI_CHANGE_SET_DELAY} s and DescribeStacks every {CLI_STACK_DELAY} s: the `WaiterConfig` Delays of awscli's "
        "customizations/cloudformation/deployer.py; in this run the AWS CLI's DescribeStacks calls came "
        f"{fmt_s(statistics.median(cli_gaps)) if cli_gaps else '?'} apart, median), but time is virtual: "
        "benchmarks/hooks/sitecustomize.py makes each "
        "`time.sleep` move the stand-in's clock (and the process's `time.monotonic`) to its wake-up instead of "
        "waiting, sleeps that overlap in real time to the latest wake-up among them (not their sum): a "
        f"{longest} s settle took {fmt_s(statistics.median(results['ours', longest]['real']))} of real time "
        "(`builder deploy`, median). Everything else (process start, HTTP calls) takes its real "
        f"time. For each N, the {runs} runs settle at N, N + {CLI_STACK_DELAY / runs:g} s, ..., "
        f"N + {CLI_STACK_DELAY - CLI_STACK_DELAY / runs:g} s, so every phase of the {CLI_STACK_DELAY} s waiter is "
        "sampled: a stack that settles just after a poll waits the whole interval. Counts are calls from "
        "ExecuteChangeSet to exit; the rate is DescribeStackEvents calls over "
        "that span.")
    for n in settles:
        for who, label in (("ours", "`builder deploy`"), ("cli", "`aws cloudformation deploy`")):
            r = results[who, n]
            rows.append(row_seconds(f"N = {n} s: {label}", r["delay"]))
            med = lambda key, r=r: sorted(r[key])[len(r[key]) // 2]
            count_rows.append((f"N = {n} s", label,
                               f"{summary(r['stacks'])[0]:g} ({min(r['stacks'])}-{max(r['stacks'])})",
                               f"{summary(r['events'])[0]:g} ({min(r['events'])}-{max(r['events'])})",
                               f"{max(r['rate']):.2f}", f"{med('total')}"))
    section.table(("settle to exit", "median", "min", "max", "runs"), rows)
    section.table(("N", "tool", "DescribeStacks median (range)", "DescribeStackEvents median (range)",
                   "DescribeStackEvents per s, max", "all calls, median"), count_rows)
    worst_n = max(settles, key=lambda n: summary(results["ours", n]["delay"])[0])
    worst = summary(results["ours", worst_n]["delay"])[0]
    w = results["ours", worst_n]
    worst_max = max(max(results["ours", n]["delay"]) for n in settles)
    rate = max(max(results["ours", n]["rate"]) for n in settles)
    section.targets.append(Target(f"settle-to-exit at most {SETTLE_TO_EXIT_S:g} s at every N (median)",
                                  f"worst median {fmt_s(worst)} (worst run {fmt_s(worst_max)})",
                                  worst <= SETTLE_TO_EXIT_S,
                                  Note.settle_note(worst_n, w["delay"], w["stacks"], w["watched"])))
    busiest_n = max(settles, key=lambda n: max(results["ours", n]["rate"]))
    b = results["ours", busiest_n]
    at = b["rate"].index(max(b["rate"]))
    section.targets.append(Target(f"at most {EVENTS_PER_S:g} DescribeStackEvents call(s) per second",
                                  f"max {rate:.2f}/s", rate <= EVENTS_PER_S,
                                  f"the busiest run, at N = {busiest_n} s, made {b['events'][at]} DescribeStackEvents "
                                  f"calls in the {fmt_s(b['watched'][at])} from ExecuteChangeSet to exit"))
    return [section]


# ---------------------------------------------------------------------- 7: one shared poller for a fleet
ACCOUNT_READ_RATE = 3.0  # the stand-in's per-account read throttle (AWS does not publish its own)
READS = ("Describe", "List", "Get")  # the calls the budget draws (and the stand-in throttles)


def fleet_settles(n: int) -> list[float]:
    """Settle times spread evenly over FLEET_SETTLE_S."""
    low, high = FLEET_SETTLE_S
    return [low + (high - low) * (i + 0.5) / n for i in range(n)]


def fleet_argv(via: str, names: list[str], api_rate: float | None) -> list[str]:
    """The process that waits for the fleet: `builder deploy` itself (change sets, then the wait through
    the shared poller), or the poller driven directly (benchmarks/fleet_driver.py)."""
    rate = [] if api_rate is None else ["--api-rate", f"{api_rate:g}"]  # None: the tool's default
    if via == "poller":
        return [PYTHON, str(Path(__file__).resolve().parent / "fleet_driver.py"), *rate, *names]
    return [*BUILDER, "deploy", *[a for name in names for a in ("--suffix", name.removeprefix("app-"))],
            "--concurrency", str(len(names)), *rate, "--out", "fleet-out"]


def bench_poller_fleet(work: Path, runs: int, sizes: tuple[int, ...] = (1, 10, 100, 500), api_rate: float = 2.0,
                       via: str = "deploy", default_size: int | None = 100) -> list[Section]:
    """N stacks at `api_rate` for each N of `sizes`, then `default_size` stacks at builder's default rate."""
    from standin import StandIn

    rows = []
    per_stack: list[tuple[int, float, float]] = []  # (stacks, median, worst) settle-to-noticed at the budget
    complete: list[tuple[int, float, float]] = []  # (stacks, median, worst) settle to events complete
    over: list[str] = []  # windows of Note.WINDOW_S above the budget
    throttled_runs: list[tuple[int, int, str, float]] = []  # (stacks, replies, what and when, peak reads a second)
    cpu_at: tuple[float, Counter, dict | None] | None = None  # (CPU seconds, calls, CPU split) at CPU_AT_STACKS
    window = Note.WINDOW_S
    burst = poller_burst(api_rate)  # the calls the budget lets out at once
    default_row: tuple[int, int, float] | None = None  # (throttles, windows over the stand-in's limit, peak)
    with StandIn() as standin:
        env = with_hooks({**aws_env(standin.url), "BENCH_CLOCK_URL": f"{standin.url}/__advance"})
        cases: list[tuple[int, float | None]] = [(n, api_rate) for n in sizes] + \
            ([(default_size, None)] if default_size else [])
        for n, rate in cases:
            for i in range(runs):
                shown = "the default" if rate is None else f"{rate:g} calls/s"
                progress(f"poller fleet of {n} at {shown}, run {i + 1}/{runs} ({via})")
                names = [f"app-q{n}r{i}a{rate or 0:g}n{j}" for j in range(n)]
                standin.reset(60.0, read_rate=ACCOUNT_READ_RATE)
                settles = dict(zip(names, fleet_settles(n), strict=False))
                if via == "poller":
                    for name, settle in settles.items():
                        standin.start(name, settle)
                else:
                    standin.settle_by_name.update(settles)
                cpu_file = work / "fleet-cpu.json"  # where the process's CPU went (hooks/sitecustomize.py)
                cpu_file.unlink(missing_ok=True)
                r = run(fleet_argv(via, names, rate), cwd=work, env={**env, "BENCH_CPU_FILE": str(cpu_file)})
                split = json.loads(cpu_file.read_text()) if cpu_file.exists() else None
                stacks = [standin.stack(name) for name in names]
                if via == "poller":
                    answers = json.loads(r.stdout)
                    bad = {k: v for k, v in answers.items() if v["status"] != "CREATE_COMPLETE" or v["events"] != 18}
                    if bad:
                        raise BenchError(f"fleet of {n}: stacks not settled or events missing: {list(bad.items())[:3]}")
                unseen = [s.name for s in stacks if s.name not in standin.seen_settled]
                if unseen:
                    raise BenchError(f"fleet of {n}: no reply ever showed these settled: {unseen[:3]}")
                first = min(s.executed_at for s in stacks)
                delays = sorted(standin.seen_settled[s.name] - (s.executed_at + s.settle_seconds) for s in stacks)
                finished = sorted(standin.last_read[s.name] - (s.executed_at + s.settle_seconds) for s in stacks)
                end = max(standin.last_read[s.name] for s in stacks)
                span = end - first
                calls = [(t, a) for t, a in standin.calls if first <= t <= end]
                reads = [t for t, a in calls if a.startswith(READS) and a != "GetCallerIdentity"]  # STS, not ours
                # the windows cover the whole run, change sets included (before the first stack starts)
                every_read = [t for t, a in standin.calls if a.startswith(READS) and a != "GetCallerIdentity"]
                peak, _ = Note.busiest_window(every_read)
                kinds = Counter(a for _, a in calls)
                median = delays[len(delays) // 2]
                throttles = Note.throttled_text(standin.throttled, first)
                rows.append((str(n), shown, f"{len(reads) / span:.2f}", f"{peak / window:.1f}",
                             f"{len(calls) / span:.2f}", throttles, fmt_s(median),
                             fmt_s(delays[-1]), fmt_s(finished[len(finished) // 2]), fmt_s(finished[-1]),
                             fmt_s(span), fmt_s(r.cpu), f"{r.cpu / n * 1000:.1f} ms", calls_text(kinds)))
                if rate is None:
                    late = [t for t in reads if t >= first + span / 2]
                    default_row = (len(standin.throttled), len(Note.windows_over(late, ACCOUNT_READ_RATE, 0)),
                                   Note.busiest_window(late)[0] / window)
                    continue
                per_stack.append((n, median, delays[-1]))
                complete.append((n, finished[len(finished) // 2], finished[-1]))
                over += [f"{n} stacks: {count} reads from {at - first:.0f} s" for at, count in
                         Note.windows_over(every_read, rate, burst)]
                if standin.throttled:
                    at = standin.throttled[0][0]  # what arrived in the second before the first Throttling reply
                    before = Counter(a for t, a in standin.calls if at - 1 <= t < at and a.startswith(READS)
                                     and a != "GetCallerIdentity")
                    said = (f"{throttles}; in the second before the first: {sum(before.values())} reads "
                            f"({calls_text(before) or 'none'})")
                    throttled_runs.append((n, len(standin.throttled), said, peak / window))
                if n == CPU_AT_STACKS:
                    cpu_at = (r.cpu, kinds, split)
    section = Section(heading("pollfleet"))
    how = ("benchmarks/fleet_driver.py, the poller driven directly (the stacks started by the stand-in)"
           if via == "poller" else
           f"`builder deploy` of N suffixes at `--concurrency N`: each stack's change set, its execution and "
           f"the wait through the shared poller; {runs} round(s)")
    section.para(
        f"N stacks in flight at once on the stand-in CloudFormation (virtual clock, as in section "
        f"{BY_KEY['polling'].number}), each "
        f"settling {FLEET_SETTLE_S[0]:g} to {FLEET_SETTLE_S[1]:g} s (evenly spread) after it starts; one process "
        f"with one thread per stack ({how}), "
        f"every CloudFormation call drawn from one budget (reads and writes alike: `--api-rate` caps them all): "
        f"`--api-rate {api_rate:g}`, and in the last row builder's default "
        f"(no `--api-rate`). The stand-in throttles the account's read calls above {ACCOUNT_READ_RATE:g} calls/s "
        f"(a token bucket; AWS does not publish its own). Reads/s: Describe*, List* and Get* calls of "
        f"CloudFormation from the first stack's start to the last stack's events complete, over that span; all "
        f"calls/s: every call of that span, "
        f"CloudFormation's writes (CreateChangeSet, ExecuteChangeSet, SetStackPolicy) and STS GetCallerIdentity "
        f"too; peak: the busiest "
        f"{window:g} s of reads of the whole run (change sets included), a window starting at every read (sliding). "
        f"**Noticed**: the stand-in's time of the first reply that showed builder the stack settled (a "
        f"DescribeStacks or DescribeStackEvents showing its final status, or the last page of a ListStacks "
        f"filtered to in-progress statuses that did not list it on any page), minus its settle time: when builder "
        f"knew. **Events complete**: the stand-in's time of the last read about the stack (its final events read "
        f"in full, or its final DescribeStacks), minus its settle time: when its wait could return, its log "
        f"complete (the writes deploy makes after the wait, the new stack's SetStackPolicy, come later and are "
        f"not counted). Span: first start to the last events complete (virtual). CPU: the whole process (start-up, "
        f"imports, synth for deploy, one botocore session, and the virtual clock's own call to the stand-in at "
        f"each sleep, on a kept-alive connection: benchmarks/hooks/sitecustomize.py) over N.")
    section.table(("stacks", "budget", "reads/s", f"peak {window:g} s reads/s", "all calls/s", "Throttling replies",
                   "settle to noticed, median", "worst", "settle to events complete, median", "worst", "span",
                   "CPU", "CPU a stack", "calls"), rows)
    if per_stack:  # the sizes at the budget ran: their targets (none met or missed on no data)
        limit = f"{api_rate:g}/s"
        section.targets.append(Target(
            f"reads in every {window:g} s window at or under `--api-rate {api_rate:g}` x {window:g} s plus the "
            f"budget's burst ({burst:g})", f"{len(over)} windows over" if over else "none over", not over,
            "; ".join(over[:5])))
        section.targets.append(Target(
            f"no Throttling reply at `--api-rate {api_rate:g}` at any size",
            str(sum(c for _, c, _, _ in throttled_runs)), not throttled_runs,
            Note.throttle_note([(n, said, peak) for n, _, said, peak in throttled_runs], ACCOUNT_READ_RATE)))
        worst_median = max(m for _, m, _ in per_stack)
        worst_worst = max(w for _, _, w in per_stack)
        section.targets.append(Target(
            f"settle to noticed at most {NOTICED_MEDIAN_S:g} s median and {NOTICED_WORST_S:g} s worst at every size "
            f"at {limit}", f"median up to {fmt_s(worst_median)}, worst {fmt_s(worst_worst)}",
            worst_median <= NOTICED_MEDIAN_S and worst_worst <= NOTICED_WORST_S,
            Note.delay_note(per_stack, NOTICED_MEDIAN_S, NOTICED_WORST_S)))
    slowest = max(complete, key=lambda row: row[2], default=None)
    if slowest is not None:
        section.para(f"Events complete (no target: settle detection goes first, then each settled stack's record "
                     f"and events in the order they were noticed, with what the sweeps leave of the budget): up "
                     f"to {fmt_s(max(m for _, m, _ in complete))} median; the worst, {fmt_s(slowest[2])}, at "
                     f"{slowest[0]} stacks.")
    if cpu_at is not None:
        cpu, kinds, split = cpu_at
        section.targets.append(Target(
            f"CPU time a stack at most {CPU_A_STACK_S * 1000:g} ms at {CPU_AT_STACKS} stacks",
            f"{cpu / CPU_AT_STACKS * 1000:.1f} ms", cpu / CPU_AT_STACKS <= CPU_A_STACK_S,
            Note.cpu_note(CPU_AT_STACKS, cpu, kinds, split, CPU_A_STACK_S * 1000)))
    if default_row is not None:
        count, windows, peak_late = default_row
        section.targets.append(Target(
            f"at the default budget, reads settle below the stand-in's {ACCOUNT_READ_RATE:g}/s (every {window:g} s "
            f"window of the second half of the run)", f"busiest {peak_late:.1f}/s, {count} Throttling replies",
            windows == 0,
            f"{windows} windows of the second half above {ACCOUNT_READ_RATE:g}/s" if windows else ""))
    return [section]


# ---------------------------------------------------------------------- report
COMPILED_NOTE = ("builder's modules are compiled to bytecode before the first measurement, as installing a wheel "
                 "does (the AWS CLI and Sceptre are installed so): an editable install under PYTHONDONTWRITEBYTECODE "
                 "would compile them from source in every process.")


def compile_builder() -> None:
    """Byte-compile builder/ (py_compile writes the .pyc files whatever PYTHONDONTWRITEBYTECODE says)."""
    run([PYTHON, "-m", "compileall", "-q", str(REPO / "builder")])


def timed(bench, *args, **kwargs) -> list[Section]:
    """Run one benchmark; its sections keep the load averages read before and after it."""
    before = load()
    sections = bench(*args, **kwargs)
    after = load()
    for section in sections:
        section.loads = (before, after)
    return sections


def write_report(path: Path, sections: list[Section], started: str, seconds: float, loads: tuple[str, str],
                 argv: list[str]) -> None:
    lines = ["# Benchmarks", "",
             (f"Written by `{' '.join(['.venv/bin/python', 'benchmarks/run.py', *argv])}` on {started} "
             f"in {seconds / 60:.1f} min. Times are wall-clock seconds of whole processes; "
             "ratios are taken pair by pair (two measurements of the same round, run one after the other). "
             + COMPILED_NOTE), "",
             "## Machine", "", md_table(("", ""), [*machine(), ("load average (1/5/15 min) at start", loads[0]),
                                                    ("load average at end", loads[1])]), ""]
    cores = len(os.sched_getaffinity(0))
    busy = Note.busy_note([loads[0], loads[1], *(x for s in sections for x in s.loads)], cores)
    if busy:
        lines += [busy, ""]
    lines += ["## Targets", "", md_table(("section", "target", "measured (median)", "met"),
                                         [(s.title.split(".")[0], t.goal, t.measured, "met" if t.met else "**missed**")
                                          for s in sections for t in s.targets]), ""]
    missed = [(s, t) for s in sections for t in s.targets if not t.met]
    if missed:
        lines += ["Missed, with what the run recorded about it:", ""]
        lines += [f"- **{t.goal}**: " + "; ".join(x for x in (t.note, Note.load_note(s.loads, cores)) if x) + "."
                  for s, t in missed] + [""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        for block in s.text:
            lines += [block, ""]
    path.write_text("\n".join(lines).rstrip() + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10, help="rounds of each benchmark (default: 10)")
    parser.add_argument("--long-runs", type=int, default=5,
                        help="rounds of the slow measurements: the AWS CLI's create and update (its waiter's "
                             "DescribeStacks interval), builder lint and cfn-lint on 50 files, 200 synth processes "
                             "in a row, the fleet, reap and the peer (default: 5)")
    parser.add_argument("--only", default=",".join(p.key for p in SECTIONS), metavar="SECTION,...",
                        help="run these sections alone, by key or number: "
                             + ", ".join(f"{p.number} {p.key}" for p in SECTIONS))
    parser.add_argument("--fleet-via", choices=("poller", "deploy"), default="deploy",
                        help="pollfleet: run `builder deploy` (default), or drive the shared poller directly "
                             "(benchmarks/fleet_driver.py)")
    parser.add_argument("--output", default=str(REPO / "BENCHMARKS.md"), help="where to write (default: BENCHMARKS.md)")
    args = parser.parse_args(argv)
    try:
        parts = chosen(args.only)
    except ValueError as exc:
        parser.error(f"--only: {exc}")
    keys = {p.key for p in parts}
    long_runs = min(args.long_runs, args.runs)
    started_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    compile_builder()
    load_start, t0 = load(), time.perf_counter()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="builder-bench-") as tmp:
        work = Path(tmp)
        if {"synth", "suffixes"} & keys:
            sections += timed(bench_synth, work, args.runs, long_runs if "suffixes" in keys else 0)
        if "lint" in keys:
            sections += timed(bench_lint, work, args.runs, long_runs)
        if {"deploy", "fleet", "reap", "peer"} & keys:
            from builder.emulator import localstack

            progress("starting LocalStack on 127.0.0.1")
            with localstack() as endpoint:
                if "deploy" in keys:
                    sections += timed(bench_deploy, work, args.runs, long_runs, endpoint)
                if "fleet" in keys:
                    sections += timed(bench_fleet, work, long_runs, endpoint)
                if "reap" in keys:
                    from reap import bench_reap

                    sections += timed(bench_reap, work, long_runs, endpoint, BUILDER, aws_env(endpoint))
                if "peer" in keys:
                    from peer import bench_peer

                    sections += timed(bench_peer, work, long_runs, endpoint, BUILDER, aws_env, synth_files, stack_span)
        if "polling" in keys:
            sections += timed(bench_polling, work, args.runs)
        if "pollfleet" in keys:
            # one round: on the virtual clock only CPU varies from round to round
            sections += timed(bench_poller_fleet, work, 1, via=args.fleet_via)
    # keep what was measured even when a title drifted from the table (tests/test_benchmarks.py fails on it)
    known = {heading(p.key): p for p in SECTIONS}
    for s in sections:
        if s.title not in known:
            progress(f"warning: section {s.title!r} is not named as in benchmarks/sections.py")
    number = {s.title: known[s.title].number if s.title in known else int(s.title.split(".")[0]) for s in sections}
    wanted = {p.number for p in parts}
    sections = sorted((s for s in sections if number[s.title] in wanted), key=lambda s: number[s.title])
    write_report(Path(args.output), sections, started_at, time.perf_counter() - t0, (load_start, load()),
                 sys.argv[1:] if argv is None else argv)
    progress(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
