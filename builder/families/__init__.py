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
- the drift noise rules of its types (`builder.drift_noise.NoiseRule`);
- what its data-holding resources lose (the data guard, builder/data_guard.py): a `DataHolder` per
  resource type that holds data (what deleting it loses, which property changes replace it) and a
  `Safeguard` per setting that keeps the data (versioning, expiry, backups...) and what weakening it loses.

Which family added each resource is recorded when the template is composed (the graph groups by it).
A family never imports boto3: what it says about AWS is data (a `Lookup`) or a function that is given
a client by the layer that makes the calls.

This module holds only the types the families share; shared.py the small helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

from troposphere import Parameter, Template, kms, s3

from builder.drift_noise import NoiseRule
from builder.environment import ConfigCheck, EnvironmentConfig
from builder.pricing import Price, Pricer
from builder.settings import Setting


class CheckovSkip(NamedTuple):
    """A checkov check skipped on purpose, with its one-line reason (docs/safety.md lists it)."""

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
    # whether it tells, within CloudFormation's monitoring time (at most 180 minutes), that a deploy went wrong:
    # `rollback_alarms` then passes it as a rollback trigger of an update (docs/configuration.md says which)
    rollback_trigger: bool = False


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


# ---------------------------------------------------------------------------- the data guard's declarations

@dataclass(frozen=True)
class DataHolder:
    """A resource type whose deletion loses data: what is lost, and which properties replace it when
    they change (CloudFormation's create-only properties: a new, empty resource takes its place)."""

    resource_type: str
    lost: str  # what deleting one loses, a noun phrase: "its items"
    replaced_by: tuple[str, ...] = ()


SafeguardKind = Literal["switch", "limit", "members"]


def _days(value: float) -> str:
    shown = int(value) if float(value).is_integer() else value
    return f"{shown} day" if shown == 1 else f"{shown} days"  # 1 day, 30 days, 7.5 days


@dataclass(frozen=True)
class Safeguard:
    """A property of a data holder that keeps its data; a change that weakens it loses data.

    `read` gets the resource's Properties resolved with the stack's parameter values and returns, by kind:
    - "switch": True (on) or False (off); weakened when on turns off;
    - "limit": how many days data is kept, or None (for ever); weakened when a limit appears or drops;
    - "members": a frozenset of names (where copies go); weakened when one leaves;
    or template_values.UNKNOWN when the template does not say (then nothing is claimed).
    `lost` says what the weakening loses; it may name {old} and {new}, the values as `change` shows them.
    """

    resource_type: str
    what: str  # "versioning", "noncurrent versions expire"
    kind: SafeguardKind
    read: Callable[[Mapping[str, Any]], object]
    lost: str

    def weakening(self, old_properties: Mapping[str, Any], new_properties: Mapping[str, Any]) -> tuple[str, str] | None:
        """(what changes, what is lost) when the new properties weaken this safeguard; None when they do
        not, or when either side is unknown."""
        old, new = self.read(old_properties), self.read(new_properties)
        if self.kind == "switch":
            if old is not True or new is not False:
                return None
            before, after = "on", "off"
        elif self.kind == "limit":
            if not (old is None or isinstance(old, (int, float))) or not isinstance(new, (int, float)) \
                    or (old is not None and new >= old):
                return None
            before, after = ("never" if old is None else f"after {_days(old)}"), f"after {_days(new)}"
        else:
            if not (isinstance(old, frozenset) and isinstance(new, frozenset)) or old <= new:
                return None
            before, after = ", ".join(sorted(old - new)), ", ".join(sorted(new - old)) or "none"
        return f"{self.what}: {before} → {after}", self.lost.format(old=before, new=after)


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
    pricers: Mapping[str, Pricer] = field(default_factory=dict)  # resource type -> its pricer
    free_types: frozenset[str] = frozenset()  # types AWS does not bill by themselves
    prices: Mapping[str, Price] = field(default_factory=dict)  # price rows of its own, by key (every region)
    price_sources: Mapping[str, str] = field(default_factory=dict)  # Price.source of those rows -> the page
    checkov_skips: tuple[CheckovSkip, ...] = ()
    kinds: tuple[ResourceKind, ...] = ()
    drift_noise: tuple[NoiseRule, ...] = ()
    # the data guard (resources.inventory().data_holders, .safeguards): which resource types hold data,
    # and the properties that keep it
    holds_data: tuple[DataHolder, ...] = ()
    safeguards: tuple[Safeguard, ...] = ()
    # destroy's ledger: resource type -> the AWS CLI command that removes one left behind ({id}, {region})
    remove_commands: Mapping[str, str] = field(default_factory=dict)
