"""Configuration: every precedence rule and every validation rule of builder.environment."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path

import pytest

from builder.environment import EnvironmentConfig, regions_named, resolve_configs
from builder.errors import ConfigError
from builder.families.alerts import ALARM_THRESHOLD_MULTIPLIER, alert_email
from builder.families.keys import CUSTOMER_MANAGED_KEY
from builder.families.replication import (
    ENABLE_CROSS_REGION_REPLICATION,
    REPLICATION_REGION,
    REPLICATION_TIME_CONTROL,
)
from builder.families.storage import BUCKET_LIFECYCLE_DAYS
from builder.families.table import DYNAMODB_BILLING_MODE, DYNAMODB_READ_CAPACITY, DYNAMODB_WRITE_CAPACITY
from builder.names import max_suffix_length
from builder.region_chain import DEFAULT_REGION, active_profile, resolve_region
from builder.resources import schema
from builder.settings import SETTINGS


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def resolve(tmp_path: Path, environ: dict | None = None, **kwargs) -> list[EnvironmentConfig]:
    # never the ~/.aws/config of whoever runs the tests: a test that wants one names it
    environ = {"AWS_CONFIG_FILE": str(tmp_path / "no-aws-config"), **(environ or {})}
    return resolve_configs(environ=environ, cwd=tmp_path, schema=schema(), **kwargs)


def problems(tmp_path: Path, environ: dict | None = None, **kwargs) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        resolve(tmp_path, environ, **kwargs)
    return caught.value.lines()


# ----------------------------------------------------------------------------- defaults


@pytest.mark.parametrize("suffix", ["pr123", "synthaw2nm", "synth-12345", "prod", "staging", "dev", "x"])
def test_every_suffix_gets_the_same_cost_optimised_defaults(tmp_path, suffix):
    (config,) = resolve(tmp_path, suffixes=[suffix])
    assert config.suffix == suffix
    assert config.stack_name == f"app-{suffix}"
    assert config.value(DYNAMODB_BILLING_MODE) == "PAY_PER_REQUEST"
    assert config.value(DYNAMODB_READ_CAPACITY) is None and config.value(DYNAMODB_WRITE_CAPACITY) is None
    assert config.value(ENABLE_CROSS_REGION_REPLICATION) is False
    assert config.value(REPLICATION_TIME_CONTROL) is False
    assert config.value(CUSTOMER_MANAGED_KEY) is False
    assert config.retain_data is False
    assert config.value(BUCKET_LIFECYCLE_DAYS) == 30
    assert config.value(ALARM_THRESHOLD_MULTIPLIER) == 0.75
    assert alert_email(config) == f"alerts-{suffix}@example.com"
    assert config.family_values == ()  # every family setting at its default
    assert config.all_tags == {"CostCenter": "engineering", "Environment": suffix}


def test_config_file_records_which_file_was_read_and_takes_no_part_in_equality(tmp_path):
    (without,) = resolve(tmp_path, suffixes=["pr1"])
    assert without.config_file is None
    write(tmp_path / "environments.toml", "[defaults]\n")
    (found,) = resolve(tmp_path, suffixes=["pr1"])
    assert found.config_file == "environments.toml"
    other = write(tmp_path / "other.toml", "[defaults]\n")
    (given,) = resolve(tmp_path, suffixes=["pr1"], config_path=str(other))
    assert given.config_file == str(other)
    assert without == found == given


def test_config_is_immutable(tmp_path):
    (config,) = resolve(tmp_path, suffixes=["pr1"])
    with pytest.raises(AttributeError):
        config.suffix = "other"  # type: ignore[misc]


def test_settings_table_matches_the_config_fields_and_their_defaults():
    """One field per setting (besides suffix, region and the family-declared values), defaulting to it."""
    fields = {f.name: f for f in dataclasses.fields(EnvironmentConfig)}
    assert {s.name for s in SETTINGS} == set(fields) - {"suffix", "region", "family_values", "config_file"}
    config = EnvironmentConfig(suffix="x")
    for setting in SETTINGS:
        assert config.value(setting) == setting.default, setting.name
        if setting.name == "tags":
            assert config.tags == tuple(setting.default.items())
        else:
            assert getattr(config, setting.name) == setting.default, setting.name


# ----------------------------------------------------------------------------- suffix and region sources


def test_suffix_from_flag_beats_environment_variable(tmp_path):
    configs = resolve(tmp_path, {"ENVIRONMENT_SUFFIX": "fromenv"}, suffixes=["a1", "b2", "a1"])
    assert [c.suffix for c in configs] == ["a1", "b2"]  # repeated flags, duplicates once, order kept


def test_suffix_from_environment_variable_then_dev(tmp_path):
    assert [c.suffix for c in resolve(tmp_path, {"ENVIRONMENT_SUFFIX": "synth-12345"})] == ["synth-12345"]
    assert [c.suffix for c in resolve(tmp_path, {})] == ["dev"]


def test_empty_environment_suffix_is_an_error_not_dev(tmp_path):
    (line,) = problems(tmp_path, {"ENVIRONMENT_SUFFIX": ""})
    assert line.startswith("error: ENVIRONMENT_SUFFIX: suffix: is empty")


def test_region_precedence_flag_env_file_default(tmp_path):
    write(tmp_path / "AWS_REGION", "eu-central-1\nignored second line\n")
    env = {"AWS_REGION": "ap-southeast-2"}
    assert resolve(tmp_path, env, region="us-west-2")[0].region == "us-west-2"
    assert resolve(tmp_path, env)[0].region == "ap-southeast-2"
    assert resolve(tmp_path, {})[0].region == "eu-central-1"
    (tmp_path / "AWS_REGION").unlink()
    assert resolve(tmp_path, {})[0].region == DEFAULT_REGION


AWS_CONFIG = """\
[default]
region = ap-northeast-1

[profile dev]
region = eu-central-1

[profile noregion]
output = json

[ci]
region = sa-east-1
"""


def test_region_chain_every_step_in_order(tmp_path):
    """--region > AWS_REGION > AWS_DEFAULT_REGION > AWS_REGION file > active profile > us-east-1, each step
    taken away in turn; the note says which source chose it."""
    aws_config = write(tmp_path / "aws-config", AWS_CONFIG)
    write(tmp_path / "AWS_REGION", "ca-central-1\n")
    env = {"AWS_REGION": "ap-southeast-2", "AWS_DEFAULT_REGION": "eu-west-3", "AWS_CONFIG_FILE": str(aws_config),
           "AWS_PROFILE": "dev"}

    def chosen() -> tuple[str, str]:
        choice = resolve_region(None, env, tmp_path)
        assert resolve(tmp_path, env)[0].region == choice.region
        return choice.region, choice.note

    assert resolve(tmp_path, env, region="us-west-2")[0].region == "us-west-2"
    assert resolve_region("us-west-2", env, tmp_path).source == "--region"
    assert chosen() == ("ap-southeast-2", "region ap-southeast-2 (from AWS_REGION)")
    del env["AWS_REGION"]
    assert chosen() == ("eu-west-3", "region eu-west-3 (from AWS_DEFAULT_REGION)")
    del env["AWS_DEFAULT_REGION"]
    assert chosen() == ("ca-central-1", "region ca-central-1 (from the AWS_REGION file)")
    (tmp_path / "AWS_REGION").unlink()
    assert chosen() == ("eu-central-1", f"region eu-central-1 (from profile dev in {aws_config})")
    del env["AWS_PROFILE"]
    assert chosen() == ("ap-northeast-1", f"region ap-northeast-1 (from profile default in {aws_config})")
    aws_config.unlink()
    assert chosen() == (DEFAULT_REGION, ("region us-east-1 (default: no --region, AWS_REGION, AWS_DEFAULT_REGION, "
                                         "AWS_REGION file or profile region)"))


def test_empty_region_variables_do_not_count(tmp_path):
    env = {"AWS_REGION": "", "AWS_DEFAULT_REGION": "", "AWS_CONFIG_FILE": str(tmp_path / "none")}
    assert resolve_region(None, env, tmp_path).region == DEFAULT_REGION


def test_active_profile_follows_botocore_default_profile_first():
    """botocore's configprovider lists AWS_DEFAULT_PROFILE before AWS_PROFILE: boto3 takes credentials
    from that profile, so its region is the one that belongs to them."""
    assert active_profile({"AWS_DEFAULT_PROFILE": "a", "AWS_PROFILE": "b"}) == "a"
    assert active_profile({"AWS_PROFILE": "b"}) == "b"
    assert active_profile({"AWS_DEFAULT_PROFILE": "", "AWS_PROFILE": "b"}) == "b"
    assert active_profile({}) == "default"


@pytest.mark.parametrize(("profile", "expected"), [
    ({"AWS_DEFAULT_PROFILE": "dev", "AWS_PROFILE": "default"}, "eu-central-1"),
    ({"AWS_PROFILE": "noregion"}, DEFAULT_REGION),  # the profile has no region: the chain ends
    ({"AWS_PROFILE": "missing"}, DEFAULT_REGION),
    ({"AWS_PROFILE": "ci"}, DEFAULT_REGION),  # [ci] is not a profile section: profiles are [profile NAME]
])
def test_profile_region_of_the_active_profile_only(tmp_path, profile, expected):
    env = {"AWS_CONFIG_FILE": str(write(tmp_path / "aws-config", AWS_CONFIG)), **profile}
    assert resolve(tmp_path, env)[0].region == expected


def test_profile_default_may_be_written_as_profile_default(tmp_path):
    env = {"AWS_CONFIG_FILE": str(write(tmp_path / "c", "[profile default]\nregion = eu-north-1\n"))}
    assert resolve(tmp_path, env)[0].region == "eu-north-1"


def test_config_file_path_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".aws").mkdir()
    write(tmp_path / ".aws" / "config", "[default]\nregion = eu-south-1\n")
    assert resolve_region(None, {}, tmp_path).region == "eu-south-1"  # ~/.aws/config without AWS_CONFIG_FILE
    assert resolve_region(None, {"AWS_CONFIG_FILE": "~/.aws/config"}, tmp_path).region == "eu-south-1"


def test_a_malformed_aws_config_is_one_error_only_when_it_would_decide(tmp_path):
    aws_config = write(tmp_path / "aws-config", "region = eu-west-1\n[default\n")
    (line,) = problems(tmp_path, {"AWS_CONFIG_FILE": str(aws_config)})
    assert line.startswith(f"error: {aws_config}: cannot be read as an AWS config file (")
    assert line.endswith("fix it, or give the region with --region or AWS_REGION")
    assert resolve(tmp_path, {"AWS_CONFIG_FILE": str(aws_config), "AWS_DEFAULT_REGION": "eu-west-2"})[0].region \
        == "eu-west-2"  # an earlier source decided: the file is not read


def test_bad_region_of_a_profile_names_the_file_and_section(tmp_path):
    aws_config = write(tmp_path / "aws-config", "[profile x]\nregion = Mars\n")
    (line,) = problems(tmp_path, {"AWS_CONFIG_FILE": str(aws_config), "AWS_PROFILE": "x"})
    assert line.startswith(f"error: {aws_config}: [profile x] region: 'Mars' does not look like an AWS region")


def test_region_check_applies_to_region_and_replication_region(tmp_path):
    def only_us_east_1(region: str) -> str | None:
        return None if region == "us-east-1" else f"{region!r} is not known"

    sets = ["enable_cross_region_replication=true", "replication_region=eu-west-1"]
    assert problems(tmp_path, region="us-east-1", sets=sets, region_check=only_us_east_1) == [
        "error: --set: replication_region: 'eu-west-1' is not known"]
    assert problems(tmp_path, region="us-west-2", region_check=only_us_east_1) == [
        "error: --region: region: 'us-west-2' is not known"]
    assert resolve(tmp_path, region="us-west-2")[0].region == "us-west-2"  # without a check: the pattern only


def test_replication_regions_named_by_any_table_of_the_file(tmp_path):
    config = write(tmp_path / "c.toml", """\
        [defaults]
        replication_region = "eu-west-1"
        [environments."pr*"]
        replication_region = "us-west-2"
        [environments.prod]
        enable_cross_region_replication = true
        replication_region = "us-west-2"
        [environments.qa]
        replication_region = "ap-south-1"
    """)
    assert regions_named(schema=schema(), config_path=str(config)) == ["eu-west-1", "us-west-2", "ap-south-1"]
    assert regions_named(schema=schema(), cwd=tmp_path) == []  # no environments.toml there
    with pytest.raises(ConfigError) as caught:
        regions_named(schema=schema(), config_path=str(config),
                      region_check=lambda r: "nope" if r == "ap-south-1" else None)
    assert caught.value.lines() == [f"error: {config}: environments.qa.replication_region: nope"]


def test_bad_region_from_file_names_the_file(tmp_path):
    write(tmp_path / "AWS_REGION", "mars-1\n")
    (line,) = problems(tmp_path)
    assert line.startswith("error: ./AWS_REGION: region: 'mars-1' does not look like an AWS region")


def test_a_region_file_that_is_not_text_is_named_as_such_not_read_as_an_empty_region(tmp_path):
    (tmp_path / "AWS_REGION").write_bytes(b"\xffus-east-1\n")
    (line,) = problems(tmp_path)
    assert line == "error: ./AWS_REGION: is not UTF-8 text; its first line is the region, such as us-east-1"


def test_region_is_not_a_config_file_key(tmp_path):
    write(tmp_path / "environments.toml", '[defaults]\nregion = "eu-west-1"\n')
    (line,) = problems(tmp_path)
    assert line.startswith("error: environments.toml: defaults.region:") and "--region" in line


# ----------------------------------------------------------------------------- file precedence

EXAMPLE = """
    [defaults]
    bucket_lifecycle_days = 14
    cost_center = "platform"
    tags = { team = "data" }

    [environments."pr*"]
    bucket_lifecycle_days = 3

    [environments."p*"]
    bucket_lifecycle_days = 5
    alarm_threshold_multiplier = 2.0

    [environments."pr1?"]
    bucket_lifecycle_days = 7

    [environments."pr?2"]
    bucket_lifecycle_days = 8

    [environments.prod]
    dynamodb_billing_mode = "PROVISIONED"
    dynamodb_read_capacity = 5
    dynamodb_write_capacity = 5
    tags = { tier = "gold" }
"""


@pytest.mark.parametrize(
    "suffix,days,multiplier",
    [
        ("qa", 14, 0.75),  # no table matches: [defaults] over built-in defaults
        ("prod", 14, 0.75),  # exact match beats every glob (prod matches pr*, p* too)
        ("pr99", 3, 0.75),  # pr* (3 chars) beats p* (2 chars): the longest glob wins
        ("pr12", 7, 0.75),  # pr1? and pr?2 have equal length: the first in the file wins
        ("px", 5, 2.0),  # only p* matches
    ],
)
def test_pattern_tables_exact_then_longest_glob_then_first(tmp_path, suffix, days, multiplier):
    write(tmp_path / "environments.toml", EXAMPLE)
    (config,) = resolve(tmp_path, suffixes=[suffix])
    assert (config.value(BUCKET_LIFECYCLE_DAYS), config.value(ALARM_THRESHOLD_MULTIPLIER)) == (days, multiplier)
    assert config.cost_center == "platform"


def test_tags_merge_with_environment_and_cost_center_from_suffix_and_setting(tmp_path):
    write(tmp_path / "environments.toml", EXAMPLE)
    (config,) = resolve(tmp_path, suffixes=["prod"], sets=["tags.owner=me", "tags.team=web"])
    assert config.all_tags == {"CostCenter": "platform", "Environment": "prod", "owner": "me",
                               "team": "web", "tier": "gold"}


def test_environment_and_cost_center_tags_are_refused_not_dropped(tmp_path):
    """builder sets them itself (the suffix, cost_center): a tag of either name would be ignored, so it
    is an error that says where the value comes from; other capitalisations are ordinary tags."""
    write(tmp_path / "environments.toml", '[environments.prod]\ntags = { Environment = "production" }\n')
    assert problems(tmp_path, suffixes=["prod"], sets=["tags.CostCenter=x"]) == [
        ("error: environments.toml: environments.prod.tags.Environment: Environment is always the suffix; "
         "builder sets this tag itself, remove it from tags"),
        ("error: --set: tags.CostCenter: CostCenter comes from the cost_center setting; set cost_center instead "
         "of this tag")]
    (tmp_path / "environments.toml").unlink()
    (config,) = resolve(tmp_path, suffixes=["qa"], sets=["tags.environment=x"])
    assert config.all_tags["environment"] == "x" and config.all_tags["Environment"] == "qa"


def test_builder_s_own_stack_tags_cannot_be_set_by_tags(tmp_path):
    """builder:managed-by is what reap and destroy trust: a config must not be able to forge or drop it."""
    write(tmp_path / "environments.toml", '[defaults]\ntags = { "builder:managed-by" = "builder" }\n')
    reason = ("tag keys starting with 'builder:' are builder's own stack tags (it writes builder:managed-by and "
              "builder:ttl itself; set ttl for the latter); choose another key")
    assert problems(tmp_path, suffixes=["prod"], sets=["tags.Builder:ttl=1d"]) == [
        f"error: environments.toml: defaults.tags.builder:managed-by: {reason}",
        f"error: --set: tags.Builder:ttl: {reason}"]
    (tmp_path / "environments.toml").unlink()
    (config,) = resolve(tmp_path, suffixes=["qa"], sets=["tags.team:builder=x"])
    assert config.stack_tags == {"CostCenter": "engineering", "Environment": "qa", "builder:managed-by": "builder",
                                 "team:builder": "x"}
    assert "builder:managed-by" not in config.all_tags  # a stack tag only: no template byte changes


def test_set_beats_pattern_table(tmp_path):
    write(tmp_path / "environments.toml", EXAMPLE)
    (config,) = resolve(tmp_path, suffixes=["pr5"], sets=["bucket_lifecycle_days=9", "retain_data=true",
                                                           "alarm_threshold_multiplier=1.5"])
    assert config.value(BUCKET_LIFECYCLE_DAYS) == 9 and config.retain_data is True
    assert config.value(ALARM_THRESHOLD_MULTIPLIER) == 1.5


def test_explicit_config_path_must_exist_and_replaces_default_file(tmp_path):
    write(tmp_path / "environments.toml", "[defaults]\nbucket_lifecycle_days = 2\n")
    other = write(tmp_path / "other.toml", "[defaults]\nbucket_lifecycle_days = 4\n")
    assert resolve(tmp_path, config_path=str(other))[0].value(BUCKET_LIFECYCLE_DAYS) == 4
    assert resolve(tmp_path)[0].value(BUCKET_LIFECYCLE_DAYS) == 2
    (line,) = problems(tmp_path, config_path=str(tmp_path / "missing.toml"))
    assert "missing.toml" in line and "not found" in line


def test_no_environment_name_is_special(tmp_path):
    """prod and pr123 with the same settings give the same config but for the suffix."""
    write(tmp_path / "environments.toml", '[environments."*"]\nretain_data = true\n')
    prod, preview = resolve(tmp_path, suffixes=["prod", "pr123"])
    assert {k: v for k, v in vars(prod).items() if k != "suffix"} == \
        {k: v for k, v in vars(preview).items() if k != "suffix"}


# ----------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "sets,expected",
    [
        (["dynamodb_billing_mode=PROVISIONED"],
         "--set: dynamodb_billing_mode: PROVISIONED needs dynamodb_read_capacity and dynamodb_write_capacity"),
        (["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5"],
         "PROVISIONED needs dynamodb_write_capacity"),
        (["dynamodb_read_capacity=5"],
         "--set: dynamodb_read_capacity: only applies with dynamodb_billing_mode = PROVISIONED"),
        (["dynamodb_billing_mode=ON_DEMAND"], "must be PAY_PER_REQUEST or PROVISIONED (got 'ON_DEMAND')"),
        (["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=0", "dynamodb_write_capacity=1"],
         "dynamodb_read_capacity: must be a whole number from 1"),
        (["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=1.5", "dynamodb_write_capacity=1"],
         "dynamodb_read_capacity: expected a whole number (got '1.5')"),
        (["enable_cross_region_replication=true"],
         "--set: enable_cross_region_replication: needs replication_region"),
        (["enable_cross_region_replication=true", "replication_region=us-east-1"],
         "replication_region: must differ from the stack's region 'us-east-1'"),
        (["replication_time_control=true"], "replication_time_control: needs enable_cross_region_replication = true"),
        (["replication_region=moon-base-1"], "replication_region: 'moon-base-1' does not look like an AWS region"),
        (["bucket_lifecycle_days=0"], "bucket_lifecycle_days: must be a whole number from 1"),
        (["bucket_lifecycle_days=-3"], "bucket_lifecycle_days: must be a whole number from 1"),
        (["alarm_threshold_multiplier=0"], "alarm_threshold_multiplier: must be a number > 0"),
        (["alarm_threshold_multiplier=nan"], "alarm_threshold_multiplier: expected a finite number"),
        (["alert_email=not-an-address"], "alert_email: 'not-an-address' is not an email address"),
        (["retain_data=yes"], "retain_data: expected true or false (got 'yes')"),
        (["stack_prefix=App"], "stack_prefix: 'App' must start with a lowercase letter"),
        (["bucket_lifecyle_days=3"], "--set: bucket_lifecyle_days: unknown key; did you mean 'bucket_lifecycle_days'?"),
        (["region=eu-west-1"], "--set: region: region is not a config key; use --region"),
        (["tags=x"], "--set: tags: set one tag at a time: --set tags.KEY=VALUE"),
        (["tags.aws:name=x"], "tag keys starting with 'aws:' are reserved"),
        (["noequals"], "--set: noequals: expected KEY=VALUE"),
    ],
)
def test_validation_of_settings(tmp_path, sets, expected):
    lines = problems(tmp_path, suffixes=["pr1"], sets=sets)
    assert any(expected in line for line in lines), lines
    assert all(line.startswith("error: ") for line in lines)


# ----------------------------------------------------------------------------- deployment_mode

EXAMPLE_CONFIG = Path(__file__).resolve().parents[1] / "examples" / "environments.toml"


def test_the_example_config_gives_previews_and_synthetic_checks_express_and_prod_standard(tmp_path):
    configs = resolve(tmp_path, config_path=str(EXAMPLE_CONFIG), suffixes=["pr123", "synthaw2nm", "prod", "dev"])
    assert [(c.suffix, c.deployment_mode) for c in configs] == [
        ("pr123", "express"), ("synthaw2nm", "express"), ("prod", "standard"), ("dev", "standard")]


@pytest.mark.parametrize("marks,named", [
    (["termination_protection=true"], "termination_protection = true"),
    (["retain_data=true"], "retain_data = true"),
    (["retain_data=true", "termination_protection=true"], "termination_protection = true and retain_data = true"),
])
def test_express_is_refused_beside_a_mark_of_an_environment_that_matters(tmp_path, marks, named):
    (line,) = problems(tmp_path, suffixes=["pr1"], sets=["deployment_mode=express", *marks])
    assert line.startswith(f"error: --set: deployment_mode: express cannot be combined with {named}: "), line
    assert 'set deployment_mode = "standard" for it' in line


@pytest.mark.parametrize("sets", [["deployment_mode=express"], ["deployment_mode=standard", "retain_data=true",
                                                                 "termination_protection=true"]])
def test_express_alone_and_standard_with_every_mark_are_accepted(tmp_path, sets):
    (config,) = resolve(tmp_path, suffixes=["pr1"], sets=sets)
    assert config.deployment_mode == sets[0].split("=")[1]


def test_the_refusal_points_where_express_was_given_and_holds_for_any_name(tmp_path):
    """The mark may come from elsewhere (here --set); the line names the table that asked for express."""
    write(tmp_path / "environments.toml", '[environments."*"]\ndeployment_mode = "express"\n')
    for suffix in ("prod", "pr123"):
        (line,) = problems(tmp_path, suffixes=[suffix], sets=["retain_data=true"])
        assert line.startswith('error: environments.toml: environments."*".deployment_mode: express cannot'), line


def test_the_configuration_page_shows_the_refusal_and_the_emulator_line_as_builder_says_them(tmp_path):
    from builder.cli.views.progress import EXPRESS_GAP

    page = (Path(__file__).resolve().parents[1] / "docs" / "configuration.md").read_text(encoding="utf-8")
    shown = '[defaults]\nretain_data = true\n\n[environments."pr*"]\ndeployment_mode = "express"\n'
    assert f"```toml\n{shown}```" in page
    write(tmp_path / "environments.toml", shown)
    (line,) = problems(tmp_path, suffixes=["pr123"])
    assert f"```\n{line}\n```" in page
    assert f"```\n{EXPRESS_GAP}\n```" in page


def test_a_bad_deployment_mode_is_one_line_not_also_a_combination(tmp_path):
    (line,) = problems(tmp_path, suffixes=["pr1"], sets=["deployment_mode=Express", "retain_data=true"])
    assert line == "error: --set: deployment_mode: must be standard or express (got 'Express')"


def test_consistent_provisioned_and_replication_config_is_accepted(tmp_path):
    (config,) = resolve(tmp_path, suffixes=["pr1"], sets=[
        "dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5", "dynamodb_write_capacity=2",
        "enable_cross_region_replication=true", "replication_region=eu-west-1", "replication_time_control=true"])
    assert (config.value(DYNAMODB_READ_CAPACITY), config.value(DYNAMODB_WRITE_CAPACITY)) == (5, 2)
    assert config.value(REPLICATION_REGION) == "eu-west-1" and config.value(REPLICATION_TIME_CONTROL)


@pytest.mark.parametrize(
    "suffix,expected",
    [
        ("", "is empty"),
        ("PR123", "such as 'pr123'"),
        ("pr_123", "such as 'pr-123'"),
        ("pr.1", "is not allowed"),
        ("pr 1", "is not allowed"),
        ("prü", "is not allowed"),
        ("-pr1", "is not allowed"),
        ("pr1-", "is not allowed"),
        ("foo-replica", "would collide with the replica stack of suffix 'foo'"),
    ],
)
def test_bad_suffixes(tmp_path, suffix, expected):
    (line,) = problems(tmp_path, suffixes=[suffix])
    assert line.startswith("error: --suffix: suffix: ") and expected in line


def test_longest_suffix_depends_on_prefix_and_regions(tmp_path):
    longest = max_suffix_length("app", ["us-east-1"])
    # app-<suffix>-data-<12 digits>-us-east-1 is at most 63 characters
    assert longest == 63 - len("app-") - len("-data-123456789012-us-east-1")
    resolve(tmp_path, suffixes=["a" * longest])
    (line,) = problems(tmp_path, suffixes=["a" * (longest + 1)])
    assert f"the longest suffix allowed is {longest}" in line
    with_replica = max_suffix_length("app", ["us-east-1", "ap-southeast-2"])
    assert with_replica == 63 - len("app-") - len("-replica-123456789012-ap-southeast-2")
    (line,) = problems(tmp_path, suffixes=["a" * longest], sets=[
        "enable_cross_region_replication=true", "replication_region=ap-southeast-2"])
    assert f"the longest suffix allowed is {with_replica}" in line and "ap-southeast-2" in line
    assert max_suffix_length("platform-team", ["us-east-1"]) == longest - len("platform-team") + len("app")


def test_every_problem_is_reported_in_one_run(tmp_path):
    write(tmp_path / "environments.toml", """
        [defaults]
        bucket_lifecycle_days = "thirty"
        [environments.prod]
        dynamodb_read_capacity = 5
        unknown_thing = 1
    """)
    lines = problems(tmp_path, suffixes=["ok1", "Bad"], sets=["alarm_threshold_multiplier=-1"])
    joined = "\n".join(lines)
    assert "environments.toml: defaults.bucket_lifecycle_days: expected a whole number (got 'thirty')" in joined
    assert "environments.toml: environments.prod.unknown_thing: unknown key" in joined  # even for unused tables
    assert "--set: alarm_threshold_multiplier: must be a number > 0" in joined
    assert "--suffix: suffix: 'Bad'" in joined
    assert len(lines) == len(set(lines))  # a file problem is reported once, not once per suffix


@pytest.mark.parametrize(
    "text,expected",
    [
        ("[defaults\n", "not valid TOML"),
        ("[nonsense]\nx = 1\n", "nonsense: unknown table"),
        ("[environment.prod]\nx = 1\n", "unknown table; did you mean 'environments'?"),
        ("[environments]\nprod = 3\n", 'environments.prod: must be a table'),
        ("defaults = 3\n", "defaults: must be a table"),
        ("bucket_lifecycle_days = 3\n", "settings go in [defaults]"),
        ("[defaults]\ncustomer_managed_key = 1\n", "customer_managed_key: expected true or false (got 1)"),
        ("[defaults]\nbucket_lifecycle_days = 1.5\n", "expected a whole number (got 1.5)"),
        ("[defaults]\nbucket_lifecycle_days = true\n", "expected a whole number (got True)"),
        ("[defaults]\ntags = { team = 3 }\n", "defaults.tags.team: tag values must be strings"),
        ("[environments.\"pr*\"]\nstack_prefix = 5\n", 'environments."pr*".stack_prefix: expected a string'),
    ],
)
def test_bad_config_files(tmp_path, text, expected):
    write(tmp_path / "environments.toml", text)
    lines = problems(tmp_path, suffixes=["pr1"])
    assert any(line.startswith("error: environments.toml: ") and expected in line for line in lines), lines


def test_config_file_that_is_not_utf8_or_a_folder(tmp_path):
    (tmp_path / "bin.toml").write_bytes(b"\xff\xfe\x00")
    (line,) = problems(tmp_path, config_path=str(tmp_path / "bin.toml"))
    assert "is not UTF-8 text" in line
    (line,) = problems(tmp_path, config_path=str(tmp_path))
    assert "is a folder" in line


# --------------------------------------------------------------------------- rollback triggers

@pytest.mark.parametrize("given, expected", [
    ("rollback_monitoring_minutes=181", "must be a whole number from 0 to 180 (got 181)"),
    ("rollback_monitoring_minutes=-1", "must be a whole number from 0 to 180 (got -1)"),
    ("rollback_monitoring_minutes=1.5", "expected a whole number (got '1.5')"),
    ("rollback_monitoring_minutes=true", "expected a whole number (got 'true')"),
    ("rollback_alarms=yes", "expected true or false (got 'yes')"),
], ids=["above-180", "negative", "fraction", "bool", "not-a-bool"])
def test_a_bad_rollback_setting_exits_2_with_one_line(given, expected, clean_env, tmp_path, monkeypatch, capsys):
    from tests.factories import run_cli

    monkeypatch.chdir(tmp_path)
    code, out, err = run_cli(capsys, "synth", "--suffix", "pr1", "--set", given)
    assert (code, out) == (2, "")
    assert err.splitlines() == [f"error: --set: {given.split('=')[0]}: {expected}"]


def test_rollback_monitoring_minutes_without_rollback_alarms_is_accepted_and_the_bounds_are_in():
    """[defaults] may set the monitoring time for every environment; a table turns the alarms on."""
    low, high = (resolve_configs(schema=schema(), suffixes=["pr1"], sets=[f"rollback_monitoring_minutes={minutes}"],
                                 environ={})[0] for minutes in (0, 180))
    assert (low.rollback_alarms, low.rollback_monitoring_minutes, high.rollback_monitoring_minutes) == (False, 0, 180)
    assert resolve_configs(schema=schema(), suffixes=["pr1"], environ={})[0].rollback_monitoring_minutes == 10
