"""diff --all's matrix: what deploy would do to each stack of the fleet, a row each, and the fleet's totals;
as text lines, a `matrix` JSON record, or a markdown section after the stacks' sections."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from builder.cli.views.review import signed_usd
from builder.ops.what_if import Matrix, MatrixRow
from builder.report import Shown, grid, md_cell


def _cells(row: MatrixRow) -> tuple[str, ...]:
    def count(value: int | None) -> str:
        return "-" if value is None else str(value)

    cost = "not priced" if row.cost_delta_usd is None else signed_usd(row.cost_delta_usd)
    return (row.stack, row.region, row.state, str(row.changes), str(row.replacements), str(row.data_losses),
            count(row.validation_findings), count(row.reverted_drift), cost)


MATRIX_HEADER = ("Stack", "Region", "State", "Changes", "Replacements", "Data loss", "Validation",
                 "Reverted drift", "Cost/month")


def _totals(fleet: Matrix) -> str:
    unpriced = f" ({len(fleet.unpriced)} not priced: {', '.join(fleet.unpriced)})" if fleet.unpriced else ""
    return (f"fleet: {len(fleet.rows)} stack(s), {fleet.replacements} replacement(s), {fleet.data_losses} "
            f"data-loss finding(s), cost {signed_usd(fleet.cost_delta_usd)} USD a month{unpriced}")


def matrix_text(fleet: Matrix) -> list[str]:
    return ["what deploy would do to the fleet:", *grid([_cells(r) for r in fleet.rows], MATRIX_HEADER),
            _totals(fleet)]


def matrix_markdown(fleet: Matrix) -> str:
    lines = ["### The fleet", "", "| " + " | ".join(MATRIX_HEADER) + " |", "|" + "---|" * len(MATRIX_HEADER)]
    lines += ["| " + " | ".join(md_cell(c) for c in _cells(r)) + " |" for r in fleet.rows]
    return "\n".join([*lines, "", _totals(fleet), ""])


def _row_record(row: MatrixRow) -> dict[str, Any]:
    """A row as JSON: its fields, the pricing error said in `note` (`not priced: ...`) when the stack did not fail."""
    record = asdict(row)
    cost_error = record.pop("cost_error")
    if cost_error and not row.note:
        record["note"] = f"not priced: {cost_error}"
    return record


def matrix_record(fleet: Matrix) -> dict[str, Any]:
    return {"stacks": [_row_record(row) for row in fleet.rows],
            "totals": {"stacks": len(fleet.rows), "replacements": fleet.replacements,
                       "data_losses": fleet.data_losses, "cost_delta_monthly_usd": round(fleet.cost_delta_usd, 2),
                       "not_priced": list(fleet.unpriced)}}


def shown(fleet: Matrix, stack: str | None) -> Shown:
    """The view of the fleet's matrix: a blank line, then the grid and the totals; in JSON one `matrix` record."""
    return Shown(["", *matrix_text(fleet)], [{"event": "matrix", **matrix_record(fleet)}])
