"""The data guard as a pure function (builder/data_guard.py): small inline templates for each rule, the
headline case with builder's own templates, and a property test over random pairs of configurations
whose oracle reads the two configurations, never a template.

Deploy's refusal (exit 3, the stack unchanged) is tested against the emulator in
tests/ops/test_data_guard_emulator.py and with Stubber in tests/ops/test_deploy_stubbed.py.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.data_guard import Finding, StackState, findings, merged, pseudo_parameters
from builder.environment import EnvironmentConfig
from builder.resources import build_replica_template, build_template, deploy_parameters, replica_parameters
from tests.factories import config

PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
BUCKET, TABLE, KEY = "AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key"

# ---------------------------------------------------------------------- small templates, one rule each


def bucket(**properties: Any) -> dict[str, Any]:
    return {"Type": BUCKET, "Properties": {"VersioningConfiguration": {"Status": "Enabled"}, **properties}}


def lifecycle(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"LifecycleConfiguration": {"Rules": [{"Status": "Enabled", **rule} for rule in rules]}}


def table(**properties: Any) -> dict[str, Any]:
    return {"Type": TABLE, "Properties": {"TableName": "t", **properties}}


def retained(resource: dict[str, Any], policy: str = "Retain") -> dict[str, Any]:
    return {**resource, "DeletionPolicy": policy, "UpdateReplacePolicy": policy}


def state(resources: dict[str, Any], parameters: dict[str, str] | None = None, protected: bool = False,
          **template: Any) -> StackState:
    return StackState({"Resources": resources, **template}, parameters or {}, protected, PSEUDO)


def kinds(old: StackState, new: StackState, stack: str = "app-pr1") -> list[tuple[str, str]]:
    return [(f.resource, f.kind) for f in findings(old, new, stack)]


DAYS = {"Days": {"Type": "Number", "Default": "30"}}
REPLICATION = {"Parameters": {"On": {"Type": "String", "Default": "true"}},
               "Conditions": {"IsOn": {"Fn::Equals": [{"Ref": "On"}, "true"]}}}
REPLICATION["Parameters"]["R"] = {"Type": "String", "Default": "us-west-2"}
REPLICATED = bucket(ReplicationConfiguration={"Fn::If": ["IsOn", {"Role": "r", "Rules": [
    {"Status": "Enabled", "Destination": {"Bucket": {"Fn::Sub": "arn:${AWS::Partition}:s3:::replica-${R}"}}}]},
    {"Ref": "AWS::NoValue"}]})


@pytest.mark.parametrize("old, new, expected", [
    # removal: lost unless the deployed DeletionPolicy keeps it
    (state({"B": bucket()}), state({}), [("B", "removed")]),
    (state({"B": retained(bucket())}), state({}), []),
    (state({"B": retained(bucket(), "RetainExceptOnCreate")}), state({}), []),
    (state({"K": {"Type": KEY}}), state({}), [("K", "removed")]),
    (state({"Alarm": {"Type": "AWS::CloudWatch::Alarm"}}), state({}), []),  # holds no data
    # replacement: the type, or a property that replaces it
    (state({"T": table()}), state({"T": table(TableName="u")}), [("T", "replaced")]),
    (state({"T": table()}), state({"T": table(KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])}),
     [("T", "replaced")]),
    (state({"T": table(BillingMode="PROVISIONED")}), state({"T": table()}), []),
    (state({"B": bucket()}), state({"B": {**table(), "Type": TABLE}}), [("B", "replaced")]),
    (state({"B": bucket(BucketName={"Fn::Sub": "b-${AWS::AccountId}"})}),
     state({"B": bucket(BucketName="b-123456789012")}), []),  # the same name, written two ways
    # retention: Retain (or Snapshot) to Delete, or to no policy (Delete)
    (state({"T": retained(table())}), state({"T": table()}), [("T", "retention")]),
    (state({"T": retained(table())}), state({"T": {**retained(table()), "UpdateReplacePolicy": "Delete"}}),
     [("T", "retention")]),
    (state({"T": table()}), state({"T": retained(table())}), []),
    # safeguards switched off
    (state({"B": bucket()}), state({"B": bucket(VersioningConfiguration={"Status": "Suspended"})}),
     [("B", "versioning")]),
    (state({"B": bucket()}), state({"B": {"Type": BUCKET, "Properties": {}}}), [("B", "versioning")]),
    (state({"T": table(PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})}),
     state({"T": table()}), [("T", "point-in-time recovery")]),
    (state({"T": table(DeletionProtectionEnabled="true")}), state({"T": table(DeletionProtectionEnabled=False)}),
     [("T", "deletion protection")]),
    (state({"T": table()}), state({"T": table(DeletionProtectionEnabled=True)}), []),
    # lifecycle introduced or shortened; lengthened or disabled is not a loss
    (state({"B": bucket()}), state({"B": bucket(**lifecycle({"ExpirationInDays": 30}))}),
     [("B", "current objects expire")]),
    (state({"B": bucket(**lifecycle({"ExpirationInDays": 30}))}),
     state({"B": bucket(**lifecycle({"ExpirationInDays": 14}))}), [("B", "current objects expire")]),
    (state({"B": bucket(**lifecycle({"ExpirationInDays": 14}))}),
     state({"B": bucket(**lifecycle({"ExpirationInDays": 30}))}), []),
    (state({"B": bucket()}), state({"B": bucket(**lifecycle({"ExpirationInDays": 1, "Status": "Disabled"}))}), []),
    (state({"B": bucket(**lifecycle({"NoncurrentVersionExpiration": {"NoncurrentDays": 30}}))}),
     state({"B": bucket(**lifecycle({"NoncurrentVersionExpirationInDays": 7}))}),
     [("B", "noncurrent versions expire")]),
    # parameters matter: each side with its own values
    (state({"B": bucket(**lifecycle({"ExpirationInDays": {"Ref": "Days"}}))}, {"Days": "30"}, Parameters=DAYS),
     state({"B": bucket(**lifecycle({"ExpirationInDays": {"Ref": "Days"}}))}, {"Days": "14"}, Parameters=DAYS),
     [("B", "current objects expire")]),
    (state({"B": REPLICATED}, {"On": "true"}, **REPLICATION), state({"B": REPLICATED}, {"On": "false"}, **REPLICATION),
     [("B", "replication")]),
    (state({"B": REPLICATED}, {"R": "us-west-2"}, **REPLICATION),
     state({"B": REPLICATED}, {"R": "eu-west-1"}, **REPLICATION), [("B", "replication")]),
    (state({"B": REPLICATED}, {"On": "false"}, **REPLICATION), state({"B": REPLICATED}, {"On": "true"}, **REPLICATION),
     []),
    (state({"B": {**bucket(), "Condition": "IsOn"}}, {"On": "true"}, **REPLICATION),
     state({"B": {**bucket(), "Condition": "IsOn"}}, {"On": "false"}, **REPLICATION), [("B", "removed")]),
    # what the template does not say is not claimed
    (state({"B": bucket(**lifecycle({"ExpirationInDays": {"Fn::GetAtt": ["X", "Days"]}}))}),
     state({"B": bucket(**lifecycle({"ExpirationInDays": 1}))}), []),
    # the stack's own setting
    (state({}, protected=True), state({}), [("app-pr1", "termination protection")]),
    (state({}), state({}, protected=True), []),
], ids=["removed", "removed-retained", "removed-retained-except-on-create", "key-removed", "not-data",
        "renamed", "new-key-schema", "billing-mode", "type", "same-name", "retain-to-delete", "replace-policy",
        "delete-to-retain", "versioning-suspended", "versioning-dropped", "pitr-off", "deletion-protection-off",
        "deletion-protection-on", "expiry-introduced", "expiry-shortened", "expiry-lengthened", "expiry-disabled",
        "noncurrent-shortened", "parameter-lowered", "replication-off", "replication-elsewhere", "replication-on",
        "condition-false", "not-known", "protection-off", "protection-on"])
def test_each_rule(old, new, expected):
    assert kinds(old, new) == expected


def test_each_finding_is_one_line_naming_the_resource_the_change_and_the_loss():
    old = state({"B": bucket(**lifecycle({"ExpirationInDays": 30}))})
    new = state({"B": bucket(**lifecycle({"ExpirationInDays": 14}))})
    (finding,) = findings(old, new)
    assert finding.text == ("B (AWS::S3::Bucket): current objects expire: after 30 days → after 14 days: objects "
                            "are expired after 14 days (a delete marker hides them), then deleted for good as "
                            "noncurrent versions")
    assert finding.as_dict() == {"resource": "B", "type": BUCKET, "change": "current objects expire: after 30 days "
                                 "→ after 14 days", "reason": finding.reason}
    renamed = findings(state({"T": table()}), state({"T": table(TableName="u")}))[0]
    assert renamed.change == "replaced (TableName t → u)"
    kept = findings(state({"T": retained(table())}), state({"T": retained(table(TableName="u"))}))[0]
    assert kept.reason == ("a new, empty one takes its place; the old one is kept outside the stack "
                           "(UpdateReplacePolicy Retain)")


def test_the_change_sets_replacements_add_only_what_the_templates_do_not_show():
    from_templates = (Finding("T", TABLE, "replaced (TableName t → u)", "...", "replaced"),)
    from_change_set = (Finding("T", TABLE, "replaced (Replacement=True)", "...", "replaced"),
                       Finding("K", KEY, "replaced (Replacement=True)", "...", "replaced"))
    assert merged(from_templates, from_change_set) == (from_templates[0], from_change_set[1])


def test_pseudo_parameters_come_from_the_stack_id():
    stack_id = "arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/app-pr1/1a2b"
    assert pseudo_parameters(stack_id) == {
        "AWS::Partition": "aws-cn", "AWS::Region": "cn-north-1", "AWS::AccountId": "123456789012",
        "AWS::StackName": "app-pr1", "AWS::StackId": stack_id}
    assert pseudo_parameters("app-pr1") == {}


# ---------------------------------------------------------------------- builder's own templates


def primary(c: EnvironmentConfig) -> StackState:
    return StackState(json.loads(build_template(c).to_json()), deploy_parameters(c), c.termination_protection, PSEUDO)


def replica(c: EnvironmentConfig) -> StackState:
    return StackState(json.loads(build_replica_template(c).to_json()), replica_parameters(c),
                      c.termination_protection, PSEUDO)


def test_deploying_with_built_in_defaults_over_a_protected_stack_names_every_loss():
    """The issue's headline: tp1 deployed with termination protection and retained data, then deployed from a
    folder without the config (built-in defaults)."""
    old, new = config("termination_protection=true", "retain_data=true", suffix="tp1"), config(suffix="tp1")
    assert kinds(primary(old), primary(new), "app-tp1") == [
        ("DataBucket", "retention"), ("DataBucket", "current objects expire"),
        ("DataTable", "retention"), ("DataTable", "deletion protection"), ("app-tp1", "termination protection")]


def test_a_preview_environments_everyday_changes_lose_nothing():
    c = config()
    for sets in (["bucket_lifecycle_days=60"], ["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5",
                                                "dynamodb_write_capacity=5"], ["alarm_threshold_multiplier=2"],
                 ["customer_managed_key=true"], ["retain_data=true"], ["termination_protection=true"],
                 ["enable_cross_region_replication=true", "replication_region=us-west-2"], ["tags.Team=data"]):
        assert findings(primary(c), primary(config(*sets))) == (), sets


# ---------------------------------------------------------------------- the property: random pairs of configs

REPLICAS = (None, "us-west-2", "eu-west-1")


@st.composite
def configs(draw: Callable[..., Any]) -> tuple[EnvironmentConfig, dict[str, Any]]:
    """A configuration synthesized by builder from random settings, with the settings the oracle reads."""
    chosen = {"retain": draw(st.booleans()), "protected": draw(st.booleans()), "key": draw(st.booleans()),
              "days": draw(st.sampled_from([1, 7, 14, 30, 90, 36_500])), "replica": draw(st.sampled_from(REPLICAS))}
    sets = [f"retain_data={chosen['retain']}".lower(), f"termination_protection={chosen['protected']}".lower(),
            f"customer_managed_key={chosen['key']}".lower(), f"bucket_lifecycle_days={chosen['days']}"]
    if chosen["replica"]:
        sets += ["enable_cross_region_replication=true", f"replication_region={chosen['replica']}"]
        if draw(st.booleans()):
            sets.append("replication_time_control=true")
    if draw(st.booleans()):  # what loses nothing: billing mode, thresholds, tags
        sets += ["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=3", "dynamodb_write_capacity=4"]
    sets.append(f"alarm_threshold_multiplier={draw(st.sampled_from([0.5, 1, 3]))}")
    return config(*sets, suffix="pr1"), chosen


def oracle_for_one_stack(old: dict[str, Any], new: dict[str, Any], bucket: str, key: str, stack: str,
                         table: str | None) -> set[tuple[str, str]]:
    """What a stack of these settings loses, read from the settings alone."""
    lost: set[tuple[str, str]] = set()
    if old["retain"] and not new["retain"]:
        lost |= {(bucket, "retention"), (bucket, "current objects expire")}
        if table:
            lost |= {(table, "retention"), (table, "deletion protection")}
        if old["key"] and new["key"]:
            lost.add((key, "retention"))
    if old["key"] and not new["key"] and not old["retain"]:
        lost.add((key, "removed"))
    if new["days"] < old["days"]:
        lost.add((bucket, "noncurrent versions expire"))
        if not old["retain"] and not new["retain"]:
            lost.add((bucket, "current objects expire"))
    if old["protected"] and not new["protected"]:
        lost.add((stack, "termination protection"))
    return lost


def oracle(old: dict[str, Any], new: dict[str, Any]) -> set[tuple[str, str]]:
    lost = oracle_for_one_stack(old, new, "DataBucket", "DataKey", "app-pr1", "DataTable")
    if old["replica"] and new["replica"] != old["replica"]:
        lost.add(("DataBucket", "replication"))  # switched off, or now to another region
    if old["replica"] and new["replica"] == old["replica"]:  # the same replica stack is deployed again
        lost |= oracle_for_one_stack(old, new, "ReplicaBucket", "ReplicaKey", "app-pr1-replica", None)
    return lost


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs(), configs())
def test_the_guard_refuses_exactly_when_the_pair_removes_or_weakens_something(old, new):
    (old_config, old_settings), (new_config, new_settings) = old, new
    found = {(f.resource, f.kind) for f in findings(primary(old_config), primary(new_config), "app-pr1")}
    if old_settings["replica"] and new_settings["replica"] == old_settings["replica"]:
        found |= {(f.resource, f.kind) for f in findings(replica(old_config), replica(new_config), "app-pr1-replica")}
    assert found == oracle(old_settings, new_settings)
