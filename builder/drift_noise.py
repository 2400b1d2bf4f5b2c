"""What a drift difference is, and how a known false positive among them is recognised.

Drift detection reports some differences that are not drift (a list handed back in another order,
a service default reported as missing). A `NoiseRule` names one such pattern, with its source; the
rules of one resource type are declared by the family that makes the type (`Family.drift_noise`),
the ones of every type by builder.stack.drift. Pure: no boto3, no files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

MODIFIED, ADDED, REMOVED = "MODIFIED", "ADDED", "REMOVED"

Json = Any


@dataclass(frozen=True)
class PropertyDifference:
    path: str
    expected: str
    actual: str
    kind: str  # MODIFIED, ADDED or REMOVED
    noise_reason: str | None = None


@dataclass(frozen=True)
class NoiseRule:
    """A known false positive: `matches(resource type, difference, expected props, actual props)`,
    applied to resources of `types` (every type when empty)."""

    reason: str
    matches: Callable[[str, PropertyDifference, Json, Json], bool]
    types: frozenset[str] = frozenset()

    def applies(self, resource_type: str, diff: PropertyDifference, expected: Json, actual: Json) -> bool:
        return (not self.types or resource_type in self.types) and self.matches(resource_type, diff, expected, actual)


def segments(path: str) -> list[str]:
    """A PropertyPath ("/Tags/0/Key") as its steps."""
    return [s for s in path.split("/") if s]


def value_at(document: Json, steps: Sequence[str]) -> Json:
    """The value at those steps of a properties document, or None when there is none."""
    for step in steps:
        if isinstance(document, list) and step.isdigit() and int(step) < len(document):
            document = document[int(step)]
        elif isinstance(document, dict) and step in document:
            document = document[step]
        else:
            return None
    return document


def parsed(text: str) -> Json:
    """A difference's ExpectedValue or ActualValue: JSON when it is JSON, else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text
