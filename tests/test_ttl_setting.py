"""The `ttl` and `termination_protection` settings, and builder's other stack tags: how they are checked and
where they end up."""

from __future__ import annotations

import pytest

from builder.errors import ConfigError
from builder.synth import stacks_for
from tests.factories import config


def stacks(*sets: str):
    return stacks_for(config(*sets))


def test_ttl_is_a_stack_tag_as_written_and_changes_no_template_byte():
    with_ttl = stacks("ttl=90m", "enable_cross_region_replication=true", "replication_region=us-west-2")
    without = stacks("enable_cross_region_replication=true", "replication_region=us-west-2")
    assert [s.tags["builder:ttl"] for s in with_ttl] == ["90m", "90m"]  # the replica's stack too
    assert all("builder:ttl" not in s.tags for s in without)
    assert [s.template_body for s in with_ttl] == [s.template_body for s in without]
    assert list(with_ttl[0].tags) == sorted(with_ttl[0].tags)  # sorted: the same bytes in <stack>.tags.json


def test_replica_and_primary_stacks_name_each_other_s_region_in_stack_tags():
    """What destroy and reap pair them by; stack tags only, so the templates stay byte for byte."""
    replica, primary = stacks("enable_cross_region_replication=true", "replication_region=us-west-2")
    assert replica.tags["builder:primary-region"] == "us-east-1" and "builder:replica-region" not in replica.tags
    assert primary.tags["builder:replica-region"] == "us-west-2" and "builder:primary-region" not in primary.tags
    assert all(s.tags["builder:managed-by"] == "builder" for s in (replica, primary))
    assert list(replica.tags) == sorted(replica.tags) and list(primary.tags) == sorted(primary.tags)
    (alone,) = stacks("replication_region=us-west-2")  # replication off: no replica, nothing to name
    assert not {"builder:primary-region", "builder:replica-region"} & set(alone.tags)


@pytest.mark.parametrize("value,message", [
    ("0s", "must be from 1s to 3650d (got '0s')"),
    ("3651d", "must be from 1s to 3650d (got '3651d')"),
    ("3 days", "expected a whole number with a unit s, m, h or d, such as 90m or 3d (got '3 days')"),
    ("3H", "units are lower case"),
])
def test_a_bad_ttl_is_refused_naming_where(value, message):
    with pytest.raises(ConfigError) as caught:
        config(f"ttl={value}")
    [line] = caught.value.lines()
    assert line.startswith("error: --set: ttl: ") and message in line


def test_termination_protection_is_not_in_the_template():
    assert stacks("termination_protection=true")[0].template_body == stacks()[0].template_body
