"""The CloudFormation templates, composed from the resource families in builder/families/.

`build_template(config)` and `build_replica_template(config)` are pure: no printing, no files,
no boto3. One structure serves every suffix. Deploy-time settings (billing mode, capacities,
replication, lifecycle days, alert email, alarm thresholds) are Parameters whose Defaults carry
the suffix's config; Conditions over them choose the billing mode and replication. Synth-time
settings (customer_managed_key, retain_data, names, tags) change which resources and policies
exist, because security scanners do not evaluate Fn::If.

Each family declares its Parameters (ParameterSpec); this module turns those declarations into the
templates' Parameters and into the values a deploy sends, so both come from one place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from troposphere import Parameter, Template

from builder.environment import EnvironmentConfig
from builder.families import (
    CheckovSkip,
    Composition,
    DataHolder,
    Family,
    ParameterSpec,
    Safeguard,
    alerts,
    keys,
    replication,
    storage,
    table,
)
from builder.pricing import Pricer
from builder.settings import SETTINGS, Setting

SCALAR_KINDS = (int, float, bool, str)  # a family's setting is one of these (a config stays hashable)

# In build order: a family may use what an earlier one added (the key; the data bucket), and alerts,
# last, wires every family's alarms to its topic.
FAMILIES: tuple[Family, ...] = (keys.FAMILY, table.FAMILY, storage.FAMILY, replication.FAMILY, alerts.FAMILY)


def all_settings(families: tuple[Family, ...] = FAMILIES) -> tuple[Setting, ...]:
    """builder.settings.SETTINGS and every family's own settings: what resolve_configs(settings=...) accepts."""
    found = (*SETTINGS, *(s for family in families for s in family.settings))
    names = [s.name for s in found]
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"settings declared twice: {', '.join(repeated)}")
    not_scalar = sorted(s.name for family in families for s in family.settings if s.kind not in SCALAR_KINDS)
    if not_scalar:
        raise ValueError(f"a family's setting must be an int, float, bool or str: {', '.join(not_scalar)}")
    return found


def parameter_specs(families: tuple[Family, ...] = FAMILIES) -> tuple[ParameterSpec, ...]:
    """Every family's ParameterSpecs, checked against the settings: each deploy-time setting is carried
    by a Parameter, and a Parameter carries only a deploy-time setting."""
    specs = tuple(spec for family in families for spec in family.parameters)
    settings = {s.name: s for s in all_settings(families)}
    wrong = sorted({spec.setting for spec in specs if spec.setting not in settings
                    or not settings[spec.setting].deploy_time})
    missing = sorted(name for name, s in settings.items() if s.deploy_time and name not in {p.setting for p in specs})
    if wrong or missing:
        raise ValueError(f"Parameters must carry exactly the deploy-time settings: no setting or not deploy-time: "
                         f"{wrong}; deploy-time without a Parameter: {missing}")
    return specs


def data_holders(families: tuple[Family, ...] = FAMILIES) -> Mapping[str, DataHolder]:
    """Every family's DataHolders by resource type; two families may declare one type only alike."""
    found: dict[str, DataHolder] = {}
    for holder in (h for family in families for h in family.holds_data):
        if found.setdefault(holder.resource_type, holder) != holder:
            raise ValueError(f"{holder.resource_type} is declared as holding data twice, differently")
    return MappingProxyType(found)


def safeguards(families: tuple[Family, ...] = FAMILIES) -> Mapping[str, tuple[Safeguard, ...]]:
    """Every family's Safeguards by resource type; each must guard a type some family says holds data."""
    found: dict[str, tuple[Safeguard, ...]] = {}
    for guard in (g for family in families for g in family.safeguards):
        found[guard.resource_type] = (*found.get(guard.resource_type, ()), guard)
    orphans = sorted(set(found) - set(data_holders(families)))
    if orphans:
        raise ValueError(f"safeguards of types no family declares as holding data: {', '.join(orphans)}")
    return MappingProxyType(found)


PARAMETERS = parameter_specs()  # checked at import: a deploy-time setting without a Parameter fails early
DATA_HOLDERS = data_holders()  # the data guard's: by resource type
SAFEGUARDS = safeguards()
STATEFUL_TYPES: tuple[str, ...] = tuple(DATA_HOLDERS)
CHECKOV_SKIPS: tuple[CheckovSkip, ...] = tuple(skip for family in FAMILIES for skip in family.checkov_skips)
PRICERS: Mapping[str, Pricer] = MappingProxyType({rtype: pricer for family in FAMILIES
                                                  for rtype, pricer in family.pricers.items()})
FREE_TYPES: frozenset[str] = frozenset(rtype for family in FAMILIES for rtype in family.free_types)


def _specs(families: tuple[Family, ...]) -> tuple[ParameterSpec, ...]:
    return PARAMETERS if families is FAMILIES else parameter_specs(families)


def deploy_parameters(config: EnvironmentConfig, families: tuple[Family, ...] = FAMILIES) -> dict[str, str]:
    """Every Parameter of the primary template with this suffix's value (also its Default)."""
    return {spec.title: spec.value(config) for spec in _specs(families)}


def replica_parameters(config: EnvironmentConfig, families: tuple[Family, ...] = FAMILIES) -> dict[str, str]:
    """Every Parameter of the replica template with this suffix's value (also its Default)."""
    return {spec.title: spec.value(config) for spec in _specs(families) if spec.in_replica}


def _compose(config: EnvironmentConfig, description: str, specs: tuple[ParameterSpec, ...],
             builds: list[Callable[[Composition], None]]) -> Template:
    t = Template(Description=description)
    t.set_version("2010-09-09")
    parameters = {spec.title: t.add_parameter(Parameter(spec.title, Default=spec.value(config), **spec.properties))
                  for spec in specs}
    composition = Composition(t, config, parameters)
    for build in builds:
        build(composition)
    return t


def build_template(config: EnvironmentConfig, families: tuple[Family, ...] = FAMILIES) -> Template:
    """The primary stack of one environment."""
    return _compose(config, f"builder: data bucket, table, alerts and alarms of environment {config.suffix}",
                    _specs(families), [family.build for family in families])


def build_replica_template(config: EnvironmentConfig, families: tuple[Family, ...] = FAMILIES) -> Template:
    """The replica stack: the destination bucket in replication_region (and its own key)."""
    return _compose(config, f"builder: replica bucket of environment {config.suffix}",
                    tuple(spec for spec in _specs(families) if spec.in_replica),
                    [family.build_replica for family in families if family.build_replica is not None])
