"""What deploy (and diff, which makes the same change set) shows of a stack while it runs: the change set
planned, the changes an import makes, the data guard's findings and verdict, the stack's outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict

from builder.report import Shown, grid
from builder.stack.changeset import Change, ChangeSet, GuardVerdict
from builder.stack.rollback import MAX_TRIGGERS, RollbackTriggers
from builder.stack.validation import ValidationFinding


def change_rows(changes: Sequence[Change]) -> list[str]:
    rows = [(c.action, c.logical_id, c.resource_type, c.replacement or "-") for c in changes]
    return grid(rows, ("Action", "Logical id", "Type", "Replacement"))


def change_set(planned: ChangeSet, stack: str | None) -> Shown:
    """`N change(s) planned (KIND):`, a row per change, then each change's causes; a `change` record each."""
    heading = f"{len(planned.changes)} change(s) planned ({planned.kind}):"
    causes = [f"  {change.logical_id}: {'; '.join(cause.text for cause in change.details)}"
              for change in planned.changes if change.details]
    records = [{"event": "change", "stack": stack, "action": change.action, "logical_id": change.logical_id,
                "type": change.resource_type, "replacement": change.replacement,
                "causes": [asdict(cause) for cause in change.details]} for change in planned.changes]
    shown = Shown([heading, *change_rows(planned.changes), *causes],
                  [*records, {"event": "message", "stack": stack, "message": heading}])
    return _with_reverted(shown, planned, stack) if planned.revert_drift else shown


def _with_reverted(shown: Shown, planned: ChangeSet, stack: str | None) -> Shown:
    """A drift-aware change set: each drifted property it puts back, actual → desired; JSON: one record."""
    reverted = planned.reverted
    said = (f"revert drift: {len(reverted)} drifted propert{'y' if len(reverted) == 1 else 'ies'} put back"
            if reverted else "revert drift: no drifted property to put back")
    return Shown([*shown.lines, said, *(f"revert drift: {p.text}" for p in reverted)],
                 [*shown.records,
                  {"event": "revert_drift", "stack": stack, "properties": [p.as_dict() for p in reverted]},
                  {"event": "message", "stack": stack, "message": said}])


def validation(findings: Sequence[ValidationFinding], stack: str | None) -> Shown:
    """CloudFormation's validation findings: a `validation:` line each; in JSON one `validation` record."""
    return Shown([f"validation: {f.text}" for f in findings],
                 [{"event": "validation", "stack": stack, "findings": [f.as_dict() for f in findings]}])


def import_changes(changes: Sequence[Change], stack: str | None) -> Shown:
    """The IMPORT change set's rows (text only)."""
    return Shown(change_rows(changes))


def data_guard(found: GuardVerdict, stack: str | None) -> Shown:
    """Each finding as a `data guard:` line, then the verdict; in JSON one `data_guard` record."""
    lines = [f"data guard: {f.text}" for f in found.findings]
    return Shown(lines + ([f"data guard: {found.verdict}"] if found.findings else []),
                 [{"event": "data_guard", "stack": stack, "findings": [f.as_dict() for f in found.findings],
                   "verdict": found.verdict}])


def outputs(values: Mapping[str, str], stack: str | None) -> Shown:
    """The stack's outputs as two columns (text only: the summary record carries them in JSON)."""
    return Shown(grid(list(values.items()), ("Output", "Value")))


def rollback_triggers(triggers: RollbackTriggers, stack: str | None) -> Shown:
    """The alarms an update passes as rollback triggers (or the old ones it clears), in one line; in JSON one
    `rollback_triggers` record."""
    if triggers.cleared:
        kept = f"{len(triggers.before)} rollback trigger(s)" if triggers.before else "no trigger"
        said = (f"rollback triggers: rollback_alarms is off; clearing the {kept} and {triggers.minutes_before} "
                f"monitoring minute(s) the stack kept from an earlier update")
    elif triggers.alarms:
        said = (f"rollback triggers: {', '.join(logical for logical, _, _ in triggers.alarms)}: CloudFormation rolls "
                f"the update back if one goes to ALARM during it or in the {triggers.minutes} minute(s) after "
                f"(deploy waits as long)")
    else:
        said = "rollback triggers: the deployed stack has none of its trigger alarms yet; this update is not watched"
    if triggers.not_deployed and not triggers.cleared:
        said += f"; not deployed yet, so not watched: {', '.join(triggers.not_deployed)}"
    if triggers.over_limit:
        said += f"; at most {MAX_TRIGGERS}, so not watched: {', '.join(triggers.over_limit)}"
    return Shown([said], [{"event": "rollback_triggers", "stack": stack,
                           "alarms": [{"logical_id": logical, "arn": arn, "type": type_}
                                      for logical, arn, type_ in triggers.alarms],
                           "monitoring_minutes": triggers.minutes, "cleared": triggers.cleared,
                           "not_deployed": list(triggers.not_deployed), "over_limit": list(triggers.over_limit)}])
