"""W9003: a Condition that switches behaviour on an environment's name instead of on a setting."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

# Words that make a literal an environment name: "prod", "app-prod", "StagingEU", "pr123".
ENVIRONMENT_WORDS = frozenset({
    "prod", "production", "prd", "preprod", "staging", "stage", "stg", "dev", "develop", "development",
    "test", "testing", "qa", "uat", "sandbox",
})
# Words that make a Parameter the environment's identity: Env, Environment, EnvName, Stage, Suffix.
IDENTITY_WORDS = frozenset({"env", "environment", "stage", "suffix", "tier"})
# Literals that are settings, never names: flags compared with a parameter are fine.
FLAG_WORDS = frozenset({"", "true", "false", "yes", "no", "on", "off", "enabled", "disabled", "none"})
_PULL_REQUEST = re.compile(r"^(pr|pull|mr)-?\d+$", re.IGNORECASE)
_SUB_NAME = re.compile(r"\$\{([^}!][^}]*)\}")


def words(text: str) -> list[str]:
    """camelCase, snake_case and kebab-case split into lower-case words."""
    return [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", text)]


def names_environment(literal: str) -> bool:
    return bool(ENVIRONMENT_WORDS.intersection(words(literal))) or bool(_PULL_REQUEST.match(literal))


def referenced(node: Any) -> set[str]:
    """Every name a value Refs, directly or inside Fn::Sub strings, at any depth."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::Sub":
                text = value[0] if isinstance(value, list) and value else value
                if isinstance(text, str):
                    found.update(name.strip() for name in _SUB_NAME.findall(text))
            found |= referenced(value)
    elif isinstance(node, list):
        for value in node:
            found |= referenced(value)
    return found


class ConditionOnEnvironmentName(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no type information: its base class is Any
    id = "W9003"
    shortdesc = "Condition compares with an environment name"
    description = (
        "A Condition's Fn::Equals compares something with a literal environment name (prod, staging, dev, "
        "pr123, ...), or compares the stack name or an environment-identity parameter (Env, Environment, "
        "Stage, Suffix, Tier) with a literal that is not a flag or one of the parameter's AllowedValues. "
        "Behaviour keyed on names drifts from the config: make the behaviour itself a parameter or setting."
    )
    source_url = "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/conditions-section-structure.html"
    tags: ClassVar[list[str]] = ["conditions", "cost"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        parameters = cfn.template.get("Parameters") or {}
        for name, definition in (cfn.template.get("Conditions") or {}).items():
            for path, args in _equals(definition, ["Conditions", name]):
                reason = _reason(args, parameters)
                if reason:
                    matches.append(RuleMatch(path, f"Condition {name} {reason}; make the behaviour a parameter "
                                                   f"or setting instead of keying it on a name"))
        return matches


def _equals(node: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], list[Any]]]:
    """(path, arguments) of every Fn::Equals inside a condition definition."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::Equals" and isinstance(value, list) and len(value) == 2:
                yield [*path, key], value
            yield from _equals(value, [*path, key])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _equals(value, [*path, index])


def _reason(args: list[Any], parameters: Mapping[str, Any]) -> str | None:
    literals = [a for a in args if isinstance(a, str)]
    others = [a for a in args if not isinstance(a, str)]
    if len(literals) != 1 or len(others) != 1:
        return None  # two literals or two expressions: not a comparison with a name
    literal, other = literals[0], others[0]
    if names_environment(literal):
        return f"compares with {literal!r}, an environment name"
    if literal.lower() in FLAG_WORDS:
        return None
    for ref in sorted(referenced(other)):
        if ref == "AWS::StackName":
            return f"compares the stack name with {literal!r}"
        parameter = parameters.get(ref)
        if not isinstance(parameter, dict) or not IDENTITY_WORDS.intersection(words(ref)):
            continue
        if literal in [str(v) for v in parameter.get("AllowedValues") or []]:
            continue  # one of the parameter's documented values, not a name
        return f"compares parameter {ref} (an environment identity) with {literal!r}"
    return None
