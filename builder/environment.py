"""Environment configuration: one immutable EnvironmentConfig per suffix, built from every source.

Precedence, lowest first: built-in defaults < `[defaults]` in the config file < the one matching
`[environments."<pattern>"]` table (exact suffix beats glob; the longest glob wins; equal length:
first in the file) < `--set key=value`. Validation checks consistency, never environment names.

What a setting is (type, default, deploy-time or not) is written in builder.settings only.
"""

from __future__ import annotations

import configparser
import difflib
import fnmatch
import math
import os
import re
import shlex
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder import names
from builder.errors import ConfigError, Problem, one_line
from builder.settings import SETTINGS, Setting, default_of

DEFAULT_CONFIG_FILE = "environments.toml"
TTL_TAG = "builder:ttl"  # builder.ops.reap reads it
DEFAULT_SUFFIX = "dev"
DEFAULT_REGION = "us-east-1"
BILLING_MODES = ("PAY_PER_REQUEST", "PROVISIONED")
MAX_CAPACITY = 40_000  # DynamoDB's default per-table quota for read or write capacity units
MAX_LIFECYCLE_DAYS = 36_500
MAX_MULTIPLIER = 1_000.0
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_PREFIX = 32

SETTINGS_BY_NAME = {s.name: s for s in SETTINGS}
# Keys that exist but not in a config file or --set.
NOT_CONFIG_KEYS = {
    "region": "region is not a config key; use --region, AWS_REGION, AWS_DEFAULT_REGION, an AWS_REGION file "
              "or the region of your AWS profile",
    "suffix": "suffix is not a config key; use --suffix or ENVIRONMENT_SUFFIX",
}
# Tags builder puts on every resource itself (EnvironmentConfig.all_tags); `tags` cannot set them.
RESERVED_TAGS = {
    "Environment": "Environment is always the suffix; builder sets this tag itself, remove it from tags",
    "CostCenter": "CostCenter comes from the cost_center setting; set cost_center instead of this tag",
}


@dataclass(frozen=True)
class EnvironmentConfig:
    """Everything that decides one stack. Build it with resolve_configs(), which validates.

    One field per setting of builder.settings.SETTINGS, its default taken from there; settings that
    resource families declare are in `family_values` and read with `value(setting)`.
    """

    suffix: str
    region: str = DEFAULT_REGION
    stack_prefix: str = default_of("stack_prefix")
    bucket_lifecycle_days: int = default_of("bucket_lifecycle_days")
    dynamodb_billing_mode: str = default_of("dynamodb_billing_mode")
    dynamodb_read_capacity: int | None = default_of("dynamodb_read_capacity")
    dynamodb_write_capacity: int | None = default_of("dynamodb_write_capacity")
    alarm_threshold_multiplier: float = default_of("alarm_threshold_multiplier")
    alert_email: str = default_of("alert_email")  # unset: alerts-<suffix>@example.com (__post_init__)
    enable_cross_region_replication: bool = default_of("enable_cross_region_replication")
    replication_region: str | None = default_of("replication_region")
    replication_time_control: bool = default_of("replication_time_control")
    customer_managed_key: bool = default_of("customer_managed_key")
    cost_center: str = default_of("cost_center")
    tags: tuple[tuple[str, str], ...] = tuple(sorted(default_of("tags").items()))
    retain_data: bool = default_of("retain_data")
    ttl: str | None = default_of("ttl")
    termination_protection: bool = default_of("termination_protection")
    check_drift: bool = default_of("check_drift")
    cloudformation_role_arn: str | None = default_of("cloudformation_role_arn")
    family_values: tuple[tuple[str, Any], ...] = ()  # (name, value) of family-declared settings, sorted
    # the config file these values were read from (its path), None when no file was read: built-in defaults
    # and --set only. Provenance, not a setting: it takes no part in equality.
    config_file: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not self.alert_email:
            object.__setattr__(self, "alert_email", f"alerts-{self.suffix}@example.com")

    def value(self, setting: Setting) -> Any:
        """The value of any setting: a field for SETTINGS, else a family's (its default when not given)."""
        if setting.name in SETTINGS_BY_NAME:
            return getattr(self, setting.name)
        return dict(self.family_values).get(setting.name, setting.default)

    @property
    def stack_name(self) -> str:
        return names.stack_name(self.stack_prefix, self.suffix)

    @property
    def replica_stack_name(self) -> str:
        return names.replica_stack_name(self.stack_prefix, self.suffix)

    @property
    def provisioned(self) -> bool:
        return self.dynamodb_billing_mode == "PROVISIONED"

    @property
    def all_tags(self) -> dict[str, str]:
        """The config's tags plus Environment and CostCenter, which win; sorted by key."""
        merged = {**dict(self.tags), "Environment": self.suffix, "CostCenter": self.cost_center}
        return dict(sorted(merged.items()))

    @property
    def stack_tags(self) -> dict[str, str]:
        """The tags of the stack itself: all_tags, plus `builder:ttl` (the ttl exactly as written) when set.

        The ttl is a stack tag only, not in the template's resource Tags: changing it changes no template
        byte, and the text is the same on every deploy, so a deploy without changes stays one.
        """
        extra = {TTL_TAG: self.ttl} if self.ttl is not None else {}
        return dict(sorted({**self.all_tags, **extra}.items()))


# --------------------------------------------------------------------------- value checking

_REGION = re.compile(
    r"^[a-z]{2}(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)-[0-9]{1,2}\Z"
)
_EMAIL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                    r"@[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\Z")
_SUFFIX = re.compile(r"^[a-z0-9]+(-+[a-z0-9]+)*\Z")
_PREFIX = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*\Z")
_TAG_TEXT = re.compile(r"^[\w .:/=+\-@]*\Z", re.UNICODE)
_NUMBER = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|infinity|nan)", re.IGNORECASE)
_TRUE = {"true"}
_FALSE = {"false"}
_TYPE_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "a string", dict: "a table"}


def _closest(word: str, choices: Sequence[str]) -> str:
    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else f"; valid keys: {', '.join(sorted(choices))}"


def _coerce(setting: Setting, value: Any, from_text: bool) -> tuple[Any, str | None]:
    """The value in the setting's type, or an error message saying which type was expected."""
    want = _TYPE_WORDS[setting.kind]
    if from_text:
        text = value
        if setting.kind is bool:
            low = text.strip().lower()
            if low in _TRUE:
                return True, None
            if low in _FALSE:
                return False, None
            return None, f"expected {want} (got {text!r})"
        if setting.kind is int:
            if re.fullmatch(r"[+-]?[0-9]+", text.strip()):  # ASCII digits only: int() takes any script's
                return int(text), None
            return None, f"expected {want} (got {text!r})"
        if setting.kind is float:
            if not _NUMBER.fullmatch(text.strip()):  # float() also takes other scripts' digits and 1_0
                return None, f"expected {want} (got {text!r})"
            number = float(text)
            if not math.isfinite(number):
                return None, f"expected a finite number (got {text!r})"
            return number, None
        return text, None
    if setting.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return None, f"expected {want} (got {value!r})"
    if setting.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None, f"expected {want} (got {value!r})"
        if not math.isfinite(value):
            return None, f"expected a finite number (got {value!r})"
        return float(value), None
    if setting.kind in (bool, str, dict) and not isinstance(value, setting.kind):
        return None, f"expected {want} (got {value!r})"
    return value, None


def _tag_problem(key: str, value: Any) -> str | None:
    if not isinstance(value, str):
        return f"tag values must be strings (got {value!r})"
    if not key or len(key) > MAX_TAG_KEY or not _TAG_TEXT.match(key):
        return f"tag key must be 1 to {MAX_TAG_KEY} letters, digits, spaces or _.:/=+-@ (got {key!r})"
    if key.lower().startswith("aws:"):
        return "tag keys starting with 'aws:' are reserved by AWS"
    if not value or len(value) > MAX_TAG_VALUE or not _TAG_TEXT.match(value):  # CloudWatch alarms refuse ''
        return f"tag value must be 1 to {MAX_TAG_VALUE} letters, digits, spaces or _.:/=+-@ (got {value!r})"
    return None


@dataclass(frozen=True)
class _Value:
    value: Any
    where: str
    key: str


def _check_table(table: Mapping[str, Any], where: str, keypath: str, problems: list[Problem],
                 known: Mapping[str, Setting]) -> dict[str, _Value]:
    """Type-check one table of settings (from the file); returns the good values with their source."""
    good: dict[str, _Value] = {}
    for key, raw in table.items():
        full = f"{keypath}.{key}"
        if key in NOT_CONFIG_KEYS:
            problems.append(Problem(where, full, NOT_CONFIG_KEYS[key]))
            continue
        setting = known.get(key)
        if setting is None:
            problems.append(Problem(where, full, f"unknown key{_closest(key, list(known))}"))
            continue
        value, error = _coerce(setting, raw, from_text=False)
        if error:
            problems.append(Problem(where, full, error))
            continue
        if setting.kind is dict:
            for tag_key, tag_value in value.items():
                tag_error = RESERVED_TAGS.get(tag_key) or _tag_problem(tag_key, tag_value)
                if tag_error:
                    problems.append(Problem(where, f"{full}.{tag_key}", tag_error))
        good[key] = _Value(value, where, full)
    return good


def _toml_key(pattern: str) -> str:
    return pattern if re.fullmatch(r"[A-Za-z0-9_-]+", pattern) else f'"{pattern}"'


@dataclass(frozen=True)
class ConfigFile:
    """A parsed, type-checked config file: its defaults and its pattern tables, in file order."""

    where: str
    defaults: Mapping[str, _Value]
    environments: tuple[tuple[str, Mapping[str, _Value]], ...]

    def table_for(self, suffix: str) -> Mapping[str, _Value]:
        """The one table that applies: exact match, else the longest glob, else the first of equals."""
        exact = [table for pattern, table in self.environments if pattern == suffix]
        if exact:
            return exact[0]
        globs = [(pattern, table) for pattern, table in self.environments
                 if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(suffix, pattern)]
        if not globs:
            return {}
        longest = max(len(pattern) for pattern, _ in globs)
        return next(table for pattern, table in globs if len(pattern) == longest)


def read_config_file(path: Path, where: str, problems: list[Problem],
                     known: Mapping[str, Setting] = SETTINGS_BY_NAME) -> ConfigFile | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(Problem(where, "", "file not found; give an existing file to --config"))
        return None
    except IsADirectoryError:
        problems.append(Problem(where, "", "is a folder; --config takes a TOML file"))
        return None
    except PermissionError:
        problems.append(Problem(where, "", "cannot be read (permission denied)"))
        return None
    except UnicodeDecodeError:
        problems.append(Problem(where, "", "is not UTF-8 text; a config file is TOML"))
        return None
    except OSError as exc:
        problems.append(Problem(where, "", f"cannot be read ({exc.strerror or exc})"))
        return None
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(where, "", f"not valid TOML: {exc}"))
        return None
    defaults: dict[str, _Value] = {}
    environments: list[tuple[str, Mapping[str, _Value]]] = []
    for top, value in data.items():
        if top == "defaults":
            if not isinstance(value, dict):
                problems.append(Problem(where, "defaults", "must be a table: [defaults]"))
                continue
            defaults = _check_table(value, where, "defaults", problems, known)
        elif top == "environments":
            if not isinstance(value, dict):
                problems.append(Problem(where, "environments", 'must hold tables: [environments."<pattern>"]'))
                continue
            for pattern, table in value.items():
                keypath = f"environments.{_toml_key(pattern)}"
                if not isinstance(table, dict):
                    problems.append(Problem(where, keypath, f'must be a table: [environments."{pattern}"]'))
                    continue
                if not pattern:
                    problems.append(Problem(where, keypath, "pattern is empty; use a suffix or a glob such as 'pr*'"))
                    continue
                environments.append((pattern, _check_table(table, where, keypath, problems, known)))
        elif top in known or top in NOT_CONFIG_KEYS:
            problems.append(Problem(where, top,
                                    "settings go in [defaults] or [environments.\"<pattern>\"], not at the top"))
        else:
            problems.append(Problem(where, top, f"unknown table{_closest(top, ['defaults', 'environments'])}"))
    return ConfigFile(where, defaults, tuple(environments))


def parse_sets(sets: Sequence[str], problems: list[Problem],
               known: Mapping[str, Setting] = SETTINGS_BY_NAME) -> dict[str, _Value]:
    """`--set key=value` and `--set tags.Team=data`, typed by the settings table."""
    parsed: dict[str, _Value] = {}
    tags: dict[str, str] = {}
    for item in sets:
        if "=" not in item:
            problems.append(Problem("--set", item, "expected KEY=VALUE, for example dynamodb_billing_mode=PROVISIONED"))
            continue
        key, text = item.split("=", 1)
        key = key.strip()
        if key.startswith("tags."):
            tag_key = key[len("tags."):]
            error = RESERVED_TAGS.get(tag_key) or _tag_problem(tag_key, text)
            if error:
                problems.append(Problem("--set", key, error))
            else:
                tags[tag_key] = text
            continue
        if key in NOT_CONFIG_KEYS:
            problems.append(Problem("--set", key, NOT_CONFIG_KEYS[key]))
            continue
        setting = known.get(key)
        if setting is None:
            problems.append(Problem("--set", key or "(empty)", f"unknown key{_closest(key, list(known))}"))
            continue
        if setting.kind is dict:
            problems.append(Problem("--set", key, "set one tag at a time: --set tags.KEY=VALUE"))
            continue
        value, error = _coerce(setting, text, from_text=True)
        if error:
            problems.append(Problem("--set", key, error))
            continue
        parsed[key] = _Value(value, "--set", key)
    if tags:
        parsed["tags"] = _Value(tags, "--set", "tags")
    return parsed


DEFAULT_AWS_CONFIG_FILE = "~/.aws/config"
REGION_CHAIN = "no --region, AWS_REGION, AWS_DEFAULT_REGION, AWS_REGION file or profile region"


@dataclass(frozen=True)
class RegionChoice:
    """The stack region, which source chose it (`source`, for the note synth prints), and where an
    error about it points (`where`, `key`)."""

    region: str
    source: str
    where: str
    key: str = "region"

    @property
    def note(self) -> str:
        if self.source == "default":
            return f"region {self.region} (default: {REGION_CHAIN})"
        return f"region {self.region} (from {self.source})"


def active_profile(environ: Mapping[str, str]) -> str:
    """The profile boto3 would use: AWS_DEFAULT_PROFILE, else AWS_PROFILE, else default (botocore's
    order: configprovider.BOTOCORE_DEFAUT_SESSION_VARIABLES['profile'] lists them so)."""
    return environ.get("AWS_DEFAULT_PROFILE") or environ.get("AWS_PROFILE") or "default"


def _profile_sections(parser: configparser.RawConfigParser) -> dict[str, str]:
    """Profile name -> section name, as botocore's configloader.build_profile_map reads them: `[default]`
    and `[profile NAME]` (so `[profile default]` too); a later section of the same profile wins."""
    sections: dict[str, str] = {}
    for section in parser.sections():
        if section == "default":
            sections["default"] = section
            continue
        try:
            parts = shlex.split(section)
        except ValueError:
            continue
        if len(parts) == 2 and parts[0] == "profile":
            sections[parts[1]] = section
    return sections


def _profile_region(environ: Mapping[str, str], problems: list[Problem]) -> RegionChoice | None:
    """The `region` of the active profile in the AWS config file (AWS_CONFIG_FILE, else ~/.aws/config),
    read with the standard library: no boto3, no credentials. None when there is none."""
    path = os.path.expanduser(os.path.expandvars(environ.get("AWS_CONFIG_FILE") or DEFAULT_AWS_CONFIG_FILE))
    if not os.path.isfile(path):
        return None
    parser = configparser.RawConfigParser()
    try:
        parser.read_string(Path(path).read_text(encoding="utf-8"), source=path)
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        reason = one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        problems.append(Problem(path, "", f"cannot be read as an AWS config file ({reason}); fix it, or give "
                                          f"the region with --region or AWS_REGION"))
        return None
    profile = active_profile(environ)
    section = _profile_sections(parser).get(profile)
    if section is None or not parser.get(section, "region", fallback="").strip():
        return None
    region = parser.get(section, "region").strip()
    return RegionChoice(region, f"profile {profile} in {path}", path, f"[{section}] region")


def resolve_region(region: str | None, environ: Mapping[str, str], cwd: Path,
                   problems: list[Problem] | None = None) -> RegionChoice:
    """The first of: --region, AWS_REGION, AWS_DEFAULT_REGION, the first line of an AWS_REGION file in
    cwd, the active profile's region in the AWS config file, us-east-1. The config file is read only
    when nothing before it decides; a file that cannot be read is a problem, not a silent us-east-1."""
    if region is not None:
        return RegionChoice(region, "--region", "--region")
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(variable):
            return RegionChoice(environ[variable].strip(), variable, variable)
    region_file = cwd / "AWS_REGION"
    if region_file.is_file():
        try:
            lines = region_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            lines = []
        first = lines[0].strip() if lines else ""
        return RegionChoice(first, "the AWS_REGION file", region_file.name)
    from_profile = _profile_region(environ, [] if problems is None else problems)
    return from_profile or RegionChoice(DEFAULT_REGION, "default", "default")


def resolve_suffixes(suffixes: Sequence[str] | None, environ: Mapping[str, str]) -> list[_Value]:
    if suffixes:
        unique = list(dict.fromkeys(suffixes))
        return [_Value(s, "--suffix", "suffix") for s in unique]
    if "ENVIRONMENT_SUFFIX" in environ:
        return [_Value(environ["ENVIRONMENT_SUFFIX"], "ENVIRONMENT_SUFFIX", "suffix")]
    return [_Value(DEFAULT_SUFFIX, "default", "suffix")]


def _value_of(values: Mapping[str, _Value], key: str) -> Any:
    return values[key].value if key in values else SETTINGS_BY_NAME[key].default


def _suffix_problems(suffix: _Value, prefix: str, regions: Sequence[str], check_names: bool) -> list[Problem]:
    text = suffix.value
    where, key = suffix.where, suffix.key
    if not text:
        return [Problem(where, key, "is empty; use lowercase letters, digits and hyphens, such as pr123")]
    if not _SUFFIX.match(text):
        hint = ""
        lowered = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
        if lowered and _SUFFIX.match(lowered):
            hint = f", such as {lowered!r}"
        return [Problem(where, key, f"{text!r} is not allowed: use lowercase letters, digits and hyphens "
                                    f"(not at either end) (S3 bucket and stack names){hint}")]
    if text.endswith("-replica"):
        return [Problem(where, key, f"{text!r} ends in '-replica': its stack name would collide with the "
                                    f"replica stack of suffix {text[:-len('-replica')]!r}; choose another suffix")]
    if not check_names:  # the prefix or a region is wrong already; lengths would mislead
        return []
    longest = max_suffix_length(prefix, regions)
    if len(text) > longest:
        places = " and ".join(regions)
        return [Problem(where, key, f"{text!r} is {len(text)} characters; with stack_prefix {prefix!r} in {places} "
                                    f"the longest suffix allowed is {longest} (S3 bucket names are at most 63)")]
    for name in _bucket_names(prefix, text, regions):
        problem = names.s3_bucket_name_problem(names.with_account(name))
        if problem:
            return [Problem(where, key, f"makes the bucket name {names.with_account(name)!r}, which {problem}")]
    return []


def _bucket_names(prefix: str, suffix: str, regions: Sequence[str]) -> list[str]:
    found = [names.data_bucket_name(prefix, suffix, regions[0])]
    found += [names.replica_bucket_name(prefix, suffix, r) for r in regions[1:]]
    return found


def max_suffix_length(prefix: str, regions: Sequence[str]) -> int:
    """The longest suffix whose every bucket name fits S3's 63 characters."""
    lengths = [len(names.with_account(n)) for n in _bucket_names(prefix, "", regions)]
    return names.S3_BUCKET_NAME_MAX - max(lengths)


def _prefix_problem(prefix: str) -> str | None:
    if not (_PREFIX.match(prefix) and len(prefix) <= MAX_PREFIX):
        return (f"{prefix!r} must start with a lowercase letter and hold only lowercase letters, digits and "
                f"single hyphens, at most {MAX_PREFIX}")
    bucket = names.with_account(names.data_bucket_name(prefix, "a", DEFAULT_REGION))
    problem = names.s3_bucket_name_problem(bucket)  # S3 reserves some name starts, such as 'sthree-'
    return f"{prefix!r} makes bucket names such as {bucket!r}, which {problem}; choose another" if problem else None


RegionCheck = Callable[[str], str | None]  # a region -> what is wrong with it, or None


def _region_problem(region: str, region_check: RegionCheck | None, example: str) -> str | None:
    """The pattern check (no AWS library needed), then region_check, if given, on a region that passes it."""
    if not _REGION.match(region):
        return f"{region!r} does not look like an AWS region such as {example}"
    return region_check(region) if region_check is not None else None


def _consistency_problems(values: Mapping[str, _Value], region: RegionChoice,
                          region_check: RegionCheck | None = None) -> list[Problem]:
    """Checks across keys and of ranges. Never of names: any suffix gets any setting."""
    out: list[Problem] = []

    def v(key: str) -> Any:
        return _value_of(values, key)

    def at(key: str) -> tuple[str, str]:
        item = values.get(key)
        return (item.where, item.key) if item else ("default", key)

    prefix = v("stack_prefix")
    prefix_problem = _prefix_problem(prefix)
    if prefix_problem:
        out.append(Problem(*at("stack_prefix"), prefix_problem))
    region_problem = _region_problem(region.region, region_check, "us-east-1")
    if region_problem:
        out.append(Problem(region.where, region.key, region_problem))
    mode = v("dynamodb_billing_mode")
    if mode not in BILLING_MODES:
        out.append(Problem(*at("dynamodb_billing_mode"), f"must be PAY_PER_REQUEST or PROVISIONED (got {mode!r})"))
    capacities = ("dynamodb_read_capacity", "dynamodb_write_capacity")
    for key in capacities:
        number = v(key)
        if number is not None and not 1 <= number <= MAX_CAPACITY:
            out.append(Problem(*at(key), f"must be a whole number from 1 to {MAX_CAPACITY} (got {number})"))
    if mode == "PROVISIONED":
        missing = [k for k in capacities if v(k) is None]
        if missing:
            out.append(Problem(*at("dynamodb_billing_mode"),
                               f"PROVISIONED needs {' and '.join(missing)} (whole numbers >= 1)"))
    elif mode == "PAY_PER_REQUEST":
        for key in capacities:
            if v(key) is not None:
                out.append(Problem(*at(key), "only applies with dynamodb_billing_mode = PROVISIONED; remove it "
                                             "or set the billing mode"))
    days = v("bucket_lifecycle_days")
    if not 1 <= days <= MAX_LIFECYCLE_DAYS:
        out.append(Problem(*at("bucket_lifecycle_days"),
                           f"must be a whole number from 1 to {MAX_LIFECYCLE_DAYS} (got {days})"))
    multiplier = v("alarm_threshold_multiplier")
    if not 0 < multiplier <= MAX_MULTIPLIER:
        out.append(Problem(*at("alarm_threshold_multiplier"),
                           f"must be a number > 0 and <= {MAX_MULTIPLIER:g} (got {multiplier:g})"))
    email = v("alert_email")
    if email is not None and (len(email) > 254 or not _EMAIL.match(email)):
        out.append(Problem(*at("alert_email"), f"{email!r} is not an email address such as alerts@example.com"))
    replicate = v("enable_cross_region_replication")
    replica_region = v("replication_region")
    replica_problem = None if replica_region is None else _region_problem(replica_region, region_check, "eu-west-1")
    if replica_problem:
        out.append(Problem(*at("replication_region"), replica_problem))
    if replicate and replica_region is None:
        out.append(Problem(*at("enable_cross_region_replication"),
                           "replication needs replication_region (another region than the stack's)"))
    if replicate and replica_region == region.region:
        out.append(Problem(*at("replication_region"), f"must differ from the stack's region {region.region!r}; "
                                                      f"S3 cross-region replication needs another region"))
    if v("replication_time_control") and not replicate:
        out.append(Problem(*at("replication_time_control"), "needs enable_cross_region_replication = true"))
    role_arn = v("cloudformation_role_arn")
    role_problem = names.role_arn_problem(role_arn, region.region) if role_arn is not None else None
    if role_problem:
        out.append(Problem(*at("cloudformation_role_arn"), role_problem))
    cost_center = v("cost_center")
    if not cost_center or _tag_problem("CostCenter", cost_center):
        out.append(Problem(*at("cost_center"),
                           f"must be a tag value: 1 to {MAX_TAG_VALUE} letters, digits, spaces or _.:/=+-@"))
    return out


def _own_check_problems(values: Mapping[str, _Value], known: Mapping[str, Setting]) -> list[Problem]:
    """What each given setting's own `check` finds wrong with its value (the family-declared settings use
    it; the core ones are checked across keys by _consistency_problems)."""
    out: list[Problem] = []
    for key, item in values.items():
        check = known[key].check
        problem = check(item.value) if check is not None else None
        if problem:
            out.append(Problem(item.where, item.key, problem))
    return out


def _chosen_config_file(config_path: str | None, cwd: Path, problems: list[Problem],
                        known: Mapping[str, Setting]) -> ConfigFile | None:
    """--config, else environments.toml in cwd when there is one, else none."""
    if config_path is not None:
        return read_config_file(Path(config_path), config_path, problems, known)
    if (cwd / DEFAULT_CONFIG_FILE).exists():
        return read_config_file(cwd / DEFAULT_CONFIG_FILE, DEFAULT_CONFIG_FILE, problems, known)
    return None


def replication_regions_named(*, config_path: str | None = None, cwd: Path | None = None,
                              settings: Sequence[Setting] = SETTINGS,
                              region_check: RegionCheck | None = None) -> list[str]:
    """Every replication_region some table of the config file names ([defaults] and each
    [environments."<pattern>"], whichever suffixes they match), once each in file order: the regions
    replica stacks of this config can live in, beyond those of the suffixes resolved on this run.
    Each is checked like a resolved one; ConfigError names the table of a bad one."""
    problems: list[Problem] = []
    config_file = _chosen_config_file(config_path, Path.cwd() if cwd is None else cwd, problems,
                                      {s.name: s for s in settings})
    tables = [config_file.defaults, *(table for _, table in config_file.environments)] if config_file else []
    regions: list[str] = []
    for item in (table["replication_region"] for table in tables if "replication_region" in table):
        problem = _region_problem(item.value, region_check, "eu-west-1")
        if problem:
            problems.append(Problem(item.where, item.key, problem))
        else:
            regions.append(item.value)
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return list(dict.fromkeys(regions))


def resolve_configs(
    *,
    suffixes: Sequence[str] | None = None,
    config_path: str | None = None,
    sets: Sequence[str] = (),
    region: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    settings: Sequence[Setting] = SETTINGS,
    region_check: RegionCheck | None = None,
) -> list[EnvironmentConfig]:
    """One validated EnvironmentConfig per suffix, or ConfigError with every problem found.

    `settings` are the keys a config file and --set accept: SETTINGS plus those the resource families
    declare (builder.resources.all_settings()); a family's setting is checked with its `check`.
    `region_check` judges the region and replication_region beyond their pattern (the AWS commands pass
    botocore's list of known regions; synth passes none, so it needs no AWS library).
    """
    known = {s.name: s for s in settings}
    environ = os.environ if environ is None else environ
    cwd = Path.cwd() if cwd is None else cwd
    problems: list[Problem] = []

    config_file = _chosen_config_file(config_path, cwd, problems, known)
    overrides = parse_sets(sets, problems, known)
    region_value = resolve_region(region, environ, cwd, problems)

    configs: list[EnvironmentConfig] = []
    for suffix in resolve_suffixes(suffixes, environ):
        values: dict[str, _Value] = {}
        layers = [config_file.defaults, config_file.table_for(suffix.value)] if config_file else []
        for layer in [*layers, overrides]:
            for key, item in layer.items():
                if key == "tags" and "tags" in values:  # tags merge across layers, later wins per key
                    item = _Value({**values["tags"].value, **item.value}, item.where, item.key)
                values[key] = item
        found = _consistency_problems(values, region_value, region_check)
        found += _own_check_problems(values, known)
        prefix = _value_of(values, "stack_prefix")
        regions = [region_value.region]
        if _value_of(values, "enable_cross_region_replication") and _value_of(values, "replication_region"):
            regions.append(values["replication_region"].value)
        names_known = _prefix_problem(prefix) is None and all(_REGION.match(r) for r in regions)
        found += _suffix_problems(suffix, prefix, regions, check_names=names_known)
        problems += found
        if found:
            continue
        kwargs = {key: item.value for key, item in values.items() if key in SETTINGS_BY_NAME}
        kwargs["tags"] = tuple(sorted(kwargs.get("tags", {}).items()))
        family_values = tuple(sorted((key, item.value) for key, item in values.items() if key not in SETTINGS_BY_NAME))
        configs.append(EnvironmentConfig(suffix=suffix.value, region=region_value.region, family_values=family_values,
                                         config_file=config_file.where if config_file else None,
                                         **kwargs))
    if problems:
        raise ConfigError(list(dict.fromkeys(problems)))
    return configs

