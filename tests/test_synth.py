"""synth builds each JSON template once per configuration and puts the suffix into its text: the bytes
must be exactly those of a direct build, for every variant and every kind of suffix."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.synth import build_templates, stacks_for, templates_for
from tests.variants import VARIANTS, variant_configs

SUFFIXES = ("pr123", "synthaw2nm", "synth-12345", "a", "longest", "s3", "aws", "e", "1", "123", "true",
            "data", "replica-x", "app", "alerts", "x--y", "0e5")


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_cached_templates_are_the_bytes_of_a_direct_build(variant):
    for config in variant_configs(variant, SUFFIXES):
        assert templates_for(config) == build_templates(config), config.suffix


@pytest.mark.parametrize("sets", [["alert_email=ops-e@example.com"], ["alert_email=alerts-a@example.com"],
                                  ["tags.name=a-preview", "cost_center=a"]])
def test_values_that_hold_the_suffix_text_stay_exact(sets):
    from builder.environment import resolve_configs
    from builder.resources import schema

    for config in resolve_configs(suffixes=["a", "e", "pr1"], sets=sets, environ={}, cwd=Path("/nonexistent"),
                                  schema=schema()):
        assert templates_for(config) == build_templates(config), config.suffix


def test_yaml_is_built_per_suffix():
    from builder.environment import EnvironmentConfig

    config = EnvironmentConfig(suffix="123")  # an unquoted 123 in YAML would be a number, not the suffix
    assert templates_for(config, "yaml") == build_templates(config, "yaml")
    assert "Value: '123'" in stacks_for(config, "yaml")[0].template_body
