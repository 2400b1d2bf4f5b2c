"""`builder lint` reports, file by file, exactly what cfn-lint reports when a user runs it: one `cfn-lint`
process (the CLI from this venv) over all the files, with the checks the gate runs (`--include-checks I
--append-rules builder/rules`) and the project's .cfnlintrc in the working folder.

The files: the whole variant matrix (tests/variants.py: PAY_PER_REQUEST and PROVISIONED x replication
x customer-managed key, each for pr123, synthaw2nm, synth-12345, the shortest suffix `a` and the longest
allowed), suffixes drawn by hypothesis, and planted templates that cfn-lint must flag: a 40-character
suffix (its bucket name over S3's 63 characters: W1031) and a 250-character one (the table name over
DynamoDB's 255: E3033). The matrix itself lints clean (`tox -e lint` is the same gate for CI). A second
test does the same under a .cfnlintrc of its own, with YAML templates and one cfn-lint cannot parse."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from builder.cli import main
from builder.lint import LintResult, lint_templates
from builder.names import replace_suffix, suffix_form_problem, suffix_length_problem
from builder.rules import RULES_DIR
from builder.synth import all_stacks, file_contents, write_files
from tests.variants import REGION, REPLICATION_REGION, VARIANTS, synth_variants, variant_configs

pytestmark = pytest.mark.usefixtures("clean_env")

REPO = Path(__file__).resolve().parent.parent
CFN_LINT = str(Path(sys.executable).parent / "cfn-lint")
REGIONS = [REGION, REPLICATION_REGION]
PROVISIONED = [a for setting in VARIANTS["provisioned"] for a in ("--set", setting)]
_FINDING = re.compile(r"(?P<id>\S+) (?P<message>.*)\n(?P<file>[^\n]+):(?P<line>\d+):(?P<col>\d+)", re.DOTALL)

Findings = dict[str, list[tuple[str, str, int, int]]]  # file -> (rule id, message, line, column)


def by_file(output: str) -> Findings:
    """cfn-lint's text format (`<id> <message>` then `<file>:<line>:<col>`, a blank line after each) by file."""
    found: Findings = {}
    for block in filter(None, output.strip("\n").split("\n\n")):
        match = _FINDING.fullmatch(block)
        assert match, f"not a finding in cfn-lint's text format: {block!r}"
        found.setdefault(match["file"], []).append((match["id"], match["message"], int(match["line"]),
                                                    int(match["col"])))
    return found


def cfn_lint(files: list[str], *args: str) -> tuple[int, Findings]:
    """`cfn-lint` as a user runs it from the working folder: one process over every file."""
    done = subprocess.run([CFN_LINT, "--include-checks", "I", "--append-rules", RULES_DIR, *args, "--", *files],
                          check=False, capture_output=True, text=True)
    assert done.stderr == "", done.stderr
    return done.returncode, by_file(done.stdout)


def builder_lint(files: list[str], *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, Findings]:
    capsys.readouterr()
    code = main(["lint", *args, *files])
    out = capsys.readouterr().out
    no_findings = re.search(r"\n?\d+ template\(s\) linted: no findings\n$", out)
    return code, by_file(out[:no_findings.start()] if no_findings else out)


def assert_same(files: list[str], theirs: tuple[int, Findings], ours: tuple[int, Findings]) -> None:
    (their_code, their_findings), (our_code, our_findings) = theirs, ours
    differ = [f"{name}:\n  cfn-lint: {their_findings.get(name, [])}\n  builder:  {our_findings.get(name, [])}"
              for name in files if their_findings.get(name, []) != our_findings.get(name, [])]
    assert not differ, "findings differ:\n" + "\n".join(differ)
    assert set(our_findings) <= set(files)  # nothing invented for a file cfn-lint was not given
    assert our_code == (1 if their_code else 0), (their_code, our_code)


def plant(template: Path, suffix: str, folder: Path, new_suffix: str) -> str:
    """A copy of a synthesized template with its suffix replaced everywhere by one synth would refuse."""
    folder.mkdir(exist_ok=True)
    planted = folder / template.name.replace(suffix, new_suffix[:12])
    planted.write_text(replace_suffix(template.read_text(), suffix, new_suffix))
    return str(planted.relative_to(Path.cwd()))


drawn_suffixes = st.from_regex(r"[a-z0-9]{1,12}(-[a-z0-9]{1,9}){0,2}", fullmatch=True)


def synth_drawn(folder: Path) -> list[Path]:
    """Templates of suffixes drawn by hypothesis (any accepted form and length), each in a drawn variant."""
    drawn: list[tuple[str, str]] = []

    @settings(deadline=None, max_examples=8, database=None)
    @given(suffix=drawn_suffixes, variant=st.sampled_from(sorted(VARIANTS)))
    def draw(suffix: str, variant: str) -> None:
        if suffix_form_problem(suffix) is None and suffix_length_problem(suffix, "app", REGIONS) is None:
            drawn.append((suffix, variant))

    draw()
    assert drawn, "hypothesis drew no acceptable suffix"
    templates: list[Path] = []
    for i, (suffix, variant) in enumerate(dict.fromkeys(drawn)):
        contents: dict[str, str] = {}
        for stack in all_stacks(variant_configs(variant, [suffix])):
            contents.update(file_contents(stack))
        templates += [p for p in write_files(contents, folder / f"drawn{i}") if ".template." in p.name]
    return templates


def test_builder_lint_reports_what_cfn_lint_reports_on_every_file(clean_env, capsys):
    shutil.copy(REPO / ".cfnlintrc", clean_env / ".cfnlintrc")  # the project's, as in the repository root
    matrix = synth_variants(clean_env / "variants")
    assert len(matrix) == 5 * len(VARIANTS) * 3 // 2  # 5 suffixes; half the variants add a replica
    drawn = synth_drawn(clean_env / "drawn")
    base = clean_env / "variants" / "pay-per-request+replication" / "app-pr123.template.json"
    planted = [plant(base, "pr123", clean_env / "planted", "x" * 40),  # bucket name over 63 characters
               plant(base, "pr123", clean_env / "planted", "y" * 250)]  # table and alarm names over 255
    files = sorted({str(p.relative_to(clean_env)) for p in [*matrix, *drawn]} | set(planted))

    theirs = cfn_lint(files, "--regions", *REGIONS)
    ours = builder_lint(files, *[a for r in REGIONS for a in ("--region", r)], capsys=capsys)
    assert_same(files, theirs, ours)
    # the planted files are found by cfn-lint (so the comparison above compared something) ...
    assert {"W1031"} <= {f[0] for f in theirs[1][planted[0]]}
    assert {"E3033", "W1031"} <= {f[0] for f in theirs[1][planted[1]]}
    # ... and everything synth writes lints clean
    assert set(theirs[1]) == set(planted), sorted(theirs[1])


def test_the_working_folders_cfnlintrc_applies_as_it_does_to_cfn_lint(clean_env, capsys):
    synth_variants(clean_env / "v", suffixes=["pr1"])
    base = clean_env / "v" / "provisioned" / "app-pr1.template.json"
    assert main(["synth", "--suffix", "pr1", "--format", "yaml", "--out", "y", *PROVISIONED]) == 0
    yaml_base = clean_env / "y" / "app-pr1.template.yaml"
    planted_yaml = plant(yaml_base, "pr1", clean_env / "p", "q" * 40)
    (clean_env / "p" / "cut.template.json").write_text(base.read_text()[:300])  # not a template: E0000
    files = sorted([str(base.relative_to(clean_env)), plant(base, "pr1", clean_env / "p", "z" * 250),
                    str(yaml_base.relative_to(clean_env)), planted_yaml, "p/cut.template.json"])
    (clean_env / ".cfnlintrc").write_text("include_checks: [I]\nignore_checks: [E3033]\nregions: [eu-west-1]\n"
                                          "configure_rules:\n  W9001:\n    max_capacity: 2\n")
    theirs = cfn_lint(files)
    assert_same(files, theirs, builder_lint(files, capsys=capsys))
    found = {f[0] for findings in theirs[1].values() for f in findings}
    assert "W9001" in found and "E3033" not in found  # the configuration changed what cfn-lint reports
    assert "W1031" in {f[0] for f in theirs[1][planted_yaml]}  # the planted YAML template is read and flagged
    assert [f[0] for f in theirs[1]["p/cut.template.json"]] == ["E0000"]

    (clean_env / ".cfnlintrc").write_text("ignore_templates: [p/*]\n")  # the planted file is not linted
    theirs = cfn_lint(files)
    assert theirs == (0, {})
    assert_same(files, theirs, builder_lint(files, capsys=capsys))


def test_workers_change_nothing_but_the_speed(clean_env):
    synth_variants(clean_env / "v", suffixes=["a"])
    files = sorted(clean_env.glob("v/provisioned*/*.template.json"))
    files.append(Path(plant(files[0], "a", clean_env / "p", "w" * 40)))
    one, several = lint_templates(files, REGIONS, workers=1), lint_templates(files, REGIONS, workers=3)
    assert (one.workers, several.workers) == (1, 3)
    assert isinstance(one, LintResult) and one.findings  # the planted file is found either way
    assert (one.files, one.findings, one.output, one.exit_code) == (several.files, several.findings,
                                                                     several.output, several.exit_code)
