"""`--api-rate 2` holds on the wire, counted from outside builder's process.

Four builder processes run at once, each through its own recording proxy on 127.0.0.1 (benchmarks/proxy.py,
the one the benchmarks count calls with) in front of the stand-in CloudFormation (benchmarks/standin.py:
LocalStack takes minutes to host 25 stacks, the stand-in answers at once): `deploy` of 25 new stacks, `reap`
(dry run: the listing and one GetTemplate a stack), `status --all` (the same reads and one GetStackPolicy a
stack) and `drift` of 25 stacks.
Each proxy records the time each CloudFormation call reaches it; no 5-second window of one process holds
more than the rate's calls plus the budget's burst (its bucket: half a second's worth, one call at 2 a second).
The stand-in throttles the account's reads at the four rates together, as CloudFormation throttles an account,
and refuses none. The stand-in's stacks settle in real seconds here (no virtual clock).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from benchmarks.proxy import RecordingProxy
from benchmarks.standin import StandIn
from builder.stack.poller import Budget
from tests.factories import MANAGED_TAGS

RATE, WINDOW = 2.0, 5.0
BURST = Budget(RATE).capacity  # the calls the budget lets out at once: the most its bucket holds
COMMANDS = 4  # processes at once, each with a budget of RATE: the stand-in's account allows them all
JITTER = 0.05  # seconds: the loopback's latency may bring two calls the budget spaced apart this much closer
STACKS = 25


def cloudformation_calls(proxy: RecordingProxy) -> list[tuple[float, str]]:
    """(arrival time, action) of each CloudFormation call the proxy recorded, in arrival order."""
    return [(call.at, call.action) for call in proxy.calls if call.service == "cloudformation"]


def busiest_window(calls: list[tuple[float, str]]) -> int:
    """The most calls within any WINDOW seconds (less the loopback's jitter)."""
    times = sorted(t for t, _ in calls)
    return max((sum(1 for u in times[i:] if u < t + WINDOW - JITTER) for i, t in enumerate(times)), default=0)


@pytest.fixture
def standin() -> Iterator[StandIn]:
    with StandIn() as server:
        server.reset(settle_seconds=3.0, read_rate=RATE * COMMANDS)
        tags = {tag["Key"]: tag["Value"] for tag in MANAGED_TAGS}
        for i in range(STACKS):
            server.start(f"app-s{i:02d}", 0.0, tags={**tags, "Environment": f"s{i:02d}", "CostCenter": "engineering"})
        yield server


def test_every_read_of_four_commands_at_once_keeps_to_its_rate(standin: StandIn, tmp_path: Path) -> None:
    commands = {
        "deploy": ["deploy", *[a for i in range(STACKS) for a in ("--suffix", f"d{i:02d}")], "--concurrency", "25"],
        "reap": ["reap"],
        "status --all": ["status", "--all"],
        "drift": ["drift", *[a for i in range(STACKS) for a in ("--suffix", f"s{i:02d}")], "--concurrency", "25"],
    }
    assert len(commands) == COMMANDS
    base = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with ExitStack() as running:
        proxies = {name: running.enter_context(RecordingProxy(standin.url)) for name in commands}
        started = {
            name: subprocess.Popen(
                [sys.executable, "-m", "builder", *argv, "--api-rate", f"{RATE:g}", "--region", "us-east-1"],
                cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                env={**base, "AWS_ENDPOINT_URL": proxies[name].url, "AWS_ACCESS_KEY_ID": "test",
                     "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1",
                     "AWS_CONFIG_FILE": str(tmp_path / "no-aws-config")})
            for name, argv in commands.items()}
        for name, process in started.items():
            _out, err = process.communicate(timeout=400)
            assert process.returncode == 0, f"{name}: {err[-2000:]}"
    calls = {name: cloudformation_calls(proxy) for name, proxy in proxies.items()}
    for name, made in calls.items():
        actions = [action for _, action in made]
        assert len(actions) >= STACKS, f"{name}: {len(actions)} calls for {STACKS} stacks"
        assert busiest_window(made) <= RATE * WINDOW + BURST, (
            f"{name}: {busiest_window(made)} calls in {WINDOW:g} s, above {RATE:g}/s and a burst of {BURST:g}")
    assert sum(1 for _, a in calls["reap"] if a == "GetTemplate") >= STACKS  # each stack priced
    assert sum(1 for _, a in calls["status --all"] if a == "GetStackPolicy") >= STACKS  # each one's policy
    assert sum(1 for _, a in calls["drift"] if a == "DetectStackDrift") == STACKS
    assert not standin.throttled, standin.throttled  # the reads of the four runs together stay within the account
