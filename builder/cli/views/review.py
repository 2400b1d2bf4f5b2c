"""diff's findings as a person reads them: the lines diff prints per stack while it runs (parameter values
and tags that change, the monthly cost), and the markdown block a pull request shows: summary line
first, a section per stack, cut at a stack boundary to fit GitHub."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict

from builder.cli.views import drift as drift_view
from builder.cli.views.deploy import cause_text, finding_row, reverted_row
from builder.ops.review import (
    CHANGES,
    FAILED,
    NEW,
    NO_CHANGES,
    RECREATE,
    CostChange,
    StackReview,
    ValueChange,
)
from builder.report import Shown, md_cell, md_table
from builder.stack.policy import NOT_KNOWN, NOT_YET, PROTECTED, UNPROTECTED

# GitHub refuses a comment body over 65,536 characters; a step summary over 1 MiB. Leave room for the cut line.
MARKDOWN_LIMIT = 60_000


# --------------------------------------------------------------------------- while diff runs

def value_lines(what: str) -> Callable[[Sequence[ValueChange], str | None], Shown]:
    """The view of the `what` (parameters, tags) that change: `what name: old → new` a line; a record each."""

    def view(changes: Sequence[ValueChange], stack: str | None) -> Shown:
        return Shown([f"{what} {c.name}: {c.old if c.old is not None else '(none)'} → "
                      f"{c.new if c.new is not None else '(none)'}" for c in changes],
                     [{"event": what, "stack": stack, **asdict(change)} for change in changes])

    return view


def setting_lines(changes: Sequence[ValueChange], stack: str | None) -> Shown:
    """The stack's own settings that change (deployment mode, rollback triggers): `stack setting name: old → new`
    a line; a `stack_setting` record each."""
    shown = value_lines("stack setting")(changes, stack)
    return Shown(shown.lines, [{**record, "event": "stack_setting"} for record in shown.records])


def cost_lines(cost: CostChange, stack: str | None) -> Shown:
    """The monthly fixed cost before and after, in one line; in JSON with the rows that change."""
    line = f"monthly fixed cost: {usd_text(cost.before)} → {usd_text(cost.after)} USD ({signed_usd(cost.difference)})"
    return Shown([line],
                 [{"event": "cost", "stack": stack, "before_monthly_usd": cost.before, "after_monthly_usd": cost.after,
                   "difference_monthly_usd": round(cost.difference, 6),
                   "fixed_rows": [asdict(r) for r in cost.fixed_rows],
                   "rate_rows": [asdict(r) for r in cost.rate_rows]}])


# --------------------------------------------------------------------------- the markdown block

def usd_text(amount: float | None) -> str:
    return "-" if amount is None else f"{amount:,.2f}"


def signed_usd(amount: float) -> str:
    return f"{'+' if amount >= 0.005 else '-' if amount <= -0.005 else '±'}{abs(amount):,.2f}"


def _rate(amount: float | None) -> str:
    return "-" if amount is None else f"{amount:.6g}"


def _old_new(values: Sequence[ValueChange], what: str) -> list[str]:
    return [f"**{what.capitalize()} that change**", "",
            *md_table((what[:-1].capitalize(), "Old", "New"),
                      [(v.name, "(none)" if v.old is None else v.old, "(none)" if v.new is None else v.new)
                       for v in values]), ""]


def _cost_lines(cost: CostChange) -> list[str]:
    rows = [("fixed, while idle", usd_text(cost.before), usd_text(cost.after), signed_usd(cost.difference))]
    rows += [(r.row, usd_text(r.before), usd_text(r.after), signed_usd((r.after or 0.0) - (r.before or 0.0)))
             for r in cost.fixed_rows]
    lines = ["**Monthly cost (USD)**", "", *md_table(("", "Before", "After", "Difference"), rows), ""]
    if cost.rate_rows:
        lines += ["Usage rates that change (USD per unit, charged only when used):", "",
                  *md_table(("Rate", "Per", "Before", "After"),
                            [(r.row, r.unit, _rate(r.before), _rate(r.after)) for r in cost.rate_rows]), ""]
    return lines


def stack_section(review: StackReview) -> str:
    """One stack's section: a heading line, then (unless nothing changes) its tables."""
    head = f"### `{md_cell(review.stack)}` ({review.region})"
    if review.state == NO_CHANGES:
        return f"{head}: no changes\n" + "".join(f"\n{line}" for line in _settings_lines(review) + _policy_lines(review)
                                                 + _drift_lines(review))
    if review.state == FAILED:
        return f"{head}: failed: {md_cell(review.note)}\n" + "".join(f"\n{line}" for line in _validation_lines(review))
    if review.state == RECREATE:
        return f"{head}: ROLLBACK_COMPLETE (a failed create): deploy would delete it and create it again\n"
    if review.state == CHANGES and not review.changes and not review.data_losses and (review.tags or review.settings):
        # a change of the stack tags, or of the rollback triggers, alone
        cost = _cost_lines(review.cost) if review.cost is not None else []
        what = "the stack tags" if review.tags else "the rollback triggers"
        return "\n".join([f"{head}: only {what} change (deploy updates them with the deployed template)",
                          "", *(_old_new(review.tags, "tags") if review.tags else []), *_settings_lines(review),
                          *cost, *_drift_lines(review)])
    return _changes_section(head, review)


def _changes_section(head: str, review: StackReview) -> str:
    """The section of a new stack or one that changes: its changes, the data guard, values, cost, drift."""
    what = "new stack, " if review.state == NEW else ""
    count = f"{len(review.changes)} change(s)" if review.changes or review.state == NEW else "no resource changes"
    lines = [f"{head}: {what}{count}", ""]
    if review.changes:
        lines += md_table(("Action", "Logical id", "Type", "Replacement", "Cause"), [
            (c.action, c.logical_id, c.resource_type, c.replacement or "-",
             "; ".join(cause_text(d) for d in c.details) or "-") for c in review.changes])
        lines.append("")
    if review.data_losses:
        refusal = (f"**Data guard: deploy would refuse** (exit 3) unless `--allow-data-loss`: "
                   f"{len(review.data_losses)} change(s) would lose data")
        lines += [refusal, "",
                  *md_table((":warning: Resource", "Type", "Change", "What is lost"),
                            [(f.resource, f.resource_type, f.change, f.reason) for f in review.data_losses]), ""]
    else:
        lines += ["Data guard: no data would be lost.", ""]
    lines += _policy_lines(review)
    if review.parameters:
        lines += _old_new(review.parameters, "parameters")
    if review.tags:
        lines += _old_new(review.tags, "tags")
    lines += _settings_lines(review)
    if review.cost is not None:
        lines += _cost_lines(review.cost)
    if review.cost_error:
        lines += [f"Cost: {md_cell('not priced: ' + review.cost_error)}", ""]
    lines += _validation_lines(review) + _reverted_lines(review) + _drift_lines(review)
    return "\n".join(lines)


POLICY_SAYS = {
    PROTECTED: "protected: CloudFormation refuses to replace or delete what holds data, whoever deploys",
    UNPROTECTED: "not protected (none, or one that leaves some of what holds data out); deploy sets it before "
                 "the update runs",
    NOT_KNOWN: "not known: this endpoint does not implement GetStackPolicy",
    NOT_YET: "none yet: deploy sets it once the stack is created",
}


def _settings_lines(review: StackReview) -> list[str]:
    """The stack's own settings that change (deployment mode, rollback triggers), old and new."""
    return _old_new(review.settings, "stack settings") if review.settings else []


def _policy_lines(review: StackReview) -> list[str]:
    """Whether the stack policy protects the stack's data (when diff read it)."""
    if review.stack_policy is None:
        return []
    return [f"Stack policy: {POLICY_SAYS.get(review.stack_policy, review.stack_policy)}.", ""]


def _validation_lines(review: StackReview) -> list[str]:
    if not review.validation:
        return []
    return ["**CloudFormation's validation findings**", "",
            *md_table(("Validation", "Status", "Resource", "Reason"), [finding_row(f) for f in review.validation]), ""]


def _reverted_lines(review: StackReview) -> list[str]:
    if not review.reverted:
        return []
    return ["**Drift put back** (`--revert-drift`: actual → desired)", "",
            *md_table(("Resource", "Property", "Actual", "Desired", "Last deployed"),
                      [reverted_row(p) for p in review.reverted]), ""]


def _drift_lines(review: StackReview) -> list[str]:
    if review.drift is None:
        return []
    return [f"**Drift** (check_drift): {review.drift.status}", "", *drift_view.markdown_lines(review.drift)]


def summary_line(reviews: Sequence[StackReview]) -> str:
    changed = [r for r in reviews if r.state in (NEW, CHANGES, RECREATE)]
    parts = [f"{len(reviews)} stack(s), {len(changed)} with changes"]
    failed = sum(r.state == FAILED for r in reviews)
    if failed:
        parts.append(f"{failed} failed")
    losses = sum(len(r.data_losses) for r in reviews)
    parts.append(f"data guard: {losses} change(s) would lose data" if losses else "data guard: no data at risk")
    findings = sum(len(r.validation) for r in reviews)
    if findings:
        parts.append(f"{findings} validation finding(s)")
    reverted = sum(len(r.reverted) for r in reviews)
    if reverted:
        parts.append(f"{reverted} drifted propert{'y' if reverted == 1 else 'ies'} put back")
    costs = [r.cost for r in reviews if r.cost is not None]
    if costs:
        before = sum(c.before or 0.0 for c in costs)
        after = sum(c.after for c in costs)
        parts.append(f"monthly fixed cost {usd_text(before)} → {usd_text(after)} USD ({signed_usd(after - before)})")
    return "**builder diff**: " + "; ".join(parts)


def markdown(reviews: Sequence[StackReview], limit: int = MARKDOWN_LIMIT) -> str:
    """The whole block: summary line, then a section per stack; cut at a stack boundary when the
    block would pass `limit` characters, with a line that says how many stacks were left out."""
    body = summary_line(reviews) + "\n"
    sections = [stack_section(r) for r in reviews]
    for index, section in enumerate(sections):
        left = len(sections) - index
        cut = (f"\n_{left} more stack(s) left out to fit GitHub's size limit; run `diff --output markdown` "
               f"to see all._\n")
        rest_fits = len(body) + sum(len(s) + 1 for s in sections[index:]) <= limit
        if not rest_fits and len(body) + len(section) + 1 + len(cut) > limit:
            return body + cut
        body += "\n" + section
    return body
