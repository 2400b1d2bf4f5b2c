"""Express mode (setting deployment_mode) on the wire: what a change set and a delete send, and what builder
reads back, through botocore's Stubber, which checks each request and reply against the installed service
model (CreateChangeSet, DescribeChangeSet, DeleteStack and DescribeStacks all carry DeploymentConfig in it).

Why Stubber: LocalStack 2026.3 has no DeploymentConfig in its API model. It accepts the key and drops it, so
its change sets and stacks come back without one (tests/ops/test_express_emulator.py runs that); what AWS is
sent and answers can only be checked here and in the AWS lane. The replies are shaped like AWS's:
DescribeChangeSet echoes the DeploymentConfig the change set was made with, DescribeStacks records the mode
of the stack's operations (the DescribeStacks reply below is parsed from AWS's XML by botocore's own parser).
"""

from __future__ import annotations

import io

import pytest
from botocore.stub import ANY

from builder.cli.views import views
from builder.cli.views.progress import EXPRESS_GAP
from builder.cli.views.status import as_record, status_lines
from builder.ops.deploy import express_gap
from builder.ops.status import StackStatus
from builder.report import Reporter
from builder.stack.changeset import create_change_set
from builder.stack.deployed import DeployedStack
from builder.synth import stacks_for
from tests.factories import (
    CHANGE_SET_ID,
    NOW,
    FakeClock,
    config,
    describe_stacks_reply,
    expect_findings,
    stack_id,
    stubbed_watcher,
)

EXPRESS = stacks_for(config("deployment_mode=express", suffix="pr7"))[0]
STANDARD = stacks_for(config(suffix="pr7"))[0]
STACK_ID = stack_id(EXPRESS.name)
# what builder sends with a change set of an express stack: AWS turns rollback off in express mode unless told
SENT = {"Mode": "EXPRESS", "DisableRollback": False}


@pytest.fixture
def watched(cf):
    out = io.StringIO()
    return stubbed_watcher(cf.client, EXPRESS.name, Reporter(out, tty=False, views=views()), FakeClock()), out


def expect_create(cf, stack, sent: dict | None, echoed: dict | None) -> None:
    """CreateChangeSet (with DeploymentConfig `sent`, or without the key), DescribeChangeSet made (echoing
    `echoed`, or without it), then its validation findings (none)."""
    request = {"StackName": stack.name, "ChangeSetName": ANY, "ChangeSetType": "CREATE",
               "Description": "builder deploy", "Parameters": ANY, "Tags": ANY, "Capabilities": ANY,
               "TemplateBody": stack.template_body, **({"DeploymentConfig": sent} if sent is not None else {})}
    cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": STACK_ID}, request)
    cf.add_response("describe_change_set", {
        "Status": "CREATE_COMPLETE", "ChangeSetId": CHANGE_SET_ID, "StackId": STACK_ID, "ChangeSetName": "builder-1",
        "Changes": [], **({"DeploymentConfig": echoed} if echoed is not None else {})},
        {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
    expect_findings(cf, CHANGE_SET_ID)


def test_an_express_stacks_change_set_asks_for_express_with_rollback_kept_on(cf, watched):
    watcher, out = watched
    expect_create(cf, EXPRESS, sent=SENT, echoed=SENT)
    change_set = create_change_set(watcher, EXPRESS, "CREATE", {"TemplateBody": EXPRESS.template_body})
    assert change_set is not None and change_set.deployment_mode == "EXPRESS"
    express_gap(watcher, EXPRESS, change_set)
    assert out.getvalue() == ""  # AWS took it: nothing to say


def test_a_standard_stacks_change_set_has_no_deployment_config_at_all(cf, watched):
    """Requests of the default are byte for byte what they were before the setting existed."""
    watcher, out = watched
    expect_create(cf, STANDARD, sent=None, echoed=None)
    change_set = create_change_set(watcher, STANDARD, "CREATE", {"TemplateBody": STANDARD.template_body})
    assert change_set is not None and change_set.deployment_mode == "STANDARD"
    express_gap(watcher, STANDARD, change_set)
    assert out.getvalue() == ""


def test_an_endpoint_that_drops_the_mode_is_named_in_one_line(cf, watched):
    """What LocalStack does (the change set comes back without DeploymentConfig): deploy says so and goes on."""
    watcher, out = watched
    expect_create(cf, EXPRESS, sent=SENT, echoed=None)
    change_set = create_change_set(watcher, EXPRESS, "CREATE", {"TemplateBody": EXPRESS.template_body})
    assert change_set is not None
    express_gap(watcher, EXPRESS, change_set)
    assert out.getvalue() == f"{EXPRESS_GAP}\n"


def described(mode: str | None) -> DeployedStack:
    """A stack as DescribeStacks' XML gives it, with DeploymentConfig's Mode when given."""
    config_xml = f"<DeploymentConfig><Mode>{mode}</Mode></DeploymentConfig>" if mode else ""
    (record,) = describe_stacks_reply(
        f"<member><StackName>{EXPRESS.name}</StackName><StackId>{STACK_ID}</StackId>"
        f"<CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>UPDATE_COMPLETE</StackStatus>"
        f"{config_xml}</member>")
    return DeployedStack.from_api(record)


@pytest.mark.parametrize("mode,express", [("EXPRESS", True), ("STANDARD", False), (None, False)])
def test_the_deployed_mode_is_what_describe_stacks_records(mode, express):
    assert (described(mode).express, described(mode).deployment_mode) == (express, mode or "STANDARD")


@pytest.mark.parametrize("mode,sent", [("EXPRESS", {"DeploymentConfig": {"Mode": "EXPRESS"}}), (None, {})],
                         ids=["deployed-express", "deployed-standard"])
def test_a_delete_goes_in_the_mode_the_stack_was_deployed_in(cf, watched, mode, sent):
    """The deployed stack decides, not the configuration: destroy and reap delete what DescribeStacks found."""
    watcher, _ = watched
    cf.add_response("delete_stack", {}, {"StackName": STACK_ID, **sent})
    cf.add_response("describe_stacks", {"Stacks": [{"StackName": EXPRESS.name, "StackId": STACK_ID,
                                                    "CreationTime": NOW, "StackStatus": "DELETE_COMPLETE"}]},
                    {"StackName": STACK_ID})
    cf.add_response("describe_stack_events", {"StackEvents": []})
    assert watcher.delete_and_wait(described(mode)).status == "DELETE_COMPLETE"


def test_a_forced_delete_of_an_express_stack_carries_both(cf, watched):
    watcher, _ = watched
    cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": STACK_ID})
    cf.add_response("delete_stack", {}, {"StackName": STACK_ID, "DeletionMode": "FORCE_DELETE_STACK",
                                         "DeploymentConfig": {"Mode": "EXPRESS"}})
    cf.add_response("describe_stacks", {"Stacks": [{"StackName": EXPRESS.name, "StackId": STACK_ID,
                                                    "CreationTime": NOW, "StackStatus": "DELETE_COMPLETE"}]},
                    {"StackName": STACK_ID})
    cf.add_response("describe_stack_events", {"StackEvents": []})
    assert watcher.delete_and_wait(described("EXPRESS"), None, "FORCE_DELETE_STACK").status == "DELETE_COMPLETE"


@pytest.mark.parametrize("mode,shown", [("EXPRESS", "express"), (None, None)])
def test_status_shows_the_recorded_mode_of_an_express_stack_only(mode, shown):
    record = as_record(StackStatus(EXPRESS.name, "us-east-1", described(mode)))
    assert record.get("deployment_mode") == shown
    head = status_lines(record)[0]
    assert head.endswith("  deployment mode: express") if shown else "deployment mode" not in head
