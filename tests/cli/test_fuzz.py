"""Property-based tests: any suffix and any --set values either synthesize (and lint clean) or are
rejected with exit 2 and `error:` lines only: never a traceback, never a file for a rejected input.

Two parts, for time: accept/reject over many examples without cfn-lint, and cfn-lint over a
bounded sample of accepted configurations (cfn-lint takes about a second per template), linted
in one run at the end.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.cli import main
from builder.families.shared import MAX_MULTIPLIER
from builder.families.storage import MAX_LIFECYCLE_DAYS
from builder.families.table import MAX_CAPACITY
from builder.names import max_suffix_length
from builder.resources import all_settings
from tests.factories import config_line

VALID_SUFFIX = re.compile(r"[a-z0-9]+(-+[a-z0-9]+)*\Z")
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ap-northeast-1", "sa-east-1"]
KEYS = [s.name for s in all_settings()]

# Suffixes: mostly near-valid (so many are accepted), plus any text at all.
suffixes = st.one_of(
    st.from_regex(r"[a-z0-9]{1,12}(-{1,2}[a-z0-9]{1,10}){0,3}", fullmatch=True),
    st.text(alphabet="abcxyz019-_.AZ é\n", max_size=70),
    st.text(max_size=20),
)
# Values as a user would type them: numbers of every kind, booleans, regions, emails, any text.
values = st.one_of(
    st.integers(min_value=-10, max_value=10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["true", "false", "yes", "no", "1", "0", "PROVISIONED", "PAY_PER_REQUEST", "", " ",
                     "alerts@example.com", "a@b", *REGIONS, "us-east-1\n"]),
    st.text(max_size=30),
)
set_items = st.one_of(
    st.builds(lambda key, value: f"{key}={value}", st.sampled_from([*KEYS, "tags.Team", "region", "bucket_days"]),
              values),
    st.text(max_size=30),  # with or without '=', any key
)


def run_synth(args: list[str], workdir: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(workdir), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["synth", *args])
    return code, out.getvalue(), err.getvalue()


def check_outcome(suffix: str, sets: list[str], workdir: Path, out_dir: Path) -> bool:
    """Synthesize one input; assert the accept/reject properties; True when it was accepted."""
    args = ["--suffix", suffix, "--region", "us-east-1", "--out", str(out_dir)]
    args += [item for s in sets for item in ("--set", s)]
    code, out, err = run_synth(args, workdir)
    assert "Traceback" not in out + err
    if code == 2:
        lines = [line for line in err.splitlines() if line.strip()]
        assert lines and all(line.startswith("error: ") for line in lines), err
        assert not out_dir.exists(), "a rejected input wrote files"
        return False
    assert code == 0, (code, err)
    assert err == config_line(workdir) + "\n"  # only which config was read (none): --region was given
    # accepted: the suffix obeys the documented rules, and every file is complete JSON
    assert VALID_SUFFIX.match(suffix) and not suffix.endswith("-replica")
    assert len(suffix) <= max_suffix_length("app", ["us-east-1"]) or "stack_prefix" in " ".join(sets)
    files = sorted(out_dir.iterdir())
    assert len(files) in (4, 8) and all(not f.name.startswith(".") for f in files)
    for path in files:
        json.loads(path.read_text(encoding="utf-8"))
    return True


@settings(deadline=None, max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(suffix=suffixes, sets=st.lists(set_items, max_size=4))
def test_any_input_is_synthesized_or_rejected_cleanly(clean_env, suffix, sets):
    with tempfile.TemporaryDirectory() as tmp:
        check_outcome(suffix, sets, Path(tmp), Path(tmp) / "out")


# Configurations a user means to be valid, with every setting drawn from its whole range.
def _config_sets(draw) -> list[str]:
    sets = [f"bucket_lifecycle_days={draw(st.integers(1, MAX_LIFECYCLE_DAYS))}",
            f"alarm_threshold_multiplier={draw(st.floats(1e-3, MAX_MULTIPLIER))!r}",
            f"customer_managed_key={draw(st.sampled_from(['true', 'false']))}",
            f"retain_data={draw(st.sampled_from(['true', 'false']))}",
            f"cost_center={draw(st.from_regex(r'[A-Za-z0-9 ._:/=+@-]{1,40}', fullmatch=True))}",
            (f"tags.{draw(st.from_regex(r'[A-Za-z][A-Za-z0-9_.:/=+@-]{0,20}', fullmatch=True))}="
            f"{draw(st.from_regex(r'[A-Za-z0-9 ._:/=+@-]{0,40}', fullmatch=True))}")]
    if draw(st.booleans()):
        sets += ["dynamodb_billing_mode=PROVISIONED", f"dynamodb_read_capacity={draw(st.integers(1, MAX_CAPACITY))}",
                 f"dynamodb_write_capacity={draw(st.integers(1, MAX_CAPACITY))}"]
    if draw(st.booleans()):
        sets += ["enable_cross_region_replication=true",
                 f"replication_region={draw(st.sampled_from(REGIONS[1:]))}",
                 f"replication_time_control={draw(st.sampled_from(['true', 'false']))}"]
    return sets


config_sets = st.composite(_config_sets)()
lintable_suffixes = st.from_regex(r"[a-z0-9]{1,10}(-{1,2}[a-z0-9]{1,8}){0,2}", fullmatch=True)


def test_accepted_configurations_lint_clean(clean_env, tmp_path):
    from builder.lint import lint_templates

    accepted: list[tuple[Path, str, list[str]]] = []

    @settings(deadline=None, max_examples=12, database=None)
    @given(suffix=lintable_suffixes, sets=config_sets)
    def synthesize(suffix, sets):
        out_dir = tmp_path / f"case{len(accepted)}"
        with tempfile.TemporaryDirectory() as work:
            if check_outcome(suffix, sets, Path(work), out_dir):
                accepted.append((out_dir, suffix, sets))

    synthesize()
    assert accepted, "no drawn configuration was accepted"
    templates = sorted(p for out_dir, _, _ in accepted for p in out_dir.glob("*.template.json"))
    result = lint_templates(templates, ["us-east-1"])
    # The package's cost guardrails (W9xxx) flag expensive settings (high provisioned capacity,
    # RTC) on purpose, and the ranges here draw those; cfn-lint's own rules must find nothing.
    findings = [str(f) for f in result.findings if not f.rule_id.startswith("W9")]
    inputs = {str(out_dir): (suffix, sets) for out_dir, suffix, sets in accepted}
    assert findings == [], "\n".join(
        f"{finding}\n  input: {inputs[str(Path(finding.splitlines()[1].split(':')[0]).parent)]}"
        for finding in findings)
