"""The README's set-up section says what the test command needs and how it gets through a proxy; this holds
those words to the files that decide them (setup.cfg, the emulator's installer, the diagram parsers'
package.json, tox.ini, .ci/run) and the missing-dependency line to builder's own output."""

from __future__ import annotations

import configparser
import json
import re
import sys
from pathlib import Path

from builder.cli import missing_dependency

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SETUP = README[:README.index("## What it is, and for whom")]


def tox() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tox.ini")
    return parser


def test_the_python_and_node_versions_the_readme_names_are_the_ones_required():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    python = re.fullmatch(r">=3\.(\d+)", setup["options"]["python_requires"]).group(1)
    assert f"Python 3.{python} or newer;" in SETUP
    emulator = re.search(r"sys\.version_info < \(3, (\d+)\)", (ROOT / "builder/emulator/install.sh").read_text())
    assert f"a Python 3.{emulator.group(1)} or newer somewhere for the emulator" in SETUP
    node = json.loads((ROOT / "tests/diagrams/package.json").read_text())["engines"]["node"]
    assert f"Node.js {node.removeprefix('>=')} or newer with npm" in SETUP


def test_every_setting_the_readme_says_tox_passes_on_reaches_the_test_env():
    passed = tox()["testenv"]["pass_env"].split()
    named = re.findall(r"`([A-Za-z_]+(?:_\*)?)`", SETUP[SETUP.index("**Behind a proxy**"):])
    named = [name for name in named if name.isupper() or name.startswith("npm_config_") or name.endswith("_*")]
    assert named, "the proxy paragraph names no variable"
    for name in named:
        assert name in passed or any(p.endswith("*") and name.startswith(p[:-1]) for p in passed), name
    assert {"PIP_*", "npm_config_*", "https_proxy", "no_proxy"} <= set(passed)


def test_npm_runs_in_its_folder_and_ci_starts_from_empty_caches():
    """With --prefix, npm reads its global npmrc (and the machine's cafile) from under that folder."""
    pre = tox()["testenv"]["commands_pre"]
    assert "npm ci" in pre and "--prefix" not in pre
    assert 'cd "$1" && exec npm ci' in pre
    ci = (ROOT / ".ci/run").read_text()
    for variable in ("PIP_CACHE_DIR", "npm_config_cache", "BUILDER_EMULATOR_VENV"):
        assert re.search(rf'^export {variable}="\$scratch/', ci, re.MULTILINE), variable


def test_the_readme_shows_the_missing_dependency_line_builder_prints(tmp_path, monkeypatch):
    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "executable", "/usr/bin/python3")
    monkeypatch.setattr(sys, "version", "3.11.2 (main, Mar 13 2023, 12:18:29) [GCC 12.2.0]")
    monkeypatch.setattr(sys, "prefix", "/usr")
    line = missing_dependency("troposphere", ["synth"], root=tmp_path)
    assert f"`{line}`" in SETUP
