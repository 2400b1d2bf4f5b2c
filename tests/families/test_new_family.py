"""CONTRIBUTING.md's walk-through, proven: a new family plugged in at run time, with no other module touched.

The family is built here, in the test: an SQS work queue with an alarm and a setting, opt-in (no queue
unless `queue_retention_days` is set, so the default environment costs what it did). Plugged in with
`builder.resources.plugged_in`, it is everywhere builder looks: its setting validated and in the settings
table, its resources in the template and linted clean, its alarm on the alert topic and in the topic
policy, its price in `cost`, its box in the graph, its queue guarded by the data guard through the family's
own declarations (a DataHolder: switching the queue off loses its messages; a Safeguard: so does keeping
them fewer days), its queue adoptable, and its pre-delete action run by destroy. The deploy, guard, adoption
and destroy parts run against the emulator (and the AWS lane), through the command line, in-process.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from troposphere import GetAtt, cloudwatch, sqs

from builder.data_guard import StackState, findings
from builder.environment import EnvironmentConfig, resolve_configs
from builder.families import (
    AlarmSpec,
    Composition,
    DataHolder,
    Family,
    Lookup,
    PreDelete,
    ResourceKind,
    Safeguard,
)
from builder.families.shared import retention, tags, threshold_parameters
from builder.ops.adopt import named_data_resources
from builder.pricing import LineItem, Price, PricingContext
from builder.resources import FAMILIES, all_settings, build_template, inventory, plugged_in, schema
from builder.settings import Setting, settings_table
from builder.synth import stacks_for
from builder.template_values import UNKNOWN, as_number
from tests.factories import config, run_cli

QUEUE = "AWS::SQS::Queue"
MAX_RETENTION_DAYS = 14  # SQS keeps a message at most 14 days


def _retention_problem(days: int) -> str | None:
    if days == 0 or 1 <= days <= MAX_RETENTION_DAYS:
        return None
    return f"must be 0 (no queue) or 1 to {MAX_RETENTION_DAYS} days (got {days})"


RETENTION = Setting("queue_retention_days", int, 0, False,
                    "days the work queue keeps a message, 1 to 14; 0: no queue", "0.10 USD a month (its alarm)",
                    check=_retention_problem)


def queue_on(config: EnvironmentConfig) -> bool:
    return bool(config.value(RETENTION))


AGE_THRESHOLD = threshold_parameters({"QueueAgeThreshold": 3600}, when=queue_on)  # seconds the oldest waits


def build(c: Composition) -> None:
    if not queue_on(c.config):
        return
    queue = c.template.add_resource(sqs.Queue(
        "WorkQueue", QueueName=f"{c.config.stack_name}-work", MessageRetentionPeriod=c.config.value(RETENTION) * 86400,
        SqsManagedSseEnabled=True, Tags=tags(c.config), **retention(c.config)))
    c.alarms.append(AlarmSpec(
        "WorkQueueAgeAlarm", "work-queue-age", "Messages wait in the work queue too long", "QueueAgeThreshold",
        {"Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage", "Statistic": "Maximum", "Period": 300,
         "Dimensions": [cloudwatch.MetricDimension(Name="QueueName", Value=GetAtt(queue, "QueueName"))]}))


def price_queue(ctx: PricingContext, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    return [ctx.rate(name, QUEUE, "requests", "sqs.requests")]


def messages_lost(sqs_client: Any, url: str) -> str:
    """What deleting the queue loses: the messages waiting in it."""
    attributes = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return f"queue {url}: {attributes['Attributes']['ApproximateNumberOfMessages']} message(s) deleted with it"


# The data guard: deleting the queue (switching it off) or replacing it (a new name) loses its messages,
# and so does keeping them for fewer days.
QUEUE_HOLDS_DATA = DataHolder(QUEUE, "the messages waiting in it", replaced_by=("QueueName", "FifoQueue"))
SQS_DEFAULT_RETENTION_SECONDS = 4 * 86400  # MessageRetentionPeriod when the template leaves it out


def days_kept(properties: Mapping[str, Any]) -> object:
    """How many days the queue keeps a message; UNKNOWN when the template does not say."""
    seconds = as_number(properties.get("MessageRetentionPeriod", SQS_DEFAULT_RETENTION_SECONDS))
    return UNKNOWN if seconds is None else seconds / 86400


RETENTION_KEPT = Safeguard(QUEUE, "messages expire", "limit", days_kept, "unread messages are deleted {new}")

NO_QUEUE = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
FAMILY = Family(
    "queue", build=build, settings=(RETENTION,), parameters=AGE_THRESHOLD,
    holds_data=(QUEUE_HOLDS_DATA,), safeguards=(RETENTION_KEPT,),
    pricers={QUEUE: price_queue}, prices={"sqs.requests": Price(0.40, "million requests", "sqs")},
    price_sources={"sqs": "https://aws.amazon.com/sqs/pricing/"},
    kinds=(ResourceKind(QUEUE, "queue", name_property="QueueName",
                        lookup=Lookup("sqs", "get_queue_url", "QueueName", missing=NO_QUEUE),
                        identifier="QueueUrl", identifier_in_answer="QueueUrl",  # a queue is imported by its URL
                        before_delete=PreDelete("sqs", messages_lost, gone=NO_QUEUE)),))
ON = ["--set", "queue_retention_days=4"]


@pytest.fixture
def queue_family() -> Iterator[None]:
    with plugged_in(FAMILY):
        yield


def config_with_queue(days: int = 4) -> EnvironmentConfig:
    """pr1's configuration with the queue keeping messages `days` days (0: no queue)."""
    return resolve_configs(suffixes=["pr1"], sets=[f"queue_retention_days={days}"], environ={},
                           cwd=Path("/nonexistent"), schema=schema())[0]


def deployed_as(days: int) -> StackState:
    """The primary stack as the data guard sees it, deployed with the queue keeping messages `days` days."""
    stack = stacks_for(config_with_queue(days))[-1]
    return StackState(json.loads(stack.template_body), dict(stack.parameters), False)


def run(capsys: Any, command: str, *more: str) -> tuple[int, str, str]:
    return run_cli(capsys, *shlex.split(command), *more)


@pytest.mark.usefixtures("queue_family", "clean_env")
def test_its_setting_is_documented_validated_and_opt_in(capsys, tmp_path):
    assert ("| `queue_retention_days` | `0` | synth | days the work queue keeps a message, 1 to 14; 0: no queue "
            "| 0.10 USD a month (its alarm) |") in settings_table(all_settings())
    code, out, err = run(capsys, f"synth --suffix pr1 --out {tmp_path}", "--set", "queue_retention_days=30")
    assert (code, out) == (2, "")
    assert "error: --set: queue_retention_days: must be 0 (no queue) or 1 to 14 days (got 30)" in err
    # off by default: the default template is the one without the family (no unused Parameter either)
    assert build_template(config()).to_dict() == build_template(config(), FAMILIES).to_dict()


@pytest.mark.usefixtures("queue_family", "clean_env")
def test_its_queue_and_alarm_are_in_the_template_on_the_alert_topic_and_lint_clean(capsys, tmp_path):
    code, _, _ = run(capsys, f"synth --suffix pr1 --out {tmp_path}", *ON)
    assert code == 0
    doc = json.loads((tmp_path / "app-pr1.template.json").read_text())
    queue = doc["Resources"]["WorkQueue"]
    assert (queue["Type"], queue["Properties"]["MessageRetentionPeriod"]) == (QUEUE, 4 * 86400)
    alarm = doc["Resources"]["WorkQueueAgeAlarm"]["Properties"]
    assert alarm["AlarmActions"] == [{"Ref": "AlertTopic"}] and alarm["Threshold"] == {"Ref": "QueueAgeThreshold"}
    statement = doc["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    assert {"Fn::GetAtt": ["WorkQueueAgeAlarm", "Arn"]} in statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    code, out, err = run(capsys, f"lint {tmp_path}")
    assert (code, err) == (0, "") and "no findings" in out, out


@pytest.mark.usefixtures("queue_family", "clean_env")
def test_its_price_is_in_cost_and_the_default_stays_under_the_idle_cap(capsys):
    code, out, _ = run(capsys, "cost --suffix pr1 --output json", *ON)
    assert code == 0
    (environment,) = json.loads(out)["environments"]
    rates = {item["resource"]: item for item in environment["rates"]}
    assert rates["WorkQueue"]["price_source"] == "https://aws.amazon.com/sqs/pricing/"
    assert rates["WorkQueue"]["unit_price_usd"] == 0.40
    fixed = {item["resource"]: item["monthly_usd"] for item in environment["fixed"]}
    assert fixed["WorkQueueAgeAlarm"] == pytest.approx(0.10)
    code, out, _ = run(capsys, "cost --suffix pr1 --output json")
    assert json.loads(out)["total_fixed_monthly_usd"] <= 0.40  # opt-in: the idle default costs what it did


@pytest.mark.usefixtures("queue_family", "clean_env")
def test_its_resources_are_drawn_in_its_own_box(capsys):
    code, out, _ = run(capsys, "graph --suffix pr1", *ON)
    assert code == 0
    box = out[out.index('subgraph s0__queue["queue"]'):]
    box = box[:box.index("    end\n")]
    assert "s0_WorkQueue[" in box and "s0_WorkQueueAgeAlarm[" in box  # the alarm is the queue's, not alerts'
    assert out.index("s0__table") < out.index("s0__queue") < out.index("s0__alerts")


@pytest.mark.usefixtures("queue_family")
def test_its_queue_is_guarded_by_what_the_family_declares():
    """The data guard reads the families in use: the plugged-in queue's DataHolder and Safeguard."""
    assert inventory().data_holders[QUEUE] is QUEUE_HOLDS_DATA and inventory().safeguards[QUEUE] == (RETENTION_KEPT,)
    assert [(f.resource, f.resource_type, f.change, f.reason) for f in findings(deployed_as(4), deployed_as(0))] == [
        ("WorkQueue", QUEUE, "removed from the template (DeletionPolicy Delete)",
         "deleting it loses the messages waiting in it")]
    assert [(f.resource, f.change, f.reason) for f in findings(deployed_as(4), deployed_as(1))] == [
        ("WorkQueue", "messages expire: after 4 days → after 1 day", "unread messages are deleted after 1 day")]
    assert findings(deployed_as(1), deployed_as(4)) == ()  # kept longer: nothing is lost
    assert findings(deployed_as(0), deployed_as(4)) == ()  # a new queue: nothing to lose


@pytest.mark.usefixtures("queue_family")
def test_its_queue_is_imported_by_its_url():
    template = build_template(config_with_queue()).to_dict()
    (queue,) = [r for r in named_data_resources(template, {}) if r.type == QUEUE]
    assert (queue.logical_id, queue.name) == ("WorkQueue", "app-pr1-work")
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/app-pr1-work"
    assert replace(queue, answer={"QueueUrl": url}).to_import() == {  # what GetQueueUrl answered
        "ResourceType": QUEUE, "LogicalResourceId": "WorkQueue", "ResourceIdentifier": {"QueueUrl": url}}


@pytest.mark.emulator
@pytest.mark.usefixtures("queue_family")
def test_its_queue_is_guarded_adopted_and_reported_by_destroy(aws, suffix):
    """Against the emulator: a queue left behind stops the deploy that would collide with it; keeping messages
    for fewer days, and switching the queue off, are refused by the data guard (exit 3, nothing changed);
    destroy runs its pre-delete action before deleting the stack."""
    sqs_client = aws.client("sqs")
    leftover = f"app-{suffix}a-work"
    sqs_client.create_queue(QueueName=leftover)
    try:
        code, _, err = aws.run("deploy", "--suffix", f"{suffix}a", *ON)
        assert code == 1 and f"the stack is new but its queue {leftover} already exists" in err, err
        assert aws.stack(f"app-{suffix}a") is None  # nothing was created
    finally:
        sqs_client.delete_queue(QueueUrl=sqs_client.get_queue_url(QueueName=leftover)["QueueUrl"])

    assert aws.run("deploy", "--suffix", suffix, *ON)[0] == 0
    url = sqs_client.get_queue_url(QueueName=f"app-{suffix}-work")["QueueUrl"]
    for body in ("one", "two"):
        sqs_client.send_message(QueueUrl=url, MessageBody=body)
    code, out, err = aws.run("deploy", "--suffix", suffix, "--set", "queue_retention_days=1")
    assert code == 3, out + err
    assert (f"data guard: WorkQueue ({QUEUE}): messages expire: after 4 days → after 1 day: unread messages are "
            f"deleted after 1 day") in out, out
    code, out, err = aws.run("deploy", "--suffix", suffix)  # the queue switched off: its messages would go
    assert code == 3, out + err
    assert (f"data guard: WorkQueue ({QUEUE}): removed from the template (DeletionPolicy Delete): deleting it loses "
            f"the messages waiting in it") in out, out
    assert err.startswith(f"error: app-{suffix}: refused: 1 change(s) would lose data (listed above); nothing was "
                          f"changed (no change set made);"), err
    attributes = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["MessageRetentionPeriod"])
    assert attributes["Attributes"]["MessageRetentionPeriod"] == str(4 * 86400)  # refused: the queue as it was
    code, out, err = aws.run("destroy", "--suffix", suffix, "--yes")
    assert code == 0, err
    assert f"queue {url}: 2 message(s) deleted with it" in out + err
