"""Every command's --help ends with the address of its documentation page, a page that exists and that the
site's navigation lists (`tox -e docs` builds the site strictly)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from builder.cli import commands, main

ROOT = Path(__file__).resolve().parents[2]
NAMES = [module.__name__.rpartition(".")[2] for module in commands()]


def nav_pages(entries: list) -> set[str]:
    pages: set[str] = set()
    for entry in entries:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages |= nav_pages(value) if isinstance(value, list) else {value}
    return pages


NAV = nav_pages(yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))["nav"])


def test_every_command_is_found():
    assert {"synth", "lint", "deploy", "diff", "destroy", "status", "reap", "drift", "emulator", "cost",
            "graph"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_each_commands_help_ends_with_its_page(name, capsys):
    assert main([name, "--help"]) == 0
    last = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert last == f"docs: docs/commands/{name}.md"
    page = last.removeprefix("docs: ")
    assert (ROOT / page).is_file(), f"{page} is missing"
    assert page.removeprefix("docs/") in NAV, f"{page} is not in mkdocs.yml's nav"
    assert (ROOT / page).read_text(encoding="utf-8").startswith(f"# {name}"), "the page is another command's"


def test_the_top_level_help_ends_with_the_site(capsys):
    assert main(["--help"]) == 0
    last = capsys.readouterr().out.rstrip("\n").splitlines()[-1]
    assert last.startswith("docs: docs/index.md")
    assert (ROOT / "docs" / "index.md").is_file() and "index.md" in NAV
