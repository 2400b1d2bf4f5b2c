"""Values given for settings, by a config file or `--set`: where each came from, and its type checked
against its Setting (TOML values as they are; `--set` text converted). What the readers of both share.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from builder.errors import Problem
from builder.settings import RESERVED_TAGS, Setting, tag_problem

# Keys that exist but not in a config file or --set.
NOT_CONFIG_KEYS = {
    "region": "region is not a config key; use --region, AWS_REGION, AWS_DEFAULT_REGION, an AWS_REGION file "
              "or the region of your AWS profile",
    "suffix": "suffix is not a config key; use --suffix or ENVIRONMENT_SUFFIX",
}
# as text: re compiles each on first use, so a run without --set pays nothing for them
_WHOLE = r"[+-]?[0-9]+"  # ASCII digits only: int() takes any script's
_NUMBER = r"(?i)[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|infinity|nan)"
_TYPE_WORDS = {int: "a whole number", float: "a number", bool: "true or false", str: "a string", dict: "a table"}


class Given(NamedTuple):
    """A setting's value and where it was given: the file or `--set` (`where`) and the key path (`key`)."""

    value: Any
    where: str
    key: str


Typed = tuple[Any, str | None]  # the value in its setting's type, or None and what was expected


def closest(word: str, choices: Sequence[str]) -> str:
    """`; did you mean 'x'?` for the closest choice, else the list of them."""
    import difflib  # only for a key that is wrong: a good config does not pay for it

    match = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    return f"; did you mean {match[0]!r}?" if match else f"; valid keys: {', '.join(sorted(choices))}"


def _expected(setting: Setting[Any], value: Any) -> Typed:
    return None, f"expected {_TYPE_WORDS[setting.kind]} (got {_as_written(value)})"


def _as_written(value: Any) -> str:
    """A TOML value as the file spells it: a date or time is shown as written, not as a Python repr."""
    import datetime

    if isinstance(value, datetime.date | datetime.time):
        return f"the {type(value).__name__} {value.isoformat()}"
    return repr(value)


def _finite(number: float, shown: Any) -> Typed:
    return (number, None) if math.isfinite(number) else (None, f"expected a finite number (got {shown!r})")


def from_text(setting: Setting[Any], text: str) -> Typed:
    """A `--set` value in the setting's type: true/false, ASCII whole numbers, decimal numbers, text."""
    stripped = text.strip()
    if setting.kind is bool:
        low = stripped.lower()
        return (low == "true", None) if low in ("true", "false") else _expected(setting, text)
    if setting.kind is int:
        return (int(text), None) if re.fullmatch(_WHOLE, stripped) else _expected(setting, text)
    if setting.kind is float:  # float() also takes other scripts' digits and 1_0
        return _finite(float(text), text) if re.fullmatch(_NUMBER, stripped) else _expected(setting, text)
    return text, None


def from_toml(setting: Setting[Any], value: Any) -> Typed:
    """A config file's value in the setting's type: TOML's own types, an int where a float goes."""
    if setting.kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return _expected(setting, value)
    if setting.kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return _expected(setting, value)
        return _finite(float(value), value)
    if setting.kind in (bool, str, dict) and not isinstance(value, setting.kind):
        return _expected(setting, value)
    return value, None


def tag_error(key: str, value: Any) -> str | None:
    """Why one tag cannot be given (builder sets it itself, or AWS refuses it), or None."""
    return RESERVED_TAGS.get(key) or tag_problem(key, value)


def known_setting(key: str, where: str, keypath: str, known: Mapping[str, Setting[Any]],
                  problems: list[Problem]) -> Setting[Any] | None:
    """The setting a given key names, or None with the problem (not a config key; unknown: the closest)."""
    if key in NOT_CONFIG_KEYS:
        problems.append(Problem(where, keypath, NOT_CONFIG_KEYS[key]))
        return None
    setting = known.get(key)
    if setting is None:
        problems.append(Problem(where, keypath, f"unknown key{closest(key, list(known))}"))
    return setting
