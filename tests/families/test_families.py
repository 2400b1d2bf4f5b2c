"""What builder.resources collects from the families, and the table family's one capacity walk that the
cost estimate and lint rule W9001 share."""

from __future__ import annotations

import dataclasses

import pytest

from builder.families import DataHolder, Safeguard
from builder.resources import (
    CHECKOV_SKIPS,
    FAMILIES,
    FREE_TYPES,
    PRICERS,
    SAFEGUARDS,
    STATEFUL_TYPES,
    data_holders,
    safeguards,
)
from builder.template_values import capacity_parts


def test_collected_facts_come_from_the_families():
    assert set(STATEFUL_TYPES) == {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key"}
    assert {t: [g.what for g in guards] for t, guards in SAFEGUARDS.items()} == {
        "AWS::S3::Bucket": ["versioning", "current objects expire", "noncurrent versions expire", "replication"],
        "AWS::DynamoDB::Table": ["point-in-time recovery", "deletion protection"]}
    assert sorted(check for check, _ in CHECKOV_SKIPS) == ["CKV_AWS_119", "CKV_AWS_18", "CKV_AWS_26"]
    assert not set(PRICERS) & FREE_TYPES  # a type is priced or free, not both
    assert [family.name for family in FAMILIES][-1] == "alerts"  # last: it wires every family's alarms


def test_capacity_walk_covers_the_table_and_every_index_with_its_path():
    props = {"ProvisionedThroughput": {"ReadCapacityUnits": 5},
             "GlobalSecondaryIndexes": [{"IndexName": "byUser", "ProvisionedThroughput": {"WriteCapacityUnits": 2}},
                                        {}]}
    parts = capacity_parts(props)
    assert [(p.label, p.path, dict(p.throughput)) for p in parts] == [
        ("table", ("ProvisionedThroughput",), {"ReadCapacityUnits": 5}),
        ("index byUser", ("GlobalSecondaryIndexes", 0, "ProvisionedThroughput"), {"WriteCapacityUnits": 2}),
        ("index 1", ("GlobalSecondaryIndexes", 1, "ProvisionedThroughput"), {}),
    ]
    assert [p.label for p in capacity_parts({})] == ["table"]


def test_a_type_holds_data_in_one_way_and_a_safeguard_needs_a_holder():
    bucket = next(h for family in FAMILIES for h in family.holds_data if h.resource_type == "AWS::S3::Bucket")
    other = dataclasses.replace(FAMILIES[0], name="other", holds_data=(DataHolder("AWS::S3::Bucket", "its files"),))
    with pytest.raises(ValueError, match="AWS::S3::Bucket is declared as holding data twice, differently"):
        data_holders((*FAMILIES, other))
    alike = dataclasses.replace(FAMILIES[0], name="alike", holds_data=(bucket,))
    assert data_holders((*FAMILIES, alike))["AWS::S3::Bucket"] is bucket  # declared alike: fine (replication)
    queue = dataclasses.replace(FAMILIES[0], name="queue", safeguards=(
        Safeguard("AWS::SQS::Queue", "retention", "limit", lambda props: None, "messages go"),))
    with pytest.raises(ValueError, match="safeguards of types no family declares as holding data: AWS::SQS::Queue"):
        safeguards((*FAMILIES, queue))
