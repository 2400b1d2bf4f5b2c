"""Which stacks are an environment's, on the emulator: the same stack name from two stack prefixes.

`stack_prefix = P-x` with suffix `S` and `stack_prefix = P` with suffix `x-S` both name the stack `P-x-S`.
builder decides from the deployed stack's own Environment tag (always the suffix), never from the name or
today's config: deploy, diff and destroy of `P` / `x-S` refuse the stack of `P-x` / `S` (exit 3, nothing
changed), and reap, status --all and diff --all of `P` never list `P-x-S` nor `Plication-1`, and the other
way round.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.factories import look_alike

pytestmark = pytest.mark.emulator

MANAGED = {"builder:managed-by": "builder", "builder:ttl": "1s"}


def listed(out: str) -> set[str]:
    return {row["stack"] for row in map(json.loads, out.splitlines()) if row.get("event") != "summary"}


def test_the_same_name_from_another_prefix_is_not_this_environments(aws, suffix):
    prefix = f"o{suffix}"
    other = f"{prefix}-x-{suffix}"  # stack_prefix P-x, suffix S
    code, _, err = aws.run("deploy", "--set", f"stack_prefix={prefix}-x", "--suffix", suffix)
    assert code == 0, err
    before = aws.stack(other)
    same_name = ("--set", f"stack_prefix={prefix}", "--suffix", f"x-{suffix}")  # stack_prefix P, suffix x-S

    code, _, err = aws.run("deploy", *same_name, "--set", "bucket_lifecycle_days=1")
    assert code == 3
    assert err == (f"error: {other}: refused: builder made this stack for another environment (its Environment "
                   f"tag is {suffix}, not x-{suffix}: the same name from another stack_prefix); nothing was changed. "
                   f"Choose another suffix or stack_prefix\n")
    code, _, err = aws.run("diff", *same_name)
    assert code == 3 and "deploy would refuse: builder made this stack for another environment" in err
    code, _, err = aws.run("destroy", *same_name, "--yes")
    assert code == 3
    assert err == (f"error: {other}: refused: builder made this stack for another environment (its Environment "
                   f"tag is {suffix}, not x-{suffix}: the same name from another stack_prefix); nothing was "
                   f"deleted\n")
    after = aws.stack(other)
    assert after is not None and after["StackStatus"] == before["StackStatus"]
    assert after.get("LastUpdatedTime") == before.get("LastUpdatedTime")  # not even a tag changed
    assert aws.client("cloudformation").list_change_sets(StackName=other)["Summaries"] == []


def test_reap_and_the_fleet_views_stay_within_their_prefix(aws, suffix):
    prefix = f"q{suffix}"
    cf = aws.client("cloudformation")
    mine, nested, longer = f"{prefix}-{suffix}", f"{prefix}-x-{suffix}", f"{prefix}lication-1"
    look_alike(cf, mine, suffix, **MANAGED)  # P's, suffix S
    look_alike(cf, nested, suffix, **MANAGED)  # P-x's, suffix S: a name that starts with P-
    look_alike(cf, longer, "1", **MANAGED)  # Plication's, suffix 1
    time.sleep(2)  # past every ttl

    for command in (("reap", "--output", "json"), ("status", "--all", "--output", "json")):
        code, out, err = aws.run(*command, "--set", f"stack_prefix={prefix}")
        assert code == 0, err
        assert listed(out) == {mine}
        code, out, err = aws.run(*command, "--set", f"stack_prefix={prefix}-x")
        assert code == 0, err
        assert listed(out) == {nested}

    code, _, err = aws.run("reap", "--set", f"stack_prefix={prefix}", "--yes")
    assert code == 0, err
    assert aws.stack(mine) is None
    assert aws.stack(nested)["StackStatus"] == "CREATE_COMPLETE"
    assert aws.stack(longer)["StackStatus"] == "CREATE_COMPLETE"

    code, _, err = aws.run("reap", "--set", f"stack_prefix={prefix}-x", "--yes")
    assert code == 0, err
    assert aws.stack(nested) is None and aws.stack(longer)["StackStatus"] == "CREATE_COMPLETE"
    cf.delete_stack(StackName=longer)
