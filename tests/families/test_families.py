"""What builder.resources collects from the families, and the table family's one capacity walk that the
cost estimate and lint rule W9001 share.

Every inventory here is read from the families themselves, so a family added later breaks none of it;
what is checked is that each declaration is about something the families really make."""

from __future__ import annotations

import json
from typing import Any

import pytest

from builder.families import DataHolder, Family, ResourceKind, Safeguard
from builder.families.storage import BUCKET
from builder.resources import FAMILIES, active, inventory, plugged_in
from builder.synth import stacks_for
from builder.template_values import capacity_parts
from tests.variants import VARIANTS, variant_configs


@pytest.fixture(scope="module")
def resources() -> list[dict[str, Any]]:
    """Every resource of every stack of every variant."""
    return [resource for name in VARIANTS for stack in stacks_for(variant_configs(name, ["pr1"])[0])
            for resource in json.loads(stack.template_body)["Resources"].values()]


def test_collected_facts_are_about_what_the_families_make(resources):
    collected = inventory()
    made = {resource["Type"] for resource in resources}
    core = {"AWS::S3::Bucket", "AWS::DynamoDB::Table", "AWS::KMS::Key"}  # a family added later adds its own
    assert core <= set(collected.data_holders)
    assert set(collected.data_holders) <= made  # a type holding data that no family makes is a typo
    assert {t: [g.what for g in guards] for t, guards in collected.safeguards.items() if t in core} == {
        "AWS::S3::Bucket": ["versioning", "current objects expire", "noncurrent versions expire", "replication"],
        "AWS::DynamoDB::Table": ["point-in-time recovery", "deletion protection"]}
    assert set(collected.kinds) <= made and {rule_type for rule in collected.drift_noise for rule_type in rule.types} \
        <= made
    skipped = {skip["id"] for resource in resources for skip in resource.get("Metadata", {}).get("checkov", {})
               .get("skip", [])}
    assert skipped == {check for check, _ in collected.checkov_skips}  # each skip is declared, each declared is used
    assert not set(collected.pricers) & collected.free_types  # a type is priced or free, not both
    assert collected.families[-1].name == "alerts"  # last: it wires every family's alarms


def test_every_adoptable_kind_names_its_resources_by_the_property_it_declares(resources):
    for kind in inventory().kinds.values():
        if kind.adoptable:
            of_kind = [r for r in resources if r["Type"] == kind.type]
            assert of_kind and all(kind.name_property in r["Properties"] for r in of_kind), kind.type


def test_a_plugged_in_family_builds_before_alerts_is_checked_first_and_goes_away_after():
    nothing = Family("extra", build=lambda c: None)
    with plugged_in(nothing) as families:
        assert active() == families == (*FAMILIES[:-1], nothing, FAMILIES[-1])
        assert inventory().drawing_order[-2:] == ("extra", "alerts")
    assert active() is FAMILIES
    with pytest.raises(ValueError, match="two families named alike"), plugged_in(Family("storage", build=print)):
        pass
    with pytest.raises(ValueError, match="AWS::S3::Bucket: ResourceKind declared twice"), \
            plugged_in(Family("extra", build=print, kinds=(ResourceKind(BUCKET, "bucket"),))):
        pass
    assert active() is FAMILIES


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
    """The data guard's declarations are checked when a family is plugged in, before it takes effect."""
    bucket = inventory().data_holders[BUCKET]
    with pytest.raises(ValueError, match="AWS::S3::Bucket is declared as holding data twice, differently"), \
            plugged_in(Family("other", build=print, holds_data=(DataHolder(BUCKET, "its files"),))):
        pass
    with plugged_in(Family("alike", build=print, holds_data=(bucket,))):
        assert inventory().data_holders[BUCKET] is bucket  # declared alike: fine
    # a made-up type and family name: no family, of builder's or added later, declares them
    orphan = Safeguard("Example::Made::Up", "retention", "limit", lambda props: None, "messages go")
    with pytest.raises(ValueError, match="safeguards of types no family declares as holding data: Example::Made::Up"), \
            plugged_in(Family("made-up", build=print, safeguards=(orphan,))):
        pass
    assert active() is FAMILIES
