"""The lint gate: cfn-lint through its Python API, informational findings included.

Only `python -m builder lint` imports this module (cfn-lint is slow to import; synth never needs it).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from builder.errors import UsageError

TEMPLATE_GLOBS = ("*.template.json", "*.template.yaml")


@dataclass(frozen=True)
class LintResult:
    files: tuple[Path, ...]
    findings: tuple[str, ...]  # each in cfn-lint's usual format: "<id> <message>\n<file>:<line>:<col>"


def templates_in(paths: Sequence[str], default_dir: str) -> list[Path]:
    """Every template to lint: the files given, the templates in folders given (and below), or out/."""
    found: list[Path] = []
    for raw in paths or [default_dir]:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for pattern in TEMPLATE_GLOBS for p in path.rglob(pattern))
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(raw, "no such file or folder; give templates or a folder that holds them "
                                  "(run `python -m builder synth` first)")
    if not found:
        where = ", ".join(paths) if paths else default_dir
        raise UsageError(where, "holds no *.template.json or *.template.yaml; run `python -m builder synth` first")
    return list(dict.fromkeys(found))


def lint_templates(files: Sequence[Path], regions: Sequence[str], append_rules: Sequence[str] = ()) -> LintResult:
    from cfnlint.api import lint_file
    from cfnlint.config import ManualArgs

    findings: list[str] = []
    config = ManualArgs(include_checks=["I"], regions=list(regions), append_rules=list(append_rules))
    for path in files:
        for match in lint_file(path, config=config):
            findings.append(f"{match.rule.id} {match.message}\n{match.filename}:{match.linenumber}:{match.columnnumber}")
    return LintResult(tuple(files), tuple(findings))
