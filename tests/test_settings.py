"""The settings table drives configuration, the Parameters and the README; a family can declare its own
setting, Parameter, alarm, pricer and checkov skip, and it is accepted, validated and wired in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from troposphere import Ref, cloudwatch, sqs

from builder.environment import EnvironmentConfig, resolve_configs
from builder.errors import ConfigError
from builder.families import AlarmSpec, CheckovSkip, Composition, Family, ParameterSpec
from builder.families.shared import checkov_skips, tags
from builder.resources import (
    FAMILIES,
    all_settings,
    build_replica_template,
    build_template,
    deploy_parameters,
    parameter_specs,
    replica_parameters,
)
from builder.settings import Setting, settings_table
from tests.factories import config as default_config

README = Path(__file__).parents[1] / "README.md"
NOWHERE = Path("/nonexistent")


def test_readme_settings_table_is_the_rendered_settings_table():
    lines = settings_table(all_settings())
    readme = README.read_text(encoding="utf-8").splitlines()
    assert lines[0] in readme, "README has no settings table"
    start = readme.index(lines[0])
    assert readme[start:start + len(lines) + 1] == [*lines, ""]  # the whole table, no more rows


def test_the_deploy_time_settings_are_exactly_the_ones_carried_by_parameters():
    deploy_time = {s.name for s in all_settings() if s.deploy_time}
    assert {spec.setting for spec in parameter_specs()} == deploy_time
    config = default_config()
    doc = build_template(config).to_dict()
    assert {title: p["Default"] for title, p in doc["Parameters"].items()} == deploy_parameters(config)
    replica = build_replica_template(config).to_dict()
    assert {title: p["Default"] for title, p in replica["Parameters"].items()} == replica_parameters(config)


def test_a_deploy_time_setting_without_a_parameter_or_a_parameter_of_a_synth_time_setting_is_refused():
    orphan = Family("orphan", build=lambda c: None, settings=(Setting("orphan_days", int, 3, True, "days"),))
    with pytest.raises(ValueError, match=r"deploy-time without a Parameter: \['orphan_days'\]"):
        parameter_specs((*FAMILIES, orphan))
    wrong = Family("wrong", build=lambda c: None, parameters=(
        ParameterSpec("Prefix", "stack_prefix", lambda config: config.stack_prefix, {"Type": "String"}),))
    with pytest.raises(ValueError, match=r"not deploy-time: \['stack_prefix'\]"):
        parameter_specs((*FAMILIES, wrong))


def test_a_setting_declared_twice_is_refused():
    twice = Family("twice", build=lambda c: None, settings=(Setting("retain_data", bool, False, False, "again"),))
    with pytest.raises(ValueError, match="declared twice: retain_data"):
        all_settings((*FAMILIES, twice))


# A family as small as the SQS walk-through: one setting, its Parameter, a resource, an alarm and a skip.
RETENTION = Setting("fake_queue_retention_days", int, 4, True, "days a message is kept",
                    check=lambda days: None if 1 <= days <= 14 else f"must be from 1 to 14 days (got {days})")
RETENTION_PARAMETER = ParameterSpec("FakeQueueRetentionSeconds", RETENTION.name,
                                    lambda config: str(config.value(RETENTION) * 86400),
                                    {"Type": "Number", "Description": "Seconds a message is kept"})
SKIP = CheckovSkip("CKV_AWS_27", "a test family's queue is not encrypted")


def _build_queue(c: Composition) -> None:
    queue = c.template.add_resource(sqs.Queue(
        "FakeQueue", MessageRetentionPeriod=Ref(c.parameters[RETENTION_PARAMETER.title]), Tags=tags(c.config),
        **checkov_skips(SKIP)))
    c.alarms.append(AlarmSpec("FakeQueueAgeAlarm", "queue-age", "Messages wait too long", "ReadThrottleThreshold",
                              {"Namespace": "AWS/SQS", "MetricName": "ApproximateAgeOfOldestMessage",
                               "Statistic": "Maximum", "Period": 300,
                               "Dimensions": [cloudwatch.MetricDimension(Name="QueueName", Value=Ref(queue))]}))


QUEUE = Family("fake-queue", build=_build_queue, settings=(RETENTION,), parameters=(RETENTION_PARAMETER,),
               checkov_skips=(SKIP,))
WITH_QUEUE = (*FAMILIES[:-1], QUEUE, FAMILIES[-1])  # before alerts, which wires every alarm to its topic


def _configs(sets: list[str], config_path: str | None = None) -> list[EnvironmentConfig]:
    return resolve_configs(suffixes=["pr1"], sets=sets, config_path=config_path, environ={}, cwd=NOWHERE,
                           settings=all_settings(WITH_QUEUE))


def test_a_family_setting_reaches_the_config_its_parameter_and_its_alarm_the_topic_policy():
    (config,) = _configs(["fake_queue_retention_days=9"])
    assert config.value(RETENTION) == 9
    assert deploy_parameters(config, WITH_QUEUE)["FakeQueueRetentionSeconds"] == str(9 * 86400)
    doc = json.loads(json.dumps(build_template(config, WITH_QUEUE).to_dict()))
    assert doc["Parameters"]["FakeQueueRetentionSeconds"]["Default"] == str(9 * 86400)
    assert doc["Resources"]["FakeQueueAgeAlarm"]["Properties"]["AlarmActions"] == [{"Ref": "AlertTopic"}]
    statement = doc["Resources"]["AlertTopicPolicy"]["Properties"]["PolicyDocument"]["Statement"][0]
    arns = next(c for c in statement["Condition"].values() if "aws:SourceArn" in c)["aws:SourceArn"]
    assert {"Fn::GetAtt": ["FakeQueueAgeAlarm", "Arn"]} in arns
    assert doc["Resources"]["FakeQueue"]["Metadata"]["checkov"]["skip"] == [{"id": SKIP.check, "comment": SKIP.reason}]
    # its default when not given; the template without the family is unchanged by the family's existence
    (default,) = _configs([])
    assert default.value(RETENTION) == 4 and default.family_values == ()
    assert build_template(default).to_dict() == build_template(EnvironmentConfig(suffix="pr1")).to_dict()


def test_a_family_setting_in_a_config_file_is_typed_and_checked(tmp_path):
    path = tmp_path / "environments.toml"
    path.write_text('[defaults]\nfake_queue_retention_days = 2\n', encoding="utf-8")
    assert _configs([], str(path))[0].value(RETENTION) == 2
    path.write_text('[defaults]\nfake_queue_retention_days = "two"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        _configs([], str(path))
    assert "defaults.fake_queue_retention_days: expected a whole number (got 'two')" in str(raised.value)


@pytest.mark.parametrize("sets, message", [
    (["fake_queue_retention_days=30"], "--set: fake_queue_retention_days: must be from 1 to 14 days (got 30)"),
    (["fake_queue_retention_days=x"], "--set: fake_queue_retention_days: expected a whole number (got 'x')"),
])
def test_a_family_setting_is_validated(sets, message):
    with pytest.raises(ConfigError) as raised:
        _configs(sets)
    assert message in str(raised.value)


def test_a_family_setting_is_unknown_without_its_family():
    with pytest.raises(ConfigError, match="fake_queue_retention_days: unknown key"):
        default_config("fake_queue_retention_days=3")
