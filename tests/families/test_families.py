"""What builder.resources collects from the families, and the table family's one capacity walk that the
cost estimate and lint rule W9001 share."""

from __future__ import annotations

from builder.resources import CHECKOV_SKIPS, FAMILIES, FREE_TYPES, PRICERS, STATEFUL_TYPES
from builder.template_values import capacity_parts


def test_collected_facts_come_from_the_families():
    assert set(STATEFUL_TYPES) == {"AWS::S3::Bucket", "AWS::DynamoDB::Table"}
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
