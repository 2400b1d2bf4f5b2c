"""Before a new stack is created: find the named resources an earlier stack of the same name left behind
(retain_data: the bucket and the table), stop with the command that adopts them, or (--adopt-retained)
import them first.

What can be adopted, how it is found and why an existing one does not fit are its family's
(`ResourceKind`); the import is builder.stack.adopt's. The IMPORT change set is made, shown, executed
and waited for; then deploy makes its normal change set for everything else, and the data guard
applies to it as always. A retained resource that differs from the template where the update after
the import would change (or replace) it (a table's key schema or billing mode) is reported, not adopted.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from builder import names
from builder.errors import OperationError
from builder.resources import inventory
from builder.stack import adopt
from builder.stack import client as aws
from builder.stack.changeset import Change, role_arg
from builder.stack.deployed import DeployedStack
from builder.stack.watch import StackWatcher
from builder.synth import Stack
from builder.template_values import NO_VALUE, DefaultsEvaluator

_PSEUDO = re.compile(r"\$\{(AWS::[A-Za-z]+)\}")


def resolve_name(value: Any, pseudo: Mapping[str, str]) -> str | None:
    """A physical name as AWS will see it: a string, or an Fn::Sub over pseudo parameters only; None
    for anything else (that name is not builder's deterministic one)."""
    if isinstance(value, str):
        return value
    text = value.get("Fn::Sub") if isinstance(value, dict) and len(value) == 1 else None
    if not isinstance(text, str) or set(re.findall(r"\$\{([^}]*)\}", text)) - set(pseudo):
        return None
    return _PSEUDO.sub(lambda m: pseudo[m.group(1)], text)


def _name_properties() -> dict[str, str]:
    """Resource type -> the property that names it, for every type that can be adopted."""
    return {rtype: kind.name_property for rtype, kind in inventory().kinds.items() if kind.adoptable}


def named_data_resources(template: Mapping[str, Any], pseudo: Mapping[str, str]) -> list[adopt.Retained]:
    """Every adoptable resource of the template (a bucket, a table) with a name it fixes, resolved."""
    keys = _name_properties()
    found = []
    for logical_id, resource in sorted(template.get("Resources", {}).items()):
        key = keys.get(resource.get("Type", ""))
        name = resolve_name(resource.get("Properties", {}).get(key), pseudo) if key else None
        if name:
            found.append(adopt.Retained(logical_id, resource["Type"], name))
    return found


def _needs_account(template: Mapping[str, Any]) -> bool:
    keys = _name_properties()
    return "${AWS::AccountId}" in json.dumps([r.get("Properties", {}).get(keys.get(r.get("Type", ""), ""))
                                               for r in template.get("Resources", {}).values()])


@dataclass(frozen=True)
class Mismatch:
    """A found resource that cannot be adopted as it is: which, and how it differs (its family's words)."""

    noun: str
    name: str
    difference: str


def mismatches(template: Mapping[str, Any], found: Sequence[adopt.Retained]) -> list[Mismatch]:
    """Why each found resource cannot be adopted as it is: its family compares what its lookup answered with
    the template's properties under the Parameter defaults (which are this suffix's values)."""
    resolved = DefaultsEvaluator(template).resources()
    out = []
    for resource in found:
        kind = resource.kind
        if kind.mismatches is not None:
            properties = resolved.get(resource.logical_id, {}).get("Properties", {})
            out += [Mismatch(kind.noun, resource.name, why) for why in kind.mismatches(resource.answer, properties)]
    return out


class RetainedInTheWay(OperationError):
    """A new stack's named resources already exist (left by an earlier stack with retain_data): they differ
    from the template, or they wait to be adopted (--adopt-retained). Nothing was created."""

    def __init__(self, stack: Stack, found: Sequence[adopt.Retained], differences: Sequence[Mismatch]) -> None:
        named = [f"{r.kind.noun} {r.name}" for r in found]  # `bucket b and table t already exist`
        exist = f"{' and '.join(named)} already {'exist' if len(named) > 1 else 'exists'}"
        if differences:
            said = "; ".join(f"{m.noun} {m.name}: {m.difference}" for m in differences)
            message = (f"{exist} but does not match the template: {said}; nothing was created. Change the config to "
                       f"match them, or move their data and delete them")
        else:
            command = (f"python -m builder deploy --suffix {stack.config.suffix} --region {stack.config.region} "
                       f"--adopt-retained")
            message = (f"the stack is new but its {exist} (left by an earlier stack with retain_data); nothing was "
                       f"created. Adopt them, data and all, with: {command} (and the same --config/--set)")
        super().__init__(stack.name, message)
        self.found = tuple(found)
        self.differences = tuple(differences)


def _denied(exc: OperationError) -> bool:
    """Was the check refused for lack of rights? (CI that deploys through a service role may have no
    S3 or DynamoDB rights of its own; HeadBucket then answers 403.)"""
    return aws.error_code(exc.__cause__) in {*aws.ACCESS_DENIED, "403"} if exc.__cause__ else False


def set_later(template: Mapping[str, Any], parameters: Mapping[str, str], left_out: Sequence[str]) -> list[str]:
    """The properties left out of the import (`Logical.Property`) that the stack will have: not those an
    Fn::If turns into AWS::NoValue with these parameter values (DataBucket.ReplicationConfiguration while
    replication is off), which no change set sets."""
    evaluator = DefaultsEvaluator({**template, "Parameters": {
        key: {**spec, "Default": parameters[key]} if key in parameters else spec
        for key, spec in (template.get("Parameters") or {}).items()}})
    resources = template.get("Resources") or {}
    return [item for item in left_out if evaluator.resolve(
        resources[item.split(".")[0]].get("Properties", {}).get(item.split(".", 1)[1])) is not NO_VALUE]


def before_create(watcher: StackWatcher, stack: Stack, current: DeployedStack | None,
                  adopt_retained: bool) -> DeployedStack | None:
    """For a stack about to be created: when a named resource of it already exists, stop (nothing
    created) with the command that adopts them, or with `adopt_retained` (--adopt-retained) import them
    and return the stack as the import left it. Otherwise return `current` unchanged."""
    template = json.loads(stack.template_body)
    pseudo = {"AWS::Region": stack.region, "AWS::Partition": names.partition(stack.region)}
    if _needs_account(template):
        pseudo["AWS::AccountId"] = watcher.account()
    wanted = named_data_resources(template, pseudo)
    if not wanted:
        return current
    try:
        found = adopt.find_retained(watcher.client, wanted)
    except OperationError as exc:
        if not (stack.config.cloudformation_role_arn and _denied(exc)):
            raise
        watcher.say("adopt check skipped", reason=exc.message)
        return current
    if not found:
        return current
    differences = mismatches(template, found)
    if differences or not adopt_retained:
        raise RetainedInTheWay(stack, found, differences)
    return _import(watcher, stack, template, found)


def _import(watcher: StackWatcher, stack: Stack, template: Mapping[str, Any],
            found: Sequence[adopt.Retained]) -> DeployedStack | None:
    body = adopt.import_template(template, found)
    for prop in set_later(template, stack.parameters, body.left_out):
        watcher.say("adopt sets later", prop=prop)
    parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in stack.parameters.items()
                  if k in body.body.get("Parameters", {})]
    change_set_id = adopt.import_change_set(watcher.cf, stack.name, f"builder-import-{uuid.uuid4().hex[:12]}", body,
                                            found, parameters=parameters, role_arn=role_arg(stack).get("RoleARN"))
    pauses = aws.intervals()
    while (described := watcher.read("describe_change_set", ChangeSetName=change_set_id))["Status"] in (
            "CREATE_PENDING", "CREATE_IN_PROGRESS"):
        watcher.pause(next(pauses))
    if described["Status"] == "FAILED":
        raise OperationError(stack.name, f"the IMPORT change set failed: {described.get('StatusReason', '')} (kept "
                                         f"for inspection: {described.get('ChangeSetName')})")
    changes = [Change.from_api(c) for c in described.get("Changes", [])]
    watcher.say("adopt importing", found=[(r.kind.noun, r.name) for r in found])
    watcher.reporter.show("import changes", tuple(changes), stack.name)
    stack_id = described["StackId"]
    baseline = watcher.latest_event_id(stack_id)
    watcher.cf.execute_change_set(ChangeSetName=change_set_id)
    final = watcher.watch(stack_id, baseline)
    if not final.succeeded:
        raise OperationError(stack.name, f"the import ended {final.status}: {watcher.root_cause()}")
    watcher.say("adopt imported")
    return final
