"""The README is short (what builder is, the set-up commands, a tour and links) and its links lead to files
that exist; the rest is on the pages under docs/ (built strictly by `tox -e docs`)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_the_readme_is_at_most_250_lines():
    assert len(README.splitlines()) <= 250


def test_the_readme_starts_with_the_two_set_up_commands():
    blocks = re.findall(r"```sh\n(.*?)\n```", README, re.DOTALL)
    assert blocks[0] == "python3 -m venv .venv && .venv/bin/pip install -e . && .venv/bin/python -m builder synth"
    assert blocks[1] == "python3 -m venv .venv && .venv/bin/pip install --quiet tox && .venv/bin/tox"


def test_every_relative_link_of_the_readme_leads_to_a_file():
    links = [target for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README) if "://" not in target]
    assert links, "the README links to no page"
    for target in links:
        assert (ROOT / target).is_file(), target


def test_the_readme_links_every_page_of_the_site():
    pages = {p.relative_to(ROOT).as_posix() for p in (ROOT / "docs").rglob("*.md")}
    linked = set(re.findall(r"\]\((docs/[^)#]+)", README))
    assert pages - linked == set()


def test_the_tours_commands_exist_with_their_options():
    """The tour shows commands, not output; each is a real command with real options."""
    from builder.cli import build_parser

    tour = README[README.index("## A tour on the emulator"):README.index("## Documentation")]
    lines = [line.split("#")[0].split() for line in re.findall(r"^python -m builder [^\n]*", tour, re.MULTILINE)]
    assert [words[3] for words in lines] == ["synth", "lint", "emulator", "deploy", "diff", "destroy", "emulator"]
    parser = build_parser()
    for words in lines:
        parser.parse_args(words[3:])


def test_the_emulator_pages_exports_are_the_lines_the_emulator_writes():
    """The page shows the lines `emulator --background --env-file` writes (and prints) on the default port."""
    from builder.emulator import DEFAULT_PORT, Endpoint, export_lines

    page = (ROOT / "docs" / "commands" / "emulator.md").read_text(encoding="utf-8")
    shown = page.split("writes (and prints) the lines below", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    assert shown.splitlines() == export_lines(Endpoint(f"http://127.0.0.1:{DEFAULT_PORT}", DEFAULT_PORT, 0))
