"""A drift report as a person reads it: text lines (`drift`, and beside deploy's and diff's output for a
check_drift environment), a JSON record, or a markdown section (`drift --output markdown`, diff's block)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from builder.drift_noise import PropertyDifference
from builder.report import Shown, grid, md_cell, md_table
from builder.stack.drift import DELETED, DETECTION_FAILED, IN_SYNC, DriftReport, ResourceDrift

HEADER = ("Stack", "Resource", "Property", "Expected", "Actual", "Kind")


def _rows(report: DriftReport, resources: Sequence[ResourceDrift]) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for r in resources:
        if r.status == DELETED:
            rows.append((report.stack, r.logical_id, "-", "-", "-", DELETED))
        for d in r.differences:
            rows.append((report.stack, r.logical_id, d.path, d.expected, d.actual, d.kind))
    return rows


def summary_line(report: DriftReport) -> str:
    line = f"{report.stack}: {report.status}"
    if report.drifted:
        line += f" ({len(report.drifted)} resource{'s' if len(report.drifted) != 1 else ''} drifted)"
    if report.detection_status == DETECTION_FAILED:
        checked = ", ".join(report.checked) or "nothing"
        line += f"; detection failed: {report.reason or 'no reason given'}; checked: {checked}"
    return line


def text_lines(report: DriftReport) -> list[str]:
    lines = [summary_line(report)]
    if report.drifted:
        lines += grid(_rows(report, report.drifted), HEADER)
    if report.not_checked:
        lines.append("  not checked (drift detection does not cover them): "
                     + ", ".join(f"{r.logical_id} ({r.type})" for r in report.not_checked))
    if report.noise:
        lines.append("  noise (known false positives, not drift):")
        lines += grid([(*row[1:], d.noise_reason or "")
                        for row, d in _noise_rows(report)], ("Resource", "Property", "Expected", "Actual", "Kind",
                                                             "Why it is noise"), indent="    ")
    return lines


def _noise_rows(report: DriftReport) -> list[tuple[tuple[str, ...], PropertyDifference]]:
    return [((report.stack, r.logical_id, d.path, d.expected, d.actual, d.kind), d)
            for r in report.noise for d in r.differences]


def _resource_dict(r: ResourceDrift) -> dict[str, Any]:
    return {"logical_id": r.logical_id, "physical_id": r.physical_id, "type": r.type, "status": r.status,
            "differences": [{"path": d.path, "expected": d.expected, "actual": d.actual, "kind": d.kind,
                             **({"noise_reason": d.noise_reason} if d.noise_reason else {})}
                            for d in r.differences]}


def to_dict(report: DriftReport) -> dict[str, Any]:
    return {"stack": report.stack, "status": report.status, "detection_status": report.detection_status,
            "reason": report.reason, "checked": list(report.checked),
            "drifted": [_resource_dict(r) for r in report.drifted],
            "not_checked": [_resource_dict(r) for r in report.not_checked],
            "noise": [_resource_dict(r) for r in report.noise]}


def markdown(report: DriftReport) -> str:
    """A section for the report: a heading with the stack and its status, then markdown_lines."""
    return "\n".join([f"### {md_cell(report.stack)}: {report.status}", "", *markdown_lines(report)])


def markdown_lines(report: DriftReport) -> list[str]:
    """The report's body in markdown (no heading), for `drift` and for diff's block."""
    lines: list[str] = []
    if report.detection_status == DETECTION_FAILED:
        failed = (f"Detection failed: {md_cell(report.reason or 'no reason given')}. "
                  f"Checked: {md_cell(', '.join(report.checked) or 'nothing')}.")
        lines += [failed, ""]
    if report.drifted:
        lines += [*md_table(HEADER[1:], [row[1:] for row in _rows(report, report.drifted)]), ""]
    elif report.status == IN_SYNC:
        lines += ["No drift.", ""]
    if report.not_checked:
        lines += ["Not checked: " + ", ".join(f"`{r.logical_id}` ({r.type})" for r in report.not_checked), ""]
    if report.noise:
        lines += ["Noise (known false positives, not drift):", "",
                  *md_table((*HEADER[1:], "Why"),
                            [(*row[1:], d.noise_reason or "") for row, d in _noise_rows(report)]),
                  ""]
    return lines


def before_deploy(report: DriftReport, stack: str | None) -> Shown:
    """check_drift before a deploy: the report's lines under deploy's own (no summary line)."""
    return Shown(text_lines(report)[1:], [{"event": "drift", **to_dict(report)}])


def in_diff(report: DriftReport, stack: str | None) -> Shown:
    """check_drift in diff: the report's lines, its first one marked `drift: `."""
    lines = text_lines(report)
    return Shown(["drift: " + lines[0], *lines[1:]], [{"event": "drift", **to_dict(report)}])


def shown(report: DriftReport, stack: str | None) -> Shown:
    """The `drift` command's report of one stack."""
    return Shown(text_lines(report), [{"event": "drift", **to_dict(report)}])
