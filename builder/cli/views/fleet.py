"""What reap and `status --all` print about the fleet: a table or JSON lines over the Plan builder.ops.reap
judges (and builder.ops.fleet lists and prices), with the outcome of each deletion when reap ran."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from builder.cli.views.reasons import detail_text, reason_text
from builder.cli.views.status import status_record
from builder.durations import format_duration
from builder.errors import BuilderError
from builder.ops.pool import Outcome
from builder.ops.reap import Plan, Row, failure, kept_reason, was_deleted
from builder.report import grid
from builder.stack.policy import NOT_KNOWN


def kept_text(outcome: Outcome) -> str | None:
    """Why a stack planned for deletion was kept after all, in words; None when it was not."""
    kept = kept_reason(outcome)
    return None if kept is None else detail_text(kept)


def failure_text(outcome: Outcome) -> str | None:
    """Why a stack planned for deletion was not deleted, when that is a failure, in words; else None."""
    failed = failure(outcome)
    if failed is None:
        return None
    return failed.message if isinstance(failed, BuilderError) else detail_text(failed)


def fleet_line(plan_: Plan) -> str:
    """`fleet: N stacks idle at X USD a month`, saying how many of the rows are look-alikes."""
    count = len(plan_.rows)
    line = f"fleet: {count} stack{'s' if count != 1 else ''} idle at {plan_.fleet_monthly_idle_usd:.2f} USD a month"
    others = len(plan_.not_managed)
    if others:
        line += f" ({others} of them not made by builder: left alone, not priced)"
    return line


def _rounded_usd(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def reap_json(plan_: Plan, outcomes: Sequence[Outcome] = ()) -> str:
    """One JSON object a line per stack, then the summary (`"event": "summary"`)."""
    by_stack = {(o.stack, o.region): o for o in outcomes}
    lines = []
    for row in plan_.rows:
        outcome = by_stack.get((row.stack, row.region))
        lines.append(json.dumps({
            "stack": row.stack, "region": row.region, "status": row.status, "idle_seconds": row.idle_seconds,
            "ttl_seconds": row.ttl_seconds, "verdict": row.verdict, "reason": reason_text(row.reason),
            "monthly_idle_usd": _rounded_usd(row.monthly_idle_usd), "replica_of": row.replica_of,
            "managed_by_builder": row.managed, "deleted": bool(outcome and was_deleted(outcome)),
            "error": failure_text(outcome) if outcome else None,
            "kept_at_deletion": kept_text(outcome) if outcome else None,
        }))
    lines.append(json.dumps(_summary(plan_, outcomes)))
    return "\n".join(lines) + "\n"


def _summary(plan_: Plan, outcomes: Sequence[Outcome]) -> dict[str, Any]:
    return {"event": "summary", "stacks": len(plan_.rows), "not_managed": len(plan_.not_managed),
            "reapable": len(plan_.reapable),
            "deleted": sum(map(was_deleted, outcomes)), "failed": sum(failure(o) is not None for o in outcomes),
            "kept_at_deletion": sum(kept_reason(o) is not None for o in outcomes),
            "fleet_monthly_idle_usd": round(plan_.fleet_monthly_idle_usd, 2),
            "reap_saves_monthly_usd": round(plan_.reap_saves_monthly_usd, 2)}


def reap_text(plan_: Plan, outcomes: Sequence[Outcome] = ()) -> str:
    """A table of every stack looked at, then the fleet's idle cost and what reaping saves."""
    by_stack = {(o.stack, o.region): o for o in outcomes}
    header = ("STACK", "REGION", "STATUS", "IDLE", "TTL", "USD/MONTH", "VERDICT")
    table = [header]
    for row in plan_.rows:
        outcome = by_stack.get((row.stack, row.region))
        verdict = f"{row.verdict}: {reason_text(row.reason)}"
        if outcome is not None and was_deleted(outcome):
            verdict += "; deleted"
        elif outcome is not None:
            kept = kept_text(outcome)
            verdict += f"; kept after all: {kept}" if kept else f"; NOT deleted: {failure_text(outcome)}"
        table.append((row.stack, row.region, row.status, format_duration(row.idle_seconds),
                      "-" if row.ttl_seconds is None else format_duration(row.ttl_seconds),
                      "?" if row.monthly_idle_usd is None else f"{row.monthly_idle_usd:.2f}", verdict))
    widths = [max(len(line[i]) for line in table) for i in range(len(header) - 1)]
    lines = ["  ".join([cell.ljust(w) for cell, w in zip(line[:-1], widths, strict=True)] + [line[-1]])
             for line in table]
    count = len(plan_.reapable)
    saves = "saves" if outcomes else "would save"
    lines.append(f"{fleet_line(plan_)}; reaping {count} {saves} {plan_.reap_saves_monthly_usd:.2f} USD a month")
    if outcomes:
        deleted = sum(map(was_deleted, outcomes))
        failed = sum(failure(o) is not None for o in outcomes)
        kept_after_all = len(outcomes) - deleted - failed
        lines.append(f"deleted {deleted} of {len(outcomes)}" + (f"; {failed} failed" if failed else "")
                     + (f"; {kept_after_all} kept after a fresh look" if kept_after_all else ""))
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- status --all

def _has_verdicts(plan_: Plan) -> bool:
    """A verdict is worth a column when some stack has a ttl, or some row is a look-alike (kept)."""
    return any(row.ttl_seconds is not None or not row.managed for row in plan_.rows)


def _policy_cell(row: Row) -> str:
    """Whether the stack's policy protects what holds data; `-` for a look-alike (not read), `?` when the
    read failed."""
    if not row.managed:
        return "-"
    return "?" if row.stack_policy is None else row.stack_policy


def _policy_note(plan_: Plan) -> list[str]:
    """One line when the endpoint could not say (LocalStack does not implement GetStackPolicy)."""
    if any(row.stack_policy == NOT_KNOWN for row in plan_.rows):
        return [f"stack policy: {NOT_KNOWN}: this endpoint does not implement GetStackPolicy; AWS answers it"]
    return []


def fleet_json(plan_: Plan) -> str:
    """`status --all --output json`: one object per stack (the verdict only when a ttl applies or a
    look-alike is listed; `stack_policy`, null when not read), then the summary with the fleet's idle cost."""
    verdicts = _has_verdicts(plan_)
    lines = []
    for row in plan_.rows:
        record = {**status_record(row.record, row.region), "idle_seconds": row.idle_seconds,
                  "ttl_seconds": row.ttl_seconds, "monthly_idle_usd": _rounded_usd(row.monthly_idle_usd),
                  "replica_of": row.replica_of, "managed_by_builder": row.managed, "stack_policy": row.stack_policy}
        if verdicts:
            record.update(verdict=row.verdict, reason=reason_text(row.reason))
        lines.append(json.dumps(record))
    lines.append(json.dumps({"event": "summary", "stacks": len(plan_.rows), "not_managed": len(plan_.not_managed),
                             "fleet_monthly_idle_usd": round(plan_.fleet_monthly_idle_usd, 2),
                             **({"reapable": len(plan_.reapable),
                                 "reap_saves_monthly_usd": round(plan_.reap_saves_monthly_usd, 2)}
                                if verdicts else {})}))
    return "\n".join(lines) + "\n"


def fleet_text(plan_: Plan) -> str:
    """`status --all`: a row per stack (a verdict column only when a ttl applies or a look-alike is listed),
    then the fleet's idle cost."""
    verdicts = _has_verdicts(plan_)
    header = ("STACK", "REGION", "STATUS", "IDLE", "TTL", "USD/MONTH", "STACK POLICY",
              *(("VERDICT",) if verdicts else ()))
    table = [header, *((row.stack, row.region, row.status, format_duration(row.idle_seconds),
                        "-" if row.ttl_seconds is None else format_duration(row.ttl_seconds),
                        "?" if row.monthly_idle_usd is None else f"{row.monthly_idle_usd:.2f}", _policy_cell(row),
                        *((f"{row.verdict}: {reason_text(row.reason)}",) if verdicts else ())) for row in plan_.rows)]
    lines = grid(table[1:], table[0], indent="")
    total = fleet_line(plan_)
    if verdicts:
        total += (f"; `reap --yes` would delete {len(plan_.reapable)}, saving "
                  f"{plan_.reap_saves_monthly_usd:.2f} USD a month")
    return "\n".join([*lines, total, *_policy_note(plan_)]) + "\n"
