"""The `ttl` and `termination_protection` settings: how they are checked and where they end up."""

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
