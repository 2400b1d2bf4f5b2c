"""What a template's resources look like when deployed with its Parameters' Default values.

A small evaluator for the intrinsics that decide *which* resources and settings exist: Ref to a
Parameter, Fn::If, Fn::Equals/And/Or/Not, Condition and AWS::NoValue. Anything else (GetAtt, Sub,
Ref to a resource, a Parameter without a Default) is UNKNOWN, never guessed.

Both `builder.cost` and the cfn-lint rules in `builder/rules` use it, so the cost table and the
guardrails read a template the same way; the data guard evaluates a template with the values a stack
has (or would have) through `values=` and compares two templates' resources with `partial`. Pure: no
cfn-lint, no boto3, no files.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class _Marker:
    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return self._name


UNKNOWN = _Marker("UNKNOWN")  # a value that depends on something other than Parameter defaults
NO_VALUE = _Marker("NO_VALUE")  # AWS::NoValue: the property is absent


_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class DefaultsEvaluator:
    """Resolves values of one template dict as a deploy that passes no parameter values would, or (with
    `values`) one that passes those: a value of a declared Parameter wins over its Default."""

    def __init__(self, template: Mapping[str, Any], pseudo: Mapping[str, str] | None = None,
                 values: Mapping[str, str] | None = None) -> None:
        self.template = template
        self.values: dict[str, str] = dict(pseudo or {})
        for name, parameter in (template.get("Parameters") or {}).items():
            if not isinstance(parameter, Mapping):
                continue
            if values is not None and name in values:
                self.values[name] = _text(values[name])
            elif "Default" in parameter:
                self.values[name] = _text(parameter["Default"])
        self._conditions: dict[str, bool | _Marker] = {}

    # ---------------------------------------------------------------- conditions
    def condition(self, name: str) -> bool | _Marker:
        """True or False for a named Condition, UNKNOWN when it depends on unknown values."""
        if name not in self._conditions:
            self._conditions[name] = UNKNOWN  # guards against a cycle; cfn-lint reports those itself
            definition = (self.template.get("Conditions") or {}).get(name)
            self._conditions[name] = UNKNOWN if definition is None else self._truth(definition)
        return self._conditions[name]

    def _truth(self, node: Any) -> bool | _Marker:
        if not isinstance(node, Mapping) or len(node) != 1:
            return UNKNOWN
        (function, args), = node.items()
        if function == "Condition" and isinstance(args, str):
            return self.condition(args)
        if function == "Fn::Equals" and isinstance(args, list) and len(args) == 2:
            left, right = (self.resolve(a) for a in args)
            if any(side is UNKNOWN for side in (left, right)):
                return UNKNOWN
            return _text(left) == _text(right)
        if function == "Fn::Not" and isinstance(args, list) and len(args) == 1:
            inner = self._truth(args[0])
            return UNKNOWN if inner is UNKNOWN else not inner
        if function in ("Fn::And", "Fn::Or") and isinstance(args, list):
            found = [self._truth(a) for a in args]
            decisive = bool(function == "Fn::Or")  # a True decides Or, a False decides And
            if decisive in found:
                return decisive
            return UNKNOWN if UNKNOWN in found else not decisive
        return UNKNOWN

    # ---------------------------------------------------------------- values
    def resolve(self, node: Any) -> Any:
        """The value with Fn::If and Ref-to-Parameter replaced; NoValue entries dropped."""
        if isinstance(node, list):
            items = [self.resolve(item) for item in node]
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            (key, args), = node.items()
            if key == "Ref":
                if args == "AWS::NoValue":
                    return NO_VALUE
                return self.values.get(args, UNKNOWN) if isinstance(args, str) else UNKNOWN
            if key == "Fn::If":
                if not (isinstance(args, list) and len(args) == 3 and isinstance(args[0], str)):
                    return UNKNOWN
                chosen = self.condition(args[0])
                return UNKNOWN if chosen is UNKNOWN else self.resolve(args[1] if chosen else args[2])
            if key.startswith("Fn::") or key == "Condition":
                return UNKNOWN
        resolved = {key: self.resolve(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def partial(self, node: Any) -> Any:
        """Like `resolve`, but what cannot be evaluated stays as written (with its insides resolved)
        instead of becoming UNKNOWN, so that two templates' values compare: equal text, equal value.
        An Fn::Sub whose every variable is known becomes its text."""
        if isinstance(node, list):
            return [item for item in (self.partial(i) for i in node) if item is not NO_VALUE]
        if not isinstance(node, Mapping):
            return node
        if len(node) == 1:
            (key, args), = node.items()
            if key == "Ref" and isinstance(args, str):
                return NO_VALUE if args == "AWS::NoValue" else self.values.get(args, dict(node))
            if key == "Fn::If" and isinstance(args, list) and len(args) == 3 and isinstance(args[0], str):
                chosen = self.condition(args[0])
                if chosen is not UNKNOWN:
                    return self.partial(args[1] if chosen else args[2])
            if key == "Fn::Sub":
                return self._sub(args)
        resolved = {key: self.partial(value) for key, value in node.items()}
        return {key: value for key, value in resolved.items() if value is not NO_VALUE}

    def _sub(self, args: Any) -> Any:
        if isinstance(args, str):
            text, variables = args, {}
        elif isinstance(args, list) and len(args) == 2 and isinstance(args[0], str) and isinstance(args[1], Mapping):
            text, variables = args
        else:
            return {"Fn::Sub": self.partial(args)}
        local = {name: self.partial(value) for name, value in variables.items()}
        known = {**self.values, **{k: _text(v) for k, v in local.items() if isinstance(v, (str, int, float))}}
        for name in local.keys() - {k for k, v in local.items() if isinstance(v, (str, int, float))}:
            known.pop(name, None)  # a variable of its own that is not known shadows a parameter of that name
        names = [name for name in _SUB_VARIABLE.findall(text) if not name.startswith("!")]
        if any(name not in known for name in names):
            return {"Fn::Sub": [text, local] if local else text}
        return _SUB_VARIABLE.sub(lambda m: "${" + m.group(1)[1:] + "}" if m.group(1).startswith("!")
                                 else known[m.group(1)], text)

    def exists(self, resource: Mapping[str, Any]) -> bool:
        """Does the resource exist with these values? (Its Condition true, unknown, or absent.)"""
        condition = resource.get("Condition")
        return not (isinstance(condition, str) and self.condition(condition) is False)

    def resources(self) -> dict[str, dict[str, Any]]:
        """Resources that exist under the defaults (Condition true or absent), properties resolved.

        A resource whose Condition is UNKNOWN is kept: it may exist.
        """
        found: dict[str, dict[str, Any]] = {}
        for name, resource in (self.template.get("Resources") or {}).items():
            if not isinstance(resource, Mapping) or not self.exists(resource):
                continue
            properties = self.resolve(resource.get("Properties") or {})
            found[name] = {"Type": resource.get("Type"),
                           "Properties": properties if isinstance(properties, dict) else {}}
        return found


def _text(value: Any) -> str:
    """Parameter values as CloudFormation compares them: text; true/false lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_number(value: Any) -> float | None:
    """A resolved value as a number, or None when it is not one (or unknown)."""
    if isinstance(value, bool) or value is UNKNOWN:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def is_intrinsic(node: Any) -> bool:
    """Is this a function call (Ref, Fn::..., Condition) that `partial` could not evaluate?"""
    if not (isinstance(node, Mapping) and len(node) == 1):
        return False
    key = str(next(iter(node)))
    return key in ("Ref", "Condition") or key.startswith("Fn::")


def as_flag(value: Any) -> bool | _Marker:
    """A resolved boolean property (true, "true", "false", ...) as a bool; UNKNOWN when it is not one."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return UNKNOWN


def existing_path(template: Mapping[str, Any], path: list[Any]) -> list[Any]:
    """The longest start of `path` that exists in the raw template, for pointing at a line.

    Resolved values lose their place when Fn::If or NoValue sit in between; the finding then
    points at the nearest enclosing property that is really there.
    """
    node: Any = template
    found: list[Any] = []
    for step in path:
        in_mapping = isinstance(node, Mapping) and not isinstance(step, int) and step in node
        in_list = isinstance(node, list) and isinstance(step, int) and 0 <= step < len(node)
        if in_mapping or in_list:
            node = node[step]
        else:
            break
        found.append(step)
    return found


# (property, unit, price key) of each capacity a part provisions
CAPACITY_FIELDS = (("ReadCapacityUnits", "RCU", "dynamodb.rcu_hour"),
                   ("WriteCapacityUnits", "WCU", "dynamodb.wcu_hour"))


@dataclass(frozen=True)
class CapacityPart:
    """The table or one of its global secondary indexes, with the throughput it provisions."""

    label: str  # "table" or "index <IndexName>"
    path: tuple[str | int, ...]  # of its ProvisionedThroughput, under the table's Properties
    throughput: Mapping[str, Any]


def capacity_parts(props: Mapping[str, Any]) -> list[CapacityPart]:
    """Every part of a table that bills provisioned capacity in PROVISIONED mode: the table and each GSI.
    The cost estimate and the W9001 lint rule both read capacities through this one walk."""
    parts = [CapacityPart("table", ("ProvisionedThroughput",), props.get("ProvisionedThroughput") or {})]
    for position, gsi in enumerate(props.get("GlobalSecondaryIndexes") or []):
        parts.append(CapacityPart(f"index {gsi.get('IndexName', position)}",
                                  ("GlobalSecondaryIndexes", position, "ProvisionedThroughput"),
                                  gsi.get("ProvisionedThroughput") or {}))
    return parts
