"""Durations as people write them in settings, tags and flags: a whole number with a unit.

`parse_duration("90m") == 5400`; `format_duration(5400) == "1h 30m"`. Pure, stdlib only: the
`ttl` setting, the `builder:ttl` tag and `reap --older-than` all read durations here, the same way.
"""

from __future__ import annotations

import re

UNITS: dict[str, int] = {"d": 86_400, "h": 3_600, "m": 60, "s": 1}
MIN_SECONDS = 1
MAX_SECONDS = 3_650 * UNITS["d"]

# ASCII digits only: `\d` would also take digits of other scripts, which int() then accepts.
_DURATION = re.compile(r"([0-9]+)([smhd])")
_EXPECTED = "expected a whole number with a unit s, m, h or d, such as 90m or 3d"


class DurationError(ValueError):
    """Not a duration, or out of range. The message says what is wrong and what would be right."""


def parse_duration(text: str) -> int:
    """Seconds in `text` ("1s" .. "3650d"), or DurationError."""
    match = _DURATION.fullmatch(text)
    if match is None:
        hint = ""
        lowered = text.lower()
        if lowered != text and _DURATION.fullmatch(lowered):
            hint = "; units are lower case"
        elif text != text.strip() and _DURATION.fullmatch(text.strip()):
            hint = "; no spaces around it"
        raise DurationError(f"{_EXPECTED} (got {text!r}){hint}")
    number, unit = match.groups()
    seconds = int(number) * UNITS[unit]
    if not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise DurationError(f"must be from 1s to 3650d (got {text!r})")
    return seconds


def format_duration(seconds: int) -> str:
    """A compact display: the two largest non-zero units, largest first ("3d", "2h 5m", "1d 5m", "0s").

    Exact for every value of at most two units, so for any duration written as one unit that is
    not oddly fine-grained ("90m", "3d"); beyond two units the smaller ones are dropped (rounded
    down): idle time reads "4d 2h", not "4d 2h 13m 7s".
    """
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative (got {seconds})")
    parts: list[str] = []
    rest = seconds
    for unit, size in UNITS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts[:2]) or "0s"
