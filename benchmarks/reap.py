"""Section 8 of benchmarks/run.py (benchmarks/sections.py): like against like, on LocalStack.

- A dry-run reap over 100 stacks (it lists, judges and prices every stack; deletes nothing) beside
  `status --all` over the same 100 (the other listing that reads every stack and prices it; deletes
  nothing either). The stacks are made with CreateStack from a one-resource template that carries
  builder's tags (builder:managed-by included): both read a stack's record and template whatever it
  holds; `status --all` also reads its stack policy (one GetStackPolicy a stack). They are deleted
  afterwards outside the timing.
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

from measure import RATIO_HEADER, TIME_HEADER, Section, md_table, row_ratio, row_seconds, run, with_hooks
from sections import heading

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


def delete_small_stacks(endpoint: str, prefix: str, suffixes: list[str]) -> None:
    """DeleteStack of each (LocalStack deletes a one-resource stack at once; nobody waits)."""
    import boto3

    cf = boto3.session.Session(region_name="us-east-1", aws_access_key_id="test",
                               aws_secret_access_key="test").client("cloudformation", endpoint_url=endpoint)
    for suffix in suffixes:
        cf.delete_stack(StackName=f"{prefix}-{suffix}")


def bench_reap(work: Path, runs: int, endpoint: str, builder: list[str], aws_env: dict[str, str],
               listed: int = 100, reaped: int = 20, concurrency: int = 8) -> list[Section]:
    env = with_hooks(aws_env)
    calls_file = work / "reap-calls.txt"
    times: dict[str, list[float]] = {"dry": [], "status": [], "reap": [], "destroy": []}
    calls: dict[str, Counter] = {}
    conc = ["--concurrency", str(concurrency)]
    for i in range(runs):
        prefix = f"reap{i}x{os.getpid()}"
        sets = ["--set", f"stack_prefix={prefix}"]
        small = [f"s{j}" for j in range(listed)]
        create_small_stacks(endpoint, prefix, small)
        listings = [("dry", [*builder, "reap", *sets]), ("status", [*builder, "status", "--all", *sets])]
        for key, argv in listings if i % 2 == 0 else listings[::-1]:  # alternate which goes first
            r = run(argv, cwd=work, env=env, calls_file=calls_file)
            times[key].append(r.seconds)
            calls.setdefault(key, r.calls)
        delete_small_stacks(endpoint, prefix, small)

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

    section = Section(heading("reap"))
    section.para(f"Like against like. Two dry listings at their defaults, alternating which goes first: `reap` "
                 f"without `--yes` and `status --all`, each over the same {listed} one-resource stacks made by "
                 f"CreateStack with builder's tags (both list, read and "
                 f"price every stack, and delete nothing). Two deletions: `reap --yes` of {reaped} stacks deployed "
                 f"by builder with `ttl=1s` (bucket, table, topic, alarms), then `destroy --yes` of the same "
                 f"{reaped} deployed again, both at `--concurrency {concurrency}`. LocalStack on 127.0.0.1; "
                 f"{runs} round(s).")
    section.table(TIME_HEADER, [
        row_seconds(f"reap (dry run), {listed} stacks", times["dry"]),
        row_seconds(f"status --all, the same {listed} stacks", times["status"]),
        row_seconds(f"reap --yes, {reaped} expired stacks", times["reap"]),
        row_seconds(f"destroy --yes, the same {reaped} stacks", times["destroy"])])
    section.table(RATIO_HEADER, [
        row_ratio("reap (dry run) / status --all", times["dry"], times["status"]),
        row_ratio("reap --yes / destroy --yes", times["reap"], times["destroy"])])
    per = [(f"reap (dry run), {listed} stacks", "dry", listed), (f"status --all, {listed} stacks", "status", listed),
           (f"reap --yes, {reaped} stacks", "reap", reaped), (f"destroy --yes, {reaped} stacks", "destroy", reaped)]
    section.text.append(md_table(("command", "API calls", "a stack", "calls"), [
        (label, str(sum(calls[key].values())), f"{sum(calls[key].values()) / size:.1f}", calls_text(calls[key]))
        for label, key, size in per]))
    return [section]
