"""The matrix of synthesized variants that the lint and checkov gates and the policy tests share.

Every synth-time and deploy-time choice that changes the template: billing mode x replication x
customer_managed_key (each replication variant also writes the replica template), for the suffixes
of issue 2 section 4: `pr123`, `synthaw2nm`, `synth-12345`, one character and the longest allowed.

    python -m tests.variants DIR     # writes every variant's files into DIR, prints the templates
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from builder.environment import EnvironmentConfig, resolve_configs
from builder.families.replication import replica_region
from builder.names import max_suffix_length
from builder.resources import schema
from builder.synth import all_stacks, file_contents, write_files

REGION = "us-east-1"
REPLICATION_REGION = "us-west-2"
FIXED_SUFFIXES = ("pr123", "synthaw2nm", "synth-12345", "a")
LONGEST = "longest"  # stands for the longest suffix allowed in this variant's regions

_BILLING = {
    "pay-per-request": [],
    "provisioned": ["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5", "dynamodb_write_capacity=5"],
}
_REPLICATION = {
    "": [],
    "+replication": ["enable_cross_region_replication=true", f"replication_region={REPLICATION_REGION}"],
}
_KEY = {"": [], "+key": ["customer_managed_key=true"]}

# Variant name -> its --set list.
VARIANTS: dict[str, list[str]] = {
    f"{billing}{replication}{key}": [*billing_sets, *replication_sets, *key_sets]
    for billing, billing_sets in _BILLING.items()
    for replication, replication_sets in _REPLICATION.items()
    for key, key_sets in _KEY.items()
}


def _configs(sets: Sequence[str], suffixes: Sequence[str]) -> list[EnvironmentConfig]:
    return resolve_configs(suffixes=list(suffixes), sets=list(sets), region=REGION, environ={},
                           cwd=Path("/nonexistent"), schema=schema())


def longest_suffix(sets: Sequence[str]) -> str:
    """The longest suffix this variant allows (every bucket name at S3's 63 characters)."""
    config = _configs(sets, ["a"])[0]
    replica = replica_region(config)
    regions = [config.region, *([replica] if replica else [])]
    length = max_suffix_length(config.stack_prefix, regions)
    return ("s" + "0123456789" * 7)[:length]


def suffixes_for(sets: Sequence[str], suffixes: Sequence[str] = (*FIXED_SUFFIXES, LONGEST)) -> list[str]:
    return [longest_suffix(sets) if s == LONGEST else s for s in suffixes]


def variant_configs(name: str, suffixes: Sequence[str] = (*FIXED_SUFFIXES, LONGEST)) -> list[EnvironmentConfig]:
    sets = VARIANTS[name]
    return _configs(sets, suffixes_for(sets, suffixes))


def synth_variants(out_dir: Path | str, suffixes: Sequence[str] = (*FIXED_SUFFIXES, LONGEST)) -> list[Path]:
    """Write every variant's files for every suffix into out_dir; return the template paths.

    Variants differ in settings, not in suffix, so their stacks would share file names: each
    variant gets its own subfolder `out_dir/<variant>/`.
    """
    templates: list[Path] = []
    for name in VARIANTS:
        contents: dict[str, str] = {}
        for stack in all_stacks(variant_configs(name, suffixes)):
            contents.update(file_contents(stack))
        written = write_files(contents, Path(out_dir) / name)
        templates += [path for path in written if ".template." in path.name]
    return templates


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m tests.variants DIR")
    for path in synth_variants(sys.argv[1]):
        print(path)
