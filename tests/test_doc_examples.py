"""The docs pages' examples that run against the emulator, run against it: each page's marked examples in
the order the page shows them, in one working folder, with the output the page shows.

A page marks such a block with `<!-- emulator example -->` on the line before it; the block holds one or
more `$ python -m builder ...` commands, each followed by its output (stderr and stdout as a terminal
interleaves them) and `(exit N)`. `...` on a line of its own stands for any lines. What a step needs but
the page does not show (a stack deployed before) is an `<!-- emulator setup: python -m builder ... -->`
line (or `aws ...`, the real AWS CLI, or `sleep N`): run, in order, and it must succeed; a file they read
is `<!-- emulator file NAME` followed by its lines and `-->`. Only what varies is normalised: clock times
and dates, durations (`0.9 s`), idle times (`5s`) and the grid columns they widen, the emulator's port,
the working folder (shown as /home/me/app) and the account. Each page (and the README's tour) runs in an
emulator account of its own, shown as LocalStack's default 000000000000 (what a reader's emulator.env
gives), so it starts from no stacks and its fleet (`reap`, `status --all`) is its own, whatever other
tests ran or left in the session's emulator.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factories import aws_cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md")
               if "<!-- emulator example -->" in p.read_text(encoding="utf-8"))

pytestmark = [pytest.mark.emulator,
              pytest.mark.emulator_only("the pages show LocalStack's output (account 000000000000, its events)")]

MARK = re.compile(r"^( *)<!-- emulator (?:(example) -->|setup: ([^\n]*?) -->|file (\S+)\n(.*?)\n-->)\n",
                  re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Step:
    command: str          # as the page shows it, after "$ "
    expected: list[str]   # the output lines the page shows (without "(exit N)")
    exit_code: int
    setup: bool = False   # a hidden step: its output is not compared


def steps(page: str) -> list[Step]:
    text = (ROOT / page).read_text(encoding="utf-8")
    found: list[Step] = []
    for mark in MARK.finditer(text):
        if mark.group(4) is not None:  # a file the next steps read: `<!-- emulator file NAME` then its lines
            found.append(Step(f"write {mark.group(4)}", mark.group(5).split("\n"), 0, setup=True))
            continue
        if mark.group(3) is not None:
            found.append(Step(mark.group(3), [], 0, setup=True))
            continue
        indent = mark.group(1)
        rest = text[mark.end():]
        assert rest.startswith(f"{indent}```\n"), f"{page}: the example mark is not right before a ``` block"
        body = rest[len(indent) + 4:rest.index(f"\n{indent}```", len(indent) + 4)]
        lines = iter(line.removeprefix(indent) for line in body.split("\n"))
        command: str | None = None
        output: list[str] = []
        for line in lines:
            if command is None:
                if not line.strip():
                    continue
                assert line.startswith("$ "), f"{page}: output without a command: {line!r}"
                command = line[2:]
                while command.endswith("\\"):
                    command = command[:-1] + " " + next(lines).strip()
            elif exit_ := re.fullmatch(r"\(exit (\d+)\)", line):
                found.append(Step(command, output, int(exit_.group(1))))
                command, output = None, []
            else:
                output.append(line)
        assert command is None, f"{page}: `{command}` has no (exit N) line"
    return found


def normalise(lines: list[str], folder: Path, endpoint: str, account: str) -> list[str]:
    text = "\n".join(line.rstrip() for line in lines)
    text = text.replace(str(folder), "/home/me/app").replace(endpoint, "http://127.0.0.1:4566")
    text = re.sub(rf"\b{account}\b", "000000000000", text)
    text = re.sub(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\b", "YYYY-MM-DD HH:MM:SS", text)
    text = re.sub(r"\b\d\d:\d\d:\d\d\b", "HH:MM:SS", text)
    text = re.sub(r"\b\d+\.\d s\b", "N.N s", text)
    text = re.sub(r"\bidle \d+s\b", "idle Ns", text)
    text = re.sub(r"(?<=  )\d+s(?=  )", "Ns", text)  # a grid's IDLE column
    text = re.sub(r"(?<=\S) {2,}", "  ", text)        # a grid's columns widen with what they hold
    return text.split("\n") if text else []


def matches(expected: list[str], actual: list[str]) -> bool:
    """Line for line, where a `...` line of the page stands for any lines (none included)."""
    if not expected:
        return not actual
    if expected[0] == "...":
        return any(matches(expected[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and expected[0] == actual[0] and matches(expected[1:], actual[1:])


def run(command: str, folder: Path) -> tuple[int, list[str]]:
    words = shlex.split(command.replace("< /dev/null", ""), comments=True)
    env = dict(os.environ, PYTHONUNBUFFERED="1", COLUMNS="200")
    while "=" in words[0]:  # VAR=value before the command
        name, _, value = words.pop(0).partition("=")
        env[name] = value
    if words[0] == "sleep":  # a setup that lets stacks sit idle (reap)
        time.sleep(float(words[1]))
        return 0, []
    if words[0] == "aws":  # a setup that makes what builder would not (another tool's stack)
        argv = [aws_cli(), *words[1:]]
    else:
        assert words[:3] == ["python", "-m", "builder"], command
        argv = [sys.executable, *words[1:]]
    done = subprocess.run(argv, cwd=folder, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    return done.returncode, done.stdout.rstrip("\n").split("\n") if done.stdout.strip() else []


def test_a_page_with_emulator_examples_is_found():
    assert "docs/commands/deploy.md" in PAGES


AWS_COMMANDS = ("deploy", "diff", "destroy", "status", "reap", "drift")


def test_every_example_that_talks_to_aws_is_run_or_says_why_not():
    """A block whose commands reach AWS is marked to run here, or `<!-- not on the emulator: why -->`."""
    unmarked = []
    for path in sorted((ROOT / "docs").rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        for block in re.finditer(r"^( *)```\n\1\$ (?:\S+=\S+ )?python -m builder (\S+)", text, re.MULTILINE):
            before = text[:block.start()].rstrip(" ").splitlines()[-1].strip()
            if block.group(2) in AWS_COMMANDS and not (
                    before == "<!-- emulator example -->" or before.startswith("<!-- not on the emulator: ")):
                unmarked.append(f"{path.relative_to(ROOT)}: {block.group(2)}")
    assert unmarked == []


def test_the_parser_reads_commands_outputs_and_exit_codes():
    page = steps("docs/commands/deploy.md")
    assert page[0].command == "python -m builder deploy --suffix pr123"
    assert page[0].exit_code == 0 and page[0].expected[0].startswith("config none")
    assert matches(["a", "...", "d"], ["a", "b", "c", "d"]) and not matches(["a", "...", "d"], ["a", "b"])


@pytest.mark.parametrize("page", PAGES)
def test_the_pages_emulator_examples_give_the_output_it_shows(page, aws_env, own_account, tmp_path):
    for step in steps(page):
        if step.command.startswith("write "):
            (tmp_path / step.command.removeprefix("write ")).write_text("\n".join(step.expected) + "\n")
            continue
        code, out = run(step.command, tmp_path)
        if step.setup:
            assert code == 0, f"setup `{step.command}` failed:\n" + "\n".join(out)
            continue
        shown = normalise(step.expected, tmp_path, aws_env, own_account)
        got = normalise(out, tmp_path, aws_env, own_account)
        assert (code, matches(shown, got)) == (step.exit_code, True), (
            f"{page}: `{step.command}` gave (exit {code}):\n" + "\n".join(got)
            + "\n\nthe page shows (exit " + str(step.exit_code) + "):\n" + "\n".join(shown))


def test_the_readmes_tour_runs_on_the_emulator_in_its_order(own_account, tmp_path):
    """The README's tour shows commands, not output: each runs in order and exits as its comment says (0
    unless `exit N`). The tour's own emulator start and stop are left out: the suite's emulator stands in
    for them (tests/emulator/test_command.py runs --background, --env-file and --stop)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = readme[readme.index("## A five-minute tour"):readme.index("## Documentation")]
    commands = re.findall(r"^(python -m builder [^\n]*)", tour, re.MULTILINE)
    assert [c.split()[3] for c in commands] == ["synth", "lint", "emulator", "deploy", "diff", "destroy", "emulator"]
    for command in (c for c in commands if c.split()[3] != "emulator"):
        said = re.search(r"#.*\bexit (\d+)", command)
        code, out = run(command, tmp_path)
        assert code == (int(said.group(1)) if said else 0), f"`{command}`:\n" + "\n".join(out)
    assert not (tmp_path / "out" / "app-pr123.outputs.json").exists(), "destroy left the stack's outputs"
