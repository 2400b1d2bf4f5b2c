"""Which of builder's stacks have sat idle past their time, and deleting them safely.

Pure selection over DescribeStacks records (DeployedStack values), and the plan of deletions the
executor (builder.ops.pool) runs with a callable that deletes one stack, so every rule here is tested
without AWS; the command fetches the records, prices them and passes the destroy operation in.

The rules, in the order they apply:
- A stack is listed when its tags `Environment` (the suffix) and `CostCenter` are set and its name is
  `<stack_prefix>-<suffix>` (a primary) or `<stack_prefix>-<suffix>-replica` (its replica). It is
  builder's only when it also carries `builder:managed-by = builder` (builder.ops.ownership); a
  look-alike without that tag is listed with verdict `keep` and never deleted.
- Never reapable, whatever the flags: not made by builder; termination protection on; an operation in progress
  (every `*_IN_PROGRESS` status except REVIEW_IN_PROGRESS, which is a stack waiting for its first
  change set to run: nothing is running and it holds no resources); UPDATE_ROLLBACK_FAILED and
  IMPORT_ROLLBACK_FAILED, where CloudFormation could not put resources back and a person must decide
  what to skip (ContinueUpdateRollback, "Continue rolling back an update" in the CloudFormation User
  Guide) before the stack can be trusted to delete cleanly.
  DELETE_FAILED and ROLLBACK_FAILED stay reapable: DeleteStack is the documented way out of both (its
  RetainResources parameter exists "for stacks in the DELETE_FAILED state"), and destroy empties the
  buckets first, the usual cause of a failed delete.
- Otherwise a stack with a `builder:ttl` tag is judged by its ttl alone: `reap` once idle time exceeds
  it. `older_than` applies only to stacks without a ttl. `max_age` (`--max-age`, never a default) is a
  hard cap over both: any stack idle longer is reaped, whatever its ttl. `keep` with the reason else.
  A `builder:ttl` that is not a duration keeps the stack and says why.
- A replica belongs to the primary its own `builder:primary-region` tag names (without the tag: the
  primary whose ReplicationRegion names the replica's region; builder.ops.ownership). It follows its
  primary's verdict (its own protection, state or ownership can still keep it) and is deleted after
  its primary. A replica whose primary is gone is judged on its own; one whose primary's region was
  not looked in is kept, since its primary may still replicate into it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from builder.durations import DurationError, parse_duration
from builder.environment import SUFFIX_TAG, TTL_TAG
from builder.errors import BuilderError
from builder.ops.ownership import NotBuilders, managed, not_builders, primary_region, replica_belongs, replica_regions
from builder.ops.pool import Outcome, Result, run_all
from builder.stack.deployed import DeployedStack
from builder.stack.poller import Pollers

REQUIRED_TAGS = (SUFFIX_TAG, "CostCenter")
REPLICA_NAME_END = "-replica"
REAP = "reap"
KEEP = "keep"
# where CloudFormation could not put resources back: a person decides, doing this first (reap's reason and
# destroy's refusal both name it)
NEEDS_A_PERSON = {
    "UPDATE_ROLLBACK_FAILED": "continue the rollback (aws cloudformation continue-update-rollback) first",
    "IMPORT_ROLLBACK_FAILED": "fix the import rollback by hand first",
}


class Why(StrEnum):
    """Why reap keeps or reaps a stack: its Reason carries the facts each names (builder.cli.views.reasons
    words it)."""

    NOT_BUILDERS = "not builder's"  # owner
    PROTECTED = "termination protection"
    IN_PROGRESS = "operation running"  # status
    NEEDS_A_PERSON = "needs a person"  # status (one of NEEDS_A_PERSON)
    BAD_TTL = "bad ttl"  # problem: what is wrong with its builder:ttl tag
    PAST_TTL = "past its ttl"  # idle, limit (the ttl)
    PAST_MAX_AGE = "past --max-age"  # idle, limit
    WITHIN_TTL = "within its ttl"  # idle, limit (the ttl), overruled
    PAST_OLDER_THAN = "past --older-than"  # idle, limit
    NOT_PAST_OLDER_THAN = "not past --older-than"  # idle, limit
    NO_TTL = "no ttl"
    PRIMARY_NOT_LOOKED_IN = "its primary's region not looked in"  # region
    REPLICA_OF = "replica"  # primary, of (the primary's own Reason)
    PRIMARY_KEPT = "its primary was kept"  # primary (at deletion time)
    PRIMARY_NOT_DELETED = "its primary was not deleted"  # primary (at deletion time: not attempted)


@dataclass(frozen=True)
class Reason:
    """Why reap decided what it did about a stack: the facts, no words."""

    why: Why
    idle: int = 0  # seconds since the stack last changed
    limit: int | None = None  # seconds: the ttl, or the --max-age / --older-than it was measured against
    overruled: bool = False  # WITHIN_TTL: --older-than alone would have reaped it (a ttl wins)
    status: str = ""  # the stack status that keeps it
    owner: NotBuilders | None = None  # NOT_BUILDERS: whose it is instead
    problem: str = ""  # BAD_TTL: what is wrong with the tag's value
    region: str = ""  # PRIMARY_NOT_LOOKED_IN: the primary's region
    primary: str = ""  # the primary's stack name (a replica's reasons)
    of: Reason | None = None  # REPLICA_OF: the primary's reason, which the replica follows


@dataclass(frozen=True)
class AgeLimits:
    """How long a stack may sit idle besides its own ttl: `older_than` for stacks without a ttl
    (--older-than), `max_age` for every stack, ttl or not (--max-age); seconds, None for no limit."""

    older_than: int | None = None
    max_age: int | None = None


NO_LIMITS = AgeLimits()


@dataclass(frozen=True)
class Found:
    """One DescribeStacks record and the region it was listed in."""

    region: str
    record: DeployedStack


@dataclass(frozen=True)
class Row:
    """What reap decided about one stack."""

    stack: str
    region: str
    status: str
    suffix: str
    idle_seconds: int
    ttl_seconds: int | None
    verdict: str  # REAP or KEEP
    reason: Reason
    replica_of: str | None = None  # the primary's stack name, for a replica paired with its primary
    monthly_idle_usd: float | None = None  # filled by with_costs; None until priced
    managed: bool = True  # carries builder:managed-by; False: a look-alike, kept and never priced
    stack_policy: str | None = None  # status --all: whether its stack policy protects what holds data (None: not read)
    record: DeployedStack = field(kw_only=True, compare=False, repr=False)

    @property
    def name(self) -> str:
        """The stack's name, as the executor calls every stack it runs on."""
        return self.stack


@dataclass(frozen=True)
class Plan:
    rows: tuple[Row, ...]

    @property
    def reapable(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.verdict == REAP)

    @property
    def not_managed(self) -> tuple[Row, ...]:
        """Look-alikes: builder's name and tags, but not made by builder."""
        return tuple(r for r in self.rows if not r.managed)

    @property
    def fleet_monthly_idle_usd(self) -> float:
        return sum(r.monthly_idle_usd or 0.0 for r in self.rows)

    @property
    def reap_saves_monthly_usd(self) -> float:
        return sum(r.monthly_idle_usd or 0.0 for r in self.reapable)


class NoLongerReapable(BuilderError):
    """Raised by a destroy_one that looked again (see recheck) and found the stack must now be kept; reap
    turns it into a KEPT outcome whose detail is the reason."""

    def __init__(self, stack: str, reason: Reason) -> None:
        super().__init__(stack, str(reason.why))
        self.reason = reason


# Deletes the stack of the row as destroy does and returns its outcome; raises BuilderError when that
# fails, NoLongerReapable when a fresh DescribeStacks says keep (a deploy between the plan and the
# delete reset the idle time).
DestroyOne = Callable[[Row], Outcome]


# --------------------------------------------------------------------------- reading a record

def builder_suffix(record: DeployedStack, stack_prefix: str) -> tuple[str, bool] | None:
    """(suffix, is_replica) when the stack has builder's name and tags and still exists, else None.

    Whether builder made it is the managed-by tag's to say (ownership.managed): a look-alike gets a
    row that keeps it. The suffix comes from the Environment tag, so a suffix that itself ends in
    `-replica` is not mistaken for the replica of a shorter one.
    """
    tags = record.tags
    if not record.exists or not all(tags.get(key) for key in REQUIRED_TAGS):
        return None  # a deleted stack (ListStacks shows them for 90 days) is nobody's to reap
    primary = f"{stack_prefix}-{tags[SUFFIX_TAG]}"
    name = record.name
    if name == primary:
        return tags[SUFFIX_TAG], False
    if name == primary + REPLICA_NAME_END:
        return tags[SUFFIX_TAG], True
    return None


def idle_seconds(record: DeployedStack, now: datetime) -> int:
    """Seconds since the stack last changed (LastUpdatedTime, else CreationTime); never negative."""
    changed = record.last_change
    return 0 if changed is None else max(0, int((now - changed).total_seconds()))


def _blocker(record: DeployedStack) -> Reason | None:
    """Why no flag can make this stack reapable, or None."""
    status = record.status
    owner = not_builders(record)
    if owner is not None:
        return Reason(Why.NOT_BUILDERS, owner=owner)
    if record.termination_protection:
        return Reason(Why.PROTECTED)
    if record.in_progress:
        return Reason(Why.IN_PROGRESS, status=status)
    if status in NEEDS_A_PERSON:
        return Reason(Why.NEEDS_A_PERSON, status=status)
    return None


def _judge(record: DeployedStack, idle: int, limits: AgeLimits) -> tuple[str, Reason, int | None]:
    """(verdict, reason, ttl_seconds) of a primary or an unpaired replica: its own ttl wins over
    --older-than; only --max-age caps a ttl."""
    raw_ttl = record.tags.get(TTL_TAG)
    ttl: int | None = None
    bad_ttl: Reason | None = None
    if raw_ttl is not None:
        try:
            ttl = parse_duration(raw_ttl)
        except DurationError as error:
            bad_ttl = Reason(Why.BAD_TTL, problem=str(error))
    blocker = _blocker(record) or bad_ttl
    if blocker is not None:
        return KEEP, blocker, ttl
    if ttl is not None and idle > ttl:
        return REAP, Reason(Why.PAST_TTL, idle, ttl), ttl
    if limits.max_age is not None and idle > limits.max_age:
        return REAP, Reason(Why.PAST_MAX_AGE, idle, limits.max_age), ttl
    if ttl is not None:
        overruled = limits.older_than is not None and idle > limits.older_than
        return KEEP, Reason(Why.WITHIN_TTL, idle, ttl, overruled=overruled), ttl
    if limits.older_than is not None and idle > limits.older_than:
        return REAP, Reason(Why.PAST_OLDER_THAN, idle, limits.older_than), None
    if limits.older_than is not None:
        return KEEP, Reason(Why.NOT_PAST_OLDER_THAN, idle, limits.older_than), None
    return KEEP, Reason(Why.NO_TTL), None


# --------------------------------------------------------------------------- the plan

def plan(found: Iterable[Found], stack_prefix: str, now: datetime, limits: AgeLimits = NO_LIMITS,
         searched: Collection[str] | None = None) -> Plan:
    """A row for each stack among `found` with builder's name and tags (look-alikes kept): primaries by
    name and region, each followed by its replicas. `searched`: the regions `found` covers, so that a
    replica whose primary's region was not looked in is kept rather than judged as an orphan."""
    primaries: list[tuple[Found, str]] = []
    replicas: list[tuple[Found, str]] = []
    for item in found:
        role = builder_suffix(item.record, stack_prefix)
        if role is not None:
            (replicas if role[1] else primaries).append((item, role[0]))

    rows: list[Row] = []
    paired: set[int] = set()
    for item, suffix in sorted(primaries, key=lambda p: (p[0].record.name, p[0].region)):
        row = _row(item, suffix, now, *_judge(item.record, idle_seconds(item.record, now), limits))
        rows.append(row)
        for index, (replica, replica_suffix) in enumerate(replicas):
            if index not in paired and replica_suffix == suffix and _is_replica_of(replica, item, primaries):
                paired.add(index)
                rows.append(_replica_row(replica, row, now))
    for index, (replica, suffix) in sorted(enumerate(replicas), key=lambda p: (p[1][0].record.name, p[1][0].region)):
        if index in paired:
            continue
        owner = primary_region(replica.record)
        if searched is not None and owner is not None and owner not in searched and not _blocker(replica.record):
            rows.append(_row(replica, suffix, now, KEEP, Reason(Why.PRIMARY_NOT_LOOKED_IN, region=owner), None))
        else:  # its primary is gone: judged on its own
            rows.append(_row(replica, suffix, now, *_judge(replica.record, idle_seconds(replica.record, now), limits)))
    return Plan(tuple(rows))


def _is_replica_of(replica: Found, primary: Found, primaries: Sequence[tuple[Found, str]]) -> bool:
    """ownership.replica_belongs; when neither stack says (no tags, no ReplicationRegion: records of an
    earlier builder), the one primary of that name is the replica's."""
    if primary_region(replica.record) is not None or replica_regions(primary.record):
        return replica_belongs(replica.record, replica.region, primary.region, primary.record)
    same_name = [p for p, _ in primaries if p.record.name == primary.record.name]
    return len(same_name) == 1


def _row(item: Found, suffix: str, now: datetime, verdict: str, reason: Reason, ttl: int | None) -> Row:
    return Row(stack=item.record.name, region=item.region, status=item.record.status,
               suffix=suffix, idle_seconds=idle_seconds(item.record, now), ttl_seconds=ttl, verdict=verdict,
               reason=reason, managed=managed(item.record), record=item.record)


def _replica_row(replica: Found, primary: Row, now: datetime) -> Row:
    blocker = _blocker(replica.record)
    verdict, reason = (KEEP, blocker) if blocker else \
        (primary.verdict, Reason(Why.REPLICA_OF, primary=primary.stack, of=primary.reason))
    row = _row(replica, primary.suffix, now, verdict, reason, primary.ttl_seconds)
    return replace(row, replica_of=primary.stack)


def recheck(row: Row, fresh: DeployedStack | None, now: datetime, limits: AgeLimits = NO_LIMITS) -> Reason | None:
    """Why the stack must be kept after all, judged on a fresh DescribeStacks record; None to go ahead.

    Call it in destroy_one right before deleting: the plan may be minutes old. A replica paired with
    its primary is checked only for what blocks any delete (its primary was reapable and is gone).
    A stack already gone (None) is nothing to keep: destroy reports it as not found.
    """
    if fresh is None:
        return None
    if row.replica_of is not None:
        return _blocker(fresh)
    verdict, reason, _ = _judge(fresh, idle_seconds(fresh, now), limits)
    return reason if verdict == KEEP else None


def with_costs(plan_: Plan, monthly_idle_usd: Callable[[Row], float | None]) -> Plan:
    """The plan with each row's idle monthly cost filled in (None: could not be priced)."""
    return Plan(tuple(replace(row, monthly_idle_usd=monthly_idle_usd(row)) for row in plan_.rows))


# --------------------------------------------------------------------------- deleting

class ReapResult(StrEnum):
    """What reap decided at deletion time, besides what destroy says (deleted, not found)."""

    KEPT = "kept"  # a fresh look (its own, or its primary's) said keep: not a failure


def deletion_groups(plan_: Plan) -> list[list[Row]]:
    """The reapable stacks as the executor's plan: each primary followed by its replica (plan() puts a
    paired replica right after its primary), a replica without its primary on its own."""
    groups: list[list[Row]] = []
    for row in plan_.reapable:
        head = groups[-1][0] if groups else None
        if head is not None and row.replica_of is not None and head.replica_of is None and \
                head.stack == row.replica_of:
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def after_primary(before: Outcome, replica: Row) -> Outcome | None:
    """A replica is deleted only once its primary is gone: kept with a kept primary, not attempted (a
    failure) when its primary was not deleted."""
    if before.result is ReapResult.KEPT:
        return Outcome(replica.stack, replica.region, ReapResult.KEPT,
                       detail=Reason(Why.PRIMARY_KEPT, primary=before.stack))
    if not was_deleted(before):
        return Outcome(replica.stack, replica.region, Result.SKIPPED,
                       detail=Reason(Why.PRIMARY_NOT_DELETED, primary=before.stack))
    return None


def reap(plan_: Plan, destroy_one: DestroyOne, concurrency: int, pollers: Pollers) -> tuple[Outcome, ...]:
    """Delete every reapable stack through the executor, `concurrency` primaries at a time, a replica
    only after its primary is gone; `pollers` are the run's (Ctrl-C stops them).

    One failure does not stop the others; a replica whose primary was not deleted is not attempted.
    Outcomes come back in the plan's order, whatever order the deletes finished in.
    """

    def attempt(row: Row) -> Outcome:
        try:
            return destroy_one(row)
        except NoLongerReapable as kept:
            return Outcome(row.stack, row.region, ReapResult.KEPT, detail=kept.reason)

    return tuple(run_all(deletion_groups(plan_), attempt, concurrency, pollers, after=after_primary))


def was_deleted(outcome: Outcome) -> bool:
    """The stack is gone: destroy deleted it (or found it gone already)."""
    return outcome.error is None and outcome.result not in (ReapResult.KEPT, Result.SKIPPED)


def kept_reason(outcome: Outcome) -> object | None:
    """Why a stack planned for deletion was kept after all (not a failure; a Reason), or None."""
    return outcome.detail if outcome.result is ReapResult.KEPT else None


def failure(outcome: Outcome) -> object | None:
    """Why a stack planned for deletion was not deleted, when that is a failure: its error, or why it was not
    attempted (a Reason; the executor's Skipped); else None."""
    if outcome.error is not None:
        return outcome.error
    return outcome.detail if outcome.result is Result.SKIPPED else None
