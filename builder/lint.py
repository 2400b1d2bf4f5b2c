"""The lint gate: cfn-lint through its Python API, informational findings included.

Only `python -m builder lint` imports this module (cfn-lint is slow to import; synth never needs it).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from builder import names
from builder.errors import UsageError

TEMPLATE_GLOBS = ("*.template.json", "*.template.yaml")


@dataclass(frozen=True)
class LintResult:
    files: tuple[Path, ...]
    findings: tuple[str, ...]  # each in cfn-lint's usual format: "<id> <message>\n<file>:<line>:<col>"
    runs: int  # how many templates cfn-lint actually ran on (distinct structures)


def templates_in(paths: Sequence[str], default_dir: str) -> list[Path]:
    """Every template to lint: the files given, the templates in folders given (and below), or out/."""
    found: list[Path] = []
    for raw in paths or [default_dir]:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for pattern in TEMPLATE_GLOBS for p in path.rglob(pattern))
        elif path.is_file():
            if not any(path.match(pattern) for pattern in TEMPLATE_GLOBS):
                raise UsageError(raw, "is not a template: give *.template.json or *.template.yaml files, or a folder "
                                      "that holds them")
            found.append(path)
        else:
            raise UsageError(raw, "no such file or folder; give templates or a folder that holds them "
                                  "(run `python -m builder synth` first)")
    if not found:
        where = ", ".join(paths) if paths else default_dir
        raise UsageError(where, "holds no *.template.json or *.template.yaml; run `python -m builder synth` first")
    return list(dict.fromkeys(found))


def structure_digest(text: str) -> str:
    """A digest of what cfn-lint judges, with the suffix taken out.

    Suffixes of one configuration differ only in the suffix itself (in names, tags, descriptions
    and the alert email default); it is read from the Environment tag builder puts on every
    taggable resource. Parameter Defaults stay in: the cost rules (W9001, W9002) judge a template
    as a deploy with its defaults would create it. Anything else that differs is linted apart.
    """
    try:
        doc = json.loads(text)
    except ValueError:  # YAML, or not a template at all: lint it on its own
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    if not isinstance(doc, dict):
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    normal = json.dumps(doc, sort_keys=True)
    suffixes = {tag.get("Value") for resource in (doc.get("Resources") or {}).values() if isinstance(resource, dict)
                for tag in ((resource.get("Properties") or {}).get("Tags") or [])
                if isinstance(tag, dict) and tag.get("Key") == "Environment"}
    suffix = next(iter(suffixes)) if len(suffixes) == 1 else None
    if isinstance(suffix, str) and suffix:
        normal = names.replace_suffix(normal, suffix, "\x00")
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def lint_templates(files: Sequence[Path], regions: Sequence[str], append_rules: Sequence[str] = (),
                   cache: bool = True) -> LintResult:
    """cfn-lint every file; with cache, each distinct structure once (its findings apply to all alike)."""
    from cfnlint.api import lint_by_config
    from cfnlint.config import ManualArgs

    from builder.rules import RULES_DIR  # the package's cost guardrails (W9xxx) always run

    representative: dict[str, Path] = {}  # structure -> the first file that has it
    structure_of: dict[Path, str] = {}
    for path in files:
        key = structure_digest(path.read_text(encoding="utf-8", errors="replace")) if cache else str(path)
        structure_of[path] = key
        representative.setdefault(key, path)
    # One cfn-lint run over all distinct templates: its rules load once, not once per file.
    matches = lint_by_config(ManualArgs(
        templates=[str(p) for p in representative.values()], include_checks=["I"], regions=list(regions),
        append_rules=[RULES_DIR, *append_rules]))
    by_file: dict[str, list[tuple[str, str]]] = {}
    for m in matches:
        by_file.setdefault(str(m.filename), []).append((f"{m.rule.id} {m.message}", f"{m.linenumber}:{m.columnnumber}"))
    findings: list[str] = []
    for path in files:
        found = by_file.get(str(representative[structure_of[path]]), [])
        findings += [f"{head}\n{path}:{where}" for head, where in found]
    runs = len(representative)
    return LintResult(tuple(files), tuple(findings), runs)
