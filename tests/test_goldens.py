"""Every variant's pr123 template(s) equal the golden frozen under tests/goldens/, and the goldens lint
clean. A difference is shown as a unified diff of the pretty JSON; if the change is meant, rewrite the
goldens with `python -m tests.goldens --update` and review their diff in the commit."""

from __future__ import annotations

from builder.lint import lint_templates
from tests.goldens import GOLDENS, built, golden_files, json_diff
from tests.variants import REGION, REPLICATION_REGION, VARIANTS


def test_every_variant_builds_its_golden_templates_and_the_goldens_lint_clean():
    differences: list[str] = []
    for variant in VARIANTS:
        golden, fresh = golden_files(variant), built(variant)
        assert sorted(golden) == sorted(fresh), f"{variant}: golden files {sorted(golden)}, built {sorted(fresh)}"
        differences += [diff for name in fresh if (diff := json_diff(golden[name], fresh[name], f"{variant}/{name}"))]
    assert not differences, "templates differ from tests/goldens/:\n" + "\n".join(differences)
    assert all(golden[name] == fresh[name] for variant in VARIANTS  # policies: the very bytes synth writes
               for golden, fresh in [(golden_files(variant), built(variant))] for name in fresh
               if name.endswith(".policy.json"))
    files = sorted(GOLDENS.glob("*/*.template.json"))
    assert len(files) == len(VARIANTS) * 3 // 2  # half the variants add a replica template
    assert lint_templates(files, [REGION, REPLICATION_REGION]).findings == ()


def test_a_changed_template_shows_as_a_readable_diff():
    golden = '{"Resources": {"A": {"Type": "AWS::SNS::Topic"}}}'
    assert json_diff(golden, '{"Resources":{"A":{"Type":"AWS::SNS::Topic"}}}', "t.json") == ""
    diff = json_diff(golden, '{"Resources": {"A": {"Type": "AWS::SQS::Queue"}}}', "t.json")
    assert '-      "Type": "AWS::SNS::Topic"' in diff and '+      "Type": "AWS::SQS::Queue"' in diff
