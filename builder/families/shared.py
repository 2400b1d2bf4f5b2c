"""Small pieces several families use: tags, retention, checkov metadata, outputs, the account principal."""

from __future__ import annotations

from collections.abc import Callable

from awacs.aws import Principal
from troposphere import Export, Output, Sub, Tags, Template

from builder.environment import EnvironmentConfig
from builder.families import CheckovSkip, ParameterSpec

POLICY_VERSION = "2012-10-17"
TRUE, FALSE = "true", "false"


def tags(config: EnvironmentConfig) -> Tags:
    return Tags(config.all_tags)  # a fresh Tags each time: Tags.__add__ mutates its operand


def retention(config: EnvironmentConfig) -> dict[str, str]:
    policy = "Retain" if config.retain_data else "Delete"
    return {"DeletionPolicy": policy, "UpdateReplacePolicy": policy}


def checkov_skips(*skips: CheckovSkip) -> dict[str, object]:
    """Resource keyword arguments that carry checkov skips in its own Metadata syntax (none: no Metadata)."""
    if not skips:
        return {}
    return {"Metadata": {"checkov": {"skip": [{"id": check, "comment": reason} for check, reason in skips]}}}


def account_root() -> Principal:
    return Principal("AWS", [Sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")])


def add_output(t: Template, title: str, value: object, description: str, condition: str | None = None) -> None:
    extra = {"Condition": condition} if condition else {}
    t.add_output(Output(title, Description=description, Value=value,
                        Export=Export(Sub(f"${{AWS::StackName}}-{title}")), **extra))


def number(value: float) -> str:
    """A parameter value as text that is the same on every machine: 7.5, 80530636800."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def threshold_parameters(bases: dict[str, float],
                         when: Callable[[EnvironmentConfig], bool] | None = None) -> tuple[ParameterSpec, ...]:
    """An alarm threshold Parameter per base: each fires at base x alarm_threshold_multiplier. `when`: only
    in templates where the alarms are (an opt-in part's)."""
    def spec(title: str, base: float) -> ParameterSpec:
        return ParameterSpec(title, "alarm_threshold_multiplier",
                             lambda config: number(base * config.alarm_threshold_multiplier),
                             {"Type": "Number", "MinValue": 0,
                              "Description": f"Alarm threshold: base {number(base)} x multiplier"}, when=when)
    return tuple(spec(title, base) for title, base in bases.items())
