"""cfn-lint, informational findings and the cost rules included, finds nothing in the variant matrix:
PAY_PER_REQUEST and PROVISIONED x replication off and on x customer_managed_key off and on, each for
pr123, synthaw2nm, synth-12345, a one-character suffix and the longest allowed (replica templates too).
`tox -e lint` is the same gate for CI; this keeps it in the README's test command as a test."""

from __future__ import annotations

from builder.lint import lint_templates
from tests.variants import VARIANTS, synth_variants


def test_every_variant_and_suffix_lints_clean(tmp_path):
    templates = synth_variants(tmp_path)
    assert len(templates) == 5 * len(VARIANTS) * 3 // 2  # 5 suffixes; half the variants add a replica
    result = lint_templates(templates, ["us-east-1", "us-west-2"])
    assert result.findings == ()
    # suffixes share structures: far fewer cfn-lint runs than templates (a one-letter suffix such as
    # "a" also stands in other words, so its digest differs and it is linted on its own: safe, not wrong)
    assert len(VARIANTS) * 3 // 2 <= result.runs <= len(templates) // 2
