"""What a reviewer reads about one stack's diff, and the markdown block a pull request shows.

`StackReview` holds what `diff` found for a stack: its resource changes, the data guard's verdict,
the parameter values and tags that change (old from DescribeStacks, new from the stack being
planned) and the monthly cost before and after. The deployed side is priced from the stack's own
template and parameter values (GetTemplate, DescribeStacks), not from today's config.
builder.cli.views.review renders them (text lines while diff runs, the markdown block a pull request shows).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from builder.data_guard import Finding
from builder.pricing import LineItem
from builder.stack import drift
from builder.stack.changeset import Change
from builder.stack.revert import RevertedProperty
from builder.stack.validation import ValidationFinding

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


def fixed_monthly(items: Iterable[LineItem], key: Callable[[LineItem], str]) -> dict[str, float]:
    """The fixed monthly USD of the line items, summed by `key` (the row of a cost table, a resource)."""
    sums: dict[str, float] = {}
    for item in items:
        if item.fixed:
            sums[key(item)] = sums.get(key(item), 0.0) + item.monthly_usd
    return sums


def _fixed(items: Sequence[LineItem]) -> dict[str, float]:
    return fixed_monthly(items, lambda item: item.row)


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
    note: str = ""  # the error of a failed stack
    drift: drift.DriftReport | None = None  # check_drift environments: how the stack drifted
    validation: tuple[ValidationFinding, ...] = ()  # CloudFormation's validation findings of the change set
    reverted: tuple[RevertedProperty, ...] = ()  # diff --revert-drift: the drifted properties deploy puts back
    # the markdown block: whether the deployed stack policy protects what holds data (builder.stack.policy's
    # words; NOT_YET for a new stack); None: not read
    stack_policy: str | None = None
    # the stack's own settings that change (deployment mode, rollback triggers: DescribeStacks vs the config)
    settings: tuple[ValueChange, ...] = ()
    cost_error: str = ""  # why the cost is missing: the pricing error's message (the CLI says `not priced: ...`)
