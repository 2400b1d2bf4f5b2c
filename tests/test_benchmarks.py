"""The benchmark's machinery (benchmarks/), not its numbers: the sections table that docs/benchmarks.md,
BENCHMARKS.md and run.py share, the notes computed from a run's data, and the virtual clock."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from benchmarks import notes, sections
from benchmarks.proxy import action_of, service_of
from benchmarks.standin import StandIn

ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------- sections
def test_sections_are_numbered_in_order_with_distinct_keys():
    assert [p.number for p in sections.SECTIONS] == list(range(1, len(sections.SECTIONS) + 1))
    assert len({p.key for p in sections.SECTIONS}) == len(sections.SECTIONS)


def test_benchmarks_md_headings_are_the_sections_table():
    # a run with --only writes some of the sections: those it has are the table's, in its order
    text = (ROOT / "BENCHMARKS.md").read_text()
    numbered = re.findall(r"^## (\d+\..*)$", text, re.MULTILINE)
    headings = [sections.heading(p.key) for p in sections.SECTIONS]
    assert numbered and set(numbered) <= set(headings)
    assert numbered == sorted(numbered, key=headings.index)


def test_the_benchmarks_page_names_every_section_with_its_key():
    block = (ROOT / "docs" / "benchmarks.md").read_text()
    block = block[:block.index('--8<-- "BENCHMARKS.md"')]  # the page's own table, not the included results
    rows = re.findall(r"^\| (\d+\. [^|]*?) \|", block, re.MULTILINE)
    assert rows == [f"{sections.heading(p.key)} (`{p.key}`)" for p in sections.SECTIONS]


@pytest.mark.parametrize(("only", "keys"), [("peer", ["peer"]), ("9", ["peer"]), ("3,synth", ["synth", "lint"]),
                                             (" 7 , reap ", ["pollfleet", "reap"])])
def test_only_takes_keys_and_numbers_in_table_order(only, keys):
    assert [p.key for p in sections.chosen(only)] == keys


def test_only_names_what_it_does_not_know():
    with pytest.raises(ValueError, match="unknown polls, 10; choose from 1/synth"):
        sections.chosen("polls,10")


# ---------------------------------------------------------------------- notes from data
def test_windows_slide_so_a_burst_across_a_grid_line_is_seen_whole():
    # 12 calls between 5 s and 14 s: a grid of [0,10) and [10,20) sees 6 and 6; a sliding window sees 12
    times = [5 + 0.75 * i for i in range(12)] + [40.0]
    assert notes.busiest_window(times) == (12, 5.0)
    assert notes.windows_over(times, rate=1.0, burst=1.0) == [(5.0, 12)]
    assert notes.windows_over(times, rate=1.0, burst=2.0) == []


def test_busy_note_only_when_the_recorded_load_says_so():
    assert notes.busy_note(["0.37 / 0.18 / 0.41", "0.22 / 0.27 / 0.26"], cores=2) == ""
    busy = notes.busy_note(["0.37 / 0.18 / 0.41", "3.10 / 2.00 / 1.00", "unknown"], cores=2)
    assert "3.10" in busy and "2 cores" in busy


def test_throttle_note_says_which_calls_and_when():
    text = notes.throttled_text([(105.0, "DescribeStacks"), (109.4, "DescribeStacks"), (130.0, "ListStacks")], 100.0)
    assert text == "3 (DescribeStacks x2, ListStacks; at 5, 9, 30 s)"
    assert notes.throttled_text([], 0) == "0"
    note = notes.throttle_note([(500, text, 2.4)], 3)
    assert "above 3 a second" in note and "500 stacks: 3 (DescribeStacks x2" in note and "2.4/s" in note


def test_fleet_note_counts_reads_from_the_calls():
    calls = Counter({"DescribeStacks": 30, "DeleteStack": 10, "GetTemplate": 10, "HeadBucket": 10})
    note = notes.fleet_note("destroy", 10, [20.0, 25.0, 30.0], calls)
    assert "destroy of 10 took 25.00 s" in note
    assert "60 calls, 40 of them CloudFormation reads (4.0 a stack, 1.60 a second" in note  # HeadBucket: S3


def test_delay_note_names_only_the_sizes_over_the_target():
    note = notes.delay_note([(1, 2.0, 3.0), (100, 4.0, 16.0), (500, 182.0, 397.0)], 5, 15)
    assert "1 stacks" not in note and "100 stacks: median 4.00 s, worst 16.00 s" in note and "500 stacks" in note
    assert notes.delay_note([(1, 2.0, 3.0)], 5, 15) == ""


def test_noop_note_names_change_set_calls():
    assert notes.noop_note(Counter({"DescribeStacks": 1, "GetTemplate": 1})) == \
        "the no-op made 2 calls (DescribeStacks, GetTemplate)"
    assert "change set calls among them: CreateChangeSet" in notes.noop_note(
        Counter({"DescribeStacks": 1, "CreateChangeSet": 1}))



def test_lint_note_concludes_from_its_own_estimate_either_way():
    """The lint target's note says what more CPUs would do only when the run's own estimate is above the target."""
    slow = notes.lint_note(one=2.0, per_file=0.4, workers=2, files=50, target=1.5, measured=6.2)
    assert "49 more on 2 worker process(es) add about 9.80 s to the 2.00 s of one (5.9x, against 6.20x measured)" \
        in slow
    assert "above 1.5x by that estimate" in slow and "more CPUs" in slow
    cheap = notes.lint_note(one=2.0, per_file=0.01, workers=2, files=50, target=1.5, measured=1.8)
    assert "(1.1x, against 1.80x measured): within 1.5x by that estimate, so it does not explain the ratio" in cheap
    assert "CPUs" not in cheap


def test_cpu_note_splits_the_fleets_cpu_from_what_the_process_measured_of_itself():
    """The CPU note says what the calls cost a stack at the cost a call the run measured, the virtual clock's
    share and the rest, and how many calls a stack the target would allow at that cost."""
    calls = Counter({"ListStacks": 200, "DescribeStacks": 200})
    split = {"calls": 1600, "call_cpu": 4.0, "clock_cpu": 0.5, "sleeps": 1900,
             "by_operation": {"ListStacks": [200, 1.0], "DescribeStacks": [1400, 3.0]}}
    note = notes.cpu_note(100, 6.0, calls, split, 30.0)
    assert note.startswith("at 100 stacks the process used 6.00 s of CPU (60.0 ms a stack) and made 400 calls")
    assert "its 1600 AWS calls (16.0 a stack" in note and "2.50 ms a call, 40.0 ms a stack" in note
    assert "(costliest: DescribeStacks 1400 x 2.14 ms, ListStacks 200 x 5.00 ms)" in note  # by their total
    assert "virtual clock's calls to the stand-in at each of 1900 sleeps 5.0 ms a stack" in note
    assert "the rest 15.0 ms a stack" in note
    assert note.endswith("At 2.50 ms a call, 30 ms a stack is 12.0 calls a stack with nothing else; this run made 16.0")
    assert notes.cpu_note(100, 6.0, calls) == notes.cpu_note(100, 6.0, calls, None)  # no split: the totals alone
    assert "Measured inside" not in notes.cpu_note(100, 6.0, calls)


def typed_numbers_in_goals(path: Path) -> list[tuple[str, str]]:
    """(function, fixed text) of every Target(...) whose goal's fixed text holds a digit: a number typed beside
    the threshold it should be rendered from."""
    found = []
    for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(function, ast.FunctionDef):
            continue
        for call in ast.walk(function):
            if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "Target" and call.args:
                goal = call.args[0]
                parts = goal.values if isinstance(goal, ast.JoinedStr) else [goal]
                fixed = "".join(p.value for p in parts if isinstance(p, ast.Constant) and isinstance(p.value, str))
                if re.search(r"\d", fixed):
                    found.append((function.name, fixed))
    return found


@pytest.mark.parametrize("module", sorted(p.name for p in (ROOT / "benchmarks").glob("*.py")))
def test_a_targets_goal_renders_its_numbers_from_the_threshold_it_is_held_to(module):
    typed = typed_numbers_in_goals(ROOT / "benchmarks" / module)
    assert not typed, typed


def test_the_goal_check_sees_a_typed_number(tmp_path):
    bench = tmp_path / "bench.py"
    bench.write_text("def bench(r, limit):\n"
                     "    Target('within 8x of one', r, r <= 8)\n"
                     "    Target(f'within {limit:g}x of one', r, r <= limit)\n")
    assert typed_numbers_in_goals(bench) == [("bench", "within 8x of one")]

# ---------------------------------------------------------------------- the recording proxy's reading of requests
def test_proxy_names_the_action_and_service_of_each_protocol():
    auth = {"authorization": "AWS4-HMAC-SHA256 Credential=test/20261205/us-east-1/cloudformation/aws4_request, x"}
    assert service_of(auth) == "cloudformation"
    assert action_of("POST", "/", auth, b"Action=DescribeStacks&Version=2010-05-15") == "DescribeStacks"
    assert action_of("POST", "/", {"x-amz-target": "DynamoDB_20120810.DescribeTable"}, b"{}") == "DescribeTable"
    assert action_of("HEAD", "/bucket-x", {}, b"") == "HeadBucket"
    assert action_of("GET", "/bucket-x?versions", {}, b"") == "ListObjectVersions"


# ---------------------------------------------------------------------- the virtual clock
SLEEPERS = textwrap.dedent("""
    import json, threading, time
    t0 = time.monotonic()
    woke = {}
    gate = threading.Barrier(2)
    def nap(name, seconds):
        gate.wait()
        time.sleep(seconds)
        woke[name] = time.monotonic() - t0
    threads = [threading.Thread(target=nap, args=("long", 100)), threading.Thread(target=nap, args=("short", 30))]
    for t in threads: t.start()
    for t in threads: t.join()
    together = time.monotonic() - t0
    time.sleep(50)
    print(json.dumps({"woke": woke, "together": together, "end": time.monotonic() - t0}))
""")


def test_overlapping_sleeps_advance_the_clock_to_the_latest_wake_up_not_the_sum():
    with StandIn() as standin:
        before = standin.now()
        env = {**os.environ, "PYTHONPATH": str(ROOT / "benchmarks" / "hooks"),
               "BENCH_CLOCK_URL": f"{standin.url}/__advance", "BENCH_CLOCK_GRACE": "0.2"}
        out = subprocess.run([sys.executable, "-c", SLEEPERS], env=env, capture_output=True, text=True, check=True,
                             timeout=60)
        advanced = standin.now() - before
    seen = json.loads(out.stdout)
    # each thread wakes at its own time; sleeping together costs the longer sleep, then 50 s alone
    assert 30 <= seen["woke"]["short"] < 32
    assert 100 <= seen["woke"]["long"] < 102
    assert 100 <= seen["together"] < 102
    assert 150 <= seen["end"] < 153
    assert 150 <= advanced < 153  # the server's clock moved as the process's did (the sum would be 180)


CPU_CALLS = textwrap.dedent("""
    import time
    import boto3
    cf = boto3.client("cloudformation", region_name="us-east-1")
    for _ in range(3):
        cf.describe_stacks(StackName="app-cpu")
    try:
        cf.describe_stacks(StackName="app-missing")
    except cf.exceptions.ClientError:
        pass
    time.sleep(5)
""")


def test_the_cpu_hook_counts_every_call_and_the_clocks_sleeps(tmp_path):
    """BENCH_CPU_FILE: every AWS call of the process (an error reply too) with the CPU spent inside it, by
    operation, and the CPU of the virtual clock's sleeps."""
    cpu_file = tmp_path / "cpu.json"
    with StandIn() as standin:
        standin.start("app-cpu", 60.0)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "benchmarks" / "hooks"), "BENCH_CPU_FILE": str(cpu_file),
               "BENCH_CLOCK_URL": f"{standin.url}/__advance", "AWS_ENDPOINT_URL": standin.url,
               "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_CONFIG_FILE": os.devnull,
               "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        subprocess.run([sys.executable, "-c", CPU_CALLS], env=env, capture_output=True, text=True, check=True,
                       timeout=60)
    split = json.loads(cpu_file.read_text())
    assert split["calls"] == 4
    assert split["by_operation"]["DescribeStacks"][0] == 4
    assert 0 < split["call_cpu"] == pytest.approx(split["by_operation"]["DescribeStacks"][1])
    assert split["clock_cpu"] > 0 and split["sleeps"] == 1  # the one sleep went to the stand-in


def test_proxy_forwards_both_ways_and_records_throttling():
    import boto3
    from botocore.config import Config

    from benchmarks.proxy import RecordingProxy

    with StandIn() as standin, RecordingProxy(standin.url) as proxy:
        standin.reset(10.0, read_rate=1.0)  # one read, then Throttling until a second has passed
        cf = boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test") \
            .client("cloudformation", endpoint_url=proxy.url, config=Config(retries={"total_max_attempts": 1}))
        standin.start("app-p1", 10.0)
        assert cf.describe_stacks(StackName="app-p1")["Stacks"][0]["StackStatus"] == "CREATE_IN_PROGRESS"
        with pytest.raises(cf.exceptions.ClientError, match="Throttling"):
            cf.describe_stacks(StackName="app-p1")
        cf.close()
    assert [(c.service, c.action, c.status) for c in proxy.calls] == [
        ("cloudformation", "DescribeStacks", 200), ("cloudformation", "DescribeStacks", 400)]
    assert [action for _, action in proxy.throttled] == ["DescribeStacks"]


def test_standin_records_when_a_reply_first_showed_a_stack_settled():
    """Section 7's "noticed": a stack missing from every page of a ListStacks of the in-progress statuses is
    known settled at that listing's last page; a listing that shows it in progress, or a stack still in
    progress though missing (not filtered for), records nothing; the first DescribeStacks that shows it
    settled counts too, and a later reply never moves the time."""
    import boto3

    with StandIn() as standin:
        standin.reset(10.0)
        cf = boto3.session.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test") \
            .client("cloudformation", endpoint_url=standin.url)
        standin.start("app-quick", 0.0)
        standin.start("app-slow", 3600.0)
        standin.start("app-gone", 0.0)
        running = ["CREATE_IN_PROGRESS"]
        listed = [s["StackName"] for s in cf.list_stacks(StackStatusFilter=running)["StackSummaries"]]
        assert listed == ["app-slow"]
        at = standin.seen_settled["app-quick"]
        assert set(standin.seen_settled) == {"app-quick", "app-gone"}  # not app-slow, still in progress
        cf.describe_stacks(StackName="app-quick")
        assert standin.seen_settled["app-quick"] == at  # the first reply, not the latest
        assert standin.last_read["app-quick"] > at  # the last read is kept apart (events complete)
        cf.close()
