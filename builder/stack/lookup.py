"""Asking AWS whether one named resource exists, the way its family's `Lookup` says.

Adoption asks it of every named data resource of a new stack; destroy asks it, once a stack is deleted,
of what it emptied before. One read call each; the family says which and what its errors mean.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import botocore.exceptions

from builder.errors import OperationError
from builder.families import Lookup
from builder.stack.client import error_code


def look_up(client: Any, lookup: Lookup, value: str, noun: str) -> Mapping[str, Any] | None:
    """The lookup's answer when the resource exists, None when it does not. A name taken where these
    credentials cannot read it is an OperationError; any other failure is raised as it is (callers
    translate it)."""
    try:
        answer: Mapping[str, Any] = getattr(client, lookup.operation)(**{lookup.parameter: value})
    except botocore.exceptions.ClientError as exc:
        code = error_code(exc)
        if code in lookup.missing:
            return None
        if code in lookup.foreign:
            raise OperationError(f"{noun} {value}", f"the name is taken by a {noun} these credentials cannot read "
                                                    f"(another account's?); pick another prefix or suffix") from exc
        raise
    return answer
