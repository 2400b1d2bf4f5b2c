"""Why, in words: the reasons builder.ops hands back as facts (reap's Reason, the executor's Skipped, whose a
stack is), worded for the tables, summaries and JSON records the views make."""

from __future__ import annotations

from collections.abc import Callable

from builder.durations import format_duration
from builder.environment import MANAGED_BY, MANAGED_BY_TAG, TTL_TAG
from builder.ops.ownership import NotBuilders
from builder.ops.pool import Skipped
from builder.ops.reap import NEEDS_A_PERSON, Reason, Why

NO_TAG = f"no {MANAGED_BY_TAG}={MANAGED_BY} tag"
NOT_BUILDERS = {
    NotBuilders.ANOTHER_TOOLS: f"not made by builder ({NO_TAG}, not a builder template)",
    NotBuilders.EARLIER_BUILDERS: f"made by an earlier builder ({NO_TAG} yet): deploy it once to adopt it",
}


def _idle(reason: Reason) -> str:
    return f"idle {format_duration(reason.idle)}"


def _limit(reason: Reason) -> str:
    return format_duration(reason.limit or 0)


def _within_ttl(reason: Reason) -> str:
    return f"{_idle(reason)} of its ttl {_limit(reason)}" + (" (a ttl wins over --older-than)" if reason.overruled
                                                             else "")


REASONS: dict[Why, Callable[[Reason], str]] = {
    Why.NOT_BUILDERS: lambda r: NOT_BUILDERS[r.owner or NotBuilders.ANOTHER_TOOLS],
    Why.PROTECTED: lambda r: "termination protection is on (setting termination_protection)",
    Why.IN_PROGRESS: lambda r: f"{r.status}: an operation is running; reap it once it settles",
    Why.NEEDS_A_PERSON: lambda r: f"{r.status} needs a person: {NEEDS_A_PERSON[r.status]}",
    Why.BAD_TTL: lambda r: f"tag {TTL_TAG}: {r.problem}",
    Why.PAST_TTL: lambda r: f"{_idle(r)}, past its ttl of {_limit(r)}",
    Why.PAST_MAX_AGE: lambda r: f"{_idle(r)}, past --max-age {_limit(r)}",
    Why.WITHIN_TTL: _within_ttl,
    Why.PAST_OLDER_THAN: lambda r: f"{_idle(r)}, past --older-than {_limit(r)}",
    Why.NOT_PAST_OLDER_THAN: lambda r: f"no ttl; {_idle(r)}, not past --older-than {_limit(r)}",
    Why.NO_TTL: lambda r: "no ttl",
    Why.PRIMARY_NOT_LOOKED_IN: lambda r: f"its primary's region {r.region} was not looked in; add --region {r.region}",
    Why.REPLICA_OF: lambda r: f"replica of {r.primary}: {reason_text(r.of) if r.of else '-'}",
    Why.PRIMARY_KEPT: lambda r: f"its primary {r.primary} was kept",
    Why.PRIMARY_NOT_DELETED: lambda r: f"not attempted: its primary {r.primary} was not deleted",
}


def reason_text(reason: Reason) -> str:
    """Why reap keeps or reaps a stack, as the VERDICT column and the JSON `reason` say it."""
    return REASONS[reason.why](reason)


def detail_text(detail: object) -> str:
    """Why a stack was skipped or kept, in words: the executor's Skipped, or reap's Reason."""
    if isinstance(detail, Skipped):
        return "interrupted before it started" if detail.after is None else f"{detail.after} failed"
    if isinstance(detail, Reason):
        return reason_text(detail)
    raise LookupError(f"no words for {detail!r}: builder.cli.views.reasons words every detail an outcome carries")
