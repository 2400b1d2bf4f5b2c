"""Resource families: one module per family (keys, storage, replication, table, alerts), each exporting
`FAMILY`, a Family that says everything about it. builder.resources composes them in order.

A family module declares, beside its `build(c: Composition)`:
- its own settings as `Setting`s (validated by their `check`; read with `config.value(SETTING)`);
- a `ParameterSpec` per Parameter, each carrying one deploy-time setting (the value is also the Default);
- its alarms as `AlarmSpec`s appended to `c.alarms` (the alerts family creates them and lists them in
  the topic policy); alarm thresholds with `shared.threshold_parameters({title: base})`;
- a pricer per resource type it creates (prices by key from builder.pricing), or the type in free_types;
- its checkov skips as `CheckovSkip`s, put on the resource with `shared.checkov_skips(...)`.

This module holds only the types the families share; shared.py the small helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from troposphere import Parameter, Template, kms, s3

from builder.environment import EnvironmentConfig
from builder.pricing import Pricer
from builder.settings import Setting


class CheckovSkip(NamedTuple):
    """A checkov check skipped on purpose, with its one-line reason (README's Safety section lists it)."""

    check: str
    reason: str


@dataclass(frozen=True)
class ParameterSpec:
    """A CloudFormation Parameter that carries a deploy-time setting; its Default is the suffix's value.

    The Parameter is `Parameter(title, Default=value(config), **properties)`, and deploy_parameters()
    sends the same value, so the template and the parameters file cannot disagree.
    """

    title: str
    setting: str  # the deploy-time setting whose value it carries
    value: Callable[[EnvironmentConfig], str]
    properties: Mapping[str, object]
    in_replica: bool = False  # also a Parameter of the replica template


@dataclass(frozen=True)
class AlarmSpec:
    """A CloudWatch alarm a family asks for; the alerts family creates it, wired to its topic."""

    title: str
    what: str  # the end of the alarm's name
    description: str
    threshold: str  # the title of the Parameter that holds its threshold
    metric: Mapping[str, object]  # Namespace/MetricName/... or Metrics (metric math)


@dataclass
class Composition:
    """What one template is built from, filled in by the families in order (hence not frozen):
    a family reads what earlier ones added (the key, the data bucket) and adds its own."""

    template: Template
    config: EnvironmentConfig
    parameters: Mapping[str, Parameter]  # by title: every ParameterSpec of this template
    key: kms.Key | None = None  # the customer-managed key, when customer_managed_key is on
    data_bucket: s3.Bucket | None = None
    alarms: list[AlarmSpec] = field(default_factory=list)


@dataclass(frozen=True)
class Family:
    """Everything about one resource family: how it builds, and what the rest of builder needs to know."""

    name: str
    build: Callable[[Composition], None]  # adds its resources, conditions and outputs to the primary template
    build_replica: Callable[[Composition], None] | None = None  # its part of the replica template, if any
    settings: tuple[Setting, ...] = ()  # settings it declares beyond builder.settings.SETTINGS
    parameters: tuple[ParameterSpec, ...] = ()
    stateful_types: tuple[str, ...] = ()  # resource types whose replacement or deletion loses data
    pricers: Mapping[str, Pricer] = field(default_factory=dict)  # resource type -> its pricer
    free_types: frozenset[str] = frozenset()  # types AWS does not bill by themselves
    checkov_skips: tuple[CheckovSkip, ...] = ()
