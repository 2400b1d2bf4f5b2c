"""How the commands show what the operations return: text tables, JSON lines and markdown, from the
frozen data builder.ops and builder.stack hand back. Not a command (a folder, which the command
listing in builder.cli skips); a command imports the view it needs when it runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from builder.report import View


def views() -> dict[str, View]:
    """The view of every kind of data the operations hand to Reporter.show."""
    from builder.cli.views import deploy, drift, progress, review, what_if

    return {
        "change set": deploy.change_set, "import changes": deploy.import_changes, "data guard": deploy.data_guard,
        "outputs": deploy.outputs, "validation": deploy.validation, "rollback triggers": deploy.rollback_triggers,
        "drift": drift.shown, "drift before deploy": drift.before_deploy, "drift in diff": drift.in_diff,
        "parameter": review.value_lines("parameter"), "tag": review.value_lines("tag"),
        "stack setting": review.setting_lines, "cost": review.cost_lines,
        "fleet matrix": what_if.shown,
        **progress.views(),
    }
