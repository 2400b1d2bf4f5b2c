"""cfn-lint custom rules that guard what an environment costs (W9xxx), one file per rule.

Use them with `cfn-lint --append-rules builder/rules template.json` (cfn-lint loads every file
here whose name does not start with an underscore, so this file is skipped); `python -m builder
lint` loads them itself. The rules import `builder`, so run cfn-lint from the environment builder
is installed in.
"""

from pathlib import Path

RULES_DIR = str(Path(__file__).resolve().parent)
