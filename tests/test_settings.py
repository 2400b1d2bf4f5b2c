"""The settings table drives configuration, the Parameters and docs/configuration.md; a family can declare its own
setting, Parameter, alarm, pricer and checkov skip, and it is accepted, validated and wired in."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from troposphere import Ref, cloudwatch, sqs

from builder.environment import EnvironmentConfig, Resolved, resolve_configs
from builder.errors import ConfigError, Problem
from builder.families import AlarmSpec, CheckovSkip, Composition, Family, ParameterSpec
from builder.families.shared import checkov_skips, tags
from builder.names import max_suffix_length
from builder.resources import (
    FAMILIES,
    all_settings,
    build_replica_template,
    build_template,
    deploy_parameters,
    parameter_specs,
    replica_parameters,
    schema,
)
from builder.settings import SETTINGS, Pattern, Range, Setting, aws_region, settings_table
from tests.factories import config as default_config

CONFIGURATION_PAGE = Path(__file__).parents[1] / "docs" / "configuration.md"
NOWHERE = Path("/nonexistent")


def test_the_configuration_pages_settings_table_is_the_rendered_settings_table():
    lines = settings_table(all_settings())
    readme = CONFIGURATION_PAGE.read_text(encoding="utf-8").splitlines()
    assert lines[0] in readme, "docs/configuration.md has no settings table"
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
                           schema=schema(WITH_QUEUE))


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


# ----------------------------------------------------------------------------- checks declared as data

CACHE_NODES = Setting("fake_cache_nodes", int, None, False, "cache nodes", range=Range(1, 6),
                      only_with=("fake_cache_mode", "cluster"))
CACHE_MODE = Setting("fake_cache_mode", str, "off", False, "cache mode", choices=("off", "single", "cluster"))
CACHE_RATIO = Setting("fake_cache_ratio", float, 0.5, False, "share of memory", range=Range(above=0, maximum=1))
CACHE_ZONE = Setting("fake_cache_zone", str, None, False, "cache region", pattern=aws_region("eu-west-1"))
CACHE_NAME = Setting("fake_cache_name", str, None, False, "cache name",
                     pattern=Pattern(r"[a-z]+", "is not lowercase letters such as cache"))
CACHE_ENCRYPTED = Setting("fake_cache_encrypted", bool, False, False, "encrypt the cache", requires=CACHE_ZONE.name)
CACHE_SETTINGS = (CACHE_NODES, CACHE_MODE, CACHE_RATIO, CACHE_ZONE, CACHE_NAME, CACHE_ENCRYPTED)


def _check_cache(resolved: Resolved) -> list[Problem]:
    if resolved.value(CACHE_MODE) == "cluster" and resolved.value(CACHE_NODES) is None:
        return [resolved.problem(CACHE_MODE, "cluster needs fake_cache_nodes")]
    return []


CACHE = Family("fake-cache", build=lambda c: None, settings=CACHE_SETTINGS, check=_check_cache,
               bucket_regions=lambda config: tuple(filter(None, [config.value(CACHE_ZONE)])))
WITH_CACHE = (*FAMILIES, CACHE)


def _cache_configs(*sets: str, config_path: str | None = None, suffix: str = "pr1",
                   region_check=None) -> list[EnvironmentConfig]:
    return resolve_configs(suffixes=[suffix], sets=list(sets), config_path=config_path, environ={}, cwd=NOWHERE,
                           region="us-east-1", schema=schema(WITH_CACHE), region_check=region_check)


def _cache_problems(*sets: str, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        _cache_configs(*sets, **kwargs)
    return raised.value.lines()


@pytest.mark.parametrize("sets, expected", [
    (["fake_cache_mode=many"], "error: --set: fake_cache_mode: must be one of off, single, cluster (got 'many')"),
    (["fake_cache_mode=cluster", "fake_cache_nodes=7"],
     "error: --set: fake_cache_nodes: must be a whole number from 1 to 6 (got 7)"),
    (["fake_cache_ratio=0"], "error: --set: fake_cache_ratio: must be a number > 0 and <= 1 (got 0)"),
    (["fake_cache_ratio=1.5"], "error: --set: fake_cache_ratio: must be a number > 0 and <= 1 (got 1.5)"),
    (["fake_cache_zone=moon-1"],
     "error: --set: fake_cache_zone: 'moon-1' does not look like an AWS region such as eu-west-1"),
    (["fake_cache_name=Cache"], "error: --set: fake_cache_name: 'Cache' is not lowercase letters such as cache"),
    (["fake_cache_nodes=2"],  # only_with: it applies only in cluster mode
     ("error: --set: fake_cache_nodes: only applies with fake_cache_mode = cluster; remove it or set "
     "fake_cache_mode = cluster")),
    (["fake_cache_encrypted=true"], "error: --set: fake_cache_encrypted: needs fake_cache_zone"),  # requires
    (["fake_cache_mode=cluster"], "error: --set: fake_cache_mode: cluster needs fake_cache_nodes"),  # the check
])
def test_a_setting_declares_its_checks_and_the_message_names_where_it_was_given(sets, expected):
    assert _cache_problems(*sets) == [expected]


def test_a_declared_check_of_a_value_from_the_file_names_the_file_and_its_table(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('[environments."pr*"]\nfake_cache_nodes = 3\n', encoding="utf-8")
    assert _cache_problems(config_path=str(path)) == [
        (f'error: {path}: environments."pr*".fake_cache_nodes: only applies with fake_cache_mode = cluster; remove '
        f"it or set fake_cache_mode = cluster")]


def test_a_pair_rule_is_not_reported_over_a_value_already_wrong():
    """A bad mode is one problem, not also a complaint that the nodes need another mode."""
    assert _cache_problems("fake_cache_mode=many", "fake_cache_nodes=2") == [
        "error: --set: fake_cache_mode: must be one of off, single, cluster (got 'many')"]


def test_the_commands_region_check_applies_to_every_region_setting():
    def only_us_east_1(region: str) -> str | None:
        return None if region == "us-east-1" else f"{region!r} is not known"

    assert _cache_problems("fake_cache_zone=eu-west-1", region_check=only_us_east_1) == [
        "error: --set: fake_cache_zone: 'eu-west-1' is not known"]


def test_a_family_bucket_region_counts_in_the_suffix_length():
    longest = max_suffix_length("app", ["us-east-1", "ap-southeast-2"])
    assert _cache_configs(suffix="a" * (longest + 1))  # fits without the family's bucket region
    (line,) = _cache_problems("fake_cache_zone=ap-southeast-2", suffix="a" * (longest + 1))
    assert f"the longest suffix allowed is {longest}" in line and "ap-southeast-2" in line


def test_accepted_values_are_read_typed_and_only_those_off_their_default_are_kept():
    (config,) = _cache_configs("fake_cache_mode=cluster", "fake_cache_nodes=3", "fake_cache_ratio=0.5")
    assert (config.value(CACHE_MODE), config.value(CACHE_NODES), config.value(CACHE_RATIO)) == ("cluster", 3, 0.5)
    assert config.family_values == (("fake_cache_mode", "cluster"), ("fake_cache_nodes", 3))  # 0.5 is the default
    assert config.with_value(CACHE_NODES, None).value(CACHE_NODES) is None
    assert config.with_value(CACHE_MODE, "off") == config.with_value(CACHE_NODES, None).with_value(
        CACHE_MODE, "off").with_value(CACHE_NODES, 3)


def test_a_requires_or_only_with_that_names_no_setting_is_refused():
    dangling = Family("dangling", build=lambda c: None,
                      settings=(Setting("fake_flag", bool, False, False, "a flag", requires="fake_missing"),))
    with pytest.raises(ValueError, match="names no setting: fake_flag names fake_missing"):
        all_settings((*FAMILIES, dangling))


def test_the_core_families_declare_their_own_settings_and_settings_py_keeps_the_stacks():
    by_family = {family.name: [s.name for s in family.settings] for family in FAMILIES}
    core = {  # builder's core families (a family added later brings its own)
        "keys": ["customer_managed_key"],
        "table": ["dynamodb_billing_mode", "dynamodb_read_capacity", "dynamodb_write_capacity",
                  "system_error_operations"],
        "storage": ["bucket_lifecycle_days"],
        "replication": ["enable_cross_region_replication", "replication_region", "replication_time_control"],
        "alerts": ["alarm_threshold_multiplier", "alert_email"],
    }
    assert {name: by_family.get(name) for name in core} == core
    assert [s.name for s in SETTINGS] == ["stack_prefix", "cost_center", "tags", "retain_data", "ttl",
                                          "termination_protection", "check_drift", "cloudformation_role_arn",
                                          "deployment_mode", "rollback_alarms", "rollback_monitoring_minutes"]
    assert not any(s.deploy_time for s in SETTINGS)  # every Parameter carries a family's setting
