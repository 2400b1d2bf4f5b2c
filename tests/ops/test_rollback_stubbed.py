"""Rollback triggers (`rollback_alarms`) of an update, with botocore's Stubber: every request is validated
against the installed botocore's model (CreateChangeSet's RollbackConfiguration: at most 5 triggers, 0 to
180 minutes) and every reply is shaped like the CloudFormation API reference's (ListStackResources'
StackResourceSummary, DescribeStacks' RollbackConfiguration). Why not the emulator: LocalStack 2026.3
accepts RollbackConfiguration but neither keeps it nor evaluates an alarm during an operation, so neither a
rollback by alarm nor the triggers a stack keeps from an earlier update can be produced there
(test_rollback_emulator.py holds what it does).
"""

from __future__ import annotations

import dataclasses

import pytest
from botocore.stub import ANY

import builder.synth
from builder.stack import rollback
from builder.stack.deployed import DeployedStack
from tests.factories import ACCOUNT, CHANGE_SET_ID, NO_CHANGES_REASON, NOW, config, expect_findings, stack_id
from tests.factories import run_cli as run

STACK = "app-stub"
TEMPLATE = builder.synth.stacks_for(config(suffix="stub"))[-1].template_body
CHANGE = ("--set", "bucket_lifecycle_days=60")  # a parameter change: the deploy is an update
ON = ("--set", "rollback_alarms=true")


def alarm_arn(what: str) -> str:
    return f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:{STACK}-{what}"


THROTTLES_AND_ERRORS = [
    {"Arn": alarm_arn("table-read-throttles"), "Type": "AWS::CloudWatch::Alarm"},
    {"Arn": alarm_arn("table-system-errors"), "Type": "AWS::CloudWatch::Alarm"},
    {"Arn": alarm_arn("table-write-throttles"), "Type": "AWS::CloudWatch::Alarm"}]


def summary(logical: str, type_: str, physical: str, status: str = "CREATE_COMPLETE") -> dict:
    return {"LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": type_,
            "LastUpdatedTimestamp": NOW, "ResourceStatus": status, "DriftInformation": {
                "StackResourceDriftStatus": "NOT_CHECKED"}}


DEPLOYED_RESOURCES = [  # ListStackResources of a stack builder deployed with its defaults (part of it)
    summary("AlertTopic", "AWS::SNS::Topic", f"arn:aws:sns:us-east-1:{ACCOUNT}:{STACK}-alerts"),
    summary("BucketSizeAlarm", "AWS::CloudWatch::Alarm", f"{STACK}-bucket-size"),
    summary("DataTable", "AWS::DynamoDB::Table", f"{STACK}-data"),
    summary("TableReadThrottleAlarm", "AWS::CloudWatch::Alarm", f"{STACK}-table-read-throttles"),
    summary("TableSystemErrorsAlarm", "AWS::CloudWatch::Alarm", f"{STACK}-table-system-errors"),
    summary("TableWriteThrottleAlarm", "AWS::CloudWatch::Alarm", f"{STACK}-table-write-throttles"),
]


def expect_stack(stubs, rollback_configuration: dict | None = None) -> None:
    """DescribeStacks of the deployed stack (with the RollbackConfiguration it kept, if any), GetTemplate."""
    tags = config(suffix="stub").stack_tags
    stubs["cloudformation"].add_response("describe_stacks", {"Stacks": [
        {"StackName": STACK, "StackId": stack_id(STACK), "CreationTime": NOW, "StackStatus": "UPDATE_COMPLETE",
         "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
         **({"RollbackConfiguration": rollback_configuration} if rollback_configuration is not None else {})}]},
        {"StackName": STACK})
    stubs.deployed_template(STACK, TEMPLATE)


def stack_event(number: int, logical: str, type_: str, status: str, reason: str = "") -> dict:
    return {"StackId": stack_id(STACK), "EventId": f"e{number}", "StackName": STACK, "LogicalResourceId": logical,
            "ResourceType": type_, "Timestamp": NOW, "ResourceStatus": status,
            **({"ResourceStatusReason": reason} if reason else {})}


UPDATED = [stack_event(1, STACK, "AWS::CloudFormation::Stack", "UPDATE_COMPLETE")]


def expect_update(stubs, rollback_configuration: dict | None, final: str = "UPDATE_COMPLETE",
                  events: list[dict] = UPDATED) -> None:
    """CreateChangeSet, with exactly this RollbackConfiguration (none: the argument is absent), then the
    change set made, executed and settled in `final` with `events` (oldest first)."""
    cf = stubs["cloudformation"]
    expected = {"StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "Description": "builder deploy",
                "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": ANY,
                **({"RollbackConfiguration": rollback_configuration} if rollback_configuration is not None else {})}
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": stack_id(STACK)}, expected)
    cf.add_response("describe_change_set", {
        "ChangeSetId": CHANGE_SET_ID, "StackId": stack_id(STACK), "ChangeSetName": "builder-1",
        "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE",
        **({"RollbackConfiguration": rollback_configuration} if rollback_configuration is not None else {}),
        "Changes": [{"Type": "Resource", "ResourceChange": {
            "Action": "Modify", "LogicalResourceId": "DataBucket", "PhysicalResourceId": f"{STACK}-data",
            "ResourceType": "AWS::S3::Bucket", "Replacement": "False", "Scope": ["Properties"]}}]},
        {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
    expect_findings(cf, CHANGE_SET_ID)
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack_id(STACK)})
    cf.add_response("set_stack_policy", {}, {"StackName": stack_id(STACK), "StackPolicyBody": ANY})
    cf.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    cf.add_response("describe_stacks", {"Stacks": [
        {"StackName": STACK, "StackId": stack_id(STACK), "CreationTime": NOW, "StackStatus": final,
         "Outputs": [{"OutputKey": "TableName", "OutputValue": f"{STACK}-data"}]}]}, {"StackName": stack_id(STACK)})
    cf.add_response("describe_stack_events", {"StackEvents": events[::-1]})


def test_an_update_passes_the_deployed_table_alarms_and_the_monitoring_time(stubs, capsys):
    """Not the bucket-size alarm (a daily metric); in logical-id order; the ARNs from the stack's own ARN."""
    expect_stack(stubs)
    stubs["cloudformation"].add_response("list_stack_resources", {"StackResourceSummaries": DEPLOYED_RESOURCES},
                                         {"StackName": stack_id(STACK)})
    expect_update(stubs, {"RollbackTriggers": THROTTLES_AND_ERRORS, "MonitoringTimeInMinutes": 25})
    code, out, err = run(capsys, "deploy", "--suffix", "stub", *CHANGE, *ON, "--set", "rollback_monitoring_minutes=25")
    assert (code, err) == (0, "")
    assert ("rollback triggers: TableReadThrottleAlarm, TableSystemErrorsAlarm, TableWriteThrottleAlarm: "
            "CloudFormation rolls the update back if one goes to ALARM during it or in the 25 minute(s) after "
            "(deploy waits as long)") in out.splitlines()


def test_an_update_rolled_back_by_its_alarm_fails_with_the_reason_cloudformation_gives(stubs, capsys):
    """No resource fails: the stack's own UPDATE_ROLLBACK_IN_PROGRESS event carries the reason (its text here is
    an example; builder prints CloudFormation's as it comes)."""
    expect_stack(stubs)
    stubs["cloudformation"].add_response("list_stack_resources", {"StackResourceSummaries": DEPLOYED_RESOURCES},
                                         {"StackName": stack_id(STACK)})
    reason = f"Rollback trigger {alarm_arn('table-write-throttles')} is in ALARM state"
    expect_update(stubs, {"RollbackTriggers": THROTTLES_AND_ERRORS, "MonitoringTimeInMinutes": 10},
                  "UPDATE_ROLLBACK_COMPLETE", [
                      stack_event(1, STACK, "AWS::CloudFormation::Stack", "UPDATE_IN_PROGRESS"),
                      stack_event(2, "DataBucket", "AWS::S3::Bucket", "UPDATE_COMPLETE"),
                      stack_event(3, STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_IN_PROGRESS", reason),
                      stack_event(4, "DataBucket", "AWS::S3::Bucket", "UPDATE_COMPLETE"),
                      stack_event(5, STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_COMPLETE")])
    code, _, err = run(capsys, "deploy", "--suffix", "stub", *CHANGE, *ON)
    assert code == 1
    assert err.splitlines() == [f"error: {STACK}: UPDATE_ROLLBACK_COMPLETE: UPDATE_ROLLBACK_IN_PROGRESS: {reason}"]


def test_an_alarm_this_update_adds_is_not_a_trigger_yet(stubs, capsys):
    """A trigger that is missing fails the whole update: only alarms the deployed stack already has."""
    expect_stack(stubs)
    older = [r for r in DEPLOYED_RESOURCES if r["LogicalResourceId"] != "TableSystemErrorsAlarm"]
    stubs["cloudformation"].add_response("list_stack_resources", {"StackResourceSummaries": older},
                                         {"StackName": stack_id(STACK)})
    expect_update(stubs, {"RollbackTriggers": [THROTTLES_AND_ERRORS[0], THROTTLES_AND_ERRORS[2]],
                          "MonitoringTimeInMinutes": 10})
    code, out, err = run(capsys, "deploy", "--suffix", "stub", *CHANGE, *ON)
    assert (code, err) == (0, "")
    assert ("rollback triggers: TableReadThrottleAlarm, TableWriteThrottleAlarm: CloudFormation rolls the update "
            "back if one goes to ALARM during it or in the 10 minute(s) after (deploy waits as long); not deployed "
            "yet, so not watched: TableSystemErrorsAlarm") in out.splitlines()


def test_without_rollback_alarms_the_request_is_unchanged_and_nothing_more_is_read(stubs, capsys):
    """No ListStackResources, no RollbackConfiguration (the Stubber fails on any call not queued)."""
    expect_stack(stubs)
    expect_update(stubs, None)
    code, out, err = run(capsys, "deploy", "--suffix", "stub", *CHANGE, "--set", "rollback_monitoring_minutes=30")
    assert (code, err) == (0, "")
    assert "rollback triggers" not in out


def test_turning_rollback_alarms_off_clears_the_triggers_the_stack_kept(stubs, capsys):
    """CloudFormation applies a stack's triggers to every later update that does not say otherwise."""
    expect_stack(stubs, {"RollbackTriggers": THROTTLES_AND_ERRORS, "MonitoringTimeInMinutes": 10})
    expect_update(stubs, {"RollbackTriggers": [], "MonitoringTimeInMinutes": 0})
    code, out, err = run(capsys, "deploy", "--suffix", "stub", *CHANGE, "--output", "json")
    assert (code, err) == (0, "")
    assert '"event": "rollback_triggers"' in out and '"cleared": true' in out


@pytest.mark.parametrize("stack_arn, expected", [
    (stack_id(STACK), f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:a"),
    ("arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/s/1",
     "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:a"),
    ("arn:aws-us-gov:cloudformation:us-gov-west-1:1:stack/s/1", "arn:aws-us-gov:cloudwatch:us-gov-west-1:1:alarm:a"),
], ids=["aws", "china", "govcloud"])
def test_an_alarm_arn_is_in_the_stack_s_partition_region_and_account(stack_arn, expected):
    assert rollback.alarm_arn(stack_arn, "a") == expected


def test_at_most_five_triggers_in_logical_id_order():
    many = [summary(f"Alarm{index}", "AWS::CloudWatch::Alarm", f"alarm-{index}") for index in range(7)]
    stack = builder.synth.stacks_for(config("rollback_alarms=true", suffix="stub"))[-1]
    stack = dataclasses.replace(stack, rollback_alarms=tuple((f"Alarm{index}", "AWS::CloudWatch::Alarm")
                                                             for index in (6, 5, 4, 3, 2, 1, 0)))
    deployed = DeployedStack(STACK, stack_id(STACK), "UPDATE_COMPLETE")
    found = rollback.for_update(lambda operation, **kwargs: {"StackResourceSummaries": many}, stack, deployed)
    assert found is not None
    assert [logical for logical, _, _ in found.alarms] == ["Alarm0", "Alarm1", "Alarm2", "Alarm3", "Alarm4"]
    assert found.over_limit == ("Alarm5", "Alarm6")
    assert len(found.argument()["RollbackConfiguration"]["RollbackTriggers"]) == rollback.MAX_TRIGGERS


def test_a_change_of_the_tags_alone_clears_the_old_triggers_too(stubs, capsys):
    """The tags go through UpdateStack (builder.stack.tags), which would also reuse the stack's old triggers."""
    expect_stack(stubs, {"RollbackTriggers": THROTTLES_AND_ERRORS[:1], "MonitoringTimeInMinutes": 0})
    cf = stubs["cloudformation"]
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": stack_id(STACK)})
    cf.add_response("describe_change_set", {"Status": "FAILED", "ChangeSetId": CHANGE_SET_ID,
                                            "StackId": stack_id(STACK), "StatusReason": NO_CHANGES_REASON})
    cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack_id(STACK)})
    cf.add_response("update_stack", {"StackId": stack_id(STACK)}, {
        "StackName": stack_id(STACK), "UsePreviousTemplate": True, "Parameters": ANY, "Tags": ANY,
        "Capabilities": ANY, "RollbackConfiguration": {"RollbackTriggers": [], "MonitoringTimeInMinutes": 0}})
    tags = config("ttl=3d", suffix="stub").stack_tags
    cf.add_response("describe_stacks", {"Stacks": [
        {"StackName": STACK, "StackId": stack_id(STACK), "CreationTime": NOW, "StackStatus": "UPDATE_COMPLETE",
         "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
         "Outputs": [{"OutputKey": "TableName", "OutputValue": f"{STACK}-data"}]}]}, {"StackName": stack_id(STACK)})
    cf.add_response("describe_stack_events", {"StackEvents": UPDATED})
    code, out, err = run(capsys, "deploy", "--suffix", "stub", "--set", "ttl=3d")
    assert (code, err) == (0, "")
    assert ("rollback triggers: rollback_alarms is off; clearing the 1 rollback trigger(s) and 0 monitoring "
            "minute(s) the stack kept from an earlier update") in out.splitlines()
