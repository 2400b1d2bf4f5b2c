"""Plain `cfn-lint` (no arguments, reading .cfnlintrc) on what synth writes to out/, through the real
cfn-lint command, as a user runs it from the repository root and as the pre-commit hooks run it."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")


def _pre_commit_synth() -> list[str]:
    """The synth hook's command from .pre-commit-config.yaml (the cfn-lint-rc hook then runs plain
    `cfn-lint`: cfn-lint's .pre-commit-hooks.yaml gives it `entry: cfn-lint`, `pass_filenames: false`)."""
    config = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert "cfn-lint-rc" in hooks
    python, *args = hooks["builder-synth"]["entry"].split()
    assert python == "python"
    return args


@pytest.mark.parametrize(
    ("synth_args", "template"),
    [
        (["-m", "builder", "synth"], "app-dev.template.json"),
        (["-m", "builder", "synth", "--format", "yaml"], "app-dev.template.yaml"),
        (_pre_commit_synth(), "app-pr0.template.json"),
    ],
    ids=["default-json", "yaml", "pre-commit-hook"],
)
def test_plain_cfn_lint_passes_on_synth_output(tmp_path, monkeypatch, synth_args, template):
    monkeypatch.delenv("ENVIRONMENT_SUFFIX", raising=False)
    shutil.copy(REPO / ".cfnlintrc", tmp_path / ".cfnlintrc")
    synth = subprocess.run([sys.executable, *synth_args], cwd=tmp_path,
                           check=False, capture_output=True, text=True)
    assert synth.returncode == 0, synth.stderr

    listed = subprocess.run([CFN_LINT, "--list-templates"], cwd=tmp_path, check=False, capture_output=True, text=True)
    assert (listed.returncode, listed.stdout.split()) == (0, [f"out/{template}"]), listed.stderr

    lint = subprocess.run([CFN_LINT], cwd=tmp_path, check=False, capture_output=True, text=True)
    assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", "")
