"""builder.ops.reap over DescribeStacks records (DeployedStack) and a fixed `now`: selection, verdicts,
replica pairing, the delete driver (with a fake destroy) and both renderings."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from builder.cli.views.fleet import failure_text, kept_text, reap_json, reap_text
from builder.cli.views.reasons import reason_text as said  # the words the CLI says for a reason
from builder.errors import OperationError
from builder.ops.destroy import DestroyResult
from builder.ops.ownership import NotBuilders
from builder.ops.pool import Outcome
from builder.ops.reap import (
    KEEP,
    REAP,
    AgeLimits,
    Found,
    NoLongerReapable,
    Plan,
    Reason,
    Row,
    Why,
    plan,
    reap,
    recheck,
    was_deleted,
    with_costs,
)
from builder.stack.deployed import DeployedStack
from builder.stack.poller import Pollers
from tests.factories import describe_stacks_reply

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOUR = 3600
DAY = 86_400


def record(name: str, idle: int = 5 * DAY, *, ttl: str | None = None, suffix: str | None = None,
           status: str = "CREATE_COMPLETE", protected: bool = False, updated: bool = True,
           tags: dict[str, str] | None = None, replication_region: str | None = None,
           managed: bool = True) -> DeployedStack:
    """A DescribeStacks record of a stack builder deployed (without `managed`: a look-alike that has
    builder's name and tags but not builder:managed-by), idle for `idle` seconds."""
    suffix = suffix if suffix is not None else name.split("-", 1)[1].removesuffix("-replica")
    all_tags = {"Environment": suffix, "CostCenter": "engineering"} if tags is None else dict(tags)
    if managed:
        all_tags["builder:managed-by"] = "builder"
    if ttl is not None:
        all_tags["builder:ttl"] = ttl
    changed = NOW - timedelta(seconds=idle)
    result: dict[str, Any] = {
        "StackName": name,
        "StackId": f"arn:aws:cloudformation:us-east-1:123456789012:stack/{name}/0",
        "StackStatus": status,
        "CreationTime": changed - timedelta(days=30) if updated else changed,
        "Tags": [{"Key": k, "Value": v} for k, v in sorted(all_tags.items())],
        "EnableTerminationProtection": protected,
        "Parameters": [],
    }
    if updated:
        result["LastUpdatedTime"] = changed
    if replication_region is not None:
        result["Parameters"] = [{"ParameterKey": "ReplicationRegion", "ParameterValue": replication_region}]
    return DeployedStack.from_api(result)


def one(rec: DeployedStack, older_than: int | None = None, region: str = "us-east-1",
        max_age: int | None = None) -> Row:
    (row,) = plan([Found(region, rec)], "app", NOW, AgeLimits(older_than, max_age)).rows
    return row


# --------------------------------------------------------------------------- whose stacks

@pytest.mark.parametrize("rec", [
    record("other-pr1"),  # another prefix
    record("apppr1", suffix="pr1"),  # no dash after the prefix
    record("app-pr1", tags={"Environment": "pr1"}),  # no CostCenter
    record("app-pr1", tags={"CostCenter": "x"}),  # no Environment
    record("app-pr1", tags={"Environment": "", "CostCenter": "x"}),
    record("app-pr1", suffix="pr2"),  # the name does not match its suffix tag
    record("app-pr1-extra", suffix="pr1"),
    record("app-pr1", ttl="1d", status="DELETE_COMPLETE"),  # already gone
])
def test_stacks_builder_did_not_make_are_left_out(rec: dict[str, Any]) -> None:
    assert plan([Found("us-east-1", rec)], "app", NOW).rows == ()


def test_a_suffix_ending_in_replica_is_a_primary() -> None:
    row = one(record("app-x-replica", suffix="x-replica", ttl="1d"))
    assert (row.suffix, row.replica_of, row.verdict) == ("x-replica", None, REAP)


def replica_tags(primary_region: str, suffix: str = "pr1", **extra: str) -> dict[str, str]:
    """The stack tags builder gives a replica stack: its primary's region among them."""
    return {"Environment": suffix, "CostCenter": "engineering", "builder:primary-region": primary_region,
            **{("builder:ttl" if key == "ttl" else key): value for key, value in extra.items()}}


# --------------------------------------------------------------------------- idle time and verdicts

def test_idle_counts_from_the_last_update() -> None:
    assert one(record("app-pr1", idle=7 * HOUR)).idle_seconds == 7 * HOUR


def test_idle_counts_from_creation_when_never_updated() -> None:
    assert one(record("app-pr1", idle=7 * HOUR, updated=False)).idle_seconds == 7 * HOUR


def test_a_clock_behind_the_stack_gives_zero_idle() -> None:
    assert one(record("app-pr1", idle=-60)).idle_seconds == 0


@pytest.mark.parametrize("idle,ttl,older_than,verdict,reason", [
    (3 * DAY + 1, "3d", None, REAP, "idle 3d 1s, past its ttl of 3d"),
    (3 * DAY, "3d", None, KEEP, "idle 3d of its ttl 3d"),  # equal is not past
    (2 * HOUR, "3d", None, KEEP, "idle 2h of its ttl 3d"),
    (5 * DAY, None, None, KEEP, "no ttl"),
    (5 * DAY, None, 4 * DAY, REAP, "idle 5d, past --older-than 4d"),
    (3 * DAY, None, 4 * DAY, KEEP, "no ttl; idle 3d, not past --older-than 4d"),
    (2 * DAY, "1d", 30 * DAY, REAP, "idle 2d, past its ttl of 1d"),  # a ttl shorter than --older-than
    (2 * DAY, "30d", 1 * DAY, KEEP, "idle 2d of its ttl 30d (a ttl wins over --older-than)"),
    (2, "1s", None, REAP, "idle 2s, past its ttl of 1s"),
])
def test_verdicts(idle: int, ttl: str | None, older_than: int | None, verdict: str, reason: str) -> None:
    row = one(record("app-pr1", idle=idle, ttl=ttl), older_than)
    assert (row.verdict, said(row.reason)) == (verdict, reason)


@pytest.mark.parametrize("idle,ttl,older_than,max_age,verdict,reason", [
    (31 * DAY, "90d", None, 30 * DAY, REAP, "idle 31d, past --max-age 30d"),  # a hard cap over a longer ttl
    (31 * DAY, "90d", 1, 30 * DAY, REAP, "idle 31d, past --max-age 30d"),
    (29 * DAY, "90d", 1, 30 * DAY, KEEP, "idle 29d of its ttl 90d (a ttl wins over --older-than)"),
    (31 * DAY, None, None, 30 * DAY, REAP, "idle 31d, past --max-age 30d"),  # stacks without a ttl too
    (5 * DAY, None, 4 * DAY, 30 * DAY, REAP, "idle 5d, past --older-than 4d"),
    (31 * DAY, "1d", None, 30 * DAY, REAP, "idle 31d, past its ttl of 1d"),  # its own ttl is the reason given
    (30 * DAY, None, None, 30 * DAY, KEEP, "no ttl"),  # equal is not past
])
def test_max_age_caps_every_stack_ttl_or_not(idle: int, ttl: str | None, older_than: int | None, max_age: int,
                                              verdict: str, reason: str) -> None:
    row = one(record("app-pr1", idle=idle, ttl=ttl), older_than, max_age=max_age)
    assert (row.verdict, said(row.reason)) == (verdict, reason)


def test_max_age_does_not_reap_what_no_flag_may_reap() -> None:
    assert one(record("app-pr1", idle=400 * DAY, protected=True), max_age=1).verdict == KEEP
    assert one(record("app-pr1", idle=400 * DAY, ttl="soon"), max_age=1).verdict == KEEP
    assert one(record("app-pr1", idle=400 * DAY, managed=False), max_age=1).verdict == KEEP


# --------------------------------------------------------------------------- look-alikes: not made by builder

NOT_MANAGED = "not made by builder (no builder:managed-by=builder tag, not a builder template)"


def test_a_look_alike_is_listed_and_kept_whatever_the_flags() -> None:
    """Another team's `app-prod` with Environment=prod and CostCenter tags, idle for a year."""
    row = one(record("app-prod", idle=365 * DAY, ttl="1s", managed=False), older_than=1, max_age=1)
    assert (row.verdict, said(row.reason), row.managed) == (KEEP, NOT_MANAGED, False)


def test_an_earlier_builder_s_stack_is_kept_and_the_reason_says_how_to_adopt_it() -> None:
    """No tag yet, but builder's template (its Description, as DescribeStacks returns it)."""
    rec = replace(record("app-pr1", idle=9 * DAY, ttl="1d", managed=False),
                  description="builder: data bucket, table, alerts and alarms of environment pr1")
    row = one(rec, older_than=1)
    assert (row.verdict, said(row.reason)) == (
        KEEP, "made by an earlier builder (no builder:managed-by=builder tag yet): deploy it once to adopt it")


@pytest.mark.parametrize("value", ["Builder", "builder ", "yes", ""])
def test_only_the_exact_tag_value_is_builders(value: str) -> None:
    rec = record("app-pr1", idle=9 * DAY, ttl="1d", tags={"Environment": "pr1", "CostCenter": "x",
                                                         "builder:managed-by": value}, managed=False)
    assert one(rec).verdict == KEEP


def test_a_look_alike_is_never_handed_to_destroy() -> None:
    deleted: list[str] = []
    found = plan([Found("us-east-1", record("app-a", ttl="1d", managed=False)),
                  Found("us-east-1", record("app-b", ttl="1d"))], "app", NOW, AgeLimits(1, 1))
    outcomes = reap_with(found, lambda row: deleted.append(row.stack), concurrency=2)
    assert deleted == ["app-b"] and [o.stack for o in outcomes] == ["app-b"]


def test_a_look_alike_replica_stays_when_its_primary_goes() -> None:
    rows = plan([Found("us-east-1", record("app-pr1", ttl="1d", replication_region="eu-west-1")),
                 Found("eu-west-1", record("app-pr1-replica", managed=False))], "app", NOW).rows
    assert [(r.verdict, r.managed) for r in rows] == [(REAP, True), (KEEP, False)]
    assert said(rows[1].reason) == NOT_MANAGED


def test_a_builder_replica_of_a_look_alike_primary_is_kept_with_it() -> None:
    rows = plan([Found("us-east-1", record("app-pr1", ttl="1d", replication_region="eu-west-1", managed=False)),
                 Found("eu-west-1", record("app-pr1-replica", ttl="1d"))], "app", NOW).rows
    assert [r.verdict for r in rows] == [KEEP, KEEP]
    assert said(rows[1].reason) == f"replica of app-pr1: {NOT_MANAGED}"


def test_recheck_keeps_a_stack_that_lost_the_tag_since_the_listing() -> None:
    row = one(record("app-pr1", idle=2 * DAY, ttl="1d"))
    kept = recheck(row, record("app-pr1", idle=2 * DAY, ttl="1d", managed=False), NOW)
    assert kept == Reason(Why.NOT_BUILDERS, owner=NotBuilders.ANOTHER_TOOLS) and said(kept) == NOT_MANAGED


def test_look_alikes_are_counted_apart_in_both_renderings() -> None:
    found = with_costs(plan([Found("us-east-1", record("app-a", ttl="1d")),
                             Found("us-east-1", record("app-b", managed=False))], "app", NOW),
                       lambda row: 0.4 if row.managed else None)
    lines = reap_text(found).splitlines()
    assert lines[-1] == ("fleet: 2 stacks idle at 0.40 USD a month (1 of them not made by builder: left alone, "
                         "not priced); reaping 1 would save 0.40 USD a month")
    assert lines[2].split()[:7] == ["app-b", "us-east-1", "CREATE_COMPLETE", "5d", "-", "?", "keep:"]
    objects = [json.loads(line) for line in reap_json(found).splitlines()]
    assert [(o["stack"], o["managed_by_builder"], o["verdict"]) for o in objects[:-1]] == [
        ("app-a", True, "reap"), ("app-b", False, "keep")]
    assert objects[-1]["not_managed"] == 1 and objects[-1]["reapable"] == 1


def test_ttl_seconds_is_reported_and_none_without_the_tag() -> None:
    assert one(record("app-pr1", ttl="90m")).ttl_seconds == 5400
    assert one(record("app-pr1")).ttl_seconds is None


@pytest.mark.parametrize("bad", ["3 days", "0s", "3651d", "1.5h", "", "3D"])
def test_a_bad_ttl_tag_keeps_the_stack_whatever_the_flags(bad: str) -> None:
    row = one(record("app-pr1", idle=4000 * DAY, ttl=bad), older_than=1)
    assert row.verdict == KEEP
    assert said(row.reason).startswith("tag builder:ttl: ") and repr(bad) in said(row.reason)
    assert row.ttl_seconds is None


def test_protection_is_the_reason_given_before_a_bad_ttl() -> None:
    row = one(record("app-pr1", ttl="soon", protected=True))
    assert (row.verdict, said(row.reason)) == (KEEP, "termination protection is on (setting termination_protection)")


def test_termination_protection_keeps_an_expired_stack_and_names_the_setting() -> None:
    row = one(record("app-pr1", idle=10 * DAY, ttl="1d", protected=True), older_than=1)
    assert (row.verdict, said(row.reason)) == (KEEP, "termination protection is on (setting termination_protection)")
    assert row.ttl_seconds == DAY


@pytest.mark.parametrize("status", [
    "CREATE_IN_PROGRESS", "DELETE_IN_PROGRESS", "UPDATE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
    "ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
    "IMPORT_IN_PROGRESS", "IMPORT_ROLLBACK_IN_PROGRESS",
])
def test_an_operation_in_progress_keeps_the_stack(status: str) -> None:
    row = one(record("app-pr1", idle=10 * DAY, ttl="1d", status=status), older_than=1)
    assert (row.verdict, said(row.reason)) == (KEEP, f"{status}: an operation is running; reap it once it settles")


@pytest.mark.parametrize("status", ["UPDATE_ROLLBACK_FAILED", "IMPORT_ROLLBACK_FAILED"])
def test_states_that_need_a_person_keep_the_stack(status: str) -> None:
    row = one(record("app-pr1", idle=10 * DAY, ttl="1d", status=status), older_than=1)
    assert row.verdict == KEEP
    assert said(row.reason).startswith(f"{status} needs a person: ")


@pytest.mark.parametrize("status", [
    "CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "ROLLBACK_COMPLETE", "ROLLBACK_FAILED",
    "DELETE_FAILED", "CREATE_FAILED", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE", "REVIEW_IN_PROGRESS",
])
def test_settled_and_retryable_states_are_reapable(status: str) -> None:
    assert one(record("app-pr1", idle=2 * DAY, ttl="1d", status=status)).verdict == REAP


# --------------------------------------------------------------------------- replicas

def test_the_replica_follows_its_primary_across_regions() -> None:
    rows = plan([
        Found("eu-west-1", record("app-pr1-replica", idle=HOUR)),  # its own idle time does not matter
        Found("us-east-1", record("app-pr1", idle=5 * DAY, ttl="3d", replication_region="eu-west-1")),
    ], "app", NOW).rows
    assert [(r.stack, r.region, r.verdict, r.replica_of) for r in rows] == [
        ("app-pr1", "us-east-1", REAP, None),
        ("app-pr1-replica", "eu-west-1", REAP, "app-pr1"),
    ]
    assert said(rows[1].reason) == "replica of app-pr1: idle 5d, past its ttl of 3d"
    assert rows[1].ttl_seconds == 3 * DAY and rows[1].idle_seconds == HOUR


def test_a_kept_primary_keeps_its_replica() -> None:
    rows = plan([
        Found("us-east-1", record("app-pr1", idle=5 * DAY, ttl="3d", protected=True, replication_region="eu-west-1")),
        Found("eu-west-1", record("app-pr1-replica", idle=5 * DAY, ttl="1s")),
    ], "app", NOW).rows
    assert [r.verdict for r in rows] == [KEEP, KEEP]
    assert said(rows[1].reason) == "replica of app-pr1: termination protection is on (setting termination_protection)"


def test_a_replica_in_progress_stays_even_when_its_primary_goes() -> None:
    rows = plan([
        Found("us-east-1", record("app-pr1", ttl="1d", replication_region="eu-west-1")),
        Found("eu-west-1", record("app-pr1-replica", status="UPDATE_IN_PROGRESS")),
    ], "app", NOW).rows
    assert [r.verdict for r in rows] == [REAP, KEEP]


def test_the_replica_pairs_with_the_primary_whose_replication_region_it_is_in() -> None:
    """The same suffix deployed in two regions: each primary names its replica's region."""
    rows = plan([
        Found("us-east-1", record("app-pr1", ttl="1d", replication_region="us-west-2")),
        Found("eu-west-1", record("app-pr1", ttl="30d", replication_region="eu-central-1")),
        Found("eu-central-1", record("app-pr1-replica")),
        Found("us-west-2", record("app-pr1-replica")),
    ], "app", NOW).rows
    assert [(r.region, r.verdict) for r in rows] == [
        ("eu-west-1", KEEP), ("eu-central-1", KEEP), ("us-east-1", REAP), ("us-west-2", REAP)]


def test_a_replica_pairs_with_the_primary_its_own_tag_names() -> None:
    """us-east-1's primary still names us-west-2 (it switched replication off long ago: a stale
    parameter), but the replica there says it is eu-west-1's: its own tag decides."""
    rows = plan([
        Found("us-east-1", record("app-pr1", ttl="1d", replication_region="us-west-2")),
        Found("eu-west-1", record("app-pr1", ttl="30d", replication_region="us-west-2")),
        Found("us-west-2", record("app-pr1-replica", tags=replica_tags("eu-west-1"))),
    ], "app", NOW).rows
    assert [(r.region, r.verdict, r.replica_of) for r in rows] == [
        ("eu-west-1", KEEP, None), ("us-west-2", KEEP, "app-pr1"), ("us-east-1", REAP, None)]


def test_a_replica_left_in_a_region_the_primary_no_longer_names_still_goes_with_it() -> None:
    """replication_region moved from us-west-2 to eu-central-1: the old replica's tag still names its primary."""
    rows = plan([
        Found("us-east-1", record("app-pr1", ttl="1d", replication_region="eu-central-1")),
        Found("us-west-2", record("app-pr1-replica", tags=replica_tags("us-east-1"))),
    ], "app", NOW).rows
    assert [(r.region, r.verdict, r.replica_of) for r in rows] == [
        ("us-east-1", REAP, None), ("us-west-2", REAP, "app-pr1")]


def test_a_replica_whose_primary_region_was_not_looked_in_is_kept() -> None:
    """Its primary may still replicate into it: judging it as an orphan could delete live data's copy."""
    replica = Found("us-west-2", record("app-pr1-replica", idle=9 * DAY, tags=replica_tags("us-east-1", ttl="1d")))
    (row,) = plan([replica], "app", NOW, AgeLimits(1, 1), searched=["us-west-2"]).rows
    assert row.verdict == KEEP
    assert said(row.reason) == "its primary's region us-east-1 was not looked in; add --region us-east-1"
    (row,) = plan([replica], "app", NOW, searched=["us-west-2", "us-east-1"]).rows  # looked in: it is gone
    assert (row.verdict, said(row.reason)) == (REAP, "idle 9d, past its ttl of 1d")


def test_a_replica_without_its_primary_is_judged_on_its_own() -> None:
    rows = plan([Found("eu-west-1", record("app-pr1-replica", idle=2 * DAY, ttl="1d"))], "app", NOW).rows
    assert [(r.verdict, r.replica_of, said(r.reason)) for r in rows] == [(REAP, None, "idle 2d, past its ttl of 1d")]


def test_rows_are_in_the_same_order_whatever_order_they_were_found_in() -> None:
    found = [Found("us-east-1", record(f"app-pr{n}", ttl="1d")) for n in (3, 1, 2)]
    names = [r.stack for r in plan(found, "app", NOW).rows]
    assert names == ["app-pr1", "app-pr2", "app-pr3"]
    assert plan(found[::-1], "app", NOW) == plan(found, "app", NOW)


# --------------------------------------------------------------------------- costs and totals

def test_totals_count_every_stack_and_savings_only_the_reapable() -> None:
    priced = with_costs(plan([
        Found("us-east-1", record("app-a", ttl="1d")),
        Found("us-east-1", record("app-b")),
        Found("us-east-1", record("app-c", ttl="1d", protected=True)),
    ], "app", NOW), lambda row: {"app-a": 1.25, "app-b": 10.0, "app-c": 100.0}[row.stack])
    assert priced.fleet_monthly_idle_usd == pytest.approx(111.25)
    assert priced.reap_saves_monthly_usd == pytest.approx(1.25)


# --------------------------------------------------------------------------- deleting

def gone(row: Row) -> Outcome:
    """What destroy returns for a stack it deleted."""
    return Outcome(row.stack, row.region, DestroyResult.DELETED)


def reap_with(plan_: Plan, destroy_one: Callable[[Row], object], concurrency: int) -> tuple[Outcome, ...]:
    """reap through the executor with a fake destroy: whatever it returns, the stack is gone unless it raised."""
    return reap(plan_, lambda row: (destroy_one(row), gone(row))[1], concurrency, Pollers())


def fleet() -> Plan:
    return plan([
        Found("us-east-1", record("app-a", ttl="1d", replication_region="eu-west-1")),
        Found("eu-west-1", record("app-a-replica")),
        Found("us-east-1", record("app-b", ttl="1d", replication_region="eu-west-1")),
        Found("eu-west-1", record("app-b-replica")),
        Found("us-east-1", record("app-c", ttl="1d")),
        Found("us-east-1", record("app-keep")),
    ], "app", NOW)


def test_reap_deletes_only_the_reapable_and_each_replica_after_its_primary() -> None:
    """The three primaries wait for each other at a barrier, so a replica started early (before its
    primary finished) would find its primary still running."""
    primaries = threading.Barrier(3, timeout=30)
    finished: set[str] = set()
    started_before_primary: list[str] = []
    lock = threading.Lock()

    def destroy_one(row: Row) -> None:
        if row.replica_of is None:
            primaries.wait()
        elif row.replica_of not in finished:
            started_before_primary.append(row.stack)
        with lock:
            finished.add(row.stack)

    outcomes = reap_with(fleet(), destroy_one, concurrency=5)
    assert started_before_primary == []
    assert finished == {"app-a", "app-a-replica", "app-b", "app-b-replica", "app-c"}
    assert [(o.stack, o.region, was_deleted(o)) for o in outcomes] == [
        ("app-a", "us-east-1", True), ("app-a-replica", "eu-west-1", True), ("app-b", "us-east-1", True),
        ("app-b-replica", "eu-west-1", True), ("app-c", "us-east-1", True)]


def test_one_failure_does_not_stop_the_others_and_its_replica_is_not_attempted() -> None:
    attempted: list[str] = []

    def destroy_one(row: Row) -> None:
        attempted.append(row.stack)
        if row.stack == "app-a":
            raise OperationError(row.stack, "DELETE_FAILED: DataBucket could not be deleted")

    outcomes = {o.stack: o for o in reap_with(fleet(), destroy_one, concurrency=1)}
    assert "app-a-replica" not in attempted
    assert was_deleted(outcomes["app-a"]) is False
    assert failure_text(outcomes["app-a"]) == "DELETE_FAILED: DataBucket could not be deleted"
    assert was_deleted(outcomes["app-a-replica"]) is False
    assert failure_text(outcomes["app-a-replica"]) == "not attempted: its primary app-a was not deleted"
    assert [was_deleted(outcomes[s]) for s in ("app-b", "app-b-replica", "app-c")] == [True, True, True]


def test_deletes_run_concurrently_up_to_the_limit() -> None:
    """Three deletes at concurrency 3 must all be in flight at once: each waits for the others."""
    barrier = threading.Barrier(3, timeout=30)
    only_primaries = Plan(tuple(r for r in fleet().reapable if r.replica_of is None))
    outcomes = reap_with(only_primaries, lambda row: barrier.wait(), concurrency=3)
    assert all(map(was_deleted, outcomes)) and len(outcomes) == 3


def test_a_stack_kept_after_a_fresh_look_is_not_a_failure_and_keeps_its_replica() -> None:
    attempted: list[str] = []

    def destroy_one(row: Row) -> None:
        attempted.append(row.stack)
        if row.stack == "app-a":
            raise NoLongerReapable(row.stack, Reason(Why.WITHIN_TTL, idle=120, limit=DAY))

    outcomes = {o.stack: o for o in reap_with(fleet(), destroy_one, concurrency=2)}
    assert "app-a-replica" not in attempted
    assert (was_deleted(outcomes["app-a"]), failure_text(outcomes["app-a"]), kept_text(outcomes["app-a"])) == (
        False, None, "idle 2m of its ttl 1d")
    assert kept_text(outcomes["app-a-replica"]) == "its primary app-a was kept"
    assert failure_text(outcomes["app-a-replica"]) is None
    lines = reap_text(fleet(), tuple(outcomes.values())).splitlines()
    assert lines[1].endswith("; kept after all: idle 2m of its ttl 1d")
    assert lines[-1] == "deleted 3 of 5; 2 kept after a fresh look"


def test_recheck_on_a_fresh_record() -> None:
    row = one(record("app-pr1", idle=2 * DAY, ttl="1d"))
    assert recheck(row, record("app-pr1", idle=2 * DAY, ttl="1d"), NOW) is None
    assert recheck(row, None, NOW) is None  # already gone: destroy says so
    deployed_since = recheck(row, record("app-pr1", idle=60, ttl="1d"), NOW)
    assert deployed_since == Reason(Why.WITHIN_TTL, idle=60, limit=DAY)  # the facts, in seconds
    assert said(deployed_since) == "idle 1m of its ttl 1d"  # the words, the CLI's
    assert recheck(row, record("app-pr1", ttl="1d", protected=True), NOW) == Reason(Why.PROTECTED)
    running = recheck(row, record("app-pr1", ttl="1d", status="UPDATE_IN_PROGRESS"), NOW)
    assert running == Reason(Why.IN_PROGRESS, status="UPDATE_IN_PROGRESS")
    assert said(running) == "UPDATE_IN_PROGRESS: an operation is running; reap it once it settles"


def test_recheck_of_a_replica_looks_only_at_what_blocks_a_delete() -> None:
    rows = plan([Found("us-east-1", record("app-pr1", ttl="1d", replication_region="eu-west-1")),
                 Found("eu-west-1", record("app-pr1-replica"))], "app", NOW).rows
    replica = rows[1]
    assert recheck(replica, record("app-pr1-replica", idle=60), NOW) is None  # its own idle time does not count
    assert recheck(replica, record("app-pr1-replica", protected=True), NOW) is not None


def test_nothing_to_reap_calls_nothing() -> None:
    def destroy_one(row: Row) -> None:
        raise AssertionError("nothing should be deleted")

    assert reap_with(plan([Found("us-east-1", record("app-keep"))], "app", NOW), destroy_one, 4) == ()


def test_concurrency_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        reap_with(fleet(), lambda row: None, concurrency=0)


# --------------------------------------------------------------------------- rendering

def priced_fleet() -> Plan:
    return with_costs(fleet(), lambda row: 0.4 if row.replica_of is None else 0.02)


def test_json_has_one_object_per_stack_then_the_summary() -> None:
    def destroy_one(row: Row) -> None:
        if row.stack == "app-c":
            raise OperationError(row.stack, "throttled")

    p = priced_fleet()
    lines = [json.loads(line) for line in reap_json(p, reap_with(p, destroy_one, 2)).splitlines()]
    assert len(lines) == 7
    first = lines[0]
    assert first == {"stack": "app-a", "region": "us-east-1", "status": "CREATE_COMPLETE", "idle_seconds": 5 * DAY,
                     "ttl_seconds": DAY, "verdict": "reap", "reason": "idle 5d, past its ttl of 1d",
                     "monthly_idle_usd": 0.4, "replica_of": None, "managed_by_builder": True, "deleted": True,
                     "error": None, "kept_at_deletion": None}
    by_stack = {line.get("stack"): line for line in lines[:-1]}
    assert by_stack["app-c"]["deleted"] is False and by_stack["app-c"]["error"] == "throttled"
    assert by_stack["app-keep"]["ttl_seconds"] is None and by_stack["app-keep"]["verdict"] == "keep"
    assert lines[-1] == {"event": "summary", "stacks": 6, "not_managed": 0, "reapable": 5, "deleted": 4, "failed": 1,
                         "kept_at_deletion": 0, "fleet_monthly_idle_usd": 1.64, "reap_saves_monthly_usd": 1.24}


def test_json_of_a_dry_run_deletes_nothing_and_is_deterministic() -> None:
    text = reap_json(priced_fleet())
    assert text == reap_json(priced_fleet())
    objects = [json.loads(line) for line in text.splitlines()]
    assert not any(o.get("deleted") for o in objects)
    assert objects[-1]["deleted"] == 0 and objects[-1]["failed"] == 0


def test_text_lists_every_stack_then_the_fleet_cost_and_the_saving() -> None:
    text = reap_text(priced_fleet())
    lines = text.splitlines()
    assert lines[0].split() == ["STACK", "REGION", "STATUS", "IDLE", "TTL", "USD/MONTH", "VERDICT"]
    assert len(lines) == 1 + 6 + 1
    assert lines[1].split()[:7] == ["app-a", "us-east-1", "CREATE_COMPLETE", "5d", "1d", "0.40", "reap:"]
    assert "keep: no ttl" in lines[6] and lines[6].split()[4] == "-"
    assert lines[-1] == "fleet: 6 stacks idle at 1.64 USD a month; reaping 5 would save 1.24 USD a month"


def test_text_after_reaping_says_what_was_deleted() -> None:
    def destroy_one(row: Row) -> None:
        if row.stack == "app-c":
            raise OperationError(row.stack, "throttled")

    p = priced_fleet()
    lines = reap_text(p, reap_with(p, destroy_one, 2)).splitlines()
    assert lines[1].endswith("; deleted")
    assert next(line for line in lines if line.startswith("app-c ")).endswith("; NOT deleted: throttled")
    assert lines[-2] == "fleet: 6 stacks idle at 1.64 USD a month; reaping 5 saves 1.24 USD a month"
    assert lines[-1] == "deleted 4 of 5; 1 failed"


def test_an_unpriced_row_shows_a_question_mark() -> None:
    lines = reap_text(plan([Found("us-east-1", record("app-a"))], "app", NOW)).splitlines()
    assert lines[1].split()[5] == "?"


# --------------------------------------------------------------------------- the record shape boto3 gives

MEMBER = """<member>
  <StackName>app-pr1</StackName>
  <StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/app-pr1/1</StackId>
  <CreationTime>2026-11-20T10:00:00.123Z</CreationTime>
  <LastUpdatedTime>2026-11-24T12:00:00Z</LastUpdatedTime>
  <StackStatus>UPDATE_COMPLETE</StackStatus>
  <EnableTerminationProtection>false</EnableTerminationProtection>
  <Tags>
    <member><Key>CostCenter</Key><Value>engineering</Value></member>
    <member><Key>Environment</Key><Value>pr1</Value></member>
    <member><Key>builder:ttl</Key><Value>3d</Value></member>
    <member><Key>builder:managed-by</Key><Value>builder</Value></member>
  </Tags>
  <Parameters>
    <member><ParameterKey>ReplicationRegion</ParameterKey><ParameterValue></ParameterValue></member>
  </Parameters>
</member>"""


def test_a_record_as_botocore_parses_a_describe_stacks_reply() -> None:
    """The records above are hand-made; this one comes from botocore's own parser reading a reply shaped like
    CloudFormation's, so the field names, the timezone-aware timestamps and the tag list are the real ones."""
    (record,) = describe_stacks_reply(MEMBER)
    (row,) = plan([Found("us-east-1", DeployedStack.from_api(record))], "app", NOW).rows
    assert (row.stack, row.status, row.idle_seconds, row.ttl_seconds, row.verdict) == (
        "app-pr1", "UPDATE_COMPLETE", 5 * DAY, 3 * DAY, REAP)


def test_every_reason_has_its_words_and_the_words_come_from_the_facts() -> None:
    from builder.cli.views.reasons import REASONS

    assert set(REASONS) == set(Why)  # a new Why without words would fail only when a stack is judged so
    assert said(Reason(Why.PAST_MAX_AGE, idle=31 * DAY, limit=30 * DAY)) == "idle 31d, past --max-age 30d"
    assert said(Reason(Why.NOT_PAST_OLDER_THAN, idle=HOUR, limit=14 * DAY)) == \
        "no ttl; idle 1h, not past --older-than 14d"
