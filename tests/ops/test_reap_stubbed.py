"""`reap` through the CLI on a stubbed CloudFormation: what LocalStack cannot show.

LocalStack finishes every operation before a second client can see it in progress, never fails a
delete of an empty stack and never throttles, so a stack in progress, a delete that ends DELETE_FAILED
and throttled calls are played here with botocore's Stubber, with replies shaped like real
CloudFormation's (DescribeStacks records with Tags and EnableTerminationProtection, GetTemplate's
TemplateBody, DescribeStackEvents' failure event, the Throttling error code).
"""

from __future__ import annotations

import datetime
import json
import re

import pytest
from botocore.stub import Stubber

from builder.cli import main
from builder.stack.poller import THROTTLED_TRIES
from tests.factories import MANAGED_TAGS, stack_id, without_config_line

LONG_AGO = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
EMPTY_TEMPLATE = json.dumps({"Resources": {}})


def record(suffix: str, status: str = "UPDATE_COMPLETE", ttl: str | None = "1h") -> dict:
    name = f"app-{suffix}"
    tags = [{"Key": "Environment", "Value": suffix}, {"Key": "CostCenter", "Value": "engineering"}, *MANAGED_TAGS,
            *([{"Key": "builder:ttl", "Value": ttl}] if ttl else [])]
    return {"StackName": name, "StackId": stack_id(name), "CreationTime": LONG_AGO, "LastUpdatedTime": LONG_AGO,
            "StackStatus": status, "Tags": tags, "EnableTerminationProtection": False,
            "Parameters": [{"ParameterKey": "BucketLifecycleDays", "ParameterValue": "7"}]}


def event(name: str, number: int, status: str, reason: str = "") -> dict:
    return {"StackId": stack_id(name), "EventId": f"{name}-e{number}", "StackName": name, "Timestamp": LONG_AGO,
            "LogicalResourceId": "DataTable", "ResourceType": "AWS::DynamoDB::Table", "ResourceStatus": status,
            **({"ResourceStatusReason": reason} if reason else {})}


def listed(cf: Stubber, *records: dict) -> None:
    cf.add_response("describe_stacks", {"Stacks": list(records)}, {})
    for item in records:
        cf.add_response("get_template", {"TemplateBody": EMPTY_TEMPLATE},
                        {"StackName": item["StackId"], "TemplateStage": "Original"})


def stack_event(name: str, number: int, status: str) -> dict:
    """The stack's own event (CloudFormation's first of a deletion: DELETE_IN_PROGRESS, "User Initiated")."""
    return {"StackId": stack_id(name), "EventId": f"{name}-e{number}", "StackName": name, "Timestamp": LONG_AGO,
            "LogicalResourceId": name, "ResourceType": "AWS::CloudFormation::Stack", "ResourceStatus": status,
            "ResourceStatusReason": "User Initiated"}


def deleted(cf: Stubber, item: dict, throttled: bool = False) -> None:
    """destroy's calls for a stack without buckets (no ListStackResources: nothing to empty, and no events
    read before the delete), ending DELETE_COMPLETE (after a Throttling reply)."""
    name, sid = item["StackName"], item["StackId"]
    cf.add_response("describe_stacks", {"Stacks": [item]}, {"StackName": name})
    cf.add_response("get_template", {"TemplateBody": EMPTY_TEMPLATE}, {"StackName": sid, "TemplateStage": "Original"})
    cf.add_response("delete_stack", {}, {"StackName": sid})
    if throttled:
        cf.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400, expected_params={"StackName": sid})
    cf.add_response("describe_stacks", {"Stacks": [{**item, "StackStatus": "DELETE_COMPLETE"}]}, {"StackName": sid})
    cf.add_response("describe_stack_events", {"StackEvents": [
        stack_event(name, 3, "DELETE_COMPLETE"), event(name, 2, "DELETE_COMPLETE"),
        stack_event(name, 1, "DELETE_IN_PROGRESS"), event(name, 0, "UPDATE_COMPLETE")]}, {"StackName": sid})


def rows(out: str) -> dict[str, dict]:
    return {row["stack"]: row for row in map(json.loads, out.splitlines()) if "stack" in row}


def test_a_stack_in_progress_is_listed_and_kept_whatever_the_flags(cf, capsys):
    listed(cf, record("busy", "UPDATE_IN_PROGRESS"), record("calm", ttl=None))
    calm = record("calm", ttl=None)
    deleted(cf, calm)
    assert main(["reap", "--older-than", "1d", "--yes", "--output", "json", "--concurrency", "1"]) == 0
    found = rows(capsys.readouterr().out)
    assert (found["app-busy"]["verdict"], found["app-busy"]["deleted"]) == ("keep", False)
    assert found["app-busy"]["reason"] == "UPDATE_IN_PROGRESS: an operation is running; reap it once it settles"
    assert (found["app-calm"]["verdict"], found["app-calm"]["deleted"]) == ("reap", True)


def test_a_shard_lists_prices_and_deletes_only_its_own_suffixes(cf, capsys):
    """--shard K/N: N nightly jobs reap a fleet between them, each stack exactly once."""
    from builder.ops.shard import shard_of

    suffixes = [f"pr{n}" for n in range(12)]
    mine = [s for s in suffixes if shard_of(s, 3) == 2]
    assert mine and len(mine) < len(suffixes)
    cf.add_response("describe_stacks", {"Stacks": [record(s) for s in suffixes]}, {})
    for suffix in mine:  # only this shard's stacks are priced (one GetTemplate each), then deleted
        cf.add_response("get_template", {"TemplateBody": EMPTY_TEMPLATE},
                        {"StackName": record(suffix)["StackId"], "TemplateStage": "Original"})
    for suffix in mine:
        deleted(cf, record(suffix))
    assert main(["reap", "--yes", "--shard", "2/3", "--concurrency", "1", "--output", "json"]) == 0
    assert sorted(rows(capsys.readouterr().out)) == sorted(f"app-{s}" for s in mine)


def test_a_delete_failed_does_not_stop_the_others_and_exits_1(cf, capsys):
    broken, fine = record("broken"), record("fine")
    listed(cf, broken, fine)
    sid = broken["StackId"]
    cf.add_response("describe_stacks", {"Stacks": [broken]}, {"StackName": "app-broken"})
    cf.add_response("get_template", {"TemplateBody": EMPTY_TEMPLATE}, {"StackName": sid, "TemplateStage": "Original"})
    cf.add_response("delete_stack", {}, {"StackName": sid})
    cf.add_response("describe_stacks", {"Stacks": [{**broken, "StackStatus": "DELETE_FAILED"}]}, {"StackName": sid})
    cf.add_response("describe_stack_events", {"StackEvents": [
        event("app-broken", 2, "DELETE_FAILED", "Table has deletion protection enabled"),
        stack_event("app-broken", 1, "DELETE_IN_PROGRESS")]}, {"StackName": sid})
    deleted(cf, fine)
    assert main(["reap", "--yes", "--concurrency", "1"]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines()[-1] == ("error: app-broken (us-east-1): not deleted: DELETE_FAILED: DataTable "
                                             "(AWS::DynamoDB::Table) DELETE_FAILED: Table has deletion protection "
                                             "enabled; --force-delete deletes the stack and leaves what "
                                             "CloudFormation could not delete behind (listed first, with the "
                                             "command that removes each)")
    assert "deleted 1 of 2; 1 failed" in captured.out


def test_a_stack_deployed_since_the_listing_is_kept_and_nothing_of_it_deleted(cf, capsys):
    item = record("busy")
    listed(cf, item)
    just_deployed = {**item, "LastUpdatedTime": datetime.datetime.now(datetime.UTC)}
    cf.add_response("describe_stacks", {"Stacks": [just_deployed]}, {"StackName": "app-busy"})
    assert main(["reap", "--yes", "--output", "json"]) == 0  # no GetTemplate, no bucket emptied, no DeleteStack
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # kept: idle a few seconds (how many depends on how busy the machine is) of its ttl of an hour
    assert lines[0]["deleted"] is False and re.fullmatch(r"idle \d+s of its ttl 1h.*", lines[0]["kept_at_deletion"])
    assert lines[-1]["kept_at_deletion"] == 1 and lines[-1]["failed"] == 0


def test_throttling_while_deleting_slows_the_reap_down_and_a_throttled_listing_is_one_line(cf, capsys):
    item = record("slow")
    listed(cf, item)
    deleted(cf, item, throttled=True)
    assert main(["reap", "--yes", "--output", "json"]) == 0
    assert rows(capsys.readouterr().out)["app-slow"]["deleted"] is True

    for _ in range(THROTTLED_TRIES):  # the budget halves and asks again; a listing throttled every time fails
        cf.add_client_error("describe_stacks", "Throttling", "Rate exceeded", 400, expected_params={})
    assert main(["reap"]) == 1
    assert without_config_line(capsys.readouterr().err) == ("error: stacks app-* in us-east-1: DescribeStacks "
                                                            "throttled even after "
                                       "retries (Rate exceeded); lower --concurrency or try again\n")


@pytest.mark.parametrize("argv,message", [
    (["--older-than", "3"], ("argument --older-than: expected a whole number with a unit s, m, h or d, such as "
                            "90m or 3d (got '3')")),
    (["--older-than", "0s"], "argument --older-than: must be from 1s to 3650d (got '0s')"),
    (["--older-than", "3D"], ("argument --older-than: expected a whole number with a unit s, m, h or d, such as "
                             "90m or 3d (got '3D'); units are lower case")),
    (["--concurrency", "0"], "argument --concurrency: must be a whole number >= 1 (got '0')"),
    (["--output", "yaml"], "argument --output: invalid choice: 'yaml' (choose from 'text', 'json')"),
    (["--set", "ttl=3 days"], None),
    (["--region", "moon-1"], None),
])
def test_bad_flags_and_durations_exit_2_with_one_line(argv, message, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert main(["reap", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    if message:
        assert message in err
