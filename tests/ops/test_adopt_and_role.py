"""Re-adopting retained data through deploy, and the CloudFormation service role, with Stubber.

Stubber for the IMPORT path: LocalStack 2026.3 does not implement IMPORT change sets (pinned in
tests/stack/test_adopt_emulator.py); the refusal before creating anything runs against the emulator
in test_long_lived_emulator.py. Answers are shaped like AWS's (API reference examples of
GetCallerIdentity, HeadBucket, DescribeTable, CreateChangeSet, DescribeChangeSet).
"""

from __future__ import annotations

import json

import pytest
from botocore.stub import ANY

from builder.cli import main
from builder.cli.views import views
from builder.errors import ConfigError
from builder.ops.adopt import set_later
from builder.report import Reporter
from builder.stack.adopt import Retained, import_template
from builder.stack.deployed import DeployedStack
from builder.stack.poller import Pollers
from builder.stack.watch import StackWatcher, watchers
from builder.synth import stacks_for
from tests.factories import ACCOUNT, CHANGE_SET_ID, NOW, config, expect_findings, stack_id
from tests.factories import run_cli as run

STACK = "app-stub"
BUCKET = f"app-stub-data-{ACCOUNT}-us-east-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/cloudformation-deploy"


def table(mode: str = "PAY_PER_REQUEST", keys: tuple[str, ...] = ("pk", "sk")) -> dict:
    return {"Table": {"TableName": "app-stub-data", "TableStatus": "ACTIVE", "CreationDateTime": NOW,
                      "TableArn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/app-stub-data",
                      "AttributeDefinitions": [{"AttributeName": k, "AttributeType": "S"} for k in keys],
                      "KeySchema": [{"AttributeName": k, "KeyType": t}
                                    for k, t in zip(keys, ("HASH", "RANGE")[:len(keys)], strict=True)],
                      **({"BillingModeSummary": {"BillingMode": mode}} if mode == "PAY_PER_REQUEST" else {})}}


def retained(stubs, mode: str = "PAY_PER_REQUEST", keys: tuple[str, ...] = ("pk", "sk")) -> None:
    """A new stack; its bucket and table exist (left by a retain_data destroy)."""
    stubs.no_stack(STACK)
    stubs["sts"].add_response("get_caller_identity", {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT,
                                                      "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"}, {})
    stubs["s3"].add_response("head_bucket", {}, {"Bucket": BUCKET})
    # one DescribeTable: its answer says the table exists and is compared with the template
    stubs["dynamodb"].add_response("describe_table", table(mode, keys), {"TableName": "app-stub-data"})


def test_redeploy_over_retained_data_stops_before_creating_anything(stubs, capsys):
    """No CreateChangeSet is queued: the Stubber fails the test if deploy makes one."""
    retained(stubs)
    code, out, err = run(capsys, "deploy", "--suffix", "stub", "--set", "retain_data=true")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        (f"error: app-stub: the stack is new but its bucket {BUCKET} and table app-stub-data already exist (left by "
        f"an earlier stack with retain_data); nothing was created. Adopt them, data and all, with: python -m "
        f"builder deploy --suffix stub --region us-east-1 --adopt-retained (and the same --config/--set)")]


def test_a_retained_table_that_differs_from_the_template_is_reported_not_adopted(stubs, capsys):
    retained(stubs, mode="PROVISIONED", keys=("id",))
    code, _, err = run(capsys, "deploy", "--suffix", "stub", "--set", "retain_data=true", "--adopt-retained")
    assert code == 1
    assert ("table app-stub-data: KeySchema: existing id HASH, template pk HASH, sk RANGE; "
            "table app-stub-data: BillingMode: existing PROVISIONED, template PAY_PER_REQUEST") in err
    assert "nothing was created" in err


def imported(stubs, role_arn: str | None = None) -> None:
    """The IMPORT change set of both, made, shown, executed and settled (IMPORT_COMPLETE)."""
    retained(stubs)
    cf = stubs["cloudformation"]
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": stack_id(STACK)}, {
        "StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": "IMPORT", "TemplateBody": ANY,
        "ResourcesToImport": [
            {"ResourceType": "AWS::S3::Bucket", "LogicalResourceId": "DataBucket",
             "ResourceIdentifier": {"BucketName": BUCKET}},
            {"ResourceType": "AWS::DynamoDB::Table", "LogicalResourceId": "DataTable",
             "ResourceIdentifier": {"TableName": "app-stub-data"}}],
        "Parameters": ANY, **({"RoleARN": role_arn} if role_arn else {})})
    cf.add_response("describe_change_set", {
        "Status": "CREATE_COMPLETE", "ChangeSetId": CHANGE_SET_ID, "StackId": stack_id(STACK),
        "ChangeSetName": "builder-import-1", "Changes": [
            {"Type": "Resource", "ResourceChange": {"Action": "Import", "LogicalResourceId": logical,
                                                    "PhysicalResourceId": physical, "ResourceType": type_}}
            for logical, physical, type_ in [("DataBucket", BUCKET, "AWS::S3::Bucket"),
                                             ("DataTable", "app-stub-data", "AWS::DynamoDB::Table")]]},
        {"ChangeSetName": CHANGE_SET_ID})
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack_id(STACK)})
    cf.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    cf.add_response("describe_stacks", {"Stacks": [{"StackName": STACK, "StackId": stack_id(STACK),
                                                    "CreationTime": NOW, "StackStatus": "IMPORT_COMPLETE"}]},
                    {"StackName": stack_id(STACK)})
    cf.add_response("describe_stack_events", {"StackEvents": [
        {"StackId": stack_id(STACK), "EventId": "e1", "StackName": STACK, "LogicalResourceId": STACK,
         "ResourceType": "AWS::CloudFormation::Stack", "Timestamp": NOW, "ResourceStatus": "IMPORT_COMPLETE"}]})


def import_body() -> str:
    """The template the IMPORT left deployed: the bucket and the table alone, retained."""
    template = json.loads(stacks_for(config("retain_data=true", suffix="stub"))[-1].template_body)
    return json.dumps(import_template(template, [Retained("DataBucket", "AWS::S3::Bucket", BUCKET),
                                                 Retained("DataTable", "AWS::DynamoDB::Table", "app-stub-data")]).body)


def test_adopt_retained_imports_then_deploys_the_rest_through_the_role(stubs, capsys):
    """The data guard compares the imported template with the full one: nothing it holds is weakened."""
    imported(stubs, role_arn=ROLE)
    # the normal change set (UPDATE) after the import, through the role
    stubs.no_changes(STACK, role_arn=ROLE, deployed_body=import_body())
    stubs.tags_update(STACK, role_arn=ROLE)  # the import left the stack without tags: they follow, through the role
    code, out, err = run(capsys, "deploy", "--suffix", "stub", "--set", "retain_data=true", "--set",
                         f"cloudformation_role_arn={ROLE}", "--adopt-retained")
    assert (code, err) == (0, ""), err
    assert "adopt: importing bucket" in out and "Import  DataTable" in out
    assert "adopt: imported; now the change set for everything else" in out
    assert "ReplicationConfiguration" not in out  # replication is off: nothing to set after the import


@pytest.mark.parametrize("sets, later", [
    ([], []),
    (["enable_cross_region_replication=true", "replication_region=us-west-2"], ["DataBucket.ReplicationConfiguration"]),
])
def test_only_properties_the_stack_will_have_are_announced_for_after_the_import(sets, later):
    """DataBucket.ReplicationConfiguration refers to the replication role, so the import leaves it out; with
    replication off its Fn::If gives AWS::NoValue, and no change set sets it."""
    stack = stacks_for(config("retain_data=true", *sets, suffix="stub"))[-1]
    template = json.loads(stack.template_body)
    left_out = import_template(template, [Retained("DataBucket", "AWS::S3::Bucket", BUCKET)]).left_out
    assert "DataBucket.ReplicationConfiguration" in left_out
    assert set_later(template, stack.parameters, left_out) == later


def test_the_data_guard_still_applies_after_the_import(stubs, capsys):
    imported(stubs)
    stubs.deployed_template(STACK, import_body())
    cf = stubs["cloudformation"]
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": stack_id(STACK)}, {
        "StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "Description": "builder deploy",
        "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": ANY})
    cf.add_response("describe_change_set", {
        "Status": "CREATE_COMPLETE", "ChangeSetId": CHANGE_SET_ID, "StackId": stack_id(STACK), "Changes": [
            {"Type": "Resource", "ResourceChange": {
                "Action": "Modify", "LogicalResourceId": "DataTable", "PhysicalResourceId": "app-stub-data",
                "ResourceType": "AWS::DynamoDB::Table", "Replacement": "True", "Scope": ["Properties"],
                "Details": [{"Target": {"Attribute": "Properties", "Name": "KeySchema", "RequiresRecreation": "Always"},
                             "Evaluation": "Static", "ChangeSource": "DirectModification"}]}}]},
        {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
    expect_findings(cf, CHANGE_SET_ID)
    cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    code, _, err = run(capsys, "deploy", "--suffix", "stub", "--set", "retain_data=true", "--adopt-retained")
    assert code == 3
    assert err.startswith("error: app-stub: refused: 1 change(s) would lose data (listed above); the change set was "
                          "deleted and the stack is unchanged;")


# ---------------------------------------------------------------------- cloudformation_role_arn

def test_through_a_role_credentials_without_s3_rights_skip_the_retained_data_check(stubs, capsys):
    """CI that deploys through a service role may not read S3: HeadBucket answers 403 (no body)."""
    stubs.no_stack(STACK)
    stubs["sts"].add_response("get_caller_identity", {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT,
                                                      "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"}, {})
    stubs["s3"].add_client_error("head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": BUCKET})
    stubs.no_changes(STACK, kind="CREATE", role_arn=ROLE)
    code, out, err = run(capsys, "deploy", "--suffix", "stub", "--set", f"cloudformation_role_arn={ROLE}")
    assert (code, err) == (0, "")
    assert "with cloudformation_role_arn that is expected, so going on without the check" in out


def test_without_a_role_a_bucket_name_taken_elsewhere_stops_the_deploy(stubs, capsys):
    stubs.no_stack(STACK)
    stubs["sts"].add_response("get_caller_identity", {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT,
                                                      "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"}, {})
    stubs["s3"].add_client_error("head_bucket", "403", "Forbidden", 403, expected_params={"Bucket": BUCKET})
    code, _, err = run(capsys, "deploy", "--suffix", "stub")
    assert code == 1
    assert err == (f"error: bucket {BUCKET}: the name is taken by a bucket these credentials cannot read "
                   f"(another account's?); pick another prefix or suffix\n")


def test_delete_goes_through_the_role(stubs):
    cf = stubs["cloudformation"]
    cf.add_response("delete_stack", {}, {"StackName": stack_id(STACK), "RoleARN": ROLE})
    cf.add_response("describe_stacks", {"Stacks": [{"StackName": STACK, "StackId": stack_id(STACK),
                                                    "CreationTime": NOW, "StackStatus": "DELETE_COMPLETE"}]},
                    {"StackName": stack_id(STACK)})
    cf.add_response("describe_stack_events", {"StackEvents": []})
    reporter = Reporter(mode="text", tty=False, views=views())
    watcher = StackWatcher(STACK, "us-east-1", reporter, Pollers().poller("us-east-1"), sleep=lambda s: None)
    current = DeployedStack(STACK, stack_id(STACK), "UPDATE_COMPLETE")
    watcher.allow_writes(current.stack_id)  # as ownership.claim does before destroy deletes
    assert watcher.delete_and_wait(current, ROLE).status == "DELETE_COMPLETE"


def test_change_sets_go_through_the_role(stubs, capsys):
    stubs.stack(STACK)
    stubs.no_changes(STACK, role_arn=ROLE)
    assert run(capsys, "deploy", "--suffix", "stub", "--set", f"cloudformation_role_arn={ROLE}")[0] == 0


def test_synth_prints_the_role_in_the_deploy_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["synth", "--suffix", "pr1", "--set", f"cloudformation_role_arn={ROLE}"]) == 0
    command = next(line for line in capsys.readouterr().out.splitlines() if "aws cloudformation deploy" in line)
    assert f"--role-arn {ROLE} --no-fail-on-empty-changeset" in command
    assert main(["synth", "--suffix", "pr1"]) == 0
    assert "--role-arn" not in capsys.readouterr().out


@pytest.mark.parametrize("region, arn", [
    ("us-east-1", "arn:aws:iam::123456789012:role/deploy"),
    ("us-east-1", "arn:aws:iam::123456789012:role/ci/cloudformation/deploy+x=y,z.a@b_c-d"),
    ("cn-north-1", "arn:aws-cn:iam::123456789012:role/deploy"),
    ("us-gov-west-1", "arn:aws-us-gov:iam::123456789012:role/deploy"),
])
def test_good_role_arns(region, arn):
    assert config(f"cloudformation_role_arn={arn}", region=region).cloudformation_role_arn == arn


@pytest.mark.parametrize("region, arn, message", [
    ("us-east-1", "arn:aws:iam::123456789012:user/deploy", ("is not an IAM role ARN such as "
                                                            "arn:aws:iam::123456789012:role/cloudformation-deploy")),
    ("us-east-1", "arn:aws:iam::12345:role/deploy", "is not an IAM role ARN"),
    ("us-east-1", "arn:aws:iam::123456789012:role/", "is not an IAM role ARN"),
    ("us-east-1", "deploy", "is not an IAM role ARN"),
    ("us-east-1", "arn:aws:iam::123456789012:role/" + "x" * 65, "is not an IAM role ARN"),
    ("us-east-1", "arn:aws-cn:iam::123456789012:role/deploy",
     "is in partition 'aws-cn', but region us-east-1 is in 'aws'"),
    ("cn-north-1", "arn:aws:iam::123456789012:role/deploy",
     ("is in partition 'aws', but region cn-north-1 is in 'aws-cn'; use a role such as "
     "arn:aws-cn:iam::123456789012:role/cloudformation-deploy")),
    ("us-gov-east-1", "arn:aws:iam::123456789012:role/deploy", "region us-gov-east-1 is in 'aws-us-gov'"),
])
def test_bad_role_arns(region, arn, message):
    with pytest.raises(ConfigError) as caught:
        config(f"cloudformation_role_arn={arn}", region=region)
    assert caught.value.lines()[0].startswith("error: --set: cloudformation_role_arn: ")
    assert message in caught.value.lines()[0]


def test_a_run_asks_for_its_account_once(stubs):
    """Every stack of a run has the same credentials: the watchers of one run share one GetCallerIdentity
    (one answer queued; the Stubber fails a second call), and a new run asks again."""
    sts = stubs["sts"]
    sts.add_response("get_caller_identity", {"UserId": "AIDAEXAMPLE", "Account": ACCOUNT,
                                             "Arn": f"arn:aws:iam::{ACCOUNT}:user/ci"}, {})
    reporter = Reporter(mode="text", tty=False, views=views())
    with Pollers() as pollers:
        watch = watchers(pollers)
        assert [watch(f"app-s{i}", "us-east-1", reporter).account() for i in range(3)] == [ACCOUNT] * 3
    sts.assert_no_pending_responses()
    sts.add_response("get_caller_identity", {"UserId": "AIDAEXAMPLE", "Account": "210987654321",
                                             "Arn": "arn:aws:iam::210987654321:user/ci"}, {})
    with Pollers() as pollers:
        assert watchers(pollers)("app-s0", "us-east-1", reporter).account() == "210987654321"
