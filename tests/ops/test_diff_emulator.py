"""`diff` with values and cost, against LocalStack's CloudFormation on 127.0.0.1.

LocalStack returns no change set Details (so no property causes or values here: those are in
test_deploy_stubbed.py), but parameters, tags, templates and Replacement of a renamed table are real.
"""

from __future__ import annotations

import json

import pytest

from builder.cli.views.review import signed_usd, usd_text
from tests import aws_lane
from tests.factories import edit_template

pytestmark = pytest.mark.emulator

PROVISIONED = ["--set", "dynamodb_billing_mode=PROVISIONED", "--set", "dynamodb_read_capacity=5",
               "--set", "dynamodb_write_capacity=5"]


def idle_cost(aws, suffix: str, *sets: str) -> float:
    code, out, _ = aws.run("cost", "--suffix", suffix, "--output", "json", *sets)
    assert code == 0
    return float(json.loads(out)["total_fixed_monthly_usd"])


def test_markdown_diff_shows_the_change_the_parameters_and_the_cost_cost_would_show(aws, suffix, tmp_path,
                                                                                    monkeypatch):
    name = f"app-{suffix}"
    code, out, _ = aws.run("diff", "--suffix", suffix, "--output", "markdown")
    assert code == 0
    adds = sum(line.startswith("| Add | ") for line in out.splitlines())
    assert out.splitlines()[2] == f"### `{name}` (us-east-1): new stack, {adds} change(s)" and adds > 5
    assert "Stack policy: none yet: deploy sets it once the stack is created." in out.splitlines()
    new_cost = idle_cost(aws, suffix)
    assert f"| fixed, while idle | - | {usd_text(new_cost)} | {signed_usd(new_cost)} |" in out  # a new stack: full cost

    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    code, out, err = aws.run("diff", "--suffix", suffix, "--output", "markdown")
    assert code == 0
    protection = ("protected: CloudFormation refuses to replace or delete what holds data, whoever deploys"
                  if aws_lane.ON_AWS else "not known: this endpoint does not implement GetStackPolicy")
    assert out == (f"**builder diff**: 1 stack(s), 0 with changes; data guard: no data at risk\n\n"
                   f"### `{name}` (us-east-1): no changes\n\nStack policy: {protection}.\n")
    assert "no changes" in err  # the progress lines go to standard error

    code, out, _ = aws.run("diff", "--suffix", suffix, *PROVISIONED, "--output", "markdown")
    assert code == 0
    assert "| Modify | DataTable | AWS::DynamoDB::Table | False | - |" in out
    for row in ("| BillingMode | PAY_PER_REQUEST | PROVISIONED |", "| ReadCapacity | 1 | 5 |",
                "| WriteCapacity | 1 | 5 |"):
        assert row in out
    before, after = idle_cost(aws, suffix), idle_cost(aws, suffix, *PROVISIONED)
    assert after - before > 2
    assert f"| fixed, while idle | {usd_text(before)} | {usd_text(after)} | {signed_usd(after - before)} |" in out
    summary = f"monthly fixed cost {usd_text(before)} → {usd_text(after)} USD ({signed_usd(after - before)})"
    assert summary in out.splitlines()[0]
    assert "| DataTable: on-demand writes | million WRUs | 0.625 | - |" in out  # a usage rate that goes away
    assert "Data guard: no data would be lost." in out

    code, out, _ = aws.run("diff", "--suffix", suffix, *PROVISIONED)  # the text diff carries the values too
    assert "parameter BillingMode: PAY_PER_REQUEST → PROVISIONED" in out
    assert f"monthly fixed cost: {usd_text(before)} → {usd_text(after)} USD ({signed_usd(after - before)})" in out

    code, out, _ = aws.run("diff", "--suffix", suffix, *PROVISIONED, "--output", "json")
    records = [json.loads(line) for line in out.splitlines()]
    assert {"event": "parameter", "stack": name, "name": "BillingMode", "old": "PAY_PER_REQUEST",
            "new": "PROVISIONED"} in records
    (cost,) = [r for r in records if r["event"] == "cost"]
    assert cost["difference_monthly_usd"] == pytest.approx(after - before)

    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(summary))
    code, out, _ = aws.run("diff", "--suffix", suffix, *PROVISIONED, "--output", "markdown",
                           "--output-file", str(tmp_path / "diff.md"), "--github-step-summary",
                           "--fail-on-cost-increase", "1")
    assert code == 6
    block = (tmp_path / "diff.md").read_text()
    assert summary.read_text() == "earlier step\n" + block and "| ReadCapacity | 1 | 5 |" in block
    assert aws.run("diff", "--suffix", suffix, *PROVISIONED, "--fail-on-cost-increase", "3")[0] == 0
    assert aws.parameters(name)["BillingMode"] == "PAY_PER_REQUEST"  # diff changed nothing


def test_markdown_diff_shows_the_data_guards_verdict_on_a_table_replacement(aws, suffix, monkeypatch):
    """A renamed table: the templates show the replacement, and LocalStack's change set says Replacement=True
    too (the one replacement it can produce): one finding, not two."""
    name = f"app-{suffix}"
    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    edit_template(monkeypatch, lambda template: template["Resources"]["DataTable"]["Properties"].update(
        TableName=f"{name}-renamed"))
    code, out, _ = aws.run("diff", "--suffix", suffix, "--output", "markdown")
    assert code == 0
    assert "data guard: 1 change(s) would lose data" in out.splitlines()[0]
    assert "**Data guard: deploy would refuse** (exit 3) unless `--allow-data-loss`: 1 change(s) would lose data" in out
    assert (f"| DataTable | AWS::DynamoDB::Table | replaced (TableName {name}-data → {name}-renamed) | a new, empty "
            f"one takes its place; deleting the old one loses its items |") in out
    assert aws.client("dynamodb").describe_table(TableName=f"{name}-data")["Table"]["TableName"] == f"{name}-data"
