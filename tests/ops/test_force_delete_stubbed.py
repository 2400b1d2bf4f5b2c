"""Force delete and the ledger of what a delete leaves, on a stubbed CloudFormation.

LocalStack never ends a delete in DELETE_FAILED, so a stack stuck there is played with botocore's
Stubber, with replies shaped like real CloudFormation's (the installed botocore validates each request,
DeleteStack's DeletionMode included, and each reply: ListStackResources' summaries with
ResourceStatusReason, DescribeStacks records with Tags).
"""

from __future__ import annotations

import json

from botocore.stub import Stubber

from builder.cli import main
from builder.ops.ledger import Stays, ledger
from tests.ops.test_reap_stubbed import LONG_AGO, event, record

TEMPLATE = json.dumps({"Resources": {
    "DataTable": {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Delete"},
    "ArchiveBucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain"},
    "Alarm": {"Type": "AWS::CloudWatch::Alarm"}}})


def summary(logical: str, kind: str, physical: str, status: str, reason: str = "") -> dict:
    return {"LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": kind,
            "LastUpdatedTimestamp": LONG_AGO, "ResourceStatus": status,
            **({"ResourceStatusReason": reason} if reason else {})}


RESOURCES = [summary("DataTable", "AWS::DynamoDB::Table", "app-broken-data", "DELETE_FAILED",
                     "Table has deletion protection enabled"),
             summary("ArchiveBucket", "AWS::S3::Bucket", "app-broken-archive", "UPDATE_COMPLETE"),
             summary("Alarm", "AWS::CloudWatch::Alarm", "app-broken-alarm", "DELETE_COMPLETE")]


def deleting(cf: Stubber, item: dict, mode: str | None, ends: str, known: bool = False) -> None:
    """destroy's calls for the stack: its template and resources, DeleteStack (with `mode`), the end state.
    `known`: destroy --yes already described the stack when it looked for which stacks go."""
    name, sid = item["StackName"], item["StackId"]
    if not known:
        cf.add_response("describe_stacks", {"Stacks": [item]}, {"StackName": name})
    cf.add_response("get_template", {"TemplateBody": TEMPLATE}, {"StackName": sid, "TemplateStage": "Original"})
    cf.add_response("list_stack_resources", {"StackResourceSummaries": RESOURCES}, {"StackName": sid})
    if mode:  # a stack deleted before: its events of this delete start after the latest one read now
        cf.add_response("describe_stack_events", {"StackEvents": [event(name, 1, "DELETE_FAILED")]},
                        {"StackName": sid})
    cf.add_response("delete_stack", {}, {"StackName": sid, **({"DeletionMode": mode} if mode else {})})
    cf.add_response("describe_stacks", {"Stacks": [{**item, "StackStatus": ends}]}, {"StackName": sid})
    begins = {**event(name, 1, "DELETE_IN_PROGRESS"), "LogicalResourceId": name,
              "ResourceType": "AWS::CloudFormation::Stack"}  # a first delete's events start here
    cf.add_response("describe_stack_events", {"StackEvents": [
        event(name, 2, ends, "Table has deletion protection enabled" if ends == "DELETE_FAILED" else ""),
        *([] if mode else [begins])]}, {"StackName": sid})


def test_reap_force_delete_sends_force_delete_stack_and_prints_what_stays(cf, capsys):
    broken = record("broken", "DELETE_FAILED")
    cf.add_response("describe_stacks", {"Stacks": [broken]}, {})
    cf.add_response("get_template", {"TemplateBody": TEMPLATE},
                    {"StackName": broken["StackId"], "TemplateStage": "Original"})
    deleting(cf, broken, "FORCE_DELETE_STACK", "DELETE_COMPLETE")
    assert main(["reap", "--yes", "--force-delete", "--concurrency", "1"]) == 0
    err = capsys.readouterr().err
    assert "force delete (the stack is DELETE_FAILED): leaving behind DataTable app-broken-data" in err
    assert "left behind by the delete of app-broken (us-east-1): 2 resource(s)" in err
    assert "remove: aws dynamodb delete-table --table-name app-broken-data --region us-east-1" in err
    # the template of this test has no Properties, so the price table cannot price it: said, not guessed
    assert "ArchiveBucket AWS::S3::Bucket app-broken-archive: DeletionPolicy Retain; not priced; remove: aws s3 rb " \
           "s3://app-broken-archive --force --region us-east-1" in err
    assert "app-broken-alarm" not in err  # deleted already: not in the ledger


def test_without_force_delete_a_delete_failed_names_the_flag_and_exits_1(cf, capsys):
    broken = record("broken", "DELETE_FAILED")
    cf.add_response("describe_stacks", {"Stacks": [broken]}, {})
    cf.add_response("get_template", {"TemplateBody": TEMPLATE},
                    {"StackName": broken["StackId"], "TemplateStage": "Original"})
    deleting(cf, broken, None, "DELETE_FAILED")
    assert main(["reap", "--yes", "--concurrency", "1"]) == 1
    last = capsys.readouterr().err.splitlines()[-1]
    assert last.startswith("error: app-broken (us-east-1): not deleted: DELETE_FAILED: DataTable")
    assert "--force-delete deletes the stack and leaves what CloudFormation could not delete behind" in last


def test_reap_force_delete_without_yes_exits_2_with_one_line(clean_env, capsys):
    assert main(["reap", "--force-delete"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == "error: reap: --force-delete deletes stacks, so it needs --yes (without it reap only lists)"


def test_the_ledger_keeps_retained_resources_and_failures_only_when_forced():
    template = json.loads(TEMPLATE)
    forced = ledger(template, RESOURCES, "eu-west-1", force_delete=True)
    assert [(i.logical_id, i.remove_command) for i in forced] == [
        ("ArchiveBucket", "aws s3 rb s3://app-broken-archive --force --region eu-west-1"),
        ("DataTable", "aws dynamodb delete-table --table-name app-broken-data --region eu-west-1")]
    assert [i.logical_id for i in ledger(template, RESOURCES, "eu-west-1", force_delete=False)] == ["ArchiveBucket"]
    assert [(i.stays, i.deletion_policy) for i in forced] == [(Stays.KEPT, "Retain"), (Stays.DELETE_FAILED, "Delete")]


def test_destroy_force_delete_json_carries_the_ledger(cf, capsys):
    broken = record("broken", "DELETE_FAILED")
    cf.add_response("describe_stacks", {"Stacks": [broken]}, {"StackName": "app-broken"})  # which stacks go
    deleting(cf, broken, "FORCE_DELETE_STACK", "DELETE_COMPLETE", known=True)
    assert main(["destroy", "--suffix", "broken", "--yes", "--force-delete", "--output", "json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    ledgers = [r for r in records if r.get("event") == "ledger"]
    assert len(ledgers) == 1 and (ledgers[0]["stack"], ledgers[0]["region"]) == ("app-broken", "us-east-1")
    assert [(r["logical_id"], r["physical_id"], r["monthly_usd"]) for r in ledgers[0]["resources"]] == [
        ("ArchiveBucket", "app-broken-archive", None), ("DataTable", "app-broken-data", None)]
    assert ledgers[0]["resources"][1]["why"] == ("CloudFormation could not delete it (Table has deletion protection "
                                                 "enabled); force delete skips it")


def test_reap_json_carries_the_ledger_as_a_record_on_stdout(cf, capsys):
    broken = record("broken", "DELETE_FAILED")
    cf.add_response("describe_stacks", {"Stacks": [broken]}, {})
    cf.add_response("get_template", {"TemplateBody": TEMPLATE},
                    {"StackName": broken["StackId"], "TemplateStage": "Original"})
    deleting(cf, broken, "FORCE_DELETE_STACK", "DELETE_COMPLETE")
    assert main(["reap", "--yes", "--force-delete", "--concurrency", "1", "--output", "json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    ledgers = [r for r in records if r.get("event") == "ledger"]
    assert [r["logical_id"] for r in ledgers[0]["resources"]] == ["ArchiveBucket", "DataTable"]
    assert any(r.get("stack") == "app-broken" and r.get("deleted") is True for r in records)  # the row too
