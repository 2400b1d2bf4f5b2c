"""`drift`, deploy with check_drift and diff with check_drift, through the command line.

Stubber, not the emulator: LocalStack 2026.3 answers every drift call with 501 InternalFailure
(pinned in tests/stack/test_drift_emulator.py and, through the CLI, in test_long_lived_emulator.py).
The answers are shaped like the CloudFormation API reference's examples (see tests/factories.py).
"""

from __future__ import annotations

import json

import pytest

from tests.factories import in_sync, reordered_list_noise, table_drift
from tests.factories import run_cli as run

STACK = "app-stub"
TABLE = ("DataTable", "AWS::DynamoDB::Table")


@pytest.mark.parametrize("flags, drifts, code", [
    (["--exit-code"], [table_drift(STACK, 5, 50)], 4),
    ([], [table_drift(STACK, 5, 50)], 0),
    (["--exit-code"], [in_sync(STACK)], 0),
    (["--exit-code"], [reordered_list_noise(STACK), in_sync(STACK)], 0),  # noise never triggers --exit-code
])
def test_drift_exit_codes(stubs, capsys, flags, drifts, code):
    stubs.stack(STACK)
    stubs.drift(STACK, drifts, [TABLE])
    assert run(capsys, "drift", "--suffix", "stub", *flags)[0] == code


def test_drift_text_shows_each_drifted_property_and_noise_apart(stubs, capsys):
    stubs.stack(STACK)
    stubs.drift(STACK, [table_drift(STACK, 5, 50), reordered_list_noise(STACK)],
                [TABLE, ("DataBucket", "AWS::S3::Bucket"), ("AlertTopic", "AWS::SNS::Topic")])
    code, out, err = run(capsys, "drift", "--suffix", "stub")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "app-stub: DRIFTED (1 resource drifted)"
    assert lines[2].split() == ["app-stub", "DataTable", "/ProvisionedThroughput/ReadCapacityUnits", "5", "50",
                                "MODIFIED"]
    assert "not checked (drift detection does not cover them): AlertTopic (AWS::SNS::Topic)" in out
    assert "noise (known false positives, not drift):" in out and "only the order of a list differs" in out


def test_drift_json_is_one_record_per_stack_and_a_summary(stubs, capsys):
    stubs.stack(STACK)
    stubs.drift(STACK, [table_drift(STACK, 5, 50)], [TABLE])
    code, out, _ = run(capsys, "drift", "--suffix", "stub", "--output", "json", "--exit-code")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 4
    drift = next(r for r in records if r["event"] == "drift")
    assert drift["drifted"][0]["differences"] == [{"path": "/ProvisionedThroughput/ReadCapacityUnits",
                                                   "expected": "5", "actual": "50", "kind": "MODIFIED"}]
    assert records[-1]["event"] == "summary" and records[-1]["stacks"][0]["result"] == "drifted"


def test_drift_markdown(stubs, capsys):
    stubs.stack(STACK)
    stubs.drift(STACK, [table_drift(STACK, 5, 50)], [TABLE])
    code, out, _ = run(capsys, "drift", "--suffix", "stub", "--output", "markdown")
    assert code == 0
    assert out.startswith("### app-stub: DRIFTED\n")
    assert "| DataTable | /ProvisionedThroughput/ReadCapacityUnits | 5 | 50 | MODIFIED |" in out


def test_detection_failed_shows_what_was_checked_and_exits_1(stubs, capsys):
    stubs.stack(STACK)
    stubs.drift(STACK, [in_sync(STACK)], [TABLE], detection="DETECTION_FAILED",
                reason="Failed to detect drift on resource [DataBucket]: Access Denied")
    code, out, err = run(capsys, "drift", "--suffix", "stub", "--exit-code")
    assert code == 1
    assert "detection failed: Failed to detect drift on resource [DataBucket]: Access Denied; checked: DataTable" in out
    assert err.splitlines() == [("error: app-stub: drift detection failed: Failed to detect drift on resource "
                                "[DataBucket]: Access Denied (checked: DataTable)")]


def test_a_stack_that_does_not_exist_is_reported_not_checked(stubs, capsys):
    stubs.no_stack(STACK)
    assert run(capsys, "drift", "--suffix", "stub", "--exit-code") == (
        0, "app-stub does not exist in us-east-1; nothing to check\n", "")


@pytest.mark.parametrize("argv, message", [
    (["--output", "xml"], "argument --output: invalid choice: 'xml'"),
    (["--timeout", "soon"], "argument --timeout: must be a number of seconds > 0 (got 'soon')"),
    (["--set", "check_drift=maybe"], "check_drift"),
])
def test_bad_input_is_one_line_exit_2(stubs, capsys, argv, message):
    code, out, err = run(capsys, "drift", "--suffix", "stub", *argv)
    assert (code, out) == (2, "")
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err


# ---------------------------------------------------------------------- deploy and diff with check_drift

def test_deploy_refuses_over_drift_exit_5_and_changes_nothing(stubs, capsys):
    """No CreateChangeSet is queued: the Stubber fails the test if deploy makes one."""
    stubs.stack(STACK)
    stubs.drift(STACK, [table_drift(STACK, 5, 50)], [TABLE])
    code, out, err = run(capsys, "deploy", "--suffix", "stub", "--set", "check_drift=true")
    assert code == 5
    assert "check_drift: detecting drift before deploying" in out
    assert err.splitlines() == [
        ("error: app-stub: refused: the stack has drifted from its template: DataTable/ProvisionedThroughput/"
        "ReadCapacityUnits modified (expected 5, actual 50); nothing was changed. Put the values back (or into "
        "the config), rerun with --revert-drift to have a drift-aware change set put them back (diff "
        "--revert-drift shows actual → desired), or with --allow-drift to deploy a standard change set over them")]


def test_deploy_with_allow_drift_goes_on(stubs, capsys):
    stubs.stack(STACK)
    stubs.drift(STACK, [table_drift(STACK, 5, 50)], [TABLE])
    stubs.no_changes(STACK)
    code, out, err = run(capsys, "deploy", "--suffix", "stub", "--set", "check_drift=true", "--allow-drift")
    assert (code, err) == (0, "")
    assert "check_drift: drifted; deploying anyway because of --allow-drift" in out


def test_deploy_in_sync_goes_on_and_noise_does_not_refuse(stubs, capsys):
    stubs.stack(STACK)
    stubs.drift(STACK, [reordered_list_noise(STACK), in_sync(STACK)], [TABLE])
    stubs.no_changes(STACK)
    code, out, _ = run(capsys, "deploy", "--suffix", "stub", "--set", "check_drift=true")
    assert code == 0 and "check_drift: IN_SYNC" in out


def test_deploy_without_check_drift_does_not_detect(stubs, capsys):
    stubs.stack(STACK)
    stubs.no_changes(STACK)
    assert run(capsys, "deploy", "--suffix", "stub")[0] == 0


def test_diff_shows_drift_in_text_and_json(stubs, capsys):
    for output in ("text", "json"):
        stubs.stack(STACK)
        stubs.drift(STACK, [table_drift(STACK, 5, 50)], [TABLE])
        stubs.no_changes(STACK)
        code, out, _ = run(capsys, "diff", "--suffix", "stub", "--set", "check_drift=true", "--output", output)
        assert code == 0
        if output == "text":
            assert out.splitlines()[0] == "drift: app-stub: DRIFTED (1 resource drifted)"
            assert "/ProvisionedThroughput/ReadCapacityUnits" in out.splitlines()[2]
        else:
            drift = next(json.loads(line) for line in out.splitlines() if json.loads(line)["event"] == "drift")
            assert drift["status"] == "DRIFTED" and drift["drifted"][0]["logical_id"] == "DataTable"


def test_diff_markdown_carries_the_drift(stubs, capsys):
    stubs.stack(STACK)
    stubs.drift(STACK, [table_drift(STACK, 5, 50)], [TABLE])
    stubs.no_changes(STACK, stack_policy={})  # no policy: not protected
    code, out, _ = run(capsys, "diff", "--suffix", "stub", "--set", "check_drift=true", "--output", "markdown")
    assert code == 0
    section = out[out.index("### `app-stub` (us-east-1): no changes"):]
    assert "**Drift** (check_drift): DRIFTED" in section
    assert "| DataTable | /ProvisionedThroughput/ReadCapacityUnits | 5 | 50 | MODIFIED |" in section
