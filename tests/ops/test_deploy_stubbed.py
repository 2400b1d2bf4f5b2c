"""deploy, diff and destroy paths LocalStack cannot produce, with botocore's Stubber and AWS-shaped replies.

LocalStack reports Replacement only for name changes and no change set Details, finishes every
operation before a second client can see it in progress, never throttles and does not enforce
termination protection. The responses below are shaped like real CloudFormation's. Each stack waits
through its own poller (builder/stack/poller.py) on a fake clock, so every sleep is recorded.
"""

from __future__ import annotations

import io
import json
import socket

import botocore.exceptions
import pytest
from botocore.stub import ANY, Stubber

from builder.cli import main
from builder.cli.common import finish
from builder.cli.views import views
from builder.cli.views.deploy import cause_text
from builder.data_guard import Finding
from builder.environment import EnvironmentConfig
from builder.errors import OperationError, RefusedError, UsageError
from builder.families.storage import empty_bucket
from builder.ops.deploy import DeployOptions, DeployResult, deploy_stack
from builder.ops.destroy import DestroyOptions, destroy_stack, to_prepare
from builder.ops.diff import DiffOptions, diff_stack
from builder.ops.pool import Outcome, Result, StacksFailed
from builder.report import Reporter
from builder.resources import inventory
from builder.stack import client as aws
from builder.stack.changeset import Cause, Change, GuardVerdict, Verdict, is_no_changes
from builder.stack.deployed import DeployedStack
from builder.stack_policy import PERMISSIVE
from builder.synth import stacks_for
from tests.factories import (
    NO_CHANGES_REASON,
    NOW,
    FakeClock,
    expect_findings,
    expect_get_template,
    expect_set_stack_policy,
    stubbed_watcher,
    without_config_line,
)
from tests.factories import stubbed_client as stub_client

STACK = stacks_for(EnvironmentConfig(suffix="stub"))[0]
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/app-stub/1"
CHANGE_SET_ID = "arn:aws:cloudformation:us-east-1:123456789012:changeSet/builder-1/1"
# Property values (BeforeValue/AfterValue) come only when asked for.
DESCRIBE_CHANGE_SET = {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True}


@pytest.fixture
def out():
    return io.StringIO()


@pytest.fixture
def run(cf, out, tmp_path):
    """Run deploy_stack/diff_stack/destroy_stack on the stubbed client; returns (outcome or error, text)."""
    clock = FakeClock()
    sleeps = clock.sleeps

    def factory(name, region, reporter):
        return stubbed_watcher(cf.client, name, reporter, clock, claimed=False)  # each command claims its stack

    def go(action, **options):
        if action is not diff_stack:  # diff writes no files
            options.setdefault("out_dir", str(tmp_path / "out"))
        try:
            target = (STACK.name, STACK.region, STACK.config.suffix) if action is destroy_stack else (STACK,)
            options_of = {deploy_stack: DeployOptions, diff_stack: DiffOptions, destroy_stack: DestroyOptions}[action]
            reporter = Reporter(out, tty=False, views=views())
            result = action(*target, options_of(**options), reporter, watcher_factory=factory)
        except (OperationError, RefusedError, UsageError) as exc:
            result = exc
        return result, out.getvalue()

    go.sleeps = sleeps
    return go


def tag_list(tags) -> list[dict]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def stack(status: str, **extra) -> dict:
    """A DescribeStacks answer; a settled stack carries its outputs, as AWS returns them, and the tags deploy
    gave it (no parameters: so the no-op skip never holds, and a change set is made without GetTemplate)."""
    outputs = {"Outputs": [{"OutputKey": "TableName", "OutputValue": f"{STACK.name}-data"}]} \
        if status in ("CREATE_COMPLETE", "UPDATE_COMPLETE") else {}
    return {"Stacks": [{"StackName": STACK.name, "StackId": STACK_ID, "CreationTime": NOW, "StackStatus": status,
                        "Tags": tag_list(STACK.tags), **outputs, **extra}]}


def event(number: int, logical: str, status: str, kind: str = "AWS::DynamoDB::Table", reason: str = "") -> dict:
    return {"StackId": STACK_ID, "EventId": f"e{number}", "StackName": STACK.name, "LogicalResourceId": logical,
            "ResourceType": kind, "Timestamp": NOW, "ResourceStatus": status,
            **({"ResourceStatusReason": reason} if reason else {})}


def change(logical: str, kind: str, action: str = "Modify", replacement: str = "False", causes=()) -> dict:
    details = [{"Target": {"Attribute": "Properties", "Name": name, "RequiresRecreation": "Always"},
                "Evaluation": "Static", "ChangeSource": "DirectModification"} for name in causes]
    resource = {"Action": action, "LogicalResourceId": logical, "ResourceType": kind, "Scope": ["Properties"],
                "Details": details, "PhysicalResourceId": f"{logical.lower()}-physical"}
    if action == "Modify":
        resource["Replacement"] = replacement
    return {"Type": "Resource", "ResourceChange": resource}


def expect_change_set(cf, changes: list[dict] | None, kind: str = "UPDATE") -> None:
    """CreateChangeSet with every parameter explicit, then DescribeChangeSet (pending, then done)."""
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, {
        "StackName": STACK.name, "ChangeSetName": ANY, "ChangeSetType": kind, "Description": "builder deploy",
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in STACK.parameters.items()],
        "Tags": [{"Key": k, "Value": v} for k, v in STACK.tags.items()],
        "Capabilities": list(STACK.capabilities), "TemplateBody": STACK.template_body})
    cf.add_response("describe_change_set", {"Status": "CREATE_PENDING", "ChangeSetId": CHANGE_SET_ID},
                    DESCRIBE_CHANGE_SET)
    if changes is None:
        cf.add_response("describe_change_set", {
            "Status": "FAILED", "ChangeSetId": CHANGE_SET_ID, "StackId": STACK_ID,
            "StatusReason": NO_CHANGES_REASON}, DESCRIBE_CHANGE_SET)
        cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
        return
    cf.add_response("describe_change_set", {"Status": "CREATE_COMPLETE", "ChangeSetId": CHANGE_SET_ID,
                                            "StackId": STACK_ID, "Changes": changes}, DESCRIBE_CHANGE_SET)
    expect_findings(cf, CHANGE_SET_ID)  # a change set that was made: its WARN findings, if any


def expect_execution(cf, events: list[dict], final: str = "UPDATE_COMPLETE", lifted: bool = False) -> None:
    """An update's execution: the stack policy first (the permissive one when `lifted`, put back after)."""
    cf.add_response("describe_stack_events", {"StackEvents": [event(0, STACK.name, "UPDATE_COMPLETE",
                                                                    "AWS::CloudFormation::Stack")]})
    expect_set_stack_policy(cf, STACK_ID, json.dumps(PERMISSIVE, sort_keys=True) if lifted else STACK.policy_body)
    cf.add_response("execute_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})
    cf.add_response("describe_stacks", stack(final), {"StackName": STACK_ID})
    cf.add_response("describe_stack_events", {"StackEvents": [*events[::-1], event(0, STACK.name, "x")]})
    if lifted:
        expect_set_stack_policy(cf, STACK_ID, STACK.policy_body)


# ---------------------------------------------------------------------- the data guard

def deployed_template(edit=None) -> str:
    """The body GetTemplate returns: the stack's own template, as `edit` changes it."""
    template = json.loads(STACK.template_body)
    if edit is not None:
        edit(template)
    return json.dumps(template)


def expect_deployed(cf, status: str = "UPDATE_COMPLETE", edit=None, **extra) -> None:
    """DescribeStacks, then GetTemplate: what deploy and diff read of an existing stack."""
    cf.add_response("describe_stacks", stack(status, **extra), {"StackName": STACK.name})
    expect_get_template(cf, STACK_ID, deployed_template(edit))


@pytest.mark.parametrize("stateful_change, why", [
    (change("DataTable", "AWS::DynamoDB::Table", replacement="True", causes=["KeySchema"]),
     ("DataTable (AWS::DynamoDB::Table): replaced because KeySchema changed (Replacement=True): a new, empty one "
     "takes its place; deleting the old one (datatable-physical) loses its items")),
    (change("DataTable", "AWS::DynamoDB::Table", replacement="Conditional", causes=["TableName"]),
     ("DataTable (AWS::DynamoDB::Table): may be replaced because TableName changed (Replacement=Conditional): a "
     "new, empty one takes its place; deleting the old one (datatable-physical) loses its items")),
], ids=["replacement", "conditional"])
def test_a_replacement_only_the_change_set_reports_is_refused_and_the_change_set_deleted(cf, run, stateful_change,
                                                                                          why):
    """The templates are equal (a change only AWS knows replaces): the change set's word is the finding."""
    expect_deployed(cf)
    expect_change_set(cf, [change("BucketSizeAlarm", "AWS::CloudWatch::Alarm"), stateful_change])
    cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})  # and no ExecuteChangeSet
    error, text = run(deploy_stack)
    assert isinstance(error, RefusedError) and error.exit_code == 3
    assert f"data guard: {why}" in text.splitlines()
    assert error.message == ("refused: 1 change(s) would lose data (listed above); the change set was deleted and "
                             "the stack is unchanged; no config file was read (built-in defaults; is this the folder "
                             "with the environments.toml that made the stack? --config names one). Rerun with "
                             "--allow-data-loss to accept losing it")


def old_bucket(template: dict) -> None:
    template["Resources"]["OldBucket"] = {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Delete"}


def retained_bucket(template: dict) -> None:
    template["Resources"]["DataBucket"]["DeletionPolicy"] = "Retain"


@pytest.mark.parametrize("edit, why", [
    (old_bucket, ("OldBucket (AWS::S3::Bucket): removed from the template (DeletionPolicy Delete): deleting it loses "
                  "its objects and every version of them")),
    (retained_bucket, ("DataBucket (AWS::S3::Bucket): DeletionPolicy Retain → Delete: deleting the stack (destroy, "
                       "reap) or removing the resource would then lose its objects and every version of them")),
], ids=["removed", "deletion-policy-only"])
def test_what_the_templates_show_is_refused_before_any_change_set(cf, run, edit, why):
    """No CreateChangeSet is queued: whatever a change set would say (a DeletionPolicy-only change may show
    no resource change), the refusal comes first and changes nothing."""
    expect_deployed(cf, edit=edit)
    error, text = run(deploy_stack)
    assert isinstance(error, RefusedError) and error.exit_code == 3
    assert text.splitlines() == [f"data guard: {why}", "data guard: refused; --allow-data-loss accepts it"]
    assert "; nothing was changed (no change set made); " in error.message


def test_termination_protection_switched_off_is_refused_and_left_on(cf, run):
    """Nothing else changes: no change set is made and no UpdateTerminationProtection follows (the Stubber
    fails on any call not queued)."""
    expect_deployed(cf, EnableTerminationProtection=True)
    error, text = run(deploy_stack)
    assert isinstance(error, RefusedError) and error.exit_code == 3
    assert (f"data guard: {STACK.name} (AWS::CloudFormation::Stack): termination protection: on → off: one "
            f"DeleteStack call (destroy, reap, the console) can then delete the stack and every resource it does "
            f"not retain") in text.splitlines()
    assert error.message.startswith("refused: 1 change(s) would lose data (listed above); nothing was changed")


def test_allow_data_loss_executes_and_a_replaced_alarm_is_not_data(cf, run):
    expect_deployed(cf)
    expect_change_set(cf, [change("DataTable", "AWS::DynamoDB::Table", replacement="True", causes=["KeySchema"]),
                           change("BucketSizeAlarm", "AWS::CloudWatch::Alarm", replacement="True")])
    expect_execution(cf, [event(1, "DataTable", "UPDATE_COMPLETE")], lifted=True)
    outcome, text = run(deploy_stack, allow_data_loss=True)
    assert isinstance(outcome, Outcome) and outcome.result == "updated"
    assert "data guard: going ahead because of --allow-data-loss" in text
    assert text.count("data guard:") == 2  # the table, then going ahead: the alarm is not data


def test_diff_lists_what_deploy_would_refuse_and_changes_nothing(cf, run):
    expect_deployed(cf, edit=retained_bucket, EnableTerminationProtection=True)
    expect_change_set(cf, None)
    outcome, text = run(diff_stack)
    assert outcome.result == "changes"
    assert text.splitlines()[0] == "no resource changes"
    assert [line.split(":")[1].strip() for line in text.splitlines()[1:3]] == ["DataBucket (AWS", STACK.name + " (AWS"]
    assert text.splitlines()[-1] == "data guard: deploy would refuse (exit 3) unless --allow-data-loss"


@pytest.mark.parametrize("verdict, words", [
    (Verdict.ALLOWED, "going ahead because of --allow-data-loss"),
    (Verdict.REFUSED, "refused; --allow-data-loss accepts it"),
    (Verdict.WOULD_REFUSE, "deploy would refuse (exit 3) unless --allow-data-loss"),
], ids=["allowed", "refused", "would-refuse"])
def test_the_data_guards_verdict_is_worded_alike_in_text_and_json(verdict, words):
    """The verdict travels as a Verdict; the view words it, the `data_guard` record's `verdict` the same."""
    found = (Finding("DataBucket", "AWS::S3::Bucket", "removed from the template", "deleting it loses its objects",
                     "removed"),)
    shown = views()["data guard"](GuardVerdict(found, verdict), STACK.name)
    assert shown.lines[-1] == f"data guard: {words}"
    assert [record["verdict"] for record in shown.records] == [words]
    assert views()["data guard"](GuardVerdict((), verdict), STACK.name).lines == []  # nothing found, nothing said


# ---------------------------------------------------------------------- other operations, failures

def test_waits_for_another_operation_then_deploys(cf, run):
    cf.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": STACK.name})
    cf.add_response("describe_stacks", stack("UPDATE_IN_PROGRESS"), {"StackName": STACK_ID})
    cf.add_response("describe_stacks", stack("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"), {"StackName": STACK_ID})
    cf.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": STACK_ID})
    expect_get_template(cf, STACK_ID, STACK.template_body)
    expect_change_set(cf, None)
    outcome, text = run(deploy_stack)
    assert outcome.result == "no changes"
    assert text.splitlines()[:3] == [
        "another operation is running (UPDATE_IN_PROGRESS); waiting for it to settle",
        "the other operation settled: UPDATE_COMPLETE",
        "no changes; the empty change set was deleted"]
    # the budget of 2 calls/s holds one token (half a second's worth), which the first DescribeStacks takes:
    # the other operation is polled 0.5 s later, then 0.1 s after that (the second sweep keeps the first
    # interval; held back 0.4 s more: 0.2 tokens), then 0.2 s later (held back 0.3 s: 0.4 tokens); GetTemplate,
    # CreateChangeSet and the first DescribeChangeSet wait a token each (0.5 s); the change set is polled again
    # 0.2 s later, held back 0.3 s (0.4 tokens); then DeleteChangeSet waits a token
    assert [round(t, 6) for t in run.sleeps] == [0.5, 0.1, 0.4, 0.2, 0.3, 0.5, 0.5, 0.5, 0.2, 0.3, 0.5]


def test_no_wait_for_others_fails_at_once(cf, run):
    cf.add_response("describe_stacks", stack("UPDATE_ROLLBACK_IN_PROGRESS"), {"StackName": STACK.name})
    error, _ = run(deploy_stack, wait_for_others=False)
    assert isinstance(error, OperationError)
    assert error.message.startswith("another operation is running (UPDATE_ROLLBACK_IN_PROGRESS)")


def test_a_failed_update_reports_the_first_failed_event_and_deletes_nothing(cf, run):
    expect_deployed(cf)
    expect_change_set(cf, [change("DataTable", "AWS::DynamoDB::Table")])
    expect_execution(cf, [
        event(1, "DataTable", "UPDATE_IN_PROGRESS"),
        event(2, "DataTable", "UPDATE_FAILED", reason="Subscriber limit exceeded: only 10 tables can be updated"),
        event(3, "BucketSizeAlarm", "UPDATE_FAILED", "AWS::CloudWatch::Alarm", reason="Resource update cancelled"),
        event(4, STACK.name, "UPDATE_ROLLBACK_COMPLETE", "AWS::CloudFormation::Stack"),
    ], final="UPDATE_ROLLBACK_COMPLETE")
    error, text = run(deploy_stack)
    assert isinstance(error, OperationError) and error.exit_code == 1
    assert error.message == ("UPDATE_ROLLBACK_COMPLETE: DataTable (AWS::DynamoDB::Table) UPDATE_FAILED: "
                             "Subscriber limit exceeded: only 10 tables can be updated")
    assert "UPDATE_FAILED        AWS::DynamoDB::Table         DataTable  Subscriber limit" in text


@pytest.mark.parametrize("status", ["UPDATE_ROLLBACK_FAILED", "DELETE_FAILED", "ROLLBACK_FAILED"])
def test_a_stuck_stack_needs_a_human(cf, run, status):
    """Refused (exit 3) before any write: nothing else is queued. (Stubber: LocalStack 2026.3 does not end a
    stack in these states on demand.)"""
    cf.add_response("describe_stacks", stack(status), {"StackName": STACK.name})
    error, _ = run(deploy_stack)
    assert isinstance(error, RefusedError) and error.exit_code == 3
    assert error.message.startswith(f"the stack is {status}; it needs a human")


def test_a_change_set_that_fails_for_another_reason_is_kept(cf, run):
    expect_deployed(cf)
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    cf.add_response("describe_change_set", {"Status": "FAILED", "ChangeSetName": "builder-1", "StatusReason":
                                            "Parameters: [Nope] do not exist in the template"})
    expect_findings(cf, CHANGE_SET_ID)  # none: the reason alone says it
    error, text = run(deploy_stack)  # no DeleteChangeSet queued: Stubber fails on an unexpected call
    assert error.message == ("the change set failed: Parameters: [Nope] do not exist in the template "
                             "(kept for inspection: builder-1)")
    assert "validation:" not in text


def test_throttled_polls_slow_down_instead_of_failing(cf, run):
    expect_deployed(cf)
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID})
    cf.add_client_error("describe_change_set", "Throttling", "Rate exceeded", 400)
    cf.add_response("describe_change_set", {"Status": "FAILED", "StatusReason": "No updates are to be performed."})
    cf.add_response("delete_change_set", {})
    outcome, _ = run(deploy_stack)
    assert outcome.result == "no changes"
    # DescribeStacks spends the budget's one token (half a second's worth of 2 calls/s): GetTemplate,
    # CreateChangeSet (a write, paced too) and the first DescribeChangeSet wait 0.5 s each; then the budget
    # halves to 1 call/s and empties (-1 token): the retry waits 1 s (one slice: 0 tokens, the rate grown by
    # 1/60 a second) and 1 / (1 + 1/60) s more; DeleteChangeSet one more token at the rate grown for about 2 s
    sleeps = [round(t, 6) for t in run.sleeps]
    assert sleeps[:5] == [0.5, 0.5, 0.5, 1.0, round(1 / (1 + 1 / 60), 6)]
    assert len(sleeps) == 6 and 0.96 < sleeps[5] < 0.97


def test_template_over_the_limit_without_artifact_bucket_is_a_usage_error(cf, run, monkeypatch):
    monkeypatch.setattr("builder.stack.changeset.TEMPLATE_BODY_LIMIT", 100)
    expect_deployed(cf)
    error, _ = run(deploy_stack)
    assert isinstance(error, UsageError) and error.exit_code == 2
    assert "over CloudFormation's 100-byte TemplateBody limit; pass --artifact-bucket BUCKET" in error.message


def test_diff_of_a_rollback_complete_stack_says_what_deploy_would_do(cf, run):
    cf.add_response("describe_stacks", stack("ROLLBACK_COMPLETE"), {"StackName": STACK.name})
    outcome, text = run(diff_stack)
    assert outcome.result == "changes"
    assert text == "ROLLBACK_COMPLETE (a failed create): deploy would delete it and create it again\n"


# ---------------------------------------------------------------------- a change of the stack tags alone
# Stubber: LocalStack refuses a tags-only change both ways (tests/ops/test_deploy_emulator.py pins what
# builder says there); these are AWS's answers, the change set that comes back "didn't contain changes"
# and the UpdateStack that then applies the tags.

OLD_TAGS = {**STACK.tags, "CostCenter": "finance", "builder:ttl": "7d"}
PARAMETERS = [{"ParameterKey": k, "ParameterValue": v} for k, v in STACK.parameters.items()]


def deployed_with_old_tags() -> dict:
    return stack("UPDATE_COMPLETE", Tags=tag_list(OLD_TAGS), Parameters=PARAMETERS)


def expect_tags_update(cf, answer: dict | None = None, error: str = "") -> None:
    """UpdateStack with the deployed template, every parameter's value and the new tags."""
    cf.add_response("describe_stack_events", {"StackEvents": [event(0, STACK.name, "UPDATE_COMPLETE",
                                                                    "AWS::CloudFormation::Stack")]})
    request = {"StackName": STACK_ID, "UsePreviousTemplate": True, "Parameters": [
        {"ParameterKey": k, "ParameterValue": v} for k, v in STACK.parameters.items()],
        "Tags": tag_list(STACK.tags), "Capabilities": list(STACK.capabilities)}
    if error:
        cf.add_client_error("update_stack", "ValidationError", error, 400, expected_params=request)
        return
    cf.add_response("update_stack", {"StackId": STACK_ID}, request)
    cf.add_response("describe_stacks", answer or stack("UPDATE_COMPLETE"), {"StackName": STACK_ID})
    cf.add_response("describe_stack_events", {"StackEvents": [
        event(2, STACK.name, "UPDATE_COMPLETE", "AWS::CloudFormation::Stack"),
        event(1, "DataTable", "UPDATE_COMPLETE"), event(0, STACK.name, "x")]})


def test_a_tags_only_change_set_that_comes_back_empty_is_applied_by_update_stack(cf, run):
    cf.add_response("describe_stacks", deployed_with_old_tags(), {"StackName": STACK.name})
    expect_get_template(cf, STACK_ID, STACK.template_body)  # read for the no-op skip and the data guard
    expect_change_set(cf, None)
    expect_tags_update(cf)
    outcome, text = run(deploy_stack)
    assert isinstance(outcome, Outcome) and outcome.result == "updated", outcome
    assert "no changes" not in text
    assert text.splitlines()[0] == ("only the stack tags change (CostCenter: finance → engineering; builder:ttl: "
                                    "7d → (none)): updating them with the deployed template")
    assert "UPDATE_COMPLETE in" in text


def test_an_endpoint_that_refuses_the_tags_update_is_one_line_never_no_changes(cf, run):
    cf.add_response("describe_stacks", deployed_with_old_tags(), {"StackName": STACK.name})
    expect_get_template(cf, STACK_ID, STACK.template_body)  # read for the no-op skip and the data guard
    expect_change_set(cf, None)
    expect_tags_update(cf, error="No updates are to be performed.")
    error, text = run(deploy_stack)
    assert isinstance(error, OperationError) and error.exit_code == 1
    assert error.lines() == [(
        "error: app-stub: the stack's tags differ (CostCenter: finance → engineering; builder:ttl: 7d → (none)) "
        "but this endpoint changed nothing: the change set came back empty and UpdateStack answered "
        "ValidationError: No updates are to be performed. LocalStack cannot change a stack's tags alone "
        "(docs/commands/emulator.md: what the emulator cannot do); AWS applies them")]
    assert "no changes" not in text


def test_an_update_that_settles_with_the_old_tags_is_not_success(cf, run):
    cf.add_response("describe_stacks", deployed_with_old_tags(), {"StackName": STACK.name})
    expect_get_template(cf, STACK_ID, STACK.template_body)  # read for the no-op skip and the data guard
    expect_change_set(cf, None)
    expect_tags_update(cf, answer=deployed_with_old_tags())
    error, _ = run(deploy_stack)
    assert isinstance(error, OperationError)
    assert error.message.startswith("the stack ended UPDATE_COMPLETE but its tags still differ (CostCenter: finance")


def test_diff_of_a_tags_only_change_shows_the_tags_and_counts_as_a_change(cf, run):
    cf.add_response("describe_stacks", deployed_with_old_tags(), {"StackName": STACK.name})
    expect_get_template(cf, STACK_ID, STACK.template_body)  # read for the no-op skip and the data guard
    expect_change_set(cf, None)  # the deployed template, read once, also prices the stack as deployed
    outcome, text = run(diff_stack)
    assert outcome.result == "changes"
    assert text.splitlines()[:3] == [
        "only the stack tags change: deploy would update them with the deployed template",
        "tag CostCenter: finance → engineering", "tag builder:ttl: 7d → (none)"]
    assert "no changes" not in text


# ---------------------------------------------------------------------- polling

def test_watch_polls_fast_at_first_reads_events_at_most_once_a_second_and_returns_on_settling(cf):
    clock = FakeClock()
    out = io.StringIO()
    ops = stubbed_watcher(cf.client, STACK.name, Reporter(out, tty=False, views=views()), clock)
    calls: list[tuple[float, str]] = []
    cf.client.meta.events.register("provide-client-params.cloudformation.*",
                                   lambda model, **_: calls.append((clock.now, model.name)))
    e0, e1, e2 = event(0, STACK.name, "x"), event(1, "DataTable", "UPDATE_IN_PROGRESS"), \
        event(2, "DataTable", "UPDATE_COMPLETE")
    for answer in ["UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_IN_PROGRESS",
                   [e1, e0], "UPDATE_COMPLETE", [e2, e1, e0]]:
        if isinstance(answer, str):
            cf.add_response("describe_stacks", stack(answer), {"StackName": STACK_ID})
        else:
            cf.add_response("describe_stack_events", {"StackEvents": answer}, {"StackName": STACK_ID})
    final = ops.watch(STACK_ID, "e0")
    assert final.status == "UPDATE_COMPLETE"
    # status fast at first (due 0.1 s after the first sweep and again after the second, then doubling), backing
    # off towards 2 s (1 s after new events); events after a status poll, at most once a second, and once more
    # on settling. The budget of 2 calls/s holds one token (half a second's worth): each call right after
    # another waits 0.5 s, so the sweeps due at 0.1 s, 0.6 s and 1.2 s go at 0.5 s, 1.0 s and 1.5 s, and the
    # first events, which wait until a token comes before the next sweep is due, at 2.0 s
    assert [round(t, 6) for t, op in calls if op == "DescribeStacks"] == [0.0, 0.5, 1.0, 1.5, 2.5]
    assert [round(t, 6) for t, op in calls if op == "DescribeStackEvents"] == [2.0, 3.0]
    assert [e["EventId"] for e in ops.events] == ["e1", "e2"]  # after the baseline, each once, in order
    assert [line.split()[-1] for line in out.getvalue().splitlines()] == ["DataTable", "DataTable"]


def test_poll_pauses_double_to_the_ceiling():
    pauses = aws.intervals()
    assert [next(pauses) for _ in range(6)] == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]


@pytest.mark.parametrize("reason, expected", [
    ("The submitted information didn't contain changes. Submit different information to create a change set.", True),
    ("No updates are to be performed.", True),
    ("Template format error: Unresolved resource dependencies [X]", False),
    (None, False),
])
def test_no_changes_is_recognised_in_one_place(reason, expected):
    assert is_no_changes(reason) is expected


def test_change_from_api_reads_replacement_and_causes():
    parsed = Change.from_api(change("DataTable", "AWS::DynamoDB::Table", replacement="True", causes=["KeySchema"]))
    assert parsed == Change("Modify", "DataTable", "AWS::DynamoDB::Table", "True", "datatable-physical",
                            ("KeySchema",), (Cause("DirectModification", "Properties", "KeySchema", "", "Always"),))
    holders = inventory().data_holders
    assert Change("Add", "DataTable", "AWS::DynamoDB::Table").data_loss(holders) is None
    assert Change("Modify", "DataTable", "AWS::DynamoDB::Table", "False").data_loss(holders) is None
    assert Change("Remove", "DataTable", "AWS::DynamoDB::Table").data_loss(holders) is None  # the templates'
    assert Change("Modify", "Alarm", "AWS::CloudWatch::Alarm", "True").data_loss(holders) is None


def test_deploy_deletes_no_rollback_complete_stack_it_did_not_make(cf, run):
    """Another tool's failed create, under builder's name: deploy would delete it to create its own; it
    refuses instead (exit 3), and nothing else is called. (Stubber: the emulator tests cover the tag on
    builder's own ROLLBACK_COMPLETE stack; this is the same answer without it.)"""
    cf.add_response("describe_stacks", stack("ROLLBACK_COMPLETE", Tags=[]), {"StackName": STACK.name})
    error, _ = run(deploy_stack)
    assert isinstance(error, RefusedError) and error.exit_code == 3
    assert error.message.startswith("refused: a stack of this name exists and builder did not make it")


# ---------------------------------------------------------------------- destroy

def test_destroy_refuses_a_stack_with_termination_protection(cf, run):
    cf.add_response("describe_stacks", stack("UPDATE_COMPLETE", EnableTerminationProtection=True),
                    {"StackName": STACK.name})
    error, _ = run(destroy_stack)  # nothing else queued: no bucket emptied, no DeleteStack
    assert error.message == ("termination protection is on (setting termination_protection); deploy with "
                             "termination_protection = false and --allow-data-loss first, then destroy")


@pytest.mark.parametrize("status", ["UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"])
def test_destroy_refuses_a_stack_whose_rollback_failed(cf, run, status):
    """CloudFormation could not put its resources back: a person decides what to skip (ContinueUpdateRollback)
    before the stack is deleted, as reap holds too. Refused, exit 3; nothing else is queued: no template read, no
    bucket emptied, no DeleteStack. (Stubber: LocalStack 2026.3 does not end an update in this state.)"""
    cf.add_response("describe_stacks", stack(status), {"StackName": STACK.name})
    error, _ = run(destroy_stack)
    assert isinstance(error, RefusedError) and error.exit_code == 3
    assert error.message.startswith(f"refused: the stack is {status}: ")
    assert error.message.endswith("; nothing was deleted")


@pytest.mark.parametrize("tags, reason", [
    ({**STACK.tags, "Environment": "other"}, "builder made this stack for another environment"),
    ({"Environment": "stub", "CostCenter": "engineering"}, "builder did not make this stack"),
])
def test_destroy_refuses_a_stack_that_is_not_this_environments(cf, run, tags, reason):
    cf.add_response("describe_stacks", stack("UPDATE_COMPLETE", Tags=tag_list(tags)), {"StackName": STACK.name})
    error, _ = run(destroy_stack)  # nothing else queued: no template read, no bucket emptied, no DeleteStack
    assert isinstance(error, RefusedError) and error.exit_code == 3
    assert error.message.startswith(f"refused: {reason}")


def test_a_failed_delete_reports_its_cause(cf, run):
    cf.add_response("describe_stacks", stack("UPDATE_COMPLETE"), {"StackName": STACK.name})
    # nothing to empty: no ListStackResources; a stack is deleted once, so its DELETE_IN_PROGRESS event starts
    # the delete's events: no DescribeStackEvents before DeleteStack
    cf.add_response("get_template", {"TemplateBody": json.dumps({"Resources": {}})})
    cf.add_response("delete_stack", {}, {"StackName": STACK_ID})
    cf.add_response("describe_stacks", stack("DELETE_FAILED"), {"StackName": STACK_ID})
    cf.add_response("describe_stack_events", {"StackEvents": [
        event(4, STACK.name, "DELETE_FAILED", kind="AWS::CloudFormation::Stack"),
        event(3, "DataTable", "DELETE_FAILED", reason="Table has deletion protection enabled"),
        event(2, STACK.name, "DELETE_IN_PROGRESS", kind="AWS::CloudFormation::Stack", reason="User Initiated"),
        event(1, "DataTable", "CREATE_FAILED", reason="an earlier operation's failure, not this one's")]})
    error, _ = run(destroy_stack)
    assert error.message == ("DELETE_FAILED: DataTable (AWS::DynamoDB::Table) DELETE_FAILED: Table has deletion "
                             "protection enabled; --force-delete deletes the stack and leaves what CloudFormation "
                             "could not delete behind (listed first, with the command that removes each)")


def test_empty_bucket_deletes_versions_and_markers_in_batches_of_1000():
    s3 = stub_client("s3")
    with Stubber(s3) as stubber:
        versions = [{"Key": f"k{i}", "VersionId": f"v{i}"} for i in range(1000)]
        stubber.add_response("list_object_versions", {"Versions": versions[:700], "DeleteMarkers": versions[700:]},
                             {"Bucket": "b", "MaxKeys": 1000})
        stubber.add_response("delete_objects", {}, {"Bucket": "b", "Delete": {"Objects": versions, "Quiet": True}})
        stubber.add_response("list_object_versions", {"DeleteMarkers": versions[:3]}, {"Bucket": "b", "MaxKeys": 1000})
        stubber.add_response("delete_objects", {}, {"Bucket": "b", "Delete": {"Objects": versions[:3], "Quiet": True}})
        stubber.add_response("list_object_versions", {}, {"Bucket": "b", "MaxKeys": 1000})
        assert empty_bucket(s3, "b") == 1003
        stubber.assert_no_pending_responses()


def test_empty_bucket_reports_objects_it_could_not_delete():
    s3 = stub_client("s3")
    with Stubber(s3) as stubber:
        stubber.add_response("list_object_versions", {"Versions": [{"Key": "k", "VersionId": "v"}]})
        stubber.add_response("delete_objects", {"Errors": [{"Key": "k", "Code": "AccessDenied", "Message": "no"}]})
        with pytest.raises(OperationError, match="could not delete 1 object version"):
            empty_bucket(s3, "b")


def test_only_buckets_cloudformation_will_delete_are_emptied():
    template = {"Resources": {"Gone": {"Type": "AWS::S3::Bucket"},
                              "Kept": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
                              "Table": {"Type": "AWS::DynamoDB::Table"},
                              "Deleted": {"Type": "AWS::S3::Bucket"}}}
    resources = [{"LogicalResourceId": "Gone", "PhysicalResourceId": "gone-1", "ResourceStatus": "CREATE_COMPLETE"},
                 {"LogicalResourceId": "Kept", "PhysicalResourceId": "kept-1", "ResourceStatus": "CREATE_COMPLETE"},
                 {"LogicalResourceId": "Table", "PhysicalResourceId": "t", "ResourceStatus": "CREATE_COMPLETE"},
                 {"LogicalResourceId": "Deleted", "PhysicalResourceId": "d", "ResourceStatus": "DELETE_COMPLETE"}]
    prepared = to_prepare(template, resources, inventory().kinds)
    # the table has nothing to do before it is deleted; a resource already deleted is left alone
    assert [(p.kind.type, p.physical_id, p.kept) for p in prepared] == [
        ("AWS::S3::Bucket", "gone-1", False), ("AWS::S3::Bucket", "kept-1", True)]


# ---------------------------------------------------------------------- several stacks, output, errors

def test_several_failures_print_each_and_exit_with_the_worst(capsys):
    outcomes = [Outcome("app-a", "us-east-1", Result.FAILED, error=OperationError("app-a", "boom")),
                Outcome("app-b", "us-east-1", Result.REFUSED, error=RefusedError("app-b", "refused: data")),
                Outcome("app-c", "us-east-1", DeployResult.CREATED)]
    with pytest.raises(StacksFailed) as raised:
        finish(outcomes, Reporter(io.StringIO(), tty=False), "deploy", summary=True)
    assert raised.value.exit_code == 3
    assert raised.value.lines() == ["error: app-a: boom", "error: app-b: refused: data",
                                    "error: deploy: 2 of 3 stacks failed: app-a, app-b"]
    assert capsys.readouterr().err == ""  # library code prints no error; the CLI prints these lines


def test_terminal_shows_a_progress_line_and_still_prints_failures():
    stream = io.StringIO()
    reporter = Reporter(stream, tty=True, clock=lambda: 5.0)
    reporter.begin("app-a", 2)
    reporter.event("app-a", event(1, "DataTable", "CREATE_IN_PROGRESS"))
    reporter.event("app-a", event(2, "DataTable", "CREATE_COMPLETE"))
    reporter.event("app-a", event(3, "AlertTopic", "CREATE_FAILED", "AWS::SNS::Topic", reason="denied"))
    reporter.end("app-a")
    text = stream.getvalue()
    assert "\r\x1b[2Kapp-a 0/2 settled, 0 s" in text and "\r\x1b[2Kapp-a 1/2 settled, 0 s" in text
    assert "CREATE_FAILED        AWS::SNS::Topic              AlertTopic  denied\n" in text
    assert "CREATE_COMPLETE" not in text
    assert text.endswith("\r\x1b[2K")  # the progress line is cleared when the stack settles


@pytest.mark.parametrize("exc, expected", [
    (botocore.exceptions.NoCredentialsError(), "no AWS credentials found; set AWS_PROFILE"),
    (botocore.exceptions.EndpointConnectionError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com/"),
     "cannot reach https://cloudformation.us-east-1.amazonaws.com/; check the network"),
    (botocore.exceptions.ClientError({"Error": {"Code": "AccessDenied", "Message": "not authorized to perform: "
                                                "cloudformation:CreateChangeSet"}}, "CreateChangeSet"),
     "access denied to CreateChangeSet: not authorized to perform: cloudformation:CreateChangeSet; the credentials"),
    (botocore.exceptions.ClientError({"Error": {"Code": "InvalidClientTokenId", "Message": "bad token"}},
                                     "DescribeStacks"), "the AWS credentials were rejected (InvalidClientTokenId)"),
    (botocore.exceptions.ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"}}, "DescribeStacks"),
     "DescribeStacks throttled even after retries (Rate exceeded); lower --concurrency"),
])
def test_aws_failures_become_one_line_that_says_what_to_fix(exc, expected):
    with pytest.raises(OperationError) as raised, aws.translate("app-stub", "us-east-1"):
        raise exc
    assert raised.value.where == "app-stub" and raised.value.message.startswith(expected)
    assert raised.value.__cause__ is exc


def test_an_unknown_region_is_named():
    exc = botocore.exceptions.EndpointConnectionError(endpoint_url="https://cloudformation.xx-north-9.amazonaws.com/")
    with pytest.raises(OperationError) as raised:
        aws.raise_failure("app-stub", exc, "xx-north-9")
    assert "is 'xx-north-9' a real AWS region? (check --region / AWS_REGION)" in raised.value.message


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No credentials file, no profile, the working directory in tmp_path; an endpoint nothing listens on."""
    for name in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "ENVIRONMENT_SUFFIX", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    monkeypatch.chdir(tmp_path)
    return port


@pytest.mark.parametrize("command", ["deploy", "diff", "status", "destroy"])
def test_endpoint_down_is_one_line_exit_1(offline, monkeypatch, capsys, command):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    argv = [command, "--suffix", "down"] + (["--yes"] if command == "destroy" else [])
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert without_config_line(captured.err) == (f"error: app-down: cannot reach http://127.0.0.1:{offline}/; "
                                                 f"check the network, AWS_ENDPOINT_URL and the region\n")
    assert "Traceback" not in captured.out


def test_no_credentials_is_one_line_exit_1(offline, monkeypatch, capsys):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    assert main(["deploy", "--suffix", "nocreds"]) == 1
    assert without_config_line(capsys.readouterr().err).startswith(
        "error: app-nocreds: no AWS credentials found; set AWS_PROFILE")


def test_concurrency_must_be_positive(capsys):
    assert main(["deploy", "--concurrency", "0"]) == 2
    assert "--concurrency: must be a whole number >= 1 (got '0')" in capsys.readouterr().err


def test_outputs_not_yet_readable_when_the_stack_settles_are_read_again(cf, out):
    """LocalStack (not AWS) reports a stack complete a moment before its outputs can be read."""
    ops = stubbed_watcher(cf.client, STACK.name, Reporter(out, tty=False, views=views()), FakeClock())
    settled = stack("CREATE_COMPLETE")["Stacks"][0]
    without = {key: value for key, value in settled.items() if key != "Outputs"}
    cf.add_response("describe_stacks", {"Stacks": [without]}, {"StackName": STACK_ID})
    cf.add_response("describe_stacks", {"Stacks": [settled]}, {"StackName": STACK_ID})
    described = DeployedStack.from_api(without)
    assert ops.with_outputs(described, expected=True).outputs == {"TableName": f"{STACK.name}-data"}
    assert ops.with_outputs(described, expected=False) is described  # no declared outputs: no extra call


def test_change_causes_name_the_parameter_and_carry_property_values():
    """DescribeChangeSet with IncludePropertyValues, shaped as AWS returns it (LocalStack returns no Details)."""
    parsed = Change.from_api({"Type": "Resource", "ResourceChange": {
        "Action": "Modify", "LogicalResourceId": "DataBucket", "ResourceType": "AWS::S3::Bucket",
        "Replacement": "False", "Scope": ["Properties", "Tags"], "PhysicalResourceId": "app-stub-data",
        "Details": [
            {"Target": {"Attribute": "Properties", "Name": "LifecycleConfiguration", "RequiresRecreation": "Never",
                        "Path": "/Properties/LifecycleConfiguration/Rules/0/ExpirationInDays",
                        "BeforeValue": "30", "AfterValue": "14", "AttributeChangeType": "Modify"},
             "Evaluation": "Static", "ChangeSource": "ParameterReference", "CausingEntity": "BucketLifecycleDays"},
            {"Target": {"Attribute": "Tags", "RequiresRecreation": "Never"},
             "Evaluation": "Static", "ChangeSource": "DirectModification"},
            {"Target": {"Attribute": "Properties", "Name": "TableName", "RequiresRecreation": "Conditionally"},
             "Evaluation": "Dynamic", "ChangeSource": "ResourceReference", "CausingEntity": "DataTable.Arn"},
        ]}})
    assert [cause_text(cause) for cause in parsed.details] == [
        "LifecycleConfiguration: 30 → 14 (parameter BucketLifecycleDays)",
        "Tags (changed in the template)",
        "TableName (refers to DataTable.Arn; recreation conditionally)"]
    assert parsed.causes == ("TableName",)  # the data guard reads only what requires recreation
