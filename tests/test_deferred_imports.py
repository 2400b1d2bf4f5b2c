"""builder.deferred_imports keeps cfn_flip (and PyYAML) out of JSON synth's start-up."""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import sys
{setup}
import troposphere
print(type(sys.modules.get("cfn_flip")).__name__ if "cfn_flip" in sys.modules else "absent")
print("yaml" in sys.modules)
"""


def run(setup: str) -> list[str]:
    result = subprocess.run([sys.executable, "-c", PROBE.format(setup=setup)], capture_output=True, text=True,
                            check=True)
    return result.stdout.split()


def test_troposphere_still_imports_cfn_flip_at_import_time():
    """When this fails, troposphere no longer loads cfn_flip eagerly: delete builder/deferred_imports.py."""
    assert run("") == ["module", "True"]


def test_json_synth_imports_neither_cfn_flip_nor_yaml(tmp_path):
    assert run("import builder.deferred_imports") == ["ImportedOnFirstUse", "False"]
    script = ("import sys\nfrom builder.cli import main\nmain(['synth', '--suffix', 'pr1', '--out', sys.argv[1]])\n"
              "print('cfn_flip' in sys.modules and type(sys.modules['cfn_flip']).__name__, 'yaml' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script, "out"], capture_output=True, text=True, check=True,
                            cwd=tmp_path)
    assert result.stdout.splitlines()[-1] == "ImportedOnFirstUse False"


def test_yaml_synth_loads_the_real_module(tmp_path):
    script = ("import sys\nfrom builder.cli import main\n"
              "main(['synth', '--suffix', 'pr1', '--format', 'yaml', '--out', 'out'])\n"
              "print(type(sys.modules['cfn_flip']).__name__)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert result.stdout.splitlines()[-1] == "module"
    assert (tmp_path / "out" / "app-pr1.template.yaml").read_text().startswith("AWSTemplateFormatVersion")
