"""The checkov gate: every variant of tests/variants.py scanned; 0 failed checks; only the documented skips.

    python -m tests.checkov_gate         # needs checkov installed (tox -e checkov); exit 0 only when all hold

It synthesizes the variant matrix into a temporary folder, runs checkov once over it (with
`--skip-download`: no network), and fails when
- any check fails, or checkov cannot parse a template;
- a resource skips a check that is not among the families' checkov_skips (builder.resources.inventory()),
  or with another reason;
- a variant skips other checks than expected_skips() says, or an encryption check of
  required_passes() does not pass (with customer_managed_key on: topic, table, bucket, rotation);
- the safety page (docs/safety.md) does not hold the table this
  run prints, so every checkov figure there is one this gate established.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from builder.families.alerts import SKIP_TOPIC_CMK
from builder.families.storage import SKIP_ACCESS_LOGGING
from builder.families.table import SKIP_TABLE_CMK
from builder.resources import inventory
from tests.variants import VARIANTS, synth_variants

ROOT = Path(__file__).resolve().parent.parent
SAFETY_DOCS = (ROOT / "docs" / "safety.md",)


def expected_skips(variant: str, kind: str) -> set[str]:
    """Which checks a template of this variant skips, and so docs/safety.md lists."""
    if kind == "replica" or "+key" in variant:
        return {SKIP_ACCESS_LOGGING.check}
    return {skip.check for skip in inventory().checkov_skips}


def required_passes(variant: str, kind: str) -> set[str]:
    """Encryption checks that must pass, not be skipped: bucket encryption always; with the key on,
    key rotation and (primary) the topic and table under the customer-managed key."""
    if "+key" not in variant:
        return {"CKV_AWS_19"}
    return {"CKV_AWS_19", "CKV_AWS_7"} | ({SKIP_TOPIC_CMK.check, SKIP_TABLE_CMK.check} if kind == "primary" else set())


def _checkov() -> list[str]:
    beside = Path(sys.executable).with_name("checkov")
    found = str(beside) if beside.exists() else shutil.which("checkov")
    if not found:
        sys.exit("checkov_gate: checkov is not installed here; run `tox -e checkov`")
    return [found]


def run_checkov(folder: Path) -> dict:
    command = [*_checkov(), "--directory", str(folder), "--framework", "cloudformation", "--skip-download",
               "--output", "json", "--soft-fail"]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        sys.exit(f"checkov_gate: checkov gave no JSON report (exit {done.returncode}):\n{done.stderr[-2000:]}")
    reports = report if isinstance(report, list) else [report]
    if len(reports) != 1 or reports[0].get("check_type") != "cloudformation":
        sys.exit(f"checkov_gate: expected one cloudformation report, got {[r.get('check_type') for r in reports]}")
    return reports[0]


def _where(check: dict, folder: Path) -> tuple[str, str, str]:
    """(variant, kind, file name) of a check result."""
    path = Path(check["file_abs_path"]).resolve().relative_to(folder.resolve())
    kind = "replica" if path.name.endswith("-replica.template.json") else "primary"
    return path.parts[0], kind, path.name


def summarize(report: dict, folder: Path) -> tuple[dict, list[str]]:
    """Counts per (variant, kind) and every problem found."""
    problems: list[str] = []
    results = report["results"]
    counts: dict[tuple[str, str], dict[str, dict[str, int]]] = defaultdict(
        lambda: defaultdict(lambda: {"passed": 0, "failed": 0, "skipped": 0}))
    skipped_ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    passed_ids: dict[tuple[str, str], set[str]] = defaultdict(set)
    allowed = dict(inventory().checkov_skips)
    for outcome in ("passed", "failed", "skipped"):
        for check in results.get(f"{outcome}_checks", []):
            variant, kind, name = _where(check, folder)
            counts[(variant, kind)][name][outcome] += 1
            label = f"{variant}/{name}: {check['check_id']} on {check['resource']}"
            if outcome == "failed":
                problems.append(f"FAILED {label}: {check['check_name']}")
            elif outcome == "skipped":
                skipped_ids[(variant, kind)].add(check["check_id"])
                reason = check["check_result"].get("suppress_comment", "")
                if allowed.get(check["check_id"]) != reason:
                    problems.append(f"undocumented skip {label} ({reason!r}); add it to its family's checkov_skips")
            else:
                passed_ids[(variant, kind)].add(check["check_id"])
    for error in results.get("parsing_errors", []):
        problems.append(f"checkov could not parse {error}")
    table: dict[tuple[str, str], dict[str, int | str]] = {}
    for key, per_file in sorted(counts.items()):
        distinct = {tuple(c.values()) for c in per_file.values()}
        if len(distinct) != 1:
            problems.append(f"{key}: checkov results differ between suffixes: {dict(per_file)}")
        first = next(iter(per_file.values()))
        table[key] = {**first, "files": len(per_file), "skips": ", ".join(sorted(skipped_ids[key])) or "none"}
        if first["passed"] == 0:
            problems.append(f"{key}: no check passed; did checkov read the template?")
        if skipped_ids[key] != expected_skips(*key):
            problems.append(f"{key}: skips {sorted(skipped_ids[key])}, expected {sorted(expected_skips(*key))}")
        missing = sorted(required_passes(*key) - passed_ids[key])
        if missing:
            problems.append(f"{key}: the encryption checks {missing} must pass")
    expected_keys = {(v, "primary") for v in VARIANTS} | {(v, "replica") for v in VARIANTS if "+replication" in v}
    if set(table) != expected_keys:
        problems.append(f"scanned {sorted(table)}, expected {sorted(expected_keys)}")
    return table, problems


def markdown_table(table: dict) -> list[str]:
    lines = ["| variant | template | checkov passed | failed | skipped | skipped checks |",
             "| --- | --- | --- | --- | --- | --- |"]
    for (variant, kind), row in sorted(table.items()):
        lines.append(f"| {variant} | {kind} | {row['passed']} | {row['failed']} | {row['skipped']} | {row['skips']} |")
    return lines


def documented(lines: list[str]) -> Path | None:
    """The Safety document that holds every line of the table, if any."""
    for doc in SAFETY_DOCS:
        if doc.is_file() and all(line in doc.read_text(encoding="utf-8").splitlines() for line in lines):
            return doc
    return None


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="checkov-variants-") as tmp:
        folder = Path(tmp)
        templates = synth_variants(folder)
        table, problems = summarize(run_checkov(folder), folder)
    lines = markdown_table(table)
    print(f"checkov {len(templates)} templates in {len(VARIANTS)} variants (per template, the same for every suffix):")
    print("\n".join(lines))
    for check, reason in inventory().checkov_skips:
        print(f"skip {check}: {reason}")
    doc = documented(lines)
    if doc is None:
        problems.append(f"the Safety section ({' or '.join(str(d.relative_to(ROOT)) for d in SAFETY_DOCS)}) "
                        f"does not hold the table above")
    else:
        text = doc.read_text(encoding="utf-8")
        problems += [f"{doc.name} does not list the skip {check} with its reason"
                     for check, reason in inventory().checkov_skips if check not in text or reason not in text]
    for problem in problems:
        print(f"checkov_gate: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"checkov_gate: 0 failed checks in every variant; table matches {doc.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
