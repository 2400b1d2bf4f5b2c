"""Settings: what a configuration key is (type, default, deploy-time or synth-time, doc line, cost) and the
checks it declares, and SETTINGS, the settings of the whole stack (its names, tags, how commands treat it).

A setting declares its checks as data: `choices`, a `Range`, a `Pattern`, `requires` (when it is on,
another must be on too) and `only_with` (it may be set only when another has a given value); `check` is a
function for the rest of what one value may be. Rules across several settings that these cannot say are a
family's check (builder.families.Family.check).

A resource family declares its own settings in its file (`Family.settings`): builder.resources.all_settings()
is SETTINGS followed by theirs, in build order. builder.environment validates every given value against its
setting; deploy-time settings become CloudFormation Parameters (builder.resources checks each has one);
The settings table of docs/configuration.md is `settings_table(all_settings())` (a test holds them equal).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeVar

from builder import names
from builder.durations import DurationError, parse_duration

T = TypeVar("T")

MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
MAX_STACK_TAGS = 50  # CloudFormation's Tags of CreateChangeSet and UpdateStack: at most 50 (its API model's max)
# Patterns as text: re compiles (and caches) each on its first use, so start-up pays only for those it uses.
_TAG_TEXT = r"[\w .:/=+\-@]*"
_REGION = (r"[a-z]{2}(-gov|-iso[a-z]?)?-(north|south|east|west|central|northeast|northwest|southeast|southwest)"
           r"-[0-9]{1,2}")
# Stack tags builder writes itself (builder.environment names them): `tags` may set no key starting so.
BUILDER_TAG_PREFIX = "builder:"
# Tags builder puts on every resource itself (EnvironmentConfig.all_tags); `tags` cannot set them.
RESERVED_TAGS = {
    "Environment": "Environment is always the suffix; builder sets this tag itself, remove it from tags",
    "CostCenter": "CostCenter comes from the cost_center setting; set cost_center instead of this tag",
}


def _number(value: float) -> str:
    """A number as an error shows it: short (0.75, 1e+09), but never rounded to another value (1000.0000001
    shown as 1000 read as within '<= 1000')."""
    if isinstance(value, int):
        return str(value)
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


class Range(NamedTuple):  # NamedTuples (Pattern, Given too): defining one costs synth's start-up a tenth of a dataclass
    """The bounds of a number: `minimum` and `maximum` inclusive, `above` an exclusive minimum."""

    minimum: float | None = None
    maximum: float | None = None
    above: float | None = None

    def holds(self, value: float) -> bool:
        return ((self.minimum is None or value >= self.minimum) and (self.above is None or value > self.above)
                and (self.maximum is None or value <= self.maximum))

    def describe(self, whole: bool) -> str:
        """`a whole number from 1 to 40000`, `a number > 0 and <= 1000`."""
        noun = "a whole number" if whole else "a number"
        if self.minimum is not None and self.maximum is not None and self.above is None:
            return f"{noun} from {_number(self.minimum)} to {_number(self.maximum)}"
        bounds = [f"{sign} {_number(limit)}" for sign, limit in
                  ((">=", self.minimum), (">", self.above), ("<=", self.maximum)) if limit is not None]
        return f"{noun} {' and '.join(bounds)}"


class Pattern(NamedTuple):
    """The form of a text value: a regular expression it must match whole, and what a value that does not
    match is, after its repr (`is not an email address such as alerts@example.com`)."""

    regex: str  # a regular expression, matched against the whole value
    problem: str
    aws_region: bool = False  # the value names an AWS region: the AWS commands also check that botocore knows it

    def matches(self, text: str) -> bool:
        return re.fullmatch(self.regex, text) is not None


def aws_region(example: str) -> Pattern:
    """The form of an AWS region (no AWS library needed); the error shows `example`."""
    return Pattern(_REGION, f"does not look like an AWS region such as {example}", aws_region=True)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One configuration key: its type, default, whether a deploy may change it, its cost, and its checks.

    `config.value(SETTING)` reads it, typed: a `Setting[int]` gives an int.
    """

    name: str
    kind: type  # int, float, bool, str (dict: only tags)
    default: T
    deploy_time: bool  # a CloudFormation Parameter (a deploy may change it) rather than a synth-time choice
    doc: str  # what it does, one line
    cost: str = "none"  # what it costs while the environment sits idle
    shown_default: str | None = None  # how the docs show the default, when the value alone would mislead
    choices: tuple[str, ...] = ()  # the only values allowed, when not empty
    range: Range | None = None
    pattern: Pattern | None = None
    requires: str | None = None  # when this is on (true, or set), that setting must be on too
    only_with: tuple[str, object] | None = None  # this may be set only while that setting has that value
    check: Callable[[Any], str | None] | None = None  # what else is wrong with a value of the right type

    def problem(self, value: Any) -> str | None:
        """What is wrong with a given value of the right type, by what this setting declares, or None."""
        if self.choices and value not in self.choices:
            listed = " or ".join(self.choices) if len(self.choices) == 2 else f"one of {', '.join(self.choices)}"
            return f"must be {listed} (got {value!r})"
        if self.range is not None and not self.range.holds(value):
            return f"must be {self.range.describe(self.kind is int)} (got {_number(value)})"
        if self.pattern is not None and not self.pattern.matches(value):
            return f"{value!r} {self.pattern.problem}"
        return self.check(value) if self.check is not None else None


def is_on(value: object) -> bool:
    """Whether a setting counts as on for `requires` and `only_with`: true, or set to anything but false."""
    return value is not None and value is not False


def duration_problem(text: str) -> str | None:
    """What is wrong with a duration setting's text (`ttl`), or None."""
    try:
        parse_duration(text)
    except DurationError as error:
        return str(error)
    return None


def tag_problem(key: str, value: Any) -> str | None:
    """What is wrong with one tag (key and value), or None. CloudWatch alarms refuse an empty value."""
    if not isinstance(value, str):
        return f"tag values must be strings (got {value!r})"
    if not key or len(key) > MAX_TAG_KEY or not re.fullmatch(_TAG_TEXT, key):
        return f"tag key must be 1 to {MAX_TAG_KEY} letters, digits, spaces or _.:/=+-@ (got {key!r})"
    if "=" in key:  # AWS takes one, but the aws CLI would read "a=b=c" as the key a with the value b=c
        return (f"a tag key cannot hold '=' (got {key!r}): synth's <stack>.tags.json gives `aws cloudformation "
                f"deploy --tags` Key=Value strings, which it splits at the first '='")
    if key.lower().startswith("aws:"):
        return "tag keys starting with 'aws:' are reserved by AWS"
    if key.lower().startswith(BUILDER_TAG_PREFIX):
        return (f"tag keys starting with {BUILDER_TAG_PREFIX!r} are builder's own stack tags (it writes "
                f"builder:managed-by and builder:ttl itself; set ttl for the latter); choose another key")
    if not value or len(value) > MAX_TAG_VALUE or not re.fullmatch(_TAG_TEXT, value):
        return f"tag value must be 1 to {MAX_TAG_VALUE} letters, digits, spaces or _.:/=+-@ (got {value!r})"
    return None


def _cost_center_problem(value: str) -> str | None:
    if tag_problem("CostCenter", value) is None:
        return None
    return f"must be a tag value: 1 to {MAX_TAG_VALUE} letters, digits, spaces or _.:/=+-@"


# The settings of the whole stack; the families' own are in their files. All synth-time: they change names,
# tags and what commands do, and no Parameter carries them.
STACK_PREFIX: Setting[str] = Setting(
    "stack_prefix", str, "app", False, "the stack is `<stack_prefix>-<suffix>`; every name starts with it",
    check=names.prefix_problem)
COST_CENTER: Setting[str] = Setting("cost_center", str, "engineering", False, "value of the `CostCenter` tag",
                                    check=_cost_center_problem)
TAGS: Setting[dict[str, str]] = Setting("tags", dict, {}, False, "extra tags on the stack and every taggable resource")
RETAIN_DATA: Setting[bool] = Setting(
    "retain_data", bool, False, False,
    "bucket and table survive stack deletion and replacement (`Retain` policies, table deletion "
    "protection); current objects never expire", "retained data keeps costing")
TTL: Setting[str | None] = Setting(
    "ttl", str, None, False,
    "how long the stack may sit idle (no change) before `reap` deletes it: `90m`, `3d` (units s, m, h, d; "
    "1s to 3650d); written as the stack tag `builder:ttl`; unset: never expires",
    "caps what a forgotten environment costs idle", check=duration_problem)
TERMINATION_PROTECTION: Setting[bool] = Setting(
    "termination_protection", bool, False, False,
    "deploy turns the stack's termination protection on or off to match; destroy and reap never delete "
    "a protected stack", "none; keeps its stack, and what it costs, until turned off")
CHECK_DRIFT: Setting[bool] = Setting(
    "check_drift", bool, False, False,
    "deploy first detects drift on an existing stack and refuses to deploy over it (exit 5) unless "
    "`--allow-drift` or `--revert-drift`; `diff` shows the drift")
CLOUDFORMATION_ROLE_ARN: Setting[str | None] = Setting(
    "cloudformation_role_arn", str, None, False,
    "IAM role (an ARN in the stack's partition) CloudFormation assumes for every change set and "
    "stack deletion; synth's command passes it as `--role-arn`")
DEPLOYMENT_MODE: Setting[str] = Setting(
    "deployment_mode", str, "standard", False,
    "`standard` or `express`: CloudFormation's express mode, a deploy or delete done once each resource's "
    "configuration is applied, before it is ready ([deployment mode](#deployment-mode)); not with "
    "`termination_protection` or `retain_data`", choices=("standard", "express"))

ROLLBACK_ALARMS: Setting[bool] = Setting(
    "rollback_alarms", bool, False, False,
    "an update (not a create) passes the stack's own table alarms, as deployed, as rollback triggers: "
    "CloudFormation rolls the update back when one goes to ALARM",
    "none; the update waits `rollback_monitoring_minutes` longer")
ROLLBACK_MONITORING_MINUTES: Setting[int] = Setting(
    "rollback_monitoring_minutes", int, 10, False,
    "with `rollback_alarms`: how long after an update CloudFormation keeps watching the alarms (0 to 180); "
    "deploy waits as long", range=Range(0, 180))

SETTINGS: tuple[Setting[Any], ...] = (STACK_PREFIX, COST_CENTER, TAGS, RETAIN_DATA, TTL, TERMINATION_PROTECTION,
                                      CHECK_DRIFT, CLOUDFORMATION_ROLE_ARN, DEPLOYMENT_MODE, ROLLBACK_ALARMS,
                                      ROLLBACK_MONITORING_MINUTES)


def default_of(name: str) -> Any:
    """The default of one of SETTINGS (EnvironmentConfig's field defaults are these)."""
    return next(s.default for s in SETTINGS if s.name == name)


def _shown(setting: Setting[Any]) -> str:
    if setting.shown_default is not None:
        return setting.shown_default
    if setting.default is None:
        return "unset"
    if isinstance(setting.default, bool):
        return f"`{str(setting.default).lower()}`"
    return f"`{setting.default}`"


def settings_table(settings: Iterable[Setting[Any]]) -> list[str]:
    """The settings as the lines of a markdown table: name, default, when, what it does, cost while idle."""
    lines = ["| setting | default | when | what it does | cost while idle |", "| --- | --- | --- | --- | --- |"]
    for s in settings:
        when = "deploy" if s.deploy_time else "synth"
        lines.append(f"| `{s.name}` | {_shown(s)} | {when} | {s.doc} | {s.cost} |")
    return lines
