"""`diff --all`: the fleet-wide what-if. Every live stack of builder's (found as `status --all` finds
them) is diffed against the config its suffix resolves to, as `diff --suffix` would; this module
turns the per-stack reviews into one matrix (pure data: cli/diff.py renders it as text, JSON and
markdown).

Validation findings and reverted drift are columns whose data another part of diff provides (the
change set's validation events, a drift-aware change set); until a review carries them they are None
("not read"), never 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from builder.ops.review import NO_CHANGES, StackReview

REPLACING = frozenset({"True", "Conditional"})  # a change set's Replacement values that recreate the resource


@dataclass(frozen=True)
class MatrixRow:
    """One stack of the fleet: what deploy would do to it."""

    stack: str
    region: str
    state: str
    changes: int
    replacements: int  # resources deploy would recreate (Replacement True or Conditional)
    data_losses: int  # the data guard's findings: deploy refuses them (exit 3) unless --allow-data-loss
    validation_findings: int  # CloudFormation's validation findings of the stack's change set (WARN or FAIL)
    reverted_drift: int | None  # drifted properties deploy --revert-drift would put back; None: not asked
    cost_delta_usd: float | None  # None: not priced (cost_error says why, unless the stack failed)
    note: str = ""  # the error of a failed stack
    cost_error: str = ""  # why the cost is missing: the pricing error's message


@dataclass(frozen=True)
class Matrix:
    rows: tuple[MatrixRow, ...]

    @property
    def replacements(self) -> int:
        return sum(row.replacements for row in self.rows)

    @property
    def data_losses(self) -> int:
        return sum(row.data_losses for row in self.rows)

    @property
    def cost_delta_usd(self) -> float:
        return sum(row.cost_delta_usd or 0.0 for row in self.rows)

    @property
    def unpriced(self) -> tuple[str, ...]:
        return tuple(row.stack for row in self.rows if row.cost_delta_usd is None)


def matrix(reviews: Sequence[StackReview], revert_drift: bool = False) -> Matrix:
    """One row per reviewed stack, in the order given; `revert_drift`: the change sets were drift-aware
    (diff --all --revert-drift), so each row counts the drift they would put back."""
    return Matrix(tuple(
        MatrixRow(r.stack, r.region, r.state, len(r.changes),
                  sum(1 for c in r.changes if c.replacement in REPLACING), len(r.data_losses),
                  len(r.validation), len(r.reverted) if revert_drift else None, _delta(r), r.note, r.cost_error)
        for r in reviews))


def _delta(review: StackReview) -> float | None:
    if review.cost is not None:
        return round(review.cost.difference, 6)
    return 0.0 if review.state == NO_CHANGES else None  # nothing changes: nor does the cost
