"""Environment configuration: one immutable EnvironmentConfig per suffix, built from every source.

Precedence, lowest first: built-in defaults < `[defaults]` in the config file < the one matching
`[environments."<pattern>"]` table (exact suffix beats glob; the longest glob wins; equal length:
first in the file) < `--set key=value`. Validation checks consistency, never environment names.

What a setting is and what it accepts is declared with it: builder.settings for the stack's own, each
family's file for the families' (passed in as a Schema: this module never imports families). The sources
are read by builder.config_file, builder.set_overrides and builder.region_chain.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

from builder import names
from builder.config_file import ConfigFile, chosen_config_file
from builder.errors import ConfigError, Problem
from builder.region_chain import DEFAULT_REGION, RegionChoice, resolve_region
from builder.set_overrides import parse_sets
from builder.setting_values import Given
from builder.settings import MAX_STACK_TAGS, SETTINGS, Pattern, Setting, aws_region, default_of, is_on

T = TypeVar("T")
# Stack tags only builder writes (builder.settings.tag_problem refuses every `builder:` key in `tags`).
TTL_TAG = "builder:ttl"  # builder.ops.reap reads it
SUFFIX_TAG = "Environment"  # always the suffix (builder.settings refuses it in `tags`): which environment
MANAGED_BY_TAG = "builder:managed-by"  # on every stack builder creates or updates: what reap and destroy act on
MANAGED_BY = "builder"
PRIMARY_REGION_TAG = "builder:primary-region"  # on a replica stack: the region of the primary it belongs to
REPLICA_REGION_TAG = "builder:replica-region"  # on a primary stack with replication: where its replica is
DEFAULT_SUFFIX = "dev"
STACK_REGION = aws_region("us-east-1")
SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that decides one stack. Build it with resolve_configs(), which validates.

    Read any setting, typed, with `value(SETTING)`. The stack's own settings (builder.settings.SETTINGS) are
    also fields, their defaults taken from there; the families' settings are in `family_values`, only where
    they differ from their defaults.
    """

    suffix: str
    region: str = DEFAULT_REGION
    stack_prefix: str = default_of("stack_prefix")
    cost_center: str = default_of("cost_center")
    tags: tuple[tuple[str, str], ...] = tuple(sorted(default_of("tags").items()))
    retain_data: bool = default_of("retain_data")
    ttl: str | None = default_of("ttl")
    termination_protection: bool = default_of("termination_protection")
    check_drift: bool = default_of("check_drift")
    cloudformation_role_arn: str | None = default_of("cloudformation_role_arn")
    deployment_mode: str = default_of("deployment_mode")
    rollback_alarms: bool = default_of("rollback_alarms")
    rollback_monitoring_minutes: int = default_of("rollback_monitoring_minutes")
    family_values: tuple[tuple[str, Any], ...] = ()  # (name, value) of family settings not at their default, sorted
    # the config file these values were read from (its path), None when no file was read: built-in defaults
    # and --set only. Provenance, not a setting: it takes no part in equality.
    config_file: str | None = field(default=None, compare=False)

    def value(self, setting: Setting[T]) -> T:
        """The value of any setting: a field for SETTINGS, else a family's (its default when not given)."""
        if setting.name in SETTINGS_BY_NAME:
            return cast(T, dict(self.tags) if setting.name == "tags" else getattr(self, setting.name))
        return cast(T, dict(self.family_values).get(setting.name, setting.default))

    def with_value(self, setting: Setting[T], value: T) -> EnvironmentConfig:
        """This config with one setting's value changed (not validated: resolve_configs validates)."""
        if setting.name == "tags":
            return dataclasses.replace(self, tags=tuple(sorted(cast(dict[str, str], value).items())))
        if setting.name in SETTINGS_BY_NAME:
            changes: dict[str, Any] = {setting.name: value}
            return dataclasses.replace(self, **changes)
        family = {name: given for name, given in self.family_values if name != setting.name}
        if value != setting.default:
            family[setting.name] = value
        return dataclasses.replace(self, family_values=tuple(sorted(family.items())))

    @property
    def stack_name(self) -> str:
        return names.stack_name(self.stack_prefix, self.suffix)

    @property
    def replica_stack_name(self) -> str:
        return names.replica_stack_name(self.stack_prefix, self.suffix)

    @property
    def all_tags(self) -> dict[str, str]:
        """The config's tags plus Environment and CostCenter, which win; sorted by key."""
        merged = {**dict(self.tags), SUFFIX_TAG: self.suffix, "CostCenter": self.cost_center}
        return dict(sorted(merged.items()))

    @property
    def stack_tags(self) -> dict[str, str]:
        """The tags of the stack itself: all_tags, `builder:managed-by` (builder made this stack), and
        `builder:ttl` (the ttl exactly as written) when set.

        These are stack tags only, not in the template's resource Tags: they change no template byte, and
        their text is the same on every deploy, so a deploy without changes stays one.
        """
        extra = {MANAGED_BY_TAG: MANAGED_BY, **({TTL_TAG: self.ttl} if self.ttl is not None else {})}
        return dict(sorted({**self.all_tags, **extra}.items()))


def _not_default(values: Mapping[str, Any], known: Mapping[str, Setting[Any]]) -> tuple[tuple[str, Any], ...]:
    return tuple(sorted((name, value) for name, value in values.items() if value != known[name].default))


@dataclass(frozen=True)
class Resolved:
    """One suffix's configuration with where each given value came from: what a check across settings reads."""

    config: EnvironmentConfig
    given: Mapping[str, Given]  # by setting name; a setting not given has its default
    region: RegionChoice

    def value(self, setting: Setting[T]) -> T:
        return self.config.value(setting)

    def problem(self, setting: Setting[Any], message: str) -> Problem:
        """A problem about a setting, pointing where its value was given (`default` when it was not)."""
        item = self.given.get(setting.name)
        return Problem(item.where, item.key, message) if item else Problem("default", setting.name, message)


ConfigCheck = Callable[[Resolved], list[Problem]]  # a family's rule across its settings
RegionCheck = Callable[[str], str | None]  # a region -> what is wrong with it, or None


@dataclass(frozen=True)
class Schema:
    """What a configuration accepts beyond builder.settings.SETTINGS: the families' settings, their checks
    across settings, and the regions beyond the stack's where they put a bucket named for the suffix (the
    suffix must fit those names too). builder.resources.schema() is builder's."""

    settings: tuple[Setting[Any], ...] = SETTINGS
    checks: tuple[ConfigCheck, ...] = ()
    bucket_regions: tuple[Callable[[EnvironmentConfig], tuple[str, ...]], ...] = ()

    @property
    def by_name(self) -> dict[str, Setting[Any]]:
        return {s.name: s for s in self.settings}


# --------------------------------------------------------------------------- checks


def _pattern_problem(text: str, pattern: Pattern, region_check: RegionCheck | None) -> str | None:
    """The pattern, then region_check (if given) on a region that passes it."""
    if not pattern.matches(text):
        return f"{text!r} {pattern.problem}"
    return region_check(text) if pattern.aws_region and region_check is not None else None


def _value_problems(given: Mapping[str, Given], known: Mapping[str, Setting[Any]],
                    region_check: RegionCheck | None) -> dict[str, Problem]:
    """What each given value's own setting declares wrong with it, by setting name."""
    found: dict[str, Problem] = {}
    for name, item in given.items():
        setting = known[name]
        problem = setting.problem(item.value)
        if problem is None and setting.pattern is not None and setting.pattern.aws_region and region_check:
            problem = region_check(item.value)
        if problem:
            found[name] = Problem(item.where, item.key, problem)
    return found


def _declared_pair_problem(setting: Setting[Any], resolved: Resolved, known: Mapping[str, Setting[Any]]) -> str | None:
    """What `requires` or `only_with` finds, when this setting is on."""
    if setting.requires is not None and not is_on(resolved.value(known[setting.requires])):
        wanted = " = true" if known[setting.requires].kind is bool else ""
        return f"needs {setting.requires}{wanted}"
    if setting.only_with is not None:
        other, wanted_value = setting.only_with
        if resolved.value(known[other]) != wanted_value:
            return f"only applies with {other} = {wanted_value}; remove it or set {other} = {wanted_value}"
    return None


def _pair_problems(resolved: Resolved, known: Mapping[str, Setting[Any]], bad: Mapping[str, Problem]) -> list[Problem]:
    """`requires` and `only_with` of every setting that is on; not about a value already found wrong."""
    found: list[Problem] = []
    for setting in known.values():
        others = {setting.requires, setting.only_with[0] if setting.only_with else None} - {None}
        if setting.name in bad or others & set(bad) or not is_on(resolved.value(setting)):
            continue
        problem = _declared_pair_problem(setting, resolved, known)
        if problem:
            found.append(resolved.problem(setting, problem))
    return found


def _stack_problems(resolved: Resolved, region_check: RegionCheck | None) -> list[Problem]:
    """The stack region, and the role ARN, which must be in the region's partition."""
    config, region = resolved.config, resolved.region
    found: list[Problem] = []
    region_problem = _pattern_problem(region.region, STACK_REGION, region_check)
    if region_problem:
        found.append(Problem(region.where, region.key, region_problem))
    arn = config.cloudformation_role_arn
    role_problem = names.role_arn_problem(arn, config.region) if arn is not None else None
    if role_problem:
        found.append(resolved.problem(SETTINGS_BY_NAME["cloudformation_role_arn"], role_problem))
    return found


def _mode_problems(resolved: Resolved) -> list[Problem]:
    """Express mode only where nothing marks the environment as one that matters (docs/configuration.md:
    deployment_mode): an express operation reports done before its resources are ready."""
    config = resolved.config
    if config.deployment_mode != "express":
        return []
    marks = [f"{name} = true" for name in ("termination_protection", "retain_data") if getattr(config, name)]
    if not marks:
        return []
    return [resolved.problem(SETTINGS_BY_NAME["deployment_mode"], (
        f"express cannot be combined with {' and '.join(marks)}: those mark an environment that matters, and "
        f"express reports a deploy or delete done before its resources are ready; set deployment_mode = "
        f"\"standard\" for it, or turn {' and '.join(m.split(' ')[0] for m in marks)} off"))]


def _tag_count_problems(resolved: Resolved, schema: Schema) -> list[Problem]:
    """The stack's tags (the config's with builder's own, and the replica's builder:primary-region) fit
    CloudFormation's limit: 53 of them were written to the tags file and failed only at deploy."""
    config = resolved.config
    replica = any(extra(config) for extra in schema.bucket_regions)
    count = len(config.stack_tags) + (1 if replica else 0)
    if count <= MAX_STACK_TAGS:
        return []
    given = dict(config.tags)
    own = [key for key in (*config.stack_tags, *([PRIMARY_REGION_TAG] if replica else ())) if key not in given]
    return [resolved.problem(SETTINGS_BY_NAME["tags"], (
        f"{len(given)} tags and builder's own {len(own)} ({', '.join(own)}) make {count} stack tags; "
        f"CloudFormation takes at most {MAX_STACK_TAGS}: remove {count - MAX_STACK_TAGS}"))]


def _suffix_problems(suffix: Given, config: EnvironmentConfig, schema: Schema, prefix_ok: bool) -> list[Problem]:
    """The suffix's form, then whether it fits every bucket name (unless the prefix or a region is wrong
    already: the lengths would mislead)."""
    problem = names.suffix_form_problem(suffix.value)
    regions = [config.region, *(region for extra in schema.bucket_regions for region in extra(config))]
    if problem is None and prefix_ok and all(STACK_REGION.matches(r) for r in regions):
        problem = names.suffix_length_problem(suffix.value, config.stack_prefix, regions)
    return [Problem(suffix.where, suffix.key, problem)] if problem else []


def _problems(resolved: Resolved, suffix: Given, schema: Schema, region_check: RegionCheck | None) -> list[Problem]:
    """Everything wrong with one suffix's configuration. Never about its name: any suffix gets any setting."""
    known = schema.by_name
    bad = _value_problems(resolved.given, known, region_check)
    found = [*bad.values(), *_stack_problems(resolved, region_check), *_pair_problems(resolved, known, bad),
             *([] if "deployment_mode" in bad else _mode_problems(resolved))]
    found += [problem for check in schema.checks for problem in check(resolved)]
    found += [] if "tags" in bad else _tag_count_problems(resolved, schema)
    return found + _suffix_problems(suffix, resolved.config, schema, prefix_ok="stack_prefix" not in bad)


# --------------------------------------------------------------------------- resolving


def resolve_suffixes(suffixes: Sequence[str] | None, environ: Mapping[str, str]) -> list[Given]:
    if suffixes:
        return [Given(s, "--suffix", "suffix") for s in dict.fromkeys(suffixes)]
    if "ENVIRONMENT_SUFFIX" in environ:
        return [Given(environ["ENVIRONMENT_SUFFIX"], "ENVIRONMENT_SUFFIX", "suffix")]
    return [Given(DEFAULT_SUFFIX, "default", "suffix")]


def _layered(config_file: ConfigFile | None, suffix: str, overrides: Mapping[str, Given]) -> dict[str, Given]:
    """The given values for one suffix: [defaults] < its pattern table < --set; tags merge key by key."""
    values: dict[str, Given] = {}
    layers = [config_file.defaults, config_file.table_for(suffix)] if config_file else []
    for layer in [*layers, overrides]:
        for key, item in layer.items():
            if key == "tags" and "tags" in values:  # tags merge across layers, later wins per key
                item = Given({**values["tags"].value, **item.value}, item.where, item.key)
            values[key] = item
    return values


def _config(suffix: str, region: str, values: Mapping[str, Given], known: Mapping[str, Setting[Any]],
            config_file: ConfigFile | None) -> EnvironmentConfig:
    fields: dict[str, Any] = {key: item.value for key, item in values.items() if key in SETTINGS_BY_NAME}
    fields["tags"] = tuple(sorted(fields.get("tags", {}).items()))
    family = {key: item.value for key, item in values.items() if key not in SETTINGS_BY_NAME}
    return EnvironmentConfig(suffix=suffix, region=region, family_values=_not_default(family, known),
                             config_file=config_file.where if config_file else None, **fields)


def resolve_configs(
    *,
    schema: Schema,
    suffixes: Sequence[str] | None = None,
    config_path: str | None = None,
    sets: Sequence[str] = (),
    region: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    region_check: RegionCheck | None = None,
) -> list[EnvironmentConfig]:
    """One validated EnvironmentConfig per suffix, or ConfigError with every problem found.

    `schema` says what the families add (builder.resources.schema()): the keys a config file and --set
    accept beyond SETTINGS, and their checks. `region_check` judges the region and every region setting
    beyond their pattern (the AWS commands pass botocore's list of known regions; synth passes none, so it
    needs no AWS library).
    """
    known = schema.by_name
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    problems: list[Problem] = []
    config_file = chosen_config_file(config_path, cwd, problems, known)
    # each value of every table, whichever suffixes it matches: a bad value in [environments."pr*"] is an
    # error of the file on a run for dev too, as a wrong type is, not news on the first pull request
    for table in config_file.tables if config_file else []:
        problems += _value_problems(table, known, region_check).values()
    overrides = parse_sets(sets, problems, known)
    region_choice = resolve_region(region, environ, cwd, problems)
    configs: list[EnvironmentConfig] = []
    for suffix in resolve_suffixes(suffixes, environ):
        values = _layered(config_file, suffix.value, overrides)
        config = _config(suffix.value, region_choice.region, values, known, config_file)
        found = _problems(Resolved(config, values, region_choice), suffix, schema, region_check)
        problems += found
        if not found:
            configs.append(config)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return configs


def regions_named(*, schema: Schema, config_path: str | None = None, cwd: Path | None = None,
                  region_check: RegionCheck | None = None) -> list[str]:
    """Every region any table of the config file gives a region setting (replication_region) ([defaults] and
    each [environments."<pattern>"], whichever suffixes they match), once each in file order: where stacks
    of this config can live beyond those of the suffixes resolved on this run. Each is checked like a
    resolved one; ConfigError names the table of a bad one."""
    problems: list[Problem] = []
    known = schema.by_name
    config_file = chosen_config_file(config_path, Path.cwd() if cwd is None else cwd, problems, known)
    regions: list[str] = []
    for table in config_file.tables if config_file else []:
        for name, item in table.items():
            pattern = known[name].pattern
            if pattern is None or not pattern.aws_region:
                continue
            problem = _pattern_problem(item.value, pattern, region_check)
            if problem:
                problems.append(Problem(item.where, item.key, problem))
            else:
                regions.append(item.value)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return list(dict.fromkeys(regions))
