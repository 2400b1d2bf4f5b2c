"""What the executor's outcomes say: a stack's result with why it was skipped or kept (the summary's Result
column, its JSON `result`)."""

from __future__ import annotations

from builder.cli.views.reasons import detail_text
from builder.ops.pool import Outcome


def outcome_text(outcome: Outcome) -> str:
    """`deleted`, `skipped: app-pr1 failed`: the result, and why when the outcome says."""
    return str(outcome.result) if outcome.detail is None else f"{outcome.result}: {detail_text(outcome.detail)}"
