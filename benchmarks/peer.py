"""Section 9 of benchmarks/run.py: builder against Sceptre, a peer, side by side on one LocalStack.

Sceptre (pinned, SCEPTRE_VERSION) is installed from PyPI into a venv of its own under the benchmark's cache
(~/.cache/builder/bench/sceptre-<version>), never into builder's venv: its dependencies are not builder's.
Both tools deploy the same template, parameters and tags, the files `builder synth` writes for the stack
(Sceptre reads them through a stack config whose `stack_name` is the stack's name), and each reaches
LocalStack through a recording proxy on 127.0.0.1 (benchmarks/proxy.py), which counts the calls of both
tools the same way, from outside the process.

Each round runs the steps in order, both tools at each step, alternating which goes first from round to
round: create 1, no-op (the same files again), update (`bucket_lifecycle_days=60`), delete 1, create 10 at
concurrency 5 (`deploy --concurrency 5`, `sceptre launch --max-concurrency 5` of a stack group), delete 10
(Sceptre's delete has no concurrency option and deletes a group's 10 stacks at once; builder's destroy is
given `--concurrency 10` to match). Builder runs at its defaults otherwise (its read budget included).
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from measure import (
    RATIO_HEADER,
    TIME_HEADER,
    BenchError,
    Run,
    Section,
    Target,
    fmt_s,
    fmt_x,
    progress,
    row_ratio,
    row_seconds,
    run,
)
from proxy import Call, RecordingProxy

SCEPTRE_VERSION = "4.7.0"
TOOLS = ("builder", "sceptre")
STEPS = ("create 1", "no-op", "update", "delete 1", "create 10", "delete 10")
FLEET, FLEET_CONCURRENCY = 10, 5
READS = ("Describe", "List", "Get")  # CloudFormation's read calls: what builder's budget paces


def sceptre_venv() -> Path:
    return Path.home() / ".cache" / "builder" / "bench" / f"sceptre-{SCEPTRE_VERSION}"


def sceptre_exe() -> Path:
    """The pinned Sceptre, installed on first use into a venv of its own (pip, from the package index)."""
    venv = sceptre_venv()
    exe = venv / "bin" / "sceptre"
    if exe.exists():
        return exe
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", f"sceptre=={SCEPTRE_VERSION}"], check=True)
    return exe


def pairs(path: Path) -> dict[str, str]:
    """synth's parameters.json or tags.json (a list of "Key=Value") as a dict."""
    return dict(item.split("=", 1) for item in json.loads(path.read_text()))


def write_sceptre_stack(project: Path, out: Path, stack: str, config_path: str) -> None:
    """A Sceptre stack config (JSON, which YAML reads) for the files synth wrote for `stack` in `out`."""
    templates = project / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(out / f"{stack}.template.json", templates / f"{stack}.template.json")
    config = {"template": {"type": "file", "path": f"{stack}.template.json"}, "stack_name": stack,
              "parameters": pairs(out / f"{stack}.parameters.json"), "stack_tags": pairs(out / f"{stack}.tags.json")}
    target = project / "config" / config_path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(config, indent=1) + "\n")


@dataclass
class Step:
    """What one tool did at one step, over the rounds."""

    seconds: list[float] = field(default_factory=list)
    settle: list[float] = field(default_factory=list)  # final stack event to process exit
    calls: list[Counter] = field(default_factory=list)  # per round: "<service> <action>" or, for CloudFormation, action
    rates: list[float] = field(default_factory=list)  # CloudFormation reads a second over the process's life
    throttled: list[int] = field(default_factory=list)


def reads(calls: Counter) -> int:
    """CloudFormation's read calls (other services' calls are named with their service first)."""
    return sum(n for name, n in calls.items() if name.startswith(READS))


def call_name(call: Call) -> str:
    return call.action if call.service == "cloudformation" else f"{call.service} {call.action}"


def calls_text(calls: Counter) -> str:
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(calls.items()))


def peer_note(step: str, ours: Step, theirs: Step) -> str:
    """Why builder is slower than Sceptre on this row, from the round's data only."""
    b, s = statistics.median(ours.seconds), statistics.median(theirs.seconds)
    parts = [f"builder {fmt_s(b)} against Sceptre {fmt_s(s)} (median), {fmt_s(b - s)} more"]
    def calls(step: Step) -> str:
        total = statistics.median(sum(c.values()) for c in step.calls)
        return (f"{total:g} calls ({statistics.median(reads(c) for c in step.calls):g} CloudFormation reads, "
                f"at most {max(step.rates):.2f} a second)")

    parts.append(f"builder made {calls(ours)} against Sceptre's {calls(theirs)} (medians over the rounds)")
    if ours.settle and theirs.settle:
        parts.append(f"from the last stack's final event to exit builder took {fmt_s(statistics.median(ours.settle))},"
                     f" Sceptre {fmt_s(statistics.median(theirs.settle))}")
    if any(ours.throttled):
        parts.append(f"builder got {sum(ours.throttled)} Throttling replies over the rounds")
    return "; ".join(parts)


@dataclass
class Names:
    """The stacks of one round: one stack and a fleet of FLEET, per tool (suffixes, without the `app-`)."""

    round: int
    one: dict[str, str]
    fleet: dict[str, list[str]]

    def stacks(self, tool: str, step: str) -> list[str]:
        return [f"app-{n}" for n in (self.fleet[tool] if step.endswith("10") else [self.one[tool]])]


def argv(tool: str, step: str, names: Names, builder: list[str], sceptre: list[str]) -> list[str]:
    """The command of `tool` for `step`: builder with its suffixes, Sceptre with its stack config or group."""
    if tool == "builder":
        solo = ["--suffix", names.one["builder"]]
        many = [a for name in names.fleet["builder"] for a in ("--suffix", name)]
        return {"create 1": [*builder, "deploy", *solo, "--out", "peer-out"],
                "no-op": [*builder, "deploy", *solo, "--out", "peer-out"],
                "update": [*builder, "deploy", *solo, "--out", "peer-out", "--set", "bucket_lifecycle_days=60"],
                "delete 1": [*builder, "destroy", *solo, "--yes"],
                "create 10": [*builder, "deploy", *many, "--concurrency", str(FLEET_CONCURRENCY), "--out", "peer-out"],
                "delete 10": [*builder, "destroy", *many, "--yes", "--concurrency", str(FLEET)]}[step]
    single, group = f"{names.one['sceptre']}.yaml", f"fleet{names.round}"
    return {"create 1": [*sceptre, "launch", "-y", single], "no-op": [*sceptre, "launch", "-y", single],
            "update": [*sceptre, "launch", "-y", single], "delete 1": [*sceptre, "delete", "-y", single],
            "create 10": [*sceptre, "launch", "-y", group, "--max-concurrency", str(FLEET_CONCURRENCY)],
            "delete 10": [*sceptre, "delete", "-y", group]}[step]


def bench_peer(work: Path, runs: int, endpoint: str, builder: list[str], env_for, synth_files,
               stack_span) -> list[Section]:
    """builder and Sceptre on the same LocalStack; see the module's docstring."""
    sceptre = str(sceptre_exe())
    version = subprocess.run([sceptre, "--version"], capture_output=True, text=True, check=False).stdout.strip()
    data = {(tool, step): Step() for tool in TOOLS for step in STEPS}
    project = work / "sceptre"
    (project / "config").mkdir(parents=True, exist_ok=True)
    (project / "config" / "config.yaml").write_text("project_code: app\nregion: us-east-1\n")
    with RecordingProxy(endpoint) as proxy:
        env = env_for(proxy.url)
        for i in range(runs):
            order = TOOLS if i % 2 == 0 else TOOLS[::-1]
            progress(f"peer round {i + 1}/{runs} ({order[0]} first)")
            tag = f"{i}x{os.getpid()}"
            one = {"builder": f"pb{tag}", "sceptre": f"ps{tag}"}
            fleet = {tool: [f"{one[tool]}n{j}" for j in range(FLEET)] for tool in TOOLS}
            # Sceptre's files: what builder synthesizes for its suffixes (and the update's)
            synth_files(work, [one["sceptre"]], f"peer{i}")
            synth_files(work, [one["sceptre"]], f"peer{i}u", "bucket_lifecycle_days=60")
            synth_files(work, fleet["sceptre"], f"peer{i}f")
            for name in fleet["sceptre"]:
                write_sceptre_stack(project, work / f"peer{i}f", f"app-{name}", f"fleet{i}/{name}.yaml")

            names = Names(i, one, fleet)
            for step in STEPS:
                if step in ("create 1", "no-op"):
                    write_sceptre_stack(project, work / f"peer{i}", f"app-{one['sceptre']}", f"{one['sceptre']}.yaml")
                elif step == "update":
                    write_sceptre_stack(project, work / f"peer{i}u", f"app-{one['sceptre']}", f"{one['sceptre']}.yaml")
                for tool in order:
                    ids = {}
                    if step.startswith("delete"):  # events of a deleted stack are read by its id
                        ids = {name: stack_id(endpoint, name) for name in names.stacks(tool, step)}
                    proxy.reset()
                    r: Run = run(argv(tool, step, names, builder, [sceptre, "--dir", str(project), "--no-colour"]),
                                   cwd=work, env=env)
                    record(data[tool, step], r, proxy, step, [ids.get(n, n) for n in names.stacks(tool, step)],
                           endpoint, stack_span)
    return [report(data, runs, version)]


def stack_id(endpoint: str, name: str) -> str:
    import boto3

    cf = boto3.session.Session(region_name="us-east-1").client(
        "cloudformation", endpoint_url=endpoint, aws_access_key_id="test", aws_secret_access_key="test")
    return cf.describe_stacks(StackName=name)["Stacks"][0]["StackId"]


def record(step_data: Step, r: Run, proxy: RecordingProxy, step: str, stacks: list[str], endpoint: str,
           stack_span) -> None:
    calls = Counter(call_name(c) for c in proxy.calls)
    step_data.seconds.append(r.seconds)
    step_data.calls.append(calls)
    step_data.rates.append(reads(calls) / r.seconds)
    step_data.throttled.append(len(proxy.throttled))
    if step != "no-op":
        try:
            last = max(stack_span(endpoint, name)[1] for name in stacks)
        except (ValueError, KeyError) as exc:
            raise BenchError(f"{step}: no final event for {stacks[:3]}: {exc}") from exc
        step_data.settle.append(r.exited_at - last)


def report(data: dict[tuple[str, str], Step], runs: int, version: str) -> Section:
    from sections import heading

    section = Section(heading("peer"))
    section.para(
        f"`python -m builder` at its defaults against {version} (from PyPI, in a venv of its own) on one "
        f"LocalStack on 127.0.0.1: the same template, parameters and tags (the files `builder synth` writes for "
        f"the stack; Sceptre reads them through a stack config). {runs} rounds; in each, every step runs both "
        f"tools one after the other, alternating which goes first. create 10 runs at concurrency "
        f"{FLEET_CONCURRENCY} (`--concurrency`, `--max-concurrency`); Sceptre's delete deletes a stack group's "
        f"{FLEET} stacks at once (it has no concurrency option), and builder's destroy gets `--concurrency {FLEET}`. "
        f"Calls are counted by a recording proxy on 127.0.0.1 between each tool and LocalStack "
        f"(benchmarks/proxy.py). Settle to exit: from the last stack's final event (LocalStack's clock, same "
        f"machine) to the process exit.")
    rows = []
    for step in STEPS:
        for tool in TOOLS:
            rows.append(row_seconds(f"{step}: {tool}", data[tool, step].seconds))
    section.table(TIME_HEADER, rows)
    section.table(RATIO_HEADER, [row_ratio(f"{step}: builder / Sceptre", data["builder", step].seconds,
                                           data["sceptre", step].seconds) for step in STEPS])
    settle_rows = [row_seconds(f"{step}: {tool}, final event to exit", data[tool, step].settle)
                   for step in STEPS for tool in TOOLS if data[tool, step].settle]
    section.table(TIME_HEADER, settle_rows)
    section.table(("calls (first round)", "builder", "Sceptre"), [
        (step, *(f"{sum(data[tool, step].calls[0].values())} ({reads(data[tool, step].calls[0])} "
                 f"CloudFormation reads, {data[tool, step].rates[0]:.2f} a second): "
                 f"{calls_text(data[tool, step].calls[0])}"
                 for tool in TOOLS)) for step in STEPS])
    for step in STEPS:
        ours, theirs = data["builder", step], data["sceptre", step]
        ratio = statistics.median(b / s for b, s in zip(ours.seconds, theirs.seconds, strict=True))
        met = ratio <= 1
        section.targets.append(Target(f"{step}: builder at or below Sceptre's time (builder / Sceptre)",
                                      fmt_x(ratio), met, "" if met else peer_note(step, ours, theirs)))
    return section
