"""When deploy may skip the change set (builder/stack/unchanged.py), and what deploy does then.

The comparisons are pure functions over DescribeStacks / GetTemplate answers shaped like AWS's. The
deploy-level cases use botocore's Stubber for what LocalStack cannot produce: a stack settled in
UPDATE_ROLLBACK_COMPLETE, a stack with notification ARNs, and a change set that changes only the stack
tags (AWS: CREATE_COMPLETE with zero resource changes, which updates the stack when executed;
LocalStack answers FAILED "didn't contain changes" instead). The emulator cases are in
tests/ops/test_deploy_emulator.py.
"""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import pytest
from botocore.stub import ANY

from builder.cli.views import views
from builder.environment import EnvironmentConfig
from builder.errors import OperationError
from builder.ops.deploy import DeployOptions, DeployResult, deploy_stack
from builder.ops.pool import Outcome
from builder.report import Reporter
from builder.stack.deployed import DeployedStack
from builder.stack.unchanged import (
    Difference,
    Differs,
    described_difference,
    kept_role,
    template_difference,
    wanted_termination_protection,
)
from builder.synth import stacks_for
from tests.factories import (
    NO_CHANGES_REASON,
    NOW,
    FakeClock,
    expect_findings,
    expect_get_template,
    expect_set_stack_policy,
    stubbed_watcher,
)

STACK = stacks_for(EnvironmentConfig(suffix="skip"))[0]
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/app-skip/1"
CHANGE_SET_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/builder-1/1"
SSM_TYPE = "AWS::SSM::Parameter::Value<String>"
ROLE_A = "arn:aws:iam::123456789012:role/deploy-a"
ROLE_B = "arn:aws:iam::123456789012:role/deploy-b"


def with_role(role: str | None):
    """STACK as deploy would send it with cloudformation_role_arn = role."""
    return stacks_for(EnvironmentConfig(suffix="skip", cloudformation_role_arn=role))[0]


def deployed(status: str = "UPDATE_COMPLETE", **extra) -> dict:
    """A DescribeStacks record of the stack exactly as builder would deploy it (AWS's field names)."""
    return {"StackName": STACK.name, "StackId": STACK_ID, "CreationTime": NOW, "StackStatus": status,
            "Description": json.loads(STACK.template_body)["Description"],
            "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in STACK.parameters.items()],
            "Tags": [{"Key": k, "Value": v} for k, v in reversed(STACK.tags.items())],
            "NotificationARNs": [], "EnableTerminationProtection": False, "DisableRollback": False,
            "Capabilities": list(STACK.capabilities),
            "Outputs": [{"OutputKey": "TableName", "OutputValue": "app-skip-data"}], **extra}


def difference(stack, record: dict) -> Difference | None:
    """described_difference of a DescribeStacks record as boto3 returns it."""
    return described_difference(stack, DeployedStack.from_api(record))


def with_parameter(stack, key: str, declaration: dict, value: str):
    template = json.loads(stack.template_body)
    template["Parameters"][key] = declaration
    return dataclasses.replace(stack, template_body=json.dumps(template, indent=2, sort_keys=True),
                               parameters={**stack.parameters, key: value})


# ---------------------------------------------------------------------- the comparisons

def test_a_stack_exactly_as_deploy_would_send_it_needs_no_change_set():
    assert difference(STACK, deployed()) is None
    assert template_difference(STACK.template_body, json.loads(STACK.template_body)) is None


@pytest.mark.parametrize("status", ["CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"])
def test_settled_success_states_can_skip(status):
    assert difference(STACK, deployed(status)) is None


@pytest.mark.parametrize("status", ["UPDATE_ROLLBACK_COMPLETE", "ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE",
                                    "UPDATE_FAILED", "CREATE_FAILED", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED",
                                    "REVIEW_IN_PROGRESS", "UPDATE_IN_PROGRESS"])
def test_any_other_state_makes_a_change_set(status):
    assert difference(STACK, deployed(status)) == Difference(Differs.NOT_SETTLED, detail=status)


def changed_parameter(record):
    record["Parameters"][0]["ParameterValue"] += "0"


def missing_parameter(record):
    record["Parameters"].pop()


def extra_parameter(record):
    record["Parameters"].append({"ParameterKey": "Old", "ParameterValue": "x"})


def changed_tag(record):
    record["Tags"][0]["Value"] = "other"


def extra_tag(record):
    record["Tags"].append({"Key": "Team", "Value": "data"})


def no_tags(record):
    del record["Tags"]


@pytest.mark.parametrize("edit, why", [
    (changed_parameter, Differs.PARAMETER_VALUES),
    (missing_parameter, Differs.PARAMETER_VALUES),
    (extra_parameter, Differs.PARAMETER_VALUES),
    (changed_tag, Differs.TAGS),
    (extra_tag, Differs.TAGS),
    (no_tags, Differs.TAGS),
    (lambda r: r.update(EnableTerminationProtection=True), Differs.TERMINATION_PROTECTION),
    (lambda r: r.update(NotificationARNs=["arn:aws:sns:us-east-1:123456789012:ops"]), Differs.NOTIFICATION_ARNS),
], ids=["parameter", "parameter-missing", "parameter-extra", "tag", "tag-extra", "tags-none", "protection",
        "notification-arns"])
def test_every_difference_in_describe_stacks_makes_a_change_set(edit, why):
    record = deployed()
    edit(record)
    assert difference(STACK, record) == Difference(why)


def test_termination_protection_is_compared_with_the_wanted_value():
    wanted = dataclasses.replace(STACK, config=dataclasses.replace(STACK.config))
    object.__setattr__(wanted.config, "termination_protection", True)  # the setting another change adds
    assert wanted_termination_protection(STACK) is False and wanted_termination_protection(wanted) is True
    assert difference(wanted, deployed()) == Difference(Differs.TERMINATION_PROTECTION)
    assert difference(wanted, deployed(EnableTerminationProtection=True)) is None


def test_an_ssm_typed_parameter_never_skips_even_with_equal_values():
    stack = with_parameter(STACK, "ImageId", {"Type": SSM_TYPE, "Default": "/builder/image"}, "/builder/image")
    record = deployed(Parameters=[*deployed()["Parameters"], {"ParameterKey": "ImageId",
                                                              "ParameterValue": "/builder/image",
                                                              "ResolvedValue": "ami-123"}])
    assert difference(stack, record) == Difference(Differs.RESOLVED_PARAMETER, "ImageId", SSM_TYPE)


def test_a_no_echo_parameter_never_skips():
    stack = with_parameter(STACK, "Secret", {"Type": "String", "NoEcho": True}, "****")
    record = deployed(Parameters=[*deployed()["Parameters"], {"ParameterKey": "Secret", "ParameterValue": "****"}])
    assert difference(stack, record) == Difference(Differs.NO_ECHO_PARAMETER, "Secret")


@pytest.mark.parametrize("deployed_role, wanted_role", [(None, ROLE_A), (ROLE_A, ROLE_B), (ROLE_A, None)],
                         ids=["none-then-a", "a-then-b", "a-then-none"])
def test_a_different_service_role_is_never_no_changes(deployed_role, wanted_role):
    record = deployed(**({"RoleARN": deployed_role} if deployed_role else {}))
    assert difference(with_role(wanted_role), record) == Difference(Differs.ROLE)


@pytest.mark.parametrize("role", [None, ROLE_A])
def test_the_same_service_role_can_skip(role):
    assert difference(with_role(role), deployed(**({"RoleARN": role} if role else {}))) is None


def test_a_role_the_config_no_longer_names_stays_and_deploy_says_so():
    with_a = DeployedStack.from_api(deployed(RoleARN=ROLE_A))
    assert kept_role(with_role(None), with_a) == ROLE_A  # deploy says so (below: the words, through deploy)
    assert kept_role(with_role(ROLE_B), with_a) is None  # B replaces A: nothing to explain
    assert kept_role(with_role(None), DeployedStack.from_api(deployed())) is None


TYPED = {"int": 1, "float": 1.0, "true": True, "string": "1", "string-true": "true", "null": None, "zero": 0,
         "false": False, "list": [1], "object": {"a": 1}}


@pytest.mark.parametrize("ours, theirs", [(a, b) for a in TYPED for b in TYPED if a != b])
def test_templates_compare_as_json_with_types(ours, theirs):
    """`1`, `1.0`, `true` and `"1"` are four different templates, though Python holds 1 == 1.0 == True."""
    def body(value):
        return json.dumps({"Resources": {}, "Metadata": {"Value": value}})

    deployed_template = json.loads(body(TYPED[theirs]))  # as boto3 decodes GetTemplate's JSON body
    assert template_difference(body(TYPED[ours]), deployed_template) == Difference(Differs.TEMPLATE)
    assert template_difference(body(TYPED[theirs]), deployed_template) is None


def test_templates_compare_as_data_when_boto3_decodes_them_and_as_text_otherwise():
    ours = json.loads(STACK.template_body)
    reordered = dict(reversed(list(ours.items())))
    assert template_difference(STACK.template_body, reordered) is None  # key order and spaces do not count
    changed = {**ours, "Description": ours["Description"] + "!"}
    assert template_difference(STACK.template_body, changed) == Difference(Differs.TEMPLATE)
    yaml_body = "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\n"
    assert template_difference(yaml_body, yaml_body) is None
    assert template_difference(yaml_body, yaml_body.replace("Topic:", "Topic2:", 1)) == Difference(Differs.TEMPLATE)
    assert template_difference(yaml_body, {"Resources": {}}) == Difference(Differs.TEMPLATE_FORMAT)


# ---------------------------------------------------------------------- deploy, stubbed

@pytest.fixture
def run(cf, tmp_path):
    def factory(name, region, reporter):
        return stubbed_watcher(cf.client, name, reporter, FakeClock(), region)

    def go(stack=STACK, **options):
        out = io.StringIO()
        reporter = Reporter(out, tty=False, views=views())
        outcome = deploy_stack(stack, DeployOptions(out_dir=str(tmp_path), **options), reporter,
                               watcher_factory=factory)
        return outcome, out.getvalue()

    return go


def expect_template(cf, body: str = STACK.template_body) -> None:
    expect_get_template(cf, STACK_ID, body)


def expect_change_set(cf, reply: dict) -> None:
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, {
        "StackName": STACK.name, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "Description": "builder deploy",
        "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": STACK.template_body})
    cf.add_response("describe_change_set", {"ChangeSetId": CHANGE_SET_ID, "StackId": STACK_ID, **reply},
                    {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
    if reply["Status"] != "FAILED":
        expect_findings(cf, CHANGE_SET_ID)


def expect_update_executed(cf) -> None:
    """An update's execution from an available change set: the latest event before it, the stack policy
    set, ExecuteChangeSet, then the stack settled in UPDATE_COMPLETE with its one event of the update."""
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    expect_set_stack_policy(cf, STACK_ID, STACK.policy_body)
    cf.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    cf.add_response("describe_stacks", {"Stacks": [deployed()]}, {"StackName": STACK_ID})
    cf.add_response("describe_stack_events", {"StackEvents": [
        {"StackId": STACK_ID, "EventId": "e1", "StackName": STACK.name, "LogicalResourceId": STACK.name,
         "ResourceType": "AWS::CloudFormation::Stack", "Timestamp": NOW, "ResourceStatus": "UPDATE_COMPLETE"}]},
        {"StackName": STACK_ID})


def expect_no_changes(cf) -> None:
    expect_change_set(cf, {"Status": "FAILED", "StatusReason": NO_CHANGES_REASON})
    cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})


def test_an_unchanged_stack_costs_two_calls_and_still_writes_the_outputs(cf, run, tmp_path):
    cf.add_response("describe_stacks", {"Stacks": [deployed()]}, {"StackName": STACK.name})
    expect_template(cf)
    outcome, text = run()
    assert isinstance(outcome, Outcome) and outcome.result is DeployResult.NO_CHANGES
    assert text == "no changes: the stack already has this template, these parameters and tags\n"
    written = json.loads((Path(tmp_path) / f"{STACK.name}.outputs.json").read_text())
    assert written == outcome.outputs == {"TableName": "app-skip-data"}


def test_force_makes_the_change_set_after_reading_the_template_for_the_data_guard(cf, run):
    cf.add_response("describe_stacks", {"Stacks": [deployed()]}, {"StackName": STACK.name})
    expect_template(cf)
    expect_no_changes(cf)
    outcome, text = run(force=True)
    assert outcome.result is DeployResult.NO_CHANGES and "the empty change set was deleted" in text


@pytest.mark.parametrize("record", [deployed("UPDATE_ROLLBACK_COMPLETE"),
                                    deployed(NotificationARNs=["arn:aws:sns:us-east-1:123456789012:ops"])],
                         ids=["update-rollback-complete", "notification-arns"])
def test_what_describe_stacks_shows_makes_the_change_set_reading_the_template_once(cf, run, record):
    cf.add_response("describe_stacks", {"Stacks": [record]}, {"StackName": STACK.name})
    expect_template(cf)  # for the data guard; the skip uses the same answer
    expect_no_changes(cf)
    outcome, _ = run()
    assert outcome.result is DeployResult.NO_CHANGES


def test_an_ssm_typed_parameter_makes_the_change_set(cf, run):
    stack = with_parameter(STACK, "Release", {"Type": SSM_TYPE}, "/builder/release")
    record = deployed(Parameters=[*deployed()["Parameters"], {"ParameterKey": "Release",
                                                              "ParameterValue": "/builder/release",
                                                              "ResolvedValue": "7"}])
    cf.add_response("describe_stacks", {"Stacks": [record]}, {"StackName": STACK.name})
    expect_template(cf)
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, {
        "StackName": STACK.name, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "Description": "builder deploy",
        "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": stack.template_body})
    cf.add_response("describe_change_set", {"ChangeSetId": CHANGE_SET_ID, "StackId": STACK_ID, "Status": "FAILED",
                                            "StatusReason": "No updates are to be performed."},
                    {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
    cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    assert run(stack)[0].result is DeployResult.NO_CHANGES


def test_a_different_deployed_template_makes_the_change_set(cf, run):
    cf.add_response("describe_stacks", {"Stacks": [deployed()]}, {"StackName": STACK.name})
    expect_template(cf, STACK.template_body.replace('"Description": "', '"Description": "old ', 1))
    expect_no_changes(cf)
    assert run()[0].result is DeployResult.NO_CHANGES


def test_a_stack_of_an_earlier_builder_gets_the_managed_by_tag_on_its_next_deploy(cf, run):
    """Every tag but builder:managed-by: a difference, not a no-op (the template is read for the data
    guard), and the change set carries the tag. AWS makes a tags-only change set (zero resource
    changes) and executing it tags the stack; LocalStack refuses tags-only change sets (STYLE.md trap
    9), hence the Stubber."""
    earlier = [{"Key": k, "Value": v} for k, v in STACK.tags.items() if k != "builder:managed-by"]
    cf.add_response("describe_stacks", {"Stacks": [deployed(Tags=earlier)]}, {"StackName": STACK.name})
    expect_template(cf)
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, {
        "StackName": STACK.name, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "Description": "builder deploy",
        "Parameters": ANY, "Capabilities": ANY, "TemplateBody": STACK.template_body,
        "Tags": [*sorted(earlier + [{"Key": "builder:managed-by", "Value": "builder"}], key=lambda t: t["Key"])]})
    cf.add_response("describe_change_set", {"ChangeSetId": CHANGE_SET_ID, "StackId": STACK_ID,
                                            "Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE",
                                            "Changes": []},
                    {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
    expect_findings(cf, CHANGE_SET_ID)
    expect_update_executed(cf)
    outcome, text = run()
    assert outcome.result is DeployResult.UPDATED
    assert "an earlier builder made this stack: this deploy adopts it, adding the builder:managed-by tag" in text


@pytest.mark.parametrize("deployed_role, wanted_role", [(None, ROLE_A), (ROLE_A, ROLE_B), (ROLE_A, None)],
                         ids=["none-then-a", "a-then-b", "a-then-none"])
def test_a_role_change_makes_the_change_set_with_the_wanted_role(cf, run, deployed_role, wanted_role):
    """DescribeStacks' RoleARN already differs (AWS's DescribeStacks returns RoleARN), so the change set is made
    whatever the template; GetTemplate is read for the data guard."""
    stack = with_role(wanted_role)
    cf.add_response("describe_stacks", {"Stacks": [deployed(**({"RoleARN": deployed_role} if deployed_role else {}))]},
                    {"StackName": STACK.name})
    expect_template(cf)
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, {
        "StackName": STACK.name, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "Description": "builder deploy",
        "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": stack.template_body,
        **({"RoleARN": wanted_role} if wanted_role else {})})
    cf.add_response("describe_change_set", {"ChangeSetId": CHANGE_SET_ID, "StackId": STACK_ID, "Status": "FAILED",
                                            "StatusReason": NO_CHANGES_REASON},
                    {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
    cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    outcome, text = run(stack)
    assert outcome.result is DeployResult.NO_CHANGES and "the stack already has" not in text
    assert (f"the stack keeps its service role {ROLE_A}" in text) == (wanted_role is None)


def test_a_change_set_with_no_resource_changes_is_executed(cf, run):
    """A tags-only update: AWS answers CREATE_COMPLETE with zero Changes, and executing it updates the tags."""
    cf.add_response("describe_stacks", {"Stacks": [deployed(Tags=[{"Key": "Environment", "Value": "skip"}])]},
                    {"StackName": STACK.name})
    expect_template(cf)
    expect_change_set(cf, {"Status": "CREATE_COMPLETE", "ExecutionStatus": "AVAILABLE", "Changes": []})
    expect_update_executed(cf)
    outcome, text = run()
    assert outcome.result is DeployResult.UPDATED and outcome.changes == 0
    assert "0 change(s) planned (UPDATE):" in text and "UPDATE_COMPLETE" in text


# ---------------------------------------------------------------------- the rollback triggers alone
# Stubber, because the emulator keeps no RollbackConfiguration (DescribeStacks shows none after an update that
# sets it): a stack that keeps its triggers, and AWS's UpdateStack of the triggers alone, exist only on AWS.

GUARDED = stacks_for(EnvironmentConfig(suffix="skip", rollback_alarms=True, rollback_monitoring_minutes=5))[0]
ALARMS = {"TableReadThrottleAlarm": "app-skip-table-read-throttles",
          "TableSystemErrorsAlarm": "app-skip-table-system-errors",
          "TableWriteThrottleAlarm": "app-skip-table-write-throttles"}
TRIGGERS = [{"Arn": f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}", "Type": "AWS::CloudWatch::Alarm"}
            for name in ALARMS.values()]


def expect_alarms(cf) -> None:
    """ListStackResources of the deployed stack: its three table alarms (AWS's StackResourceSummary shape)."""
    cf.add_response("list_stack_resources", {"StackResourceSummaries": [
        {"LogicalResourceId": logical, "PhysicalResourceId": name, "ResourceType": "AWS::CloudWatch::Alarm",
         "LastUpdatedTimestamp": NOW, "ResourceStatus": "CREATE_COMPLETE"} for logical, name in ALARMS.items()]},
        {"StackName": STACK_ID})


def expect_rollback_update(cf, configuration: dict, kept: dict | None) -> None:
    """UpdateStack with the previous template and exactly this RollbackConfiguration, then the stack settled
    in UPDATE_COMPLETE keeping `kept` (AWS echoes what it keeps; None: an endpoint that keeps nothing)."""
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cf.add_response("update_stack", {"StackId": STACK_ID}, {
        "StackName": STACK_ID, "UsePreviousTemplate": True, "Parameters": ANY, "Tags": ANY, "Capabilities": ANY,
        "RollbackConfiguration": configuration})
    record = deployed(**({"RollbackConfiguration": kept} if kept is not None else {}))
    cf.add_response("describe_stacks", {"Stacks": [record]}, {"StackName": STACK_ID})
    cf.add_response("describe_stack_events", {"StackEvents": [
        {"StackId": STACK_ID, "EventId": "e1", "StackName": STACK.name, "LogicalResourceId": STACK.name,
         "ResourceType": "AWS::CloudFormation::Stack", "Timestamp": NOW, "ResourceStatus": "UPDATE_COMPLETE"}]},
        {"StackName": STACK_ID})


def test_a_stack_that_keeps_the_wanted_triggers_is_unchanged_for_one_more_read(cf, run):
    """The order AWS lists them in does not count; ListStackResources is the one read the comparison adds."""
    kept = {"RollbackTriggers": TRIGGERS[::-1], "MonitoringTimeInMinutes": 5}
    cf.add_response("describe_stacks", {"Stacks": [deployed(RollbackConfiguration=kept)]}, {"StackName": STACK.name})
    expect_template(cf)
    expect_alarms(cf)
    outcome, text = run(GUARDED)
    assert outcome.result is DeployResult.NO_CHANGES
    assert text == "no changes: the stack already has this template, these parameters and tags\n"


@pytest.mark.parametrize("kept, wanted_minutes", [
    (None, 5),  # rollback_alarms turned on for a stack that has none
    ({"RollbackTriggers": TRIGGERS, "MonitoringTimeInMinutes": 10}, 5),  # only the monitoring time changes
    ({"RollbackTriggers": TRIGGERS[:1], "MonitoringTimeInMinutes": 5}, 5),  # stale triggers
], ids=["none-kept", "monitoring-time", "stale-triggers"])
def test_a_change_of_the_rollback_triggers_alone_is_applied_with_the_deployed_template(cf, run, kept, wanted_minutes):
    record = deployed(**({"RollbackConfiguration": kept} if kept else {}))
    cf.add_response("describe_stacks", {"Stacks": [record]}, {"StackName": STACK.name})
    expect_template(cf)
    expect_alarms(cf)
    wanted = {"RollbackTriggers": TRIGGERS, "MonitoringTimeInMinutes": wanted_minutes}
    expect_rollback_update(cf, wanted, wanted)
    outcome, text = run(GUARDED)
    assert outcome.result is DeployResult.UPDATED and outcome.changes == 0
    assert "only the rollback triggers change: updating them with the deployed template" in text.splitlines()
    assert "this endpoint keeps no rollback triggers" not in text


def test_turning_rollback_alarms_off_clears_kept_triggers_of_an_otherwise_unchanged_stack(cf, run):
    kept = {"RollbackTriggers": TRIGGERS, "MonitoringTimeInMinutes": 10}
    cf.add_response("describe_stacks", {"Stacks": [deployed(RollbackConfiguration=kept)]}, {"StackName": STACK.name})
    expect_template(cf)  # no ListStackResources: with rollback_alarms off nothing is read
    cleared = {"RollbackTriggers": [], "MonitoringTimeInMinutes": 0}
    expect_rollback_update(cf, cleared, cleared)
    outcome, text = run(STACK)
    assert outcome.result is DeployResult.UPDATED
    assert ("rollback triggers: rollback_alarms is off; clearing the 3 rollback trigger(s) and 10 monitoring "
            "minute(s) the stack kept from an earlier update") in text.splitlines()


@pytest.mark.parametrize("answer", ["No updates are to be performed.",
                                    "Specify exactly one of 'TemplateBody' or 'TemplateUrl'"],
                         ids=["nothing-to-update", "no-previous-template"])
def test_an_endpoint_that_keeps_no_triggers_is_said_once_and_the_stack_is_unchanged(cf, run, answer):
    """An endpoint that keeps no triggers refuses the update of them alone (LocalStack 2026.3 refuses
    UsePreviousTemplate with the second answer): exit 0, the gap in one line, and the next deploy the same,
    never a loop of updates."""
    cf.add_response("describe_stacks", {"Stacks": [deployed()]}, {"StackName": STACK.name})
    expect_template(cf)
    expect_alarms(cf)
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cf.add_client_error("update_stack", "ValidationError", answer, 400)
    outcome, text = run(GUARDED)
    assert outcome.result is DeployResult.NO_CHANGES
    assert text.splitlines()[-1] == ("this endpoint keeps no rollback triggers (DescribeStacks shows no "
                                     "RollbackConfiguration), so deploy cannot set them there; AWS keeps and applies "
                                     "them")


def test_an_endpoint_that_accepts_the_update_but_keeps_nothing_says_so(cf, run):
    cf.add_response("describe_stacks", {"Stacks": [deployed()]}, {"StackName": STACK.name})
    expect_template(cf)
    expect_alarms(cf)
    expect_rollback_update(cf, {"RollbackTriggers": TRIGGERS, "MonitoringTimeInMinutes": 5}, None)
    outcome, text = run(GUARDED)
    assert outcome.result is DeployResult.UPDATED
    assert "this endpoint keeps no rollback triggers" in text


def test_force_with_an_empty_change_set_still_applies_the_triggers(cf, run):
    """--force makes the change set; it comes back empty (the triggers alone are no change to CloudFormation),
    so the triggers go the UpdateStack way too."""
    cf.add_response("describe_stacks", {"Stacks": [deployed()]}, {"StackName": STACK.name})
    expect_template(cf)
    expect_alarms(cf)
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, {
        "StackName": STACK.name, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "Description": "builder deploy",
        "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": STACK.template_body,
        "RollbackConfiguration": {"RollbackTriggers": TRIGGERS, "MonitoringTimeInMinutes": 5}})
    cf.add_response("describe_change_set", {"ChangeSetId": CHANGE_SET_ID, "StackId": STACK_ID, "Status": "FAILED",
                                            "StatusReason": NO_CHANGES_REASON},
                    {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
    cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    wanted = {"RollbackTriggers": TRIGGERS, "MonitoringTimeInMinutes": 5}
    expect_rollback_update(cf, wanted, wanted)
    outcome, _ = run(GUARDED, force=True)
    assert outcome.result is DeployResult.UPDATED


def test_any_other_refusal_of_the_update_of_the_triggers_fails(cf, run):
    cf.add_response("describe_stacks", {"Stacks": [deployed()]}, {"StackName": STACK.name})
    expect_template(cf)
    expect_alarms(cf)
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cf.add_client_error("update_stack", "ValidationError", "Rollback trigger arn:aws:cloudwatch:x does not exist", 400)
    with pytest.raises(OperationError, match="does not exist"):
        run(GUARDED)
