"""Golden templates: the template(s) of suffix pr123 for every variant of tests/variants.py, frozen
under tests/goldens/<variant>/ as synth writes them, each with its stack policy (<stack>.policy.json).

    python -m tests.goldens --update     # rewrite every golden from the current code (on purpose only)

tests/test_goldens.py compares each freshly built template with its golden and lints the goldens;
a normal test run never writes here.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path

from builder.synth import stacks_for
from tests.variants import VARIANTS, variant_configs

GOLDENS = Path(__file__).resolve().parent / "goldens"
GOLDEN_SUFFIX = "pr123"
GOLDEN_PATTERNS = ("*.template.json", "*.policy.json")


def built(variant: str) -> dict[str, str]:
    """File name -> template or stack policy text of the variant's stacks for GOLDEN_SUFFIX, as synth writes them."""
    (config,) = variant_configs(variant, [GOLDEN_SUFFIX])
    return {name: text for stack in stacks_for(config)
            for name, text in ((stack.template_file, stack.template_body), (stack.policy_file, stack.policy_body))}


def golden_files(variant: str) -> dict[str, str]:
    folder = GOLDENS / variant
    return {path.name: path.read_text(encoding="utf-8") for pattern in GOLDEN_PATTERNS
            for path in sorted(folder.glob(pattern))}


def json_diff(golden: str, fresh: str, name: str) -> str:
    """A unified diff of both templates as pretty, key-sorted JSON; empty when they parse equal."""
    before, after = json.loads(golden), json.loads(fresh)
    if before == after:
        return ""
    lines = [json.dumps(doc, indent=2, sort_keys=True).splitlines(keepends=True) for doc in (before, after)]
    return "".join(difflib.unified_diff(*lines, fromfile=f"golden/{name}", tofile=f"built/{name}"))


def update() -> list[Path]:
    written: list[Path] = []
    for variant in VARIANTS:
        folder = GOLDENS / variant
        folder.mkdir(parents=True, exist_ok=True)
        fresh = built(variant)
        for stale in (path for pattern in GOLDEN_PATTERNS for path in folder.glob(pattern)):
            if stale.name not in fresh:
                stale.unlink()
        for name, text in fresh.items():
            (folder / name).write_text(text, encoding="utf-8", newline="\n")
            written.append(folder / name)
    return written


if __name__ == "__main__":
    if sys.argv[1:] != ["--update"]:
        sys.exit("usage: python -m tests.goldens --update   (rewrites tests/goldens/ from the current code)")
    for path in update():
        print(path.relative_to(GOLDENS.parent))
