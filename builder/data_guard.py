"""The data guard: every way a deploy would lose data, read from the deployed stack and the new one.

`findings(old, new)` compares what is deployed (the template from GetTemplate with TemplateStage
Original, the parameter values and termination protection from DescribeStacks) with what deploy would
send (the new template, parameter values and config), each template evaluated with its own values
(template_values: Conditions, Fn::If, Ref to a Parameter, Fn::Sub). It does not depend on what a change
set reports: a DeletionPolicy-only change may show no resource change, and LocalStack returns no change
Details at all. For every resource of a type a family in use declares as holding data (families/__init__.py:
DataHolder, Safeguard, collected by resources.inventory(), so a family plugged in at run time is guarded
too) it finds:

- removal: the resource leaves the template (or its Condition turns false), unless the deployed
  DeletionPolicy keeps it;
- replacement: the type changes, or a property that replaces it changes (a new, empty one);
- retention weakened: DeletionPolicy or UpdateReplacePolicy from Retain (or Snapshot) to Delete;
- each of the family's safeguards weakened: a switch turned off (versioning, point-in-time recovery,
  deletion protection), a limit introduced or shortened (lifecycle expiry), a member dropped (a
  replication destination);

and, for the stack itself, termination protection switched off. `merged` adds the change set's own
replacements (Replacement True or Conditional) that the templates do not show.

Pure: no boto3, no files, no printing. Each Finding is one line: the resource, what changes, what is lost.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from builder.families import DataHolder, Family, Safeguard
from builder.resources import inventory
from builder.template_values import UNKNOWN, DefaultsEvaluator

STACK_TYPE = "AWS::CloudFormation::Stack"
KEEPING_POLICIES = ("Retain", "RetainExceptOnCreate", "Snapshot")  # a deletion that keeps the data
DEFAULT_POLICY = "Delete"  # CloudFormation's, for the types that hold data here
# Finding kinds: two findings of one kind on one resource say the same thing
REMOVED, REPLACED, RETENTION, TERMINATION_PROTECTION = "removed", "replaced", "retention", "termination protection"


@dataclass(frozen=True)
class StackState:
    """One side of the comparison: a template with the parameter values it is (or would be) deployed
    with, the stack's termination protection, and the pseudo parameters (AWS::Region ...) when known."""

    template: Mapping[str, Any]
    parameters: Mapping[str, str]
    termination_protection: bool
    pseudo: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Finding:
    """One way the deploy would lose data: which resource, what changes, what is lost."""

    resource: str  # the logical id; the stack's name for a setting of the stack
    resource_type: str
    change: str
    reason: str
    kind: str  # REMOVED, REPLACED, RETENTION, TERMINATION_PROTECTION or the safeguard's `what`

    @property
    def text(self) -> str:
        return f"{self.resource} ({self.resource_type}): {self.change}: {self.reason}"

    def as_dict(self) -> dict[str, str]:
        """What JSON and markdown show: the resource, its type, the change and the reason."""
        return {"resource": self.resource, "type": self.resource_type, "change": self.change, "reason": self.reason}


def pseudo_parameters(stack_id: str) -> dict[str, str]:
    """AWS::Partition, AWS::Region, AWS::AccountId, AWS::StackName and AWS::StackId from a stack's ARN
    (arn:aws:cloudformation:us-east-1:123456789012:stack/app-pr1/<uuid>); none for anything else."""
    parts = stack_id.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[5].startswith("stack/"):
        return {}
    name = parts[5].split("/")[1]
    return {"AWS::Partition": parts[1], "AWS::Region": parts[3], "AWS::AccountId": parts[4],
            "AWS::StackName": name, "AWS::StackId": stack_id}


@dataclass(frozen=True)
class _Resource:
    type: str
    properties: Mapping[str, Any]
    deletion_policy: str | None  # None: not known (an expression builder cannot evaluate)
    replace_policy: str | None


def _policy(evaluator: DefaultsEvaluator, value: Any) -> str | None:
    resolved = evaluator.partial(DEFAULT_POLICY if value is None else value)
    return resolved if isinstance(resolved, str) else None


def _resources(state: StackState, maybe_exists: bool) -> dict[str, _Resource]:
    """The template's resources with these values, properties evaluated as far as they can be. A
    resource whose Condition cannot be evaluated counts as existing when `maybe_exists`, else not:
    the deployed side keeps what may be there, the new side drops what may not."""
    evaluator = DefaultsEvaluator(state.template, state.pseudo, state.parameters)
    found = {}
    for logical_id, resource in (state.template.get("Resources") or {}).items():
        if not isinstance(resource, Mapping):
            continue
        condition = resource.get("Condition")
        exists = evaluator.condition(condition) if isinstance(condition, str) else True
        if exists is False or (exists is UNKNOWN and not maybe_exists):
            continue
        properties = evaluator.partial(resource.get("Properties") or {})
        found[str(logical_id)] = _Resource(str(resource.get("Type", "")), properties if isinstance(
            properties, Mapping) else {}, _policy(evaluator, resource.get("DeletionPolicy")),
            _policy(evaluator, resource.get("UpdateReplacePolicy")))
    return found


def _shown(value: Any) -> str:
    """A property value as one short piece of text."""
    if value is None:
        return "(none)"
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= 80 else text[:77] + "..."


def _replaced_because(holder: DataHolder, was: _Resource, now: _Resource) -> str | None:
    if now.type != was.type:
        return f"type {was.type} → {now.type}"
    changed = [name for name in holder.replaced_by if was.properties.get(name) != now.properties.get(name)]
    return "; ".join(f"{name} {_shown(was.properties.get(name))} → {_shown(now.properties.get(name))}"
                     for name in changed) or None


def _replacement(logical_id: str, holder: DataHolder, was: _Resource, now: _Resource) -> Finding | None:
    because = _replaced_because(holder, was, now)
    if because is None:
        return None
    if was.replace_policy in KEEPING_POLICIES and now.replace_policy in KEEPING_POLICIES:
        reason = f"a new, empty one takes its place; the old one is kept outside the stack (UpdateReplacePolicy " \
                 f"{now.replace_policy})"
    else:
        reason = f"a new, empty one takes its place; deleting the old one loses {holder.lost}"
    return Finding(logical_id, was.type, f"replaced ({because})", reason, REPLACED)


def replaced_per_change_set(logical_id: str, resource_type: str, replacement: str, causes: tuple[str, ...],
                            physical_id: str, holder: DataHolder) -> Finding:
    """The change set's own word that a resource holding data would be replaced (its Replacement: True or
    Conditional; `causes`: what requires recreation), as a finding beside the templates' (`merged`)."""
    by = f" because {', '.join(causes)} changed" if causes else ""
    certainty = "replaced" if replacement == "True" else "may be replaced"
    old = f" ({physical_id})" if physical_id else ""
    return Finding(logical_id, resource_type, f"{certainty}{by} (Replacement={replacement})",
                   f"a new, empty one takes its place; deleting the old one{old} loses {holder.lost}", REPLACED)


def _retention(logical_id: str, holder: DataHolder, was: _Resource, now: _Resource) -> Finding | None:
    weakened = [(attribute, old, new) for attribute, old, new in (
        ("DeletionPolicy", was.deletion_policy, now.deletion_policy),
        ("UpdateReplacePolicy", was.replace_policy, now.replace_policy))
        if old in KEEPING_POLICIES and new is not None and new not in KEEPING_POLICIES]
    if not weakened:
        return None
    when = {("DeletionPolicy",): "deleting the stack (destroy, reap) or removing the resource",
            ("UpdateReplacePolicy",): "replacing it",
            ("DeletionPolicy", "UpdateReplacePolicy"): "deleting the stack (destroy, reap), removing the resource "
                                                       "or replacing it"}[tuple(a for a, _, _ in weakened)]
    return Finding(logical_id, was.type, ", ".join(f"{attribute} {old} → {new}" for attribute, old, new in weakened),
                   f"{when} would then lose {holder.lost}",
                   RETENTION)


def _weakened(logical_id: str, was: _Resource, now: _Resource, guards: Iterable[Safeguard]) -> list[Finding]:
    found = []
    for guard in guards:
        weakening = guard.weakening(was.properties, now.properties)
        if weakening is not None:
            found.append(Finding(logical_id, was.type, *weakening, guard.what))
    return found


def findings(old: StackState, new: StackState, stack_name: str = "the stack",
             families: tuple[Family, ...] | None = None) -> tuple[Finding, ...]:
    """Every way deploying `new` over `old` loses data, in the order of the deployed template's resources
    (sorted by logical id), the stack's termination protection last. Empty: nothing is lost. What holds
    data and what keeps it is what the families in use declare (or `families`)."""
    declared = inventory(families)
    holders, guards = declared.data_holders, declared.safeguards
    before, after = _resources(old, maybe_exists=True), _resources(new, maybe_exists=False)
    found: list[Finding] = []
    for logical_id, was in sorted(before.items()):
        holder = holders.get(was.type)
        if holder is None:
            continue
        now = after.get(logical_id)
        if now is None:
            if was.deletion_policy not in KEEPING_POLICIES:
                found.append(Finding(logical_id, was.type, f"removed from the template (DeletionPolicy "
                                                           f"{was.deletion_policy or 'not known'})",
                                     f"deleting it loses {holder.lost}", REMOVED))
            continue
        found += [f for f in (_replacement(logical_id, holder, was, now), _retention(logical_id, holder, was, now))
                  if f is not None]
        if now.type == was.type:
            found += _weakened(logical_id, was, now, guards.get(was.type, ()))
    if old.termination_protection and not new.termination_protection:
        found.append(Finding(stack_name, STACK_TYPE, "termination protection: on → off",
                             "one DeleteStack call (destroy, reap, the console) can then delete the stack and "
                             "every resource it does not retain", TERMINATION_PROTECTION))
    return tuple(found)


def merged(from_templates: Iterable[Finding], from_change_set: Iterable[Finding]) -> tuple[Finding, ...]:
    """The templates' findings, then the change set's that say something new: a replacement the
    templates do not show (a resource already found replaced or removed is not repeated)."""
    found = tuple(from_templates)
    covered = {f.resource for f in found if f.kind in (REMOVED, REPLACED)}
    return found + tuple(f for f in from_change_set if f.resource not in covered)
