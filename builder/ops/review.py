"""What a reviewer reads about one stack's diff, and the markdown block a pull request shows.

`StackReview` holds what `diff` found for a stack: its resource changes, the data guard's verdict,
the parameter values and tags that change (old from DescribeStacks, new from the stack being
planned) and the monthly cost before and after. The deployed side is priced from the stack's own
template and parameter values (GetTemplate, DescribeStacks), not from today's config.
`markdown(reviews)` renders them all, summary line first, cut at a stack boundary to fit GitHub.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from builder.data_guard import Finding
from builder.pricing import LineItem
from builder.report import md_cell, md_table
from builder.stack import drift
from builder.stack.changeset import Change

# GitHub refuses a comment body over 65,536 characters; a step summary over 1 MiB. Leave room for the cut line.
MARKDOWN_LIMIT = 60_000

NEW, CHANGES, NO_CHANGES, RECREATE, FAILED = "new", "changes", "no changes", "recreate", "failed"


@dataclass(frozen=True)
class ValueChange:
    """A parameter or tag whose value changes; None on a side where it is absent."""

    name: str
    old: str | None
    new: str | None


def value_changes(old: Mapping[str, str], new: Mapping[str, str]) -> tuple[ValueChange, ...]:
    """Every name whose value differs between the two, sorted by name."""
    return tuple(ValueChange(name, old.get(name), new.get(name)) for name in sorted({*old, *new})
                 if old.get(name) != new.get(name))


@dataclass(frozen=True)
class CostRow:
    """A priced row whose figure changes: monthly USD for a fixed row, the unit price for a rate."""

    row: str
    unit: str  # "" for a fixed row
    before: float | None
    after: float | None


@dataclass(frozen=True)
class CostChange:
    """The monthly fixed cost before (None: the stack does not exist yet) and after, and the rows that change."""

    before: float | None
    after: float
    fixed_rows: tuple[CostRow, ...]
    rate_rows: tuple[CostRow, ...]

    @property
    def difference(self) -> float:
        return self.after - (self.before or 0.0)


def _fixed(items: Sequence[LineItem]) -> dict[str, float]:
    sums: dict[str, float] = {}
    for item in items:
        if item.fixed:
            sums[item.row] = sums.get(item.row, 0.0) + item.monthly_usd
    return sums


def _rates(items: Sequence[LineItem]) -> dict[tuple[str, str], float]:
    return {(item.row, item.price.unit): item.price.usd for item in items if not item.fixed}


def compare_costs(before: Sequence[LineItem] | None, after: Sequence[LineItem]) -> CostChange:
    """Before (None: no stack yet) against after; a row that changes by less than a cent a month is kept
    only when it appears or disappears."""
    old_fixed, new_fixed = _fixed(before or []), _fixed(after)
    fixed_rows = tuple(CostRow(row, "", old_fixed.get(row), new_fixed.get(row))
                       for row in dict.fromkeys([*old_fixed, *new_fixed])
                       if (row in old_fixed) != (row in new_fixed)
                       or abs(old_fixed[row] - new_fixed[row]) >= 0.005)
    old_rates, new_rates = _rates(before or []), _rates(after)
    rate_rows = tuple(CostRow(row, unit, old_rates.get((row, unit)), new_rates.get((row, unit)))
                      for row, unit in dict.fromkeys([*old_rates, *new_rates])
                      if old_rates.get((row, unit)) != new_rates.get((row, unit)))
    return CostChange(None if before is None else sum(old_fixed.values()), sum(new_fixed.values()),
                      fixed_rows, rate_rows)


@dataclass(frozen=True)
class StackReview:
    """What diff found for one stack."""

    stack: str
    region: str
    state: str  # NEW, CHANGES, NO_CHANGES, RECREATE (a ROLLBACK_COMPLETE stack), FAILED
    changes: tuple[Change, ...] = ()
    data_losses: tuple[Finding, ...] = ()  # the data guard's findings
    parameters: tuple[ValueChange, ...] = ()
    tags: tuple[ValueChange, ...] = ()
    cost: CostChange | None = None
    note: str = ""  # why the cost is missing, or the error of a failed stack
    drift: drift.DriftReport | None = None  # check_drift environments: how the stack drifted


# --------------------------------------------------------------------------- markdown

def usd(amount: float | None) -> str:
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
    rows = [("fixed, while idle", usd(cost.before), usd(cost.after), signed_usd(cost.difference))]
    rows += [(r.row, usd(r.before), usd(r.after), signed_usd((r.after or 0.0) - (r.before or 0.0)))
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
        return f"{head}: no changes\n" + "".join(f"\n{line}" for line in _drift_lines(review))
    if review.state == FAILED:
        return f"{head}: failed: {md_cell(review.note)}\n"
    if review.state == RECREATE:
        return f"{head}: ROLLBACK_COMPLETE (a failed create): deploy would delete it and create it again\n"
    if review.state == CHANGES and not review.changes and not review.data_losses and review.tags:
        # a change of the stack tags alone
        cost = _cost_lines(review.cost) if review.cost is not None else []
        return "\n".join([f"{head}: only the stack tags change (deploy updates them with the deployed template)",
                          "", *_old_new(review.tags, "tags"), *cost, *_drift_lines(review)])
    return _changes_section(head, review)


def _changes_section(head: str, review: StackReview) -> str:
    """The section of a new stack or one that changes: its changes, the data guard, values, cost, drift."""
    what = "new stack, " if review.state == NEW else ""
    count = f"{len(review.changes)} change(s)" if review.changes or review.state == NEW else "no resource changes"
    lines = [f"{head}: {what}{count}", ""]
    if review.changes:
        lines += md_table(("Action", "Logical id", "Type", "Replacement", "Cause"), [
            (c.action, c.logical_id, c.resource_type, c.replacement or "-",
             "; ".join(d.text for d in c.details) or "-") for c in review.changes])
        lines.append("")
    if review.data_losses:
        refusal = (f"**Data guard: deploy would refuse** (exit 3) unless `--allow-data-loss`: "
                   f"{len(review.data_losses)} change(s) would lose data")
        lines += [refusal, "",
                  *md_table((":warning: Resource", "Type", "Change", "What is lost"),
                            [(f.resource, f.resource_type, f.change, f.reason) for f in review.data_losses]), ""]
    else:
        lines += ["Data guard: no data would be lost.", ""]
    if review.parameters:
        lines += _old_new(review.parameters, "parameters")
    if review.tags:
        lines += _old_new(review.tags, "tags")
    if review.cost is not None:
        lines += _cost_lines(review.cost)
    if review.note:
        lines += [f"Cost: {md_cell(review.note)}", ""]
    lines += _drift_lines(review)
    return "\n".join(lines)


def _drift_lines(review: StackReview) -> list[str]:
    if review.drift is None:
        return []
    return [f"**Drift** (check_drift): {review.drift.status}", "", *drift.markdown_lines(review.drift)]


def summary_line(reviews: Sequence[StackReview]) -> str:
    changed = [r for r in reviews if r.state in (NEW, CHANGES, RECREATE)]
    parts = [f"{len(reviews)} stack(s), {len(changed)} with changes"]
    failed = sum(r.state == FAILED for r in reviews)
    if failed:
        parts.append(f"{failed} failed")
    losses = sum(len(r.data_losses) for r in reviews)
    parts.append(f"data guard: {losses} change(s) would lose data" if losses else "data guard: no data at risk")
    costs = [r.cost for r in reviews if r.cost is not None]
    if costs:
        before = sum(c.before or 0.0 for c in costs)
        after = sum(c.after for c in costs)
        parts.append(f"monthly fixed cost {usd(before)} → {usd(after)} USD ({signed_usd(after - before)})")
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
