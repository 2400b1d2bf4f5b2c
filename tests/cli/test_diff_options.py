"""`diff`'s markdown and cost-gate options that are refused before any AWS call."""

from __future__ import annotations

import pytest

from builder.cli import main


@pytest.mark.parametrize("argv,message", [
    (["--output-file", "diff.md"], ("error: diff: --output-file and --github-step-summary write the markdown block; "
                                   "add --output markdown")),
    (["--output", "markdown", "--github-step-summary"], ("error: diff: --github-step-summary: GITHUB_STEP_SUMMARY is "
                                                        "not set")),
    (["--fail-on-cost-increase", "-2"], ("error: python -m builder diff: argument --fail-on-cost-increase: must be an "
                                        "amount of USD >= 0")),
])
def test_refused_before_touching_aws(capsys, monkeypatch, argv, message):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert main(["diff", "--suffix", "pr1", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(message) and err.count("\n") == 1
