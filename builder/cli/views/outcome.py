"""What the executor's outcomes say: a stack's result with why it was skipped or kept (the summary's Result
column, its JSON `result`), and why a reap was not carried out."""

from __future__ import annotations

from builder.cli.views.fleet import reason_text
from builder.ops.pool import Outcome, Skipped
from builder.ops.reap import Reason


def detail_text(detail: object) -> str:
    """Why a stack was skipped or kept, in words: the executor's Skipped, or a command's own reason."""
    if isinstance(detail, Skipped):
        return "interrupted before it started" if detail.after is None else f"{detail.after} failed"
    if isinstance(detail, Reason):
        return reason_text(detail)
    raise LookupError(f"no words for {detail!r}: builder.cli.views.outcome words every detail an outcome carries")


def outcome_text(outcome: Outcome) -> str:
    """`deleted`, `skipped: app-pr1 failed`: the result, and why when the outcome says."""
    return str(outcome.result) if outcome.detail is None else f"{outcome.result}: {detail_text(outcome.detail)}"
