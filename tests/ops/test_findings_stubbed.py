"""CloudFormation's validation findings and drift-aware change sets (deploy/diff --revert-drift), with
botocore's Stubber: LocalStack 2026.3 does not implement DescribeEvents (501; tests/ops/
test_findings_emulator.py pins it) and makes no drift-aware change sets. Every reply is validated
against the installed botocore's model (OperationEvent, ResourceChange with ResourceDriftStatus and
Target.Drift), shaped like the CloudFormation API reference's.
"""

from __future__ import annotations

import io
import json

import botocore.exceptions
import botocore.stub
import pytest
from botocore.stub import ANY

import builder.synth
from builder.cli.views import views
from builder.cli.views.deploy import reverted_text
from builder.cli.views.review import markdown
from builder.ops.review import StackReview
from builder.report import Reporter
from builder.stack import validation
from builder.stack.changeset import Change
from tests.factories import (
    CHANGE_SET_ID,
    NO_CHANGES_REASON,
    NOW,
    OPERATION_ID,
    config,
    expect_findings,
    stack_id,
    validation_event,
)
from tests.factories import run_cli as run

STACK = "app-stub"
TEMPLATE = builder.synth.stacks_for(config(suffix="stub"))[-1].template_body
PROTECTIVE_POLICY = builder.synth.stacks_for(config(suffix="stub"))[-1].policy_body
NAME_CONFLICT = validation_event("ResourceNameConflict", "DataTable", "AWS::DynamoDB::Table",
                                 "Resource with name app-stub-data already exists", path="/Resources/DataTable/"
                                 "Properties/TableName")
BUCKET_NOT_EMPTY = validation_event("S3BucketEmptinessValidation", "OldBucket", "AWS::S3::Bucket",
                                    "Bucket app-stub-old is not empty; its deletion would fail", mode="WARN")


def table_change(**extra) -> dict:
    return {"Type": "Resource", "ResourceChange": {
        "Action": "Modify", "LogicalResourceId": "DataTable", "PhysicalResourceId": "app-stub-data",
        "ResourceType": "AWS::DynamoDB::Table", "Replacement": "False", "Scope": ["Properties"], **extra}}


def drifted_table_change() -> dict:
    """A drift-aware change set's word on a table whose read capacity was raised by hand to 50 (the last
    deployment and the template say 5): DescribeChangeSet with IncludePropertyValues, DeploymentMode=REVERT_DRIFT."""
    return table_change(ResourceDriftStatus="MODIFIED", Details=[{
        "Target": {"Attribute": "Properties", "Name": "ProvisionedThroughput", "RequiresRecreation": "Never",
                   "Path": "/Properties/ProvisionedThroughput/ReadCapacityUnits", "BeforeValue": "50",
                   "AfterValue": "5", "BeforeValueFrom": "ACTUAL_STATE", "AfterValueFrom": "TEMPLATE",
                   "AttributeChangeType": "Modify",
                   "Drift": {"PreviousValue": "5", "ActualValue": "50", "DriftDetectionTimestamp": NOW}},
        "Evaluation": "Static", "ChangeSource": "DirectModification"}])


def expect_change_set(stubs, reply: dict, revert_drift: bool = False, markdown: bool = False) -> None:
    """The deployed stack and template (and, for the markdown block, its stack policy: the protective one deploy
    sets), then CreateChangeSet (DeploymentMode only for --revert-drift)."""
    stubs.stack(STACK)
    stubs.deployed_template(STACK, TEMPLATE)
    cf = stubs["cloudformation"]
    if markdown:
        cf.add_response("get_stack_policy", {"StackPolicyBody": PROTECTIVE_POLICY}, {"StackName": stack_id(STACK)})
    expected = {"StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "Description": "builder deploy",
                "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": ANY,
                **({"DeploymentMode": "REVERT_DRIFT"} if revert_drift else {})}
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": stack_id(STACK)}, expected)
    cf.add_response("describe_change_set", {"ChangeSetId": CHANGE_SET_ID, "StackId": stack_id(STACK),
                                            "ChangeSetName": "builder-1", **reply},
                    {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})


def event(number: int, logical: str, status: str, type_: str = "AWS::DynamoDB::Table", reason: str = "") -> dict:
    return {"StackId": stack_id(STACK), "EventId": f"e{number}", "StackName": STACK, "LogicalResourceId": logical,
            "ResourceType": type_, "Timestamp": NOW, "ResourceStatus": status, "OperationId": OPERATION_ID,
            **({"ResourceStatusReason": reason} if reason else {})}


def expect_execution(stubs, final: str, events: list[dict]) -> None:
    cf = stubs["cloudformation"]
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack_id(STACK)})
    cf.add_response("set_stack_policy", {}, {"StackName": stack_id(STACK), "StackPolicyBody": ANY})  # an update's
    cf.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    cf.add_response("describe_stacks", {"Stacks": [
        {"StackName": STACK, "StackId": stack_id(STACK), "CreationTime": NOW, "StackStatus": final,
         "Outputs": [{"OutputKey": "TableName", "OutputValue": f"{STACK}-data"}]}]}, {"StackName": stack_id(STACK)})
    cf.add_response("describe_stack_events", {"StackEvents": events[::-1]})


# ---------------------------------------------------------------------- validation findings

def test_a_change_set_failed_by_validation_prints_each_finding_and_keeps_it(stubs, capsys):
    expect_change_set(stubs, {"Status": "FAILED", "StatusReason": "The following hook(s)/validation failed: "
                                                                  "[AWS::EarlyValidation::ResourceExistenceCheck]"})
    expect_findings(stubs["cloudformation"], CHANGE_SET_ID, [NAME_CONFLICT])  # no DeleteChangeSet: it is kept
    code, out, err = run(capsys, "deploy", "--suffix", "stub")
    assert code == 1
    assert out.splitlines() == [
        ("validation: FAIL ResourceNameConflict FAILED: DataTable (AWS::DynamoDB::Table) at "
        "/Resources/DataTable/Properties/TableName: Resource with name app-stub-data already exists")]
    assert err.splitlines() == [
        ("error: app-stub: the change set failed: The following hook(s)/validation failed: "
        "[AWS::EarlyValidation::ResourceExistenceCheck] (kept for inspection: builder-1); 1 validation finding(s) "
        "listed above")]


def test_json_carries_each_finding_as_data(stubs, capsys):
    expect_change_set(stubs, {"Status": "FAILED", "StatusReason": "validation failed"})
    expect_findings(stubs["cloudformation"], CHANGE_SET_ID, [NAME_CONFLICT, BUCKET_NOT_EMPTY])
    code, out, _ = run(capsys, "deploy", "--suffix", "stub", "--output", "json")
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    found = next(r for r in records if r["event"] == "validation")
    assert found["stack"] == STACK
    assert [(f["validation"], f["mode"], f["resource"], f["reason"]) for f in found["findings"]] == [
        ("ResourceNameConflict", "FAIL", "DataTable", "Resource with name app-stub-data already exists"),
        ("S3BucketEmptinessValidation", "WARN", "OldBucket", ("Bucket app-stub-old is not empty; its deletion would "
                                                              "fail"))]


def test_warn_findings_of_a_change_set_that_was_made_are_shown_and_the_diff_goes_on(stubs, capsys):
    expect_change_set(stubs, {"Status": "CREATE_COMPLETE", "Changes": [table_change()]}, markdown=True)
    expect_findings(stubs["cloudformation"], CHANGE_SET_ID, [BUCKET_NOT_EMPTY])
    stubs["cloudformation"].add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    code, out, err = run(capsys, "diff", "--suffix", "stub", "--output", "markdown")
    assert (code, err.splitlines()[0]) == (0, ("validation: WARN S3BucketEmptinessValidation FAILED: OldBucket "
                                              "(AWS::S3::Bucket) at /Resources/OldBucket: Bucket app-stub-old is not "
                                              "empty; its deletion would fail"))
    assert ("| S3BucketEmptinessValidation | FAILED (WARN) | OldBucket (AWS::S3::Bucket) | Bucket app-stub-old is "
            "not empty; its deletion would fail |") in out.splitlines()


@pytest.mark.parametrize("answer, said", [
    ({"StackPolicyBody": PROTECTIVE_POLICY}, ("Stack policy: protected: CloudFormation refuses to replace or "
                                              "delete what holds data, whoever deploys.")),
    ({}, ("Stack policy: not protected (none, or one that leaves some of what holds data out); deploy sets it "
          "before the update runs.")),  # GetStackPolicy of a stack without a policy: no StackPolicyBody
    (None, "Stack policy: not known: this endpoint does not implement GetStackPolicy."),  # LocalStack's 501
], ids=["protected", "none", "not-implemented"])
def test_the_markdown_block_says_whether_the_stack_policy_protects_the_stack(answer, said, stubs, capsys):
    """One GetStackPolicy per deployed stack, for the markdown block only (the text diff makes no such call)."""
    stubs.stack(STACK)
    stubs.deployed_template(STACK, TEMPLATE)
    cf = stubs["cloudformation"]
    if answer is None:
        cf.add_client_error("get_stack_policy", "InternalFailure", "The API for service cloudformation is either not "
                            "included in your current license plan or has not yet been emulated by LocalStack.", 501,
                            expected_params={"StackName": stack_id(STACK)})
    else:
        cf.add_response("get_stack_policy", answer, {"StackName": stack_id(STACK)})
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": stack_id(STACK)})
    cf.add_response("describe_change_set", {"Status": "FAILED", "ChangeSetId": CHANGE_SET_ID,
                                            "StackId": stack_id(STACK), "StatusReason": NO_CHANGES_REASON})
    cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    code, out, _ = run(capsys, "diff", "--suffix", "stub", "--output", "markdown")
    assert code == 0
    assert out.splitlines()[2:5] == ["### `app-stub` (us-east-1): no changes", "", said]


def test_a_failed_change_set_of_diff_keeps_its_findings_in_the_markdown_block(stubs, capsys):
    expect_change_set(stubs, {"Status": "FAILED", "StatusReason": "validation failed"}, markdown=True)
    expect_findings(stubs["cloudformation"], CHANGE_SET_ID, [NAME_CONFLICT])
    code, out, _ = run(capsys, "diff", "--suffix", "stub", "--output", "markdown")
    assert code == 1
    assert "; 1 validation finding(s)" in out.splitlines()[0]
    assert out.splitlines()[2].startswith("### `app-stub` (us-east-1): failed: the change set failed: validation "
                                          "failed (kept for inspection: builder-1); 1 validation finding(s)")
    assert ("| ResourceNameConflict | FAILED (FAIL) | DataTable (AWS::DynamoDB::Table) | Resource with name "
            "app-stub-data already exists |") in out.splitlines()


def test_a_failed_operation_reads_the_findings_of_its_operation_id(stubs, capsys):
    expect_change_set(stubs, {"Status": "CREATE_COMPLETE", "Changes": [table_change()]})
    expect_findings(stubs["cloudformation"], CHANGE_SET_ID)
    expect_execution(stubs, "UPDATE_ROLLBACK_COMPLETE", [
        event(1, "DataTable", "UPDATE_FAILED", reason="Resource handler returned message: invalid request"),
        event(2, STACK, "UPDATE_ROLLBACK_COMPLETE", "AWS::CloudFormation::Stack")])
    expect_findings(stubs["cloudformation"], events=[
        {**NAME_CONFLICT, "OperationType": "UPDATE_STACK"},
        {"EventId": "p1", "OperationId": OPERATION_ID, "EventType": "PROVISIONING_ERROR",  # not a validation
         "LogicalResourceId": "DataTable", "ResourceStatus": "UPDATE_FAILED", "Timestamp": NOW}],
        operation_id=OPERATION_ID)
    code, out, err = run(capsys, "deploy", "--suffix", "stub")
    assert code == 1
    assert [line for line in out.splitlines() if line.startswith("validation:")] == [
        ("validation: FAIL ResourceNameConflict FAILED: DataTable (AWS::DynamoDB::Table) at "
        "/Resources/DataTable/Properties/TableName: Resource with name app-stub-data already exists")]
    assert err.splitlines() == [("error: app-stub: UPDATE_ROLLBACK_COMPLETE: DataTable (AWS::DynamoDB::Table) "
                                "UPDATE_FAILED: Resource handler returned message: invalid request; 1 validation "
                                "finding(s) listed above")]


def test_an_endpoint_without_describe_events_is_said_once_per_run(cf):
    """LocalStack's answer (501 InternalFailure, 'not yet been emulated'): two stacks, one line."""
    out = io.StringIO()
    reporter = Reporter(out, mode="text", tty=False, prefix=True, views=views())
    for _ in range(2):
        cf.add_client_error("describe_events", "InternalFailure", "The API for service cloudformation is either "
                            "not included in your current license plan or has not yet been emulated by LocalStack.",
                            501)
    for name in ("app-a", "app-b"):
        found = validation.read_findings(lambda op, **kw: getattr(cf.client, op)(**kw), change_set=CHANGE_SET_ID)
        validation.report(reporter, name, found, warnings_only=True)
    assert out.getvalue().splitlines() == [
        ("validation: this endpoint does not implement DescribeEvents (InternalFailure), so CloudFormation's "
        "validation findings are not shown; AWS itself shows them")]


def test_a_role_without_describe_events_says_why_and_the_deploy_goes_on(stubs, capsys):
    expect_change_set(stubs, {"Status": "CREATE_COMPLETE", "Changes": [table_change()]})
    stubs["cloudformation"].add_client_error("describe_events", "AccessDenied", "User is not authorized to "
                                             "perform: cloudformation:DescribeEvents", 403)
    stubs["cloudformation"].add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    code, out, _ = run(capsys, "diff", "--suffix", "stub")
    assert code == 0
    assert ("validation: could not read CloudFormation's validation findings (DescribeEvents: AccessDenied: User is "
            "not authorized to perform: cloudformation:DescribeEvents)") in out.splitlines()


# ---------------------------------------------------------------------- --revert-drift

def test_diff_revert_drift_shows_actual_to_desired_per_drifted_property(stubs, capsys):
    expect_change_set(stubs, {"Status": "CREATE_COMPLETE", "DeploymentMode": "REVERT_DRIFT",
                              "Changes": [drifted_table_change()]}, revert_drift=True)
    expect_findings(stubs["cloudformation"], CHANGE_SET_ID)
    stubs["cloudformation"].add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    code, out, err = run(capsys, "diff", "--suffix", "stub", "--revert-drift")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[lines.index("revert drift: 1 drifted property put back") + 1] == (
        "revert drift: DataTable /Properties/ProvisionedThroughput/ReadCapacityUnits: 50 → 5 (last deployed: 5)")


def test_diff_revert_drift_in_markdown(stubs, capsys):
    expect_change_set(stubs, {"Status": "CREATE_COMPLETE", "DeploymentMode": "REVERT_DRIFT",
                              "Changes": [drifted_table_change()]}, revert_drift=True, markdown=True)
    expect_findings(stubs["cloudformation"], CHANGE_SET_ID)
    stubs["cloudformation"].add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    code, out, _ = run(capsys, "diff", "--suffix", "stub", "--revert-drift", "--output", "markdown")
    assert code == 0
    assert "| DataTable | /Properties/ProvisionedThroughput/ReadCapacityUnits | 50 | 5 | 5 |" in out.splitlines()
    assert "; 1 drifted property put back;" in out.splitlines()[0]


def test_deploy_revert_drift_with_check_drift_makes_the_drift_aware_change_set_and_executes_it(stubs, capsys):
    """No drift detection is queued: the drift-aware change set is the check (the Stubber fails on any other call)."""
    expect_change_set(stubs, {"Status": "CREATE_COMPLETE", "DeploymentMode": "REVERT_DRIFT",
                              "Changes": [drifted_table_change()]}, revert_drift=True)
    expect_findings(stubs["cloudformation"], CHANGE_SET_ID)
    expect_execution(stubs, "UPDATE_COMPLETE", [event(1, "DataTable", "UPDATE_COMPLETE"),
                                                event(2, STACK, "UPDATE_COMPLETE", "AWS::CloudFormation::Stack")])
    code, out, err = run(capsys, "deploy", "--suffix", "stub", "--set", "check_drift=true", "--revert-drift")
    assert (code, err) == (0, "")
    assert "revert drift: DataTable /Properties/ProvisionedThroughput/ReadCapacityUnits: 50 → 5 (last deployed: 5)" \
        in out.splitlines()
    assert "UPDATE_COMPLETE in " in out


def test_revert_drift_and_allow_drift_together_exit_2(stubs, capsys):
    code, out, err = run(capsys, "deploy", "--suffix", "stub", "--revert-drift", "--allow-drift")
    assert (code, out) == (2, "")
    assert err.splitlines() == [("error: deploy: --allow-drift and --revert-drift answer drift two ways (leave what "
                                "the template does not change as it drifted, or put everything back): choose one")]


@pytest.mark.parametrize("resource_change, expected", [
    (drifted_table_change()["ResourceChange"],
     ["DataTable /Properties/ProvisionedThroughput/ReadCapacityUnits: 50 → 5 (last deployed: 5)"]),
    ({**table_change()["ResourceChange"], "ResourceDriftStatus": "IN_SYNC"}, []),
    ({**table_change()["ResourceChange"], "ResourceDriftStatus": "DELETED", "Action": "Add"},
     ["DataTable (AWS::DynamoDB::Table): deleted outside CloudFormation → created again"]),
    (table_change(Details=[{"Target": {"Attribute": "Properties", "Name": "BillingMode", "BeforeValue": "A",
                                       "AfterValue": "B"}, "ChangeSource": "DirectModification"}])["ResourceChange"],
     []),  # a standard change set: no drift
], ids=["modified", "in-sync", "deleted", "standard"])
def test_what_a_change_reverts(resource_change, expected):
    change = Change.from_api({"Type": "Resource", "ResourceChange": resource_change})
    assert [reverted_text(p) for p in change.reverted] == expected


def test_markdown_of_a_review_without_findings_or_drift_has_neither_section():
    change = Change("Modify", "DataTable", "AWS::DynamoDB::Table")
    block = markdown([StackReview(STACK, "us-east-1", "changes", (change,))])
    assert "validation findings" not in block and "Drift put back" not in block


def test_a_findings_read_that_cannot_reach_the_endpoint_never_replaces_the_failure_it_explains():
    def unreachable(operation, **kwargs):
        raise botocore.exceptions.EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com/")

    found = validation.read_findings(unreachable, operation_id=OPERATION_ID)
    assert found == validation.Findings(unavailable=validation.Unavailable(validation.Unreadable.UNREACHABLE,
                                                                           "EndpointConnectionError"))
    assert views()["validation unavailable"]({"unavailable": found.unavailable}, STACK).lines == [
        "validation: could not read CloudFormation's validation findings (EndpointConnectionError)"]
    assert validation.failure_note(found) == ""


def test_findings_come_from_every_page_and_only_validation_events_count():
    pages = {None: {"OperationEvents": [NAME_CONFLICT], "NextToken": "t2"},
             "t2": {"OperationEvents": [BUCKET_NOT_EMPTY, {"EventId": "h1", "EventType": "HOOK_INVOCATION_ERROR",
                                                           "HookStatus": "HOOK_COMPLETE_FAILED"}]}}
    asked = []

    def read(operation, **kwargs):
        asked.append(kwargs)
        return pages[kwargs.get("NextToken")]

    found = validation.read_findings(read, change_set=CHANGE_SET_ID)
    assert [f.validation for f in found.findings] == ["ResourceNameConflict", "S3BucketEmptinessValidation"]
    assert [f.validation for f in found.warnings] == ["S3BucketEmptinessValidation"]
    assert asked == [{"ChangeSetName": CHANGE_SET_ID, "Filters": {"FailedEvents": True}},
                     {"ChangeSetName": CHANGE_SET_ID, "Filters": {"FailedEvents": True}, "NextToken": "t2"}]


def test_revert_drift_of_an_express_stack_sends_both_modes_as_the_model_allows(stubs, capsys):
    """botocore's model (the Stubber validates the request against it) takes DeploymentMode and DeploymentConfig
    in one CreateChangeSet; AWS's pages say nothing of the two combined (docs/commands/deploy.md), so builder
    sends both and CloudFormation's answer decides."""
    stubs.stack(STACK)
    stubs.deployed_template(STACK, TEMPLATE)
    cf = stubs["cloudformation"]
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": stack_id(STACK)}, {
        "StackName": STACK, "ChangeSetName": ANY, "ChangeSetType": "UPDATE", "Description": "builder deploy",
        "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": ANY, "DeploymentMode": "REVERT_DRIFT",
        "DeploymentConfig": {"Mode": "EXPRESS", "DisableRollback": False}})
    cf.add_response("describe_change_set", {"ChangeSetId": CHANGE_SET_ID, "StackId": stack_id(STACK),
                                            "ChangeSetName": "builder-1", "Status": "CREATE_COMPLETE",
                                            "DeploymentMode": "REVERT_DRIFT", "DeploymentConfig": {"Mode": "EXPRESS"},
                                            "Changes": [drifted_table_change()]},
                    {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
    expect_findings(cf, CHANGE_SET_ID)
    cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    code, out, err = run(capsys, "diff", "--suffix", "stub", "--revert-drift", "--set", "deployment_mode=express")
    assert (code, err) == (0, "")
    assert "revert drift: 1 drifted property put back" in out.splitlines()
