"""The CloudFormation templates, composed from the resource families in builder/families/.

`build_template(config)` and `build_replica_template(config)` are pure: no printing, no files,
no boto3. One structure serves every suffix. Deploy-time settings (billing mode, capacities,
replication, lifecycle days, alert email, alarm thresholds) are Parameters whose Defaults carry
the suffix's config; Conditions over them choose the billing mode and replication. Synth-time
settings (customer_managed_key, retain_data, names, tags) change which resources and policies
exist, because security scanners do not evaluate Fn::If.

Each family declares its Parameters (ParameterSpec); this module turns those declarations into the
templates' Parameters and into the values a deploy sends, so both come from one place. It also
collects what the rest of builder reads from the families (`inventory()`), and records which family
added each resource (`Composed.families`).

The families are FAMILIES, and for the length of a `with plugged_in(family):` block that family too:
a test (or a contributor trying a family out) adds one without editing a module.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from troposphere import Parameter, Template

from builder.drift_noise import NoiseRule
from builder.environment import EnvironmentConfig, Schema
from builder.families import (
    AlarmSpec,
    CheckovSkip,
    Composition,
    DataHolder,
    Family,
    ParameterSpec,
    ResourceKind,
    Safeguard,
    alerts,
    keys,
    replication,
    storage,
    table,
)
from builder.pricing import Price, Pricer
from builder.settings import SETTINGS, Setting

SCALAR_KINDS = (int, float, bool, str)  # a family's setting is one of these (a config stays hashable)

# In build order: a family may use what an earlier one added (the key; the data bucket), and alerts,
# last, wires every family's alarms to its topic (in this order: the topic policy lists them so).
FAMILIES: tuple[Family, ...] = (keys.FAMILY, table.FAMILY, storage.FAMILY, replication.FAMILY, alerts.FAMILY)
# The graph's boxes: these families first, in this order (the key, the buckets and their replication,
# the table), then every other family in build order, so alerts, which watches them all, comes last.
DRAWN_FIRST = ("keys", "storage", "replication", "table")
_ACTIVE: list[tuple[Family, ...]] = [FAMILIES]  # the families in use: FAMILIES, or more inside plugged_in


def active() -> tuple[Family, ...]:
    """The families templates are built from now, in build order."""
    return _ACTIVE[-1]


def _families(families: tuple[Family, ...] | None) -> tuple[Family, ...]:
    return active() if families is None else families


def all_settings(families: tuple[Family, ...] | None = None) -> tuple[Setting[Any], ...]:
    """builder.settings.SETTINGS, then every family's own settings in build order: what a config accepts."""
    families = _families(families)
    found = (*SETTINGS, *(s for family in families for s in family.settings))
    names = [s.name for s in found]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"settings declared twice: {', '.join(repeated)}")
    dangling = sorted(f"{s.name} names {other}" for s in found
                      for other in (s.requires, s.only_with[0] if s.only_with else None)
                      if other is not None and other not in names)
    if dangling:
        raise ValueError(f"a setting's requires or only_with names no setting: {', '.join(dangling)}")
    not_scalar = sorted(s.name for family in families for s in family.settings if s.kind not in SCALAR_KINDS)
    if not_scalar:
        raise ValueError(f"a family's setting must be an int, float, bool or str: {', '.join(not_scalar)}")
    return found


def _schema(families: tuple[Family, ...]) -> Schema:
    return Schema(all_settings(families), tuple(f.check for f in families if f.check is not None),
                  tuple(f.bucket_regions for f in families if f.bucket_regions is not None))


_schemas = functools.lru_cache(maxsize=8)(_schema)


def schema(families: tuple[Family, ...] | None = None) -> Schema:
    """What resolve_configs accepts and checks, from the families in use (or the ones given): every setting,
    the families' checks across theirs, and the regions beyond the stack's where they put buckets."""
    return _schemas(_families(families))


def parameter_specs(families: tuple[Family, ...] | None = None) -> tuple[ParameterSpec, ...]:
    """Every family's ParameterSpecs, checked against the settings: each deploy-time setting is carried
    by a Parameter, and a Parameter carries only a deploy-time setting."""
    families = _families(families)
    specs = tuple(spec for family in families for spec in family.parameters)
    settings = {s.name: s for s in all_settings(families)}
    wrong = sorted({spec.setting for spec in specs if spec.setting not in settings
                    or not settings[spec.setting].deploy_time})
    missing = sorted(name for name, s in settings.items() if s.deploy_time and name not in {p.setting for p in specs})
    if wrong or missing:
        raise ValueError(f"Parameters must carry exactly the deploy-time settings: no setting or not deploy-time: "
                         f"{wrong}; deploy-time without a Parameter: {missing}")
    return specs


PARAMETERS = parameter_specs(FAMILIES)  # checked at import: a deploy-time setting without a Parameter fails early


@contextmanager
def plugged_in(*extra: Family) -> Iterator[tuple[Family, ...]]:
    """Within the block, build with `extra` as well: after the families in use and before the last one,
    alerts (it wires every family's alarms to its topic). Checked first: names, settings and each type's
    ResourceKind declared once, a Parameter for each deploy-time setting. Yields the families in use.

    For tests, and for trying a family out; a family of builder's own is a line in FAMILIES."""
    families = (*active()[:-1], *extra, active()[-1])
    names = [family.name for family in families]
    if len(set(names)) < len(names):
        raise ValueError(f"two families named alike: {', '.join(names)}")
    parameter_specs(families)
    _ = inventory(families).kinds  # a type's ResourceKind declared once
    _ = inventory(families).safeguards  # the data guard's declarations agree (and cover the data holders)
    _ACTIVE.append(families)
    try:
        yield families
    finally:
        _ACTIVE.remove(families)


@dataclass(frozen=True)
class Inventory:
    """What builder reads from a set of families, collected once per set."""

    families: tuple[Family, ...]

    @functools.cached_property
    def drawing_order(self) -> tuple[str, ...]:
        """The families' boxes in the graph, in the order they are written."""
        names = [family.name for family in self.families]
        return (*(name for name in DRAWN_FIRST if name in names), *(name for name in names if name not in DRAWN_FIRST))

    @functools.cached_property
    def data_holders(self) -> Mapping[str, DataHolder]:
        """The data guard's: each DataHolder by its type (two families may declare one type only alike)."""
        found: dict[str, DataHolder] = {}
        for holder in (h for family in self.families for h in family.holds_data):
            if found.setdefault(holder.resource_type, holder) != holder:
                raise ValueError(f"{holder.resource_type} is declared as holding data twice, differently")
        return MappingProxyType(found)

    @functools.cached_property
    def safeguards(self) -> Mapping[str, tuple[Safeguard, ...]]:
        """The data guard's: each type's Safeguards; each must guard a type some family says holds data."""
        found: dict[str, tuple[Safeguard, ...]] = {}
        for guard in (g for family in self.families for g in family.safeguards):
            found[guard.resource_type] = (*found.get(guard.resource_type, ()), guard)
        orphans = sorted(set(found) - set(self.data_holders))
        if orphans:
            raise ValueError(f"safeguards of types no family declares as holding data: {', '.join(orphans)}")
        return MappingProxyType(found)

    @functools.cached_property
    def checkov_skips(self) -> tuple[CheckovSkip, ...]:
        return tuple(skip for family in self.families for skip in family.checkov_skips)

    @functools.cached_property
    def pricers(self) -> Mapping[str, Pricer]:
        return MappingProxyType({rtype: pricer for family in self.families for rtype, pricer in family.pricers.items()})

    @functools.cached_property
    def free_types(self) -> frozenset[str]:
        return frozenset(rtype for family in self.families for rtype in family.free_types)

    @functools.cached_property
    def prices(self) -> Mapping[str, Price]:
        """The price rows families bring beside builder.pricing's table, by key."""
        return MappingProxyType({key: price for family in self.families for key, price in family.prices.items()})

    @functools.cached_property
    def price_sources(self) -> Mapping[str, str]:
        return MappingProxyType({key: url for family in self.families for key, url in family.price_sources.items()})

    @functools.cached_property
    def remove_commands(self) -> Mapping[str, str]:
        """destroy's ledger: the AWS CLI command that removes a resource left behind, by its type."""
        return MappingProxyType({t: c for family in self.families for t, c in family.remove_commands.items()})

    @functools.cached_property
    def kinds(self) -> Mapping[str, ResourceKind]:
        """Each ResourceKind by its type (a type has one kind, declared by the family that makes it)."""
        found: dict[str, ResourceKind] = {}
        for family in self.families:
            for kind in family.kinds:
                if kind.type in found:
                    raise ValueError(f"{kind.type}: ResourceKind declared twice (family {family.name})")
                found[kind.type] = kind
        return MappingProxyType(found)

    @functools.cached_property
    def drift_noise(self) -> tuple[NoiseRule, ...]:
        return tuple(rule for family in self.families for rule in family.drift_noise)


_inventory = functools.lru_cache(maxsize=8)(Inventory)


def inventory(families: tuple[Family, ...] | None = None) -> Inventory:
    """What builder reads from the families in use (or the ones given)."""
    return _inventory(_families(families))


def _specs(families: tuple[Family, ...]) -> tuple[ParameterSpec, ...]:
    return PARAMETERS if families is FAMILIES else parameter_specs(families)


def deploy_parameters(config: EnvironmentConfig, families: tuple[Family, ...] | None = None) -> dict[str, str]:
    """Every Parameter of the primary template with this suffix's value (also its Default)."""
    return {spec.title: spec.value(config) for spec in _specs(_families(families)) if spec.present(config)}


def replica_parameters(config: EnvironmentConfig, families: tuple[Family, ...] | None = None) -> dict[str, str]:
    """Every Parameter of the replica template with this suffix's value (also its Default)."""
    return {spec.title: spec.value(config) for spec in _specs(_families(families))
            if spec.in_replica and spec.present(config)}


@dataclass(frozen=True)
class Composed:
    """A template and which family added each of its resources (by logical id). An alarm belongs to the
    family that asked for it, although alerts creates it."""

    template: Template
    families: Mapping[str, str]
    alarms: tuple[AlarmSpec, ...]


def _compose(config: EnvironmentConfig, description: str, specs: tuple[ParameterSpec, ...],
             builds: list[tuple[str, Callable[[Composition], None]]]) -> Composed:
    t = Template(Description=description)
    t.set_version("2010-09-09")
    parameters = {spec.title: t.add_parameter(Parameter(spec.title, Default=spec.value(config), **spec.properties))
                  for spec in specs if spec.present(config)}
    composition = Composition(t, config, parameters)
    added: dict[str, str] = {}
    asked: dict[str, str] = {}  # alarm title -> the family whose AlarmSpec it is
    for name, build in builds:
        resources, alarms = set(t.resources), len(composition.alarms)
        build(composition)
        added.update((logical_id, name) for logical_id in t.resources if logical_id not in resources)
        asked.update((spec.title, name) for spec in composition.alarms[alarms:])
    added.update((title, name) for title, name in asked.items() if title in added)
    return Composed(t, MappingProxyType(added), tuple(composition.alarms))


# How every template builder has made begins its Description (DescribeStacks shows it): how a stack an
# earlier builder made, before the builder:managed-by tag, is told from another tool's (builder.ops.ownership).
DESCRIPTION_START = "builder: "


def compose(config: EnvironmentConfig, families: tuple[Family, ...] | None = None) -> Composed:
    """The primary stack of one environment, with which family added what."""
    families = _families(families)
    return _compose(config, f"{DESCRIPTION_START}data bucket, table, alerts and alarms of environment {config.suffix}",
                    _specs(families), [(family.name, family.build) for family in families])


def compose_replica(config: EnvironmentConfig, families: tuple[Family, ...] | None = None) -> Composed:
    """The replica stack: the destination bucket in replication_region (and its own key)."""
    families = _families(families)
    return _compose(config, f"{DESCRIPTION_START}replica bucket of environment {config.suffix}",
                    tuple(spec for spec in _specs(families) if spec.in_replica),
                    [(family.name, family.build_replica) for family in families if family.build_replica is not None])


def build_template(config: EnvironmentConfig, families: tuple[Family, ...] | None = None) -> Template:
    """The primary stack of one environment."""
    return compose(config, families).template


def build_replica_template(config: EnvironmentConfig, families: tuple[Family, ...] | None = None) -> Template:
    """The replica stack: the destination bucket in replication_region (and its own key)."""
    return compose_replica(config, families).template
