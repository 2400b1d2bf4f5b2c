"""The settings table: the only place a setting's type, default, deploy-time vs synth-time, doc line and
cost note live. builder.environment derives EnvironmentConfig from it and validates against it; deploy-time
settings become CloudFormation Parameters (builder.resources checks that each has one); README's settings
table is `settings_table(...)` of it (a test holds them equal).

Resource families may declare more settings (`Family.settings`); builder.resources.all_settings() is this
table plus theirs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from builder.durations import DurationError, parse_duration


@dataclass(frozen=True)
class Setting:
    """One configuration key: its type, default, whether a deploy may change it, and its cost."""

    name: str
    kind: type  # int, float, bool, str (dict: only tags)
    default: Any
    deploy_time: bool  # a CloudFormation Parameter (a deploy may change it) rather than a synth-time choice
    doc: str  # what it does, one line
    cost: str = "none"  # what it costs while the environment sits idle
    shown_default: str | None = None  # how the docs show the default, when the value alone would mislead
    check: Callable[[Any], str | None] | None = None  # what is wrong with a value of the right type, or None


def duration_problem(text: str) -> str | None:
    """What is wrong with a duration setting's text (`ttl`), or None."""
    try:
        parse_duration(text)
    except DurationError as error:
        return str(error)
    return None


# The settings of the core families. `deploy_time` settings become CloudFormation Parameters (their
# Defaults carry the suffix's value); the others change which resources and policies exist.
SETTINGS: tuple[Setting, ...] = (
    Setting("stack_prefix", str, "app", False,
            "the stack is `<stack_prefix>-<suffix>`; every name starts with it"),
    Setting("bucket_lifecycle_days", int, 30, True,
            "current objects (unless `retain_data`) and noncurrent versions expire after this many days",
            "fewer days, less storage"),
    Setting("dynamodb_billing_mode", str, "PAY_PER_REQUEST", True,
            "`PAY_PER_REQUEST` (on-demand) or `PROVISIONED`", "PROVISIONED bills capacity every hour"),
    Setting("dynamodb_read_capacity", int, None, True,
            "read capacity units; only with PROVISIONED, then required", "per RCU-hour"),
    Setting("dynamodb_write_capacity", int, None, True,
            "write capacity units; only with PROVISIONED, then required", "per WCU-hour"),
    Setting("alarm_threshold_multiplier", float, 0.75, True, "scales every alarm threshold"),
    Setting("alert_email", str, None, True,
            "subscribed to the alert topic (confirm the email AWS sends)",
            shown_default="`alerts-<suffix>@example.com`"),
    Setting("enable_cross_region_replication", bool, False, True,
            "replicate the bucket to `replication_region`", "replica storage, per-GB replication and transfer"),
    Setting("replication_region", str, None, True,
            "region of the replica bucket; must differ from the stack's", "—"),
    Setting("replication_time_control", bool, False, True,
            "S3 Replication Time Control; needs replication", "premium per-GB charge"),
    Setting("customer_managed_key", bool, False, False,
            "one KMS key encrypts topic, bucket and table (the replica stack gets its own)",
            "about 1 USD per key per month"),
    Setting("cost_center", str, "engineering", False, "value of the `CostCenter` tag"),
    Setting("tags", dict, {}, False, "extra tags on the stack and every taggable resource"),
    Setting("retain_data", bool, False, False,
            "bucket and table survive stack deletion and replacement (`Retain` policies, table deletion "
            "protection); current objects never expire", "retained data keeps costing"),
    Setting("ttl", str, None, False,
            "how long the stack may sit idle (no change) before `reap` deletes it: `90m`, `3d` (units s, m, h, d; "
            "1s to 3650d); written as the stack tag `builder:ttl`; unset: never expires",
            "caps what a forgotten environment costs idle", check=duration_problem),
    Setting("termination_protection", bool, False, False,
            "deploy turns the stack's termination protection on or off to match; destroy and reap never delete "
            "a protected stack", "none; keeps its stack, and what it costs, until turned off"),
    Setting("check_drift", bool, False, False,
            "deploy first detects drift on an existing stack and refuses to deploy over it (exit 5) unless "
            "`--allow-drift`; `diff` shows the drift"),
    Setting("cloudformation_role_arn", str, None, False,
            "IAM role (an ARN in the stack's partition) CloudFormation assumes for every change set and "
            "stack deletion; synth's command passes it as `--role-arn`"),
)


def default_of(name: str) -> Any:
    """The default of one of SETTINGS (EnvironmentConfig's field defaults are these)."""
    return next(s.default for s in SETTINGS if s.name == name)


def _shown(setting: Setting) -> str:
    if setting.shown_default is not None:
        return setting.shown_default
    if setting.default is None:
        return "unset"
    if isinstance(setting.default, bool):
        return f"`{str(setting.default).lower()}`"
    return f"`{setting.default}`"


def settings_table(settings: Iterable[Setting]) -> list[str]:
    """The settings as the lines of a markdown table: name, default, when, what it does, cost while idle."""
    lines = ["| setting | default | when | what it does | cost while idle |", "| --- | --- | --- | --- | --- |"]
    for s in settings:
        when = "deploy" if s.deploy_time else "synth"
        lines.append(f"| `{s.name}` | {_shown(s)} | {when} | {s.doc} | {s.cost} |")
    return lines
