"""`diff`'s markdown and cost-gate options that are refused before any AWS call."""

from __future__ import annotations

import pytest

from builder.cli import main


@pytest.mark.parametrize("argv,message", [
    (["--output-file", "diff.md"], ("error: diff: --output-file and --github-step-summary write the markdown block; "
                                   "add --output markdown")),
    (["--output", "markdown", "--github-step-summary"], ("error: diff: --github-step-summary: GITHUB_STEP_SUMMARY is "
                                                        "not set")),
    # an unset variable: without --output markdown it passed as no option, with it the diff ran, then failed
    (["--output-file", ""], ("error: python -m builder diff: argument --output-file: is empty; give a file, such as "
                             "diff.md, or - for standard output")),
    (["--output", "markdown", "--output-file", ""], ("error: python -m builder diff: argument --output-file: is "
                                                     "empty")),
    (["--fail-on-cost-increase", "-2"], ("error: python -m builder diff: argument --fail-on-cost-increase: must be an "
                                        "amount of USD >= 0")),
])
def test_refused_before_touching_aws(capsys, monkeypatch, argv, message):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    assert main(["diff", "--suffix", "pr1", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.startswith(message) and err.count("\n") == 1


@pytest.mark.parametrize("target,reason", [("a-file/diff.md", "Not a directory"), ("a-folder", "Is a directory")])
def test_an_output_file_that_cannot_be_written_is_a_usage_error_naming_it(tmp_path, monkeypatch, target, reason):
    """It was `error: NotADirectoryError: [Errno 20] ...` with exit 1, as if the diff had failed."""
    from builder.cli.diff import _write_markdown
    from builder.errors import UsageError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-file").write_text("x\n")
    (tmp_path / "a-folder").mkdir()
    with pytest.raises(UsageError) as refused:
        _write_markdown("## diff\n", target, None)
    assert refused.value.exit_code == 2
    assert refused.value.lines() == [(f"error: {target}: cannot write the markdown block there ({reason}); choose "
                                     f"another --output-file")]
