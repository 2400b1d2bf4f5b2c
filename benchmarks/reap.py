"""Section 7 of benchmarks/run.py: `reap` against `destroy` of the same stacks, on LocalStack.

- A dry-run reap over 100 stacks (it lists, judges and prices every stack; deletes nothing), then
  destroy of the same 100. The stacks are made with CreateStack from a one-resource template that
  carries builder's tags (builder:managed-by included): the dry run reads a stack's record and
  template whatever it holds.
- A reap of 20 expired stacks (deployed by builder with ttl 1s) at --concurrency 8, then the same
  20 deployed again and destroyed by `destroy --suffix ... --concurrency 8`.

Each process is timed whole and its API calls counted by benchmarks/hooks (BENCH_CALLS_FILE).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from measure import TIME_HEADER, Section, md_table, row_seconds, run, with_hooks

SMALL_TEMPLATE = '{"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}'


def calls_text(calls: Counter) -> str:
    return ", ".join(f"{name} x{n}" if n > 1 else name for name, n in sorted(calls.items()))


def create_small_stacks(endpoint: str, prefix: str, suffixes: list[str]) -> None:
    """CreateStack of each `<prefix>-<suffix>` with builder's tags, and wait until all are complete."""
    import boto3

    cf = boto3.session.Session(region_name="us-east-1", aws_access_key_id="test",
                               aws_secret_access_key="test").client("cloudformation", endpoint_url=endpoint)

    def create(suffix: str) -> None:
        tags = {"Environment": suffix, "CostCenter": "engineering", "builder:ttl": "1s",
                "builder:managed-by": "builder"}  # builder's own stacks: reap and destroy act on no others
        cf.create_stack(StackName=f"{prefix}-{suffix}", TemplateBody=SMALL_TEMPLATE,
                        Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        cf.get_waiter("stack_create_complete").wait(StackName=f"{prefix}-{suffix}",
                                                    WaiterConfig={"Delay": 1, "MaxAttempts": 120})

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(create, suffixes))


def bench_reap(work: Path, runs: int, endpoint: str, builder: list[str], aws_env: dict[str, str],
               listed: int = 100, reaped: int = 20, concurrency: int = 8) -> list[Section]:
    env = with_hooks(aws_env)
    calls_file = work / "reap-calls.txt"
    times: dict[str, list[float]] = {"dry": [], "destroy-all": [], "reap": [], "destroy": []}
    calls: dict[str, Counter] = {}
    conc = ["--concurrency", str(concurrency)]
    for i in range(runs):
        prefix = f"reap{i}x{os.getpid()}"
        sets = ["--set", f"stack_prefix={prefix}"]
        small = [f"s{j}" for j in range(listed)]
        create_small_stacks(endpoint, prefix, small)
        r = run([*builder, "reap", *sets, *conc], cwd=work, env=env, calls_file=calls_file)
        times["dry"].append(r.seconds)
        calls.setdefault("dry", r.calls)
        r = run([*builder, "destroy", *sets, *conc, "--yes", *(a for s in small for a in ("--suffix", s))],
                cwd=work, env=env, calls_file=calls_file)
        times["destroy-all"].append(r.seconds)
        calls.setdefault("destroy-all", r.calls)

        expiring = [f"e{j}" for j in range(reaped)]
        suffix_args = [a for s in expiring for a in ("--suffix", s)]
        run([*builder, "deploy", *sets, "--set", "ttl=1s", *conc, *suffix_args], cwd=work, env=env)
        time.sleep(1.5)
        r = run([*builder, "reap", *sets, *conc, "--yes"], cwd=work, env=env, calls_file=calls_file)
        assert f"deleted {reaped} of {reaped}" in r.stdout, r.stdout[-2000:]
        times["reap"].append(r.seconds)
        calls.setdefault("reap", r.calls)
        run([*builder, "deploy", *sets, *conc, *suffix_args], cwd=work, env=env)
        r = run([*builder, "destroy", *sets, *conc, "--yes", *suffix_args], cwd=work, env=env, calls_file=calls_file)
        times["destroy"].append(r.seconds)
        calls.setdefault("destroy", r.calls)

    section = Section(f"8. Reap: a dry run over {listed} stacks and {reaped} expired stacks at "
                      f"`--concurrency {concurrency}`, against destroy of the same stacks")
    section.para(f"The dry run lists, judges and prices {listed} one-resource stacks made by CreateStack with "
                 f"builder's tags; destroy then deletes the same {listed}. The reap deletes {reaped} stacks "
                 f"deployed by builder with `ttl=1s` (bucket, table, topic, alarms); destroy deletes the same "
                 f"{reaped} deployed again. LocalStack on 127.0.0.1.")
    section.table(TIME_HEADER, [
        row_seconds(f"reap (dry run), {listed} stacks", times["dry"]),
        row_seconds(f"destroy, the same {listed} stacks", times["destroy-all"]),
        row_seconds(f"reap --yes, {reaped} expired stacks", times["reap"]),
        row_seconds(f"destroy, the same {reaped} stacks", times["destroy"])])
    per = [(f"reap (dry run), {listed} stacks", "dry", listed), (f"destroy, {listed} stacks", "destroy-all", listed),
           (f"reap --yes, {reaped} stacks", "reap", reaped), (f"destroy, {reaped} stacks", "destroy", reaped)]
    section.text.append(md_table(("command", "API calls", "a stack", "calls"), [
        (label, str(sum(calls[key].values())), f"{sum(calls[key].values()) / size:.1f}", calls_text(calls[key]))
        for label, key, size in per]))
    return [section]
