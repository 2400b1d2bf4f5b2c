"""The data guard on real deploys against LocalStack: each way to lose data is refused with exit 3 (the
stack, its template, parameters and termination protection unchanged, no change set left) and deployed
with --allow-data-loss; and the issue's headline, deploying from a folder without the config.

LocalStack returns no change set Details and reports Replacement only for a renamed table, so what is
refused here is found from the templates (builder/data_guard.py). The change set's own replacements are
tested with Stubber in test_deploy_stubbed.py; the rules one by one, as pure functions, in
tests/test_data_guard.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.factories import REPLICATION_ARGS, edit_template

pytestmark = pytest.mark.emulator


def state(aws, name: str) -> dict:
    """What a refused deploy must leave as it was."""
    stack = aws.stack(name)
    cf = aws.client("cloudformation")
    return {"template": cf.get_template(StackName=name, TemplateStage="Original")["TemplateBody"],
            "parameters": aws.parameters(name), "status": stack["StackStatus"],
            "updated": stack.get("LastUpdatedTime"), "protected": stack.get("EnableTerminationProtection", False),
            "change sets": cf.list_change_sets(StackName=name)["Summaries"]}


def suspend_versioning(template: dict) -> None:
    template["Resources"]["DataBucket"]["Properties"]["VersioningConfiguration"]["Status"] = "Suspended"


def no_point_in_time_recovery(template: dict) -> None:
    spec = template["Resources"]["DataTable"]["Properties"]["PointInTimeRecoverySpecification"]
    spec["PointInTimeRecoveryEnabled"] = False


def table_key_changed(template: dict) -> None:
    """A create-only property of the table: CloudFormation replaces it with a new, empty one."""
    props = template["Resources"]["DataTable"]["Properties"]
    props["KeySchema"] = [key for key in props["KeySchema"] if key["KeyType"] == "HASH"]
    props["AttributeDefinitions"] = [a for a in props["AttributeDefinitions"] if a["AttributeName"] == "pk"]


# (settings of the first deploy, settings of the second, a template edit for the second, the findings as
# "resource (type): change" that the second deploy must list)
CASES = {
    "retain-data-off": (["--set", "retain_data=true"], [], None, [
        "DataBucket (AWS::S3::Bucket): DeletionPolicy Retain → Delete, UpdateReplacePolicy Retain → Delete",
        "DataBucket (AWS::S3::Bucket): current objects expire: never → after 30 days",
        "DataTable (AWS::DynamoDB::Table): DeletionPolicy Retain → Delete, UpdateReplacePolicy Retain → Delete",
        "DataTable (AWS::DynamoDB::Table): deletion protection: on → off"]),
    "lifecycle-shortened": ([], ["--set", "bucket_lifecycle_days=7"], None, [
        "DataBucket (AWS::S3::Bucket): current objects expire: after 30 days → after 7 days",
        "DataBucket (AWS::S3::Bucket): noncurrent versions expire: after 30 days → after 7 days"]),
    "key-removed": (["--set", "customer_managed_key=true"], [], None, [
        "DataKey (AWS::KMS::Key): removed from the template (DeletionPolicy Delete)"]),
    "replication-off": (REPLICATION_ARGS, [], None, [
        "DataBucket (AWS::S3::Bucket): replication: app-{suffix}-replica-{account}-us-west-2 → none"]),
    "termination-protection-off": (["--set", "termination_protection=true"], [], None, [
        "app-{suffix} (AWS::CloudFormation::Stack): termination protection: on → off"]),
    "versioning-suspended": ([], [], suspend_versioning, [
        "DataBucket (AWS::S3::Bucket): versioning: on → off"]),
    "point-in-time-recovery-off": ([], [], no_point_in_time_recovery, [
        "DataTable (AWS::DynamoDB::Table): point-in-time recovery: on → off"]),
    "table-replaced": ([], [], table_key_changed, ["DataTable (AWS::DynamoDB::Table): replaced"]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_way_to_lose_data_is_refused_then_deployed_when_allowed(aws, suffix, monkeypatch, case):
    first, second, edit, expected = CASES[case]
    name = f"app-{suffix}"
    assert aws.run("deploy", "--suffix", suffix, *first)[0] == 0
    before = state(aws, name)
    if edit is not None:
        edit_template(monkeypatch, edit)

    code, out, err = aws.run("deploy", "--suffix", suffix, *second)
    assert code == 3
    listed = [line.removeprefix("data guard: ") for line in out.splitlines()
              if line.startswith("data guard: ") and " (AWS::" in line]
    wanted = [line.format(suffix=suffix, account=aws.account) for line in expected]
    assert [line[:len(w)] for line, w in zip(listed, wanted, strict=True)] == wanted
    assert err.startswith(f"error: {name}: refused: {len(expected)} change(s) would lose data") and \
        err.count("\n") == 1
    assert "no config file was read" in err and "--allow-data-loss" in err
    assert state(aws, name) == before  # the stack as it was: template, values, protection; no change set left
    if case == "replication-off":
        return  # accepted in test_switching_replication_off_when_allowed (the replica stack stays)

    code, out, err = aws.run("deploy", "--suffix", suffix, *second, "--allow-data-loss")
    assert (code, err) == (0, "")
    assert "data guard: going ahead because of --allow-data-loss" in out
    assert state(aws, name) != before
    assert aws.run("deploy", "--suffix", suffix, *second)[0] == 0  # nothing more to lose: no refusal


def test_switching_replication_off_when_allowed(aws, suffix):
    name = f"app-{suffix}"
    assert aws.run("deploy", "--suffix", suffix, *REPLICATION_ARGS)[0] == 0
    code, out, err = aws.run("deploy", "--suffix", suffix, "--allow-data-loss")
    assert (code, err) == (0, ""), err
    assert "data guard: going ahead because of --allow-data-loss" in out
    assert aws.parameters(name)["ReplicationEnabled"] == "false"
    assert aws.stack(f"{name}-replica", "us-west-2") is not None  # deploy leaves the replica stack as it is


def test_deploying_from_a_folder_without_the_config_stops_and_says_what_would_be_lost(aws, suffix, monkeypatch,
                                                                                       tmp_path):
    """The issue's headline: tp1 deployed with termination protection and retained data, then deployed
    again from a folder that has no environments.toml (builder falls back to its built-in defaults)."""
    name = f"app-{suffix}"
    (tmp_path / "environments.toml").write_text(f'[environments."{suffix}"]\ntermination_protection = true\n'
                                                f'retain_data = true\n')
    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    before = state(aws, name)
    assert before["protected"] is True

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    code, out, err = aws.run("deploy", "--suffix", suffix)
    assert code == 3
    assert err == (f"error: {name}: refused: 5 change(s) would lose data (listed above); nothing was changed (no "
                   f"change set made); no config file was read (built-in defaults; is this the folder with the "
                   f"environments.toml that made the stack? --config names one). Rerun with --allow-data-loss to "
                   f"accept losing it\n")
    assert f"data guard: {name} (AWS::CloudFormation::Stack): termination protection: on → off: one DeleteStack " \
           f"call (destroy, reap, the console) can then delete the stack and every resource it does not " \
           f"retain" in out.splitlines()
    assert "data guard: DataTable (AWS::DynamoDB::Table): deletion protection: on → off: the table, with its " \
           "items, can be deleted by one call or with the stack" in out.splitlines()
    assert state(aws, name) == before
    assert "termination protection turned off" not in out

    monkeypatch.chdir(tmp_path)  # back where the config is: nothing is lost, nothing changes
    code, out, _ = aws.run("deploy", "--suffix", suffix)
    assert (code, out) == (0, "no changes: the stack already has this template, these parameters and tags\n")
    code, _, err = aws.run("deploy", "--suffix", suffix, "--config", str(Path("environments.toml").resolve()),
                           "--set", "retain_data=false", "--set", "termination_protection=false")
    assert code == 3 and "config read from " in err and err.count("\n") == 1
    assert aws.run("deploy", "--suffix", suffix, "--set", "retain_data=false", "--set",
                   "termination_protection=false", "--allow-data-loss")[0] == 0  # so that the stack can go


def test_diff_lists_the_same_findings_in_text_json_and_markdown(aws, suffix):
    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    shorter = ["--set", "bucket_lifecycle_days=7"]
    code, text, _ = aws.run("diff", "--suffix", suffix, *shorter, "--exit-code")
    assert code == 3  # deploy would refuse; 1 is for changes that lose nothing
    lines = text.splitlines()
    found = [line for line in lines if line.startswith("data guard: ") and " (AWS::" in line]
    assert [line.split(": ")[2] for line in found] == ["current objects expire", "noncurrent versions expire"]
    assert lines[lines.index(found[-1]) + 1] == "data guard: deploy would refuse (exit 3) unless --allow-data-loss"

    code, out, _ = aws.run("diff", "--suffix", suffix, *shorter, "--output", "json")
    (record,) = [r for r in map(json.loads, out.splitlines()) if r["event"] == "data_guard"]
    assert [f"data guard: {f['resource']} ({f['type']}): {f['change']}: {f['reason']}" for f in record["findings"]] \
        == found
    assert set(record["findings"][0]) == {"resource", "type", "change", "reason"}

    code, out, _ = aws.run("diff", "--suffix", suffix, *shorter, "--output", "markdown")
    assert "data guard: 2 change(s) would lose data" in out.splitlines()[0]
    assert ("| DataBucket | AWS::S3::Bucket | noncurrent versions expire: after 30 days → after 7 days | overwritten "
            "and deleted objects (noncurrent versions) are deleted for good after 7 days |") in out
    assert aws.run("diff", "--suffix", suffix, "--set", "bucket_lifecycle_days=60", "--exit-code")[0] == 1
    assert aws.parameters(f"app-{suffix}")["BucketLifecycleDays"] == "30"  # diff changed nothing
