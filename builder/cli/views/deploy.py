"""What deploy (and diff, which makes the same change set) shows of a stack while it runs: the change set
planned, the changes an import makes, the data guard's findings and verdict, the stack's outputs."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict

from builder.report import Shown, grid
from builder.stack.changeset import Cause, Change, ChangeSet, GuardVerdict, Verdict
from builder.stack.revert import RevertedProperty
from builder.stack.rollback import MAX_TRIGGERS, RollbackTriggers
from builder.stack.validation import ValidationFinding


def cause_text(cause: Cause) -> str:
    """E.g. `LifecycleConfiguration: 30 → 14 (parameter BucketLifecycleDays)`."""
    what = cause.name or cause.attribute or "the resource"
    if cause.before is not None or cause.after is not None:
        before, after = ("-" if v is None else v for v in (cause.before, cause.after))
        what += f": {before} → {after}"
    why = {"ParameterReference": f"parameter {cause.entity}", "DirectModification": "changed in the template",
           "ResourceReference": f"refers to {cause.entity}", "ResourceAttribute": f"attribute {cause.entity}",
           "Automatic": "automatic (a nested stack)"}.get(cause.source, cause.source)
    if cause.recreation in ("Always", "Conditionally"):
        why += f"; recreation {cause.recreation.lower()}"
    return f"{what} ({why})" if why else what


def finding_where(finding: ValidationFinding) -> str:
    """The resource (with its type) or, for a template-wide finding, the template path."""
    if finding.resource:
        return f"{finding.resource} ({finding.resource_type})" if finding.resource_type else finding.resource
    return finding.path or "the template"


def finding_text(finding: ValidationFinding) -> str:
    """E.g. `FAIL ResourceNameConflict FAILED: Role (a resource type): app-prod-role already exists`."""
    at = f" at {finding.path}" if finding.path and finding.resource else ""
    return (f"{finding.mode} {finding.validation} {finding.status}: {finding_where(finding)}{at}: "
            f"{finding.reason or 'no reason given'}")


def finding_row(finding: ValidationFinding) -> tuple[str, str, str, str]:
    """(validation, status, resource, reason): the columns a table of findings shows."""
    return (finding.validation, f"{finding.status} ({finding.mode})", finding_where(finding), finding.reason or "-")


def reverted_text(put_back: RevertedProperty) -> str:
    """E.g. `DataTable /ProvisionedThroughput/ReadCapacityUnits: 50 → 5 (last deployed: 5)`."""
    if put_back.drift_status == "DELETED" and not put_back.path:
        return f"{put_back.logical_id} ({put_back.resource_type}): deleted outside CloudFormation → created again"
    actual, desired = ("(none)" if v is None else v for v in (put_back.actual, put_back.desired))
    previous = f" (last deployed: {put_back.previous})" if put_back.previous is not None else ""
    return f"{put_back.logical_id} {put_back.path}: {actual} → {desired}{previous}"


def reverted_row(put_back: RevertedProperty) -> tuple[str, str, str, str, str]:
    """(resource, property, actual, desired, last deployed): the columns a table shows."""
    def cell(value: str | None) -> str:
        return "(none)" if value is None else value

    return (put_back.logical_id, put_back.path or "(the resource)", cell(put_back.actual), cell(put_back.desired),
            cell(put_back.previous))


def change_rows(changes: Sequence[Change]) -> list[str]:
    rows = [(c.action, c.logical_id, c.resource_type, c.replacement or "-") for c in changes]
    return grid(rows, ("Action", "Logical id", "Type", "Replacement"))


def change_set(planned: ChangeSet, stack: str | None) -> Shown:
    """`N change(s) planned (KIND):`, a row per change, then each change's causes; a `change` record each."""
    heading = f"{len(planned.changes)} change(s) planned ({planned.kind}):"
    causes = [f"  {change.logical_id}: {'; '.join(cause_text(cause) for cause in change.details)}"
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
    return Shown([*shown.lines, said, *(f"revert drift: {reverted_text(p)}" for p in reverted)],
                 [*shown.records,
                  {"event": "revert_drift", "stack": stack, "properties": [p.as_dict() for p in reverted]},
                  {"event": "message", "stack": stack, "message": said}])


def validation(findings: Sequence[ValidationFinding], stack: str | None) -> Shown:
    """CloudFormation's validation findings: a `validation:` line each; in JSON one `validation` record."""
    return Shown([f"validation: {finding_text(f)}" for f in findings],
                 [{"event": "validation", "stack": stack, "findings": [f.as_dict() for f in findings]}])


def import_changes(changes: Sequence[Change], stack: str | None) -> Shown:
    """The IMPORT change set's rows (text only)."""
    return Shown(change_rows(changes))


VERDICTS = {Verdict.ALLOWED: "going ahead because of --allow-data-loss",
            Verdict.REFUSED: "refused; --allow-data-loss accepts it",
            Verdict.WOULD_REFUSE: "deploy would refuse (exit 3) unless --allow-data-loss"}


def data_guard(found: GuardVerdict, stack: str | None) -> Shown:
    """Each finding as a `data guard:` line, then the verdict; in JSON one `data_guard` record."""
    lines = [f"data guard: {f.text}" for f in found.findings]
    verdict = VERDICTS[found.verdict]
    return Shown(lines + ([f"data guard: {verdict}"] if found.findings else []),
                 [{"event": "data_guard", "stack": stack, "findings": [f.as_dict() for f in found.findings],
                   "verdict": verdict}])


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
