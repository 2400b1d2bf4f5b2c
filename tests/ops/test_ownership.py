"""Whose stack is this, and which stacks an environment's destroy deletes (builder.ops.ownership,
builder.ops.destroy.environment_stacks), over DescribeStacks-shaped records: the cases the emulator
tests (tests/ops/test_destroy_emulator.py) do not each deploy, with every DescribeStacks counted."""

from __future__ import annotations

from typing import Any

import pytest

from builder.cli.views.destroy import found_by_text, left_alone_text
from builder.ops.destroy import EnvironmentStacks, FoundBy, LeftAlone, LeftAloneWhy, Target, environment_stacks
from builder.ops.ownership import NotBuilders, managed, replica_belongs, replica_regions
from builder.stack.deployed import DeployedStack
from tests.factories import config

MANAGED = {"builder:managed-by": "builder"}


def record(name: str, tags: dict[str, str] | None = None, replication_region: str | None = None) -> DeployedStack:
    """A DescribeStacks record as boto3 returns it, typed."""
    result: dict[str, Any] = {"StackName": name, "StackStatus": "UPDATE_COMPLETE",
                              "Tags": [{"Key": k, "Value": v} for k, v in (tags or {}).items()]}
    if replication_region is not None:
        result["Parameters"] = [{"ParameterKey": "ReplicationRegion", "ParameterValue": replication_region}]
    return DeployedStack.from_api(result)


def replica(primary_region: str | None, owned: bool = True) -> DeployedStack:
    tags = {**(MANAGED if owned else {}), **({"builder:primary-region": primary_region} if primary_region else {})}
    return record("app-pr1-replica", tags)


class Deployed:
    """A fake account: (name, region) -> record; counts every DescribeStacks."""

    def __init__(self, stacks: dict[tuple[str, str], DeployedStack]) -> None:
        self.stacks = stacks
        self.calls: list[tuple[str, str]] = []

    def __call__(self, name: str, region: str) -> DeployedStack | None:
        self.calls.append((name, region))
        return self.stacks.get((name, region))


def destroy_of(deployed: Deployed, *sets: str, config_regions: tuple[str, ...] = ()) -> EnvironmentStacks:
    return environment_stacks(config(*sets), config_regions, deployed)


PRIMARY = Target("app-pr1", "us-east-1")


@pytest.mark.parametrize("tags, expected", [
    (MANAGED, True), ({}, False), ({"builder:managed-by": "Builder"}, False), ({"builder:managed-by": ""}, False),
    ({"Environment": "pr1", "CostCenter": "engineering"}, False),
])
def test_only_the_managed_by_tag_says_builder_made_it(tags, expected):
    assert managed(record("app-pr1", tags)) is expected


def test_the_replica_regions_a_primary_names():
    assert replica_regions(record("app-pr1", {"builder:replica-region": "us-west-2"}, "us-west-2")) == ["us-west-2"]
    assert replica_regions(record("app-pr1", {}, "eu-west-1")) == ["eu-west-1"]  # an earlier builder's: no tag
    assert replica_regions(record("app-pr1", {"builder:replica-region": "us-west-2"}, "eu-west-1")) == [
        "us-west-2", "eu-west-1"]
    assert replica_regions(record("app-pr1", {}, "")) == [] and replica_regions(record("app-pr1")) == []


def test_the_replica_s_own_tag_decides_whose_it_is():
    primary = record("app-pr1", MANAGED, "us-west-2")
    assert replica_belongs(replica("us-east-1"), "us-west-2", "us-east-1", primary)
    assert not replica_belongs(replica("eu-west-1"), "us-west-2", "us-east-1", primary)  # the primary's word loses
    assert replica_belongs(replica(None), "us-west-2", "us-east-1", primary)  # no tag: the primary names it
    assert not replica_belongs(replica(None), "eu-west-1", "us-east-1", primary)
    assert not replica_belongs(replica(None), "us-west-2", "us-east-1", None)  # no tag, no primary: nobody's


def test_the_replica_goes_where_the_deployed_primary_says_whatever_the_config():
    deployed = Deployed({("app-pr1", "us-east-1"): record("app-pr1", MANAGED, "us-west-2"),
                         ("app-pr1-replica", "us-west-2"): replica("us-east-1")})
    found = destroy_of(deployed)  # today's config: replication off, no replication_region
    assert found.targets == (PRIMARY, Target("app-pr1-replica", "us-west-2", FoundBy.PRIMARY_NAMES_IT))
    assert found_by_text(*found.targets) == "the replica of app-pr1: the deployed app-pr1 names that region"
    assert found.left_alone == () and deployed.calls == [("app-pr1", "us-east-1"), ("app-pr1-replica", "us-west-2")]


def test_without_replication_anywhere_destroy_reads_only_the_primary():
    deployed = Deployed({("app-pr1", "us-east-1"): record("app-pr1", MANAGED, "")})
    assert destroy_of(deployed).targets == (PRIMARY,)
    assert deployed.calls == [("app-pr1", "us-east-1")]


def test_a_replica_whose_primary_is_gone_is_found_in_the_regions_the_config_names():
    deployed = Deployed({("app-pr1-replica", "eu-west-1"): replica("us-east-1")})
    found = destroy_of(deployed, config_regions=("us-west-2", "eu-west-1", "us-east-1"))
    assert found.targets == (PRIMARY, Target("app-pr1-replica", "eu-west-1", FoundBy.ITS_TAG))
    assert found_by_text(*found.targets) == "the replica of app-pr1: its builder:primary-region tag names us-east-1"
    assert deployed.calls == [("app-pr1", "us-east-1"), ("app-pr1-replica", "us-west-2"),
                              ("app-pr1-replica", "eu-west-1")]  # never the primary's own region


def test_the_config_s_own_replication_region_is_looked_in_too():
    deployed = Deployed({("app-pr1-replica", "us-west-2"): replica("us-east-1")})
    found = destroy_of(deployed, "enable_cross_region_replication=true", "replication_region=us-west-2")
    assert [t.region for t in found.targets] == ["us-east-1", "us-west-2"]


def test_a_replica_left_where_the_primary_no_longer_replicates_goes_too():
    """replication_region moved from us-west-2 to eu-west-1: the old replica's tag still names this primary."""
    deployed = Deployed({("app-pr1", "us-east-1"): record("app-pr1", MANAGED, "eu-west-1"),
                         ("app-pr1-replica", "eu-west-1"): replica("us-east-1"),
                         ("app-pr1-replica", "us-west-2"): replica("us-east-1")})
    found = destroy_of(deployed, config_regions=("us-west-2",))
    assert [t.region for t in found.targets] == ["us-east-1", "eu-west-1", "us-west-2"]


@pytest.mark.parametrize("found_replica, line", [
    (replica("eu-west-1"), ("app-pr1-replica in us-west-2 belongs to the primary app-pr1 in eu-west-1, not to "
                           "app-pr1 in us-east-1; left alone")),
    (replica(None), ("app-pr1-replica in us-west-2 has no builder:primary-region tag, and no deployed app-pr1 in "
                    "us-east-1 names us-west-2; left alone")),
], ids=["another-primary-s", "says-nothing"])
def test_a_replica_that_is_not_this_primary_s_is_left_alone_with_a_line(found_replica, line):
    deployed = Deployed({("app-pr1-replica", "us-west-2"): found_replica})
    found = destroy_of(deployed, config_regions=("us-west-2",))
    assert (found.targets, [left_alone_text(alone) for alone in found.left_alone]) == ((PRIMARY,), [line])


def test_a_replica_builder_did_not_make_is_left_alone_even_where_the_primary_names_it():
    deployed = Deployed({("app-pr1", "us-east-1"): record("app-pr1", MANAGED, "us-west-2"),
                         ("app-pr1-replica", "us-west-2"): replica(None, owned=False)})
    found = destroy_of(deployed)
    assert found.targets == (PRIMARY,)
    assert found.left_alone == (LeftAlone("app-pr1-replica", "us-west-2", LeftAloneWhy.NOT_BUILDERS, "app-pr1",
                                          "us-east-1", not_builders=NotBuilders.ANOTHER_TOOLS),)
    assert [left_alone_text(alone) for alone in found.left_alone] == [
        ("app-pr1-replica in us-west-2 is not made by builder (no builder:managed-by=builder tag, not a builder "
        "template); left alone")]
