"""Resource families: one module per family (keys, storage, replication, table, alerts), each exporting
`FAMILY`, a Family that says everything about it. builder.resources composes them in order.

A family module declares, beside its `build(c: Composition)`:
- its own settings as `Setting`s, each with the checks it declares (choices, range, pattern, requires,
  only_with, check), and a `check` function for its rules across them; read with `config.value(SETTING)`;
- a `ParameterSpec` per Parameter, each carrying one deploy-time setting (the value is also the Default);
- its alarms as `AlarmSpec`s appended to `c.alarms` (the alerts family creates them and lists them in
  the topic policy); alarm thresholds with `shared.threshold_parameters({title: base})`;
- a pricer per resource type it creates (prices by key from builder.pricing, or from its own `prices`
  rows), or the type in free_types;
- its checkov skips as `CheckovSkip`s, put on the resource with `shared.checkov_skips(...)`;
- a `ResourceKind` per type the AWS side must know more about: how a named one is found (adoption of
  retained data), why an existing one cannot be adopted, what must happen before it is deleted
  (emptying a bucket; destroy runs it);
- the drift noise rules of its types (`builder.drift_noise.NoiseRule`).

Which family added each resource is recorded when the template is composed (the graph groups by it).
A family never imports boto3: what it says about AWS is data (a `Lookup`) or a function that is given
a client by the layer that makes the calls.

This module holds only the types the families share; shared.py the small helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from troposphere import Parameter, Template, kms, s3

from builder.drift_noise import NoiseRule
from builder.environment import ConfigCheck, EnvironmentConfig
from builder.pricing import Price, Pricer
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
    # only in templates of configs where this is true: the Parameter of a family's opt-in part, which
    # would be unused (a cfn-lint warning) while that part is off
    when: Callable[[EnvironmentConfig], bool] | None = None

    def present(self, config: EnvironmentConfig) -> bool:
        return self.when is None or self.when(config)


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
class Lookup:
    """How to ask AWS whether one resource exists: the read `<service>.<operation>(<parameter>=value)`.

    Its answer means it exists; an error code in `missing` that it does not; one in `foreign` that the
    name is taken where these credentials cannot read it (another account's bucket). Any other error
    is an error."""

    service: str  # the boto3 client, in the stack's region
    operation: str  # the client's method: "head_bucket"
    parameter: str  # the argument that takes the value: "Bucket"
    missing: frozenset[str]
    foreign: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PreDelete:
    """What must happen to a resource before CloudFormation deletes it (a bucket must be empty).

    destroy runs it for each resource of the type that the DEPLOYED template lets CloudFormation delete
    (DeletionPolicy Delete), with a client of `service` and the resource's physical id, and says the
    line it returns. An error code in `gone` means the resource is already gone: nothing to do.
    `left_behind`, asked with the physical id once the stack is deleted, finds one that survived (an
    object written after the emptying keeps a bucket)."""

    service: str
    run: Callable[[Any, str], str]  # (client, physical id) -> what was done, one line
    gone: frozenset[str] = frozenset()
    left_behind: Lookup | None = None


@dataclass(frozen=True)
class ResourceKind:
    """What the AWS side must know about one resource type of a family, beyond the template."""

    type: str  # "AWS::S3::Bucket"
    noun: str  # what messages call one: "bucket"
    name_property: str = ""  # the property that gives it a fixed name ("BucketName"); "": never adopted
    lookup: Lookup | None = None  # finds an existing one by that name (adoption of retained data)
    identifier: str = ""  # its key in an IMPORT's ResourceIdentifier (the type's primaryIdentifier)
    identifier_in_answer: str = ""  # where the lookup's answer holds the identifier's value; "": the name
    # (the lookup's answer, the template's properties under its Parameter defaults) -> each reason an
    # existing one cannot be adopted as it is (the update after the import would change or replace it)
    mismatches: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]] | None = None
    before_delete: PreDelete | None = None

    @property
    def adoptable(self) -> bool:
        return bool(self.name_property and self.lookup and self.identifier)


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a set of families can key a cache
class Family:
    """Everything about one resource family: how it builds, and what the rest of builder needs to know."""

    name: str
    build: Callable[[Composition], None]  # adds its resources, conditions and outputs to the primary template
    build_replica: Callable[[Composition], None] | None = None  # its part of the replica template, if any
    settings: tuple[Setting[Any], ...] = ()  # settings it declares beyond builder.settings.SETTINGS
    check: ConfigCheck | None = None  # its rules across settings that the settings' own declarations cannot say
    # regions beyond the stack's where it puts a bucket named for the suffix (the suffix must fit those names)
    bucket_regions: Callable[[EnvironmentConfig], tuple[str, ...]] | None = None
    parameters: tuple[ParameterSpec, ...] = ()
    stateful_types: tuple[str, ...] = ()  # resource types whose replacement or deletion loses data
    pricers: Mapping[str, Pricer] = field(default_factory=dict)  # resource type -> its pricer
    free_types: frozenset[str] = frozenset()  # types AWS does not bill by themselves
    prices: Mapping[str, Price] = field(default_factory=dict)  # price rows of its own, by key (every region)
    price_sources: Mapping[str, str] = field(default_factory=dict)  # Price.source of those rows -> the page
    checkov_skips: tuple[CheckovSkip, ...] = ()
    kinds: tuple[ResourceKind, ...] = ()
    drift_noise: tuple[NoiseRule, ...] = ()
