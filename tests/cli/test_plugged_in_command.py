"""CONTRIBUTING.md's "Adding a subcommand", proven: a read-only command made of exactly the two files the
walk-through names, written here and plugged in at run time (their folders added to the packages'
__path__), runs against the emulator with no other module of builder touched: found by the command list,
parsed, run through the one executor with the run's pollers, its own results, and within the layer rules.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
from pathlib import Path

import pytest

import builder.cli
import builder.ops
from tests.test_layers import floor_of, imports_of

pytestmark = pytest.mark.emulator

# builder/ops/outputs.py: the work, knowing nothing of argparse; it returns data, the CLI renders.
OPS = '''
"""The outputs of deployed stacks: read each stack, change nothing."""

from __future__ import annotations

import time
from enum import StrEnum

from builder.ops.pool import Outcome
from builder.report import Reporter
from builder.stack import client as aws
from builder.stack.watch import WatcherFactory
from builder.synth import Stack


class OutputsResult(StrEnum):
    """What `outputs` found for one stack; the text is what the summary prints."""

    FOUND = "found"
    NOT_DEPLOYED = "not deployed"


def stack_outputs(stack: Stack, reporter: Reporter, watcher_factory: WatcherFactory) -> Outcome:
    """The deployed stack's outputs, read through the run's poller of its region (the read budget)."""
    started = time.monotonic()
    watcher = watcher_factory(stack.name, stack.region, reporter)
    with aws.translate(stack.name, stack.region):
        deployed = watcher.describe()
    result = OutputsResult.FOUND if deployed is not None else OutputsResult.NOT_DEPLOYED
    return Outcome(stack.name, stack.region, result, time.monotonic() - started,
                   outputs=dict(deployed.outputs) if deployed is not None else {})
'''

# builder/cli/outputs.py: the parser and run(args) -> exit code.
CLI = '''
"""`outputs`: the outputs of deployed stacks."""

from __future__ import annotations

import argparse

from builder.cli.common import (
    Subparsers,
    add_api_rate_option,
    add_command,
    add_output_option,
    positive_int,
    reporter_for,
    stack_groups,
)
from builder.errors import EXIT_OK

DESCRIPTION = """\\
Print each deployed stack's outputs; a stack that is not deployed says so. Changes nothing.

examples:
  python -m builder outputs --suffix pr123
"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "outputs", "the outputs of deployed stacks", DESCRIPTION, [common])
    add_output_option(parser)
    parser.add_argument("--concurrency", type=positive_int, default=4, metavar="N",
                        help="environments read at once (default: 4)")
    add_api_rate_option(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.cli.common import finish
    from builder.cli.views.outcome import outcome_text
    from builder.ops.outputs import stack_outputs
    from builder.ops.pool import run_all
    from builder.report import grid
    from builder.stack.poller import Pollers
    from builder.stack.watch import watchers

    groups = stack_groups(args)              # each environment's stacks, in order (common.py)
    reporter = reporter_for(args, groups)
    with Pollers(args.api_rate) as pollers:  # this run's pollers (builder.stack.poller)
        watch = watchers(pollers)            # its StackWatchers (builder.stack.watch)
        outcomes = run_all(groups, lambda stack: stack_outputs(stack, reporter, watch), args.concurrency,
                           pollers)
    for outcome in outcomes:                 # the CLI renders what the ops returned (cli/views/outcome.py)
        reporter.lines(grid(list(outcome.outputs.items()), ("Output", "Value")) if outcome.outputs
                       else [outcome_text(outcome)], outcome.stack)
    finish(outcomes, reporter, "outputs", summary=False)  # JSON summary; raises when a stack failed
    return EXIT_OK
'''


@pytest.fixture
def plugged_in(tmp_path, monkeypatch):
    """The two files in folders of their own, added to builder.cli's and builder.ops' __path__."""
    for package, source in ((builder.cli, CLI), (builder.ops, OPS)):
        folder = tmp_path / package.__name__.replace(".", "_")
        folder.mkdir()
        (folder / "outputs.py").write_text(textwrap.dedent(source).lstrip(), encoding="utf-8")
        monkeypatch.setattr(package, "__path__", [*package.__path__, str(folder)])
    yield tmp_path
    for name in ("builder.cli.outputs", "builder.ops.outputs"):
        sys.modules.pop(name, None)


def walk_through() -> str:
    text = (Path(__file__).resolve().parents[2] / "CONTRIBUTING.md").read_text(encoding="utf-8")
    return text[text.index("## Adding a subcommand"):text.index("## Adding a setting")]


def test_the_walk_through_names_these_two_files_under_builder_and_shows_this_run() -> None:
    assert sorted(set(re.findall(r"builder/[a-z_/]+\.py", walk_through()))) == [
        "builder/cli/__init__.py", "builder/cli/outputs.py", "builder/ops/outputs.py"]  # __init__: unchanged
    (block,) = re.findall(r"```python\n(.*?)```", walk_through(), re.DOTALL)
    assert textwrap.indent(textwrap.dedent(block), "    ") in CLI


def test_the_two_files_keep_to_their_floors() -> None:
    for module, source in (("builder.cli.outputs", CLI), ("builder.ops.outputs", OPS)):
        here = floor_of(module)
        assert here is not None
        assert [name for _, name in imports_of(source) if (floor_of(name) or 0) > here] == []
    assert not [name for _, name in imports_of(OPS) if name.startswith("builder.cli")]


def test_a_new_read_only_command_takes_two_files(plugged_in: Path, aws, suffix) -> None:
    code, out, _ = aws.run("--help")
    assert code == 0 and "the outputs of deployed stacks" in out

    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    missing = f"{suffix}x"
    code, out, err = aws.run("outputs", "--suffix", suffix, "--suffix", missing)
    assert (code, err) == (0, "")
    deployed = {o["OutputKey"]: o["OutputValue"] for o in aws.stack(f"app-{suffix}")["Outputs"]}
    assert [f"app-{suffix}:", "TableName", deployed["TableName"]] in [line.split() for line in out.splitlines()]
    assert f"app-{missing}: not deployed" in out.splitlines()

    code, out, _ = aws.run("outputs", "--suffix", suffix, "--output", "json")
    (summary,) = [record for record in map(json.loads, out.splitlines()) if record["event"] == "summary"]
    stacks = summary["stacks"]
    assert [(s["stack"], s["result"], s["outputs"]) for s in stacks] == [(f"app-{suffix}", "found", deployed)]
