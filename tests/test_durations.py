"""builder.durations: every accepted form, every rejected one with its message, and the display."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from builder.durations import MAX_SECONDS, DurationError, format_duration, parse_duration

EXPECTED = "expected a whole number with a unit s, m, h or d, such as 90m or 3d"


@pytest.mark.parametrize("text,seconds", [
    ("1s", 1),
    ("59s", 59),
    ("1m", 60),
    ("90m", 5_400),
    ("2h", 7_200),
    ("3d", 259_200),
    ("3650d", MAX_SECONDS),
    ("87600h", MAX_SECONDS),
    ("315360000s", MAX_SECONDS),
    ("01m", 60),
])
def test_good_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", [
    "", "3", "d", "3 d", "3days", "3 days", "1.5h", "1,5h", "-1d", "+1d", "1d2h", "1h30m", "3w", "3y",
    "0x10s", "1e3s", "½h", "٣d", "３d", "3dd", "3ｄ",
])
def test_not_a_duration(text: str) -> None:
    with pytest.raises(DurationError) as raised:
        parse_duration(text)
    assert str(raised.value) == f"{EXPECTED} (got {text!r})"


@pytest.mark.parametrize("text,hint", [
    ("3D", "units are lower case"),
    ("90M", "units are lower case"),
    (" 3d", "no spaces around it"),
    ("3d ", "no spaces around it"),
    ("3d\n", "no spaces around it"),
    ("\t3d", "no spaces around it"),
])
def test_near_misses_say_what_to_change(text: str, hint: str) -> None:
    with pytest.raises(DurationError) as raised:
        parse_duration(text)
    assert str(raised.value) == f"{EXPECTED} (got {text!r}); {hint}"


@pytest.mark.parametrize("text", ["0s", "0d", "000m", "3651d", "87601h", "315360001s", "5256001m",
                                  "99999999999999999999999999d"])
def test_out_of_range(text: str) -> None:
    with pytest.raises(DurationError) as raised:
        parse_duration(text)
    assert str(raised.value) == f"must be from 1s to 3650d (got {text!r})"


@pytest.mark.parametrize("seconds,shown", [
    (0, "0s"),
    (1, "1s"),
    (59, "59s"),
    (60, "1m"),
    (5_400, "1h 30m"),
    (7_500, "2h 5m"),
    (86_400, "1d"),
    (86_700, "1d 5m"),
    (90_061, "1d 1h"),  # 1d 1h 1m 1s: the two largest units
    (259_200, "3d"),
    (MAX_SECONDS, "3650d"),
])
def test_format(seconds: int, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_format_refuses_negative() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        format_duration(-1)


@given(st.sampled_from("smhd"), st.integers(min_value=1, max_value=315_360_000))
def test_the_display_is_the_value_rounded_down_to_its_two_largest_units(unit: str, count: int) -> None:
    size = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}[unit]
    if count * size > MAX_SECONDS:
        return
    text = f"{count}{unit}"
    shown = format_duration(parse_duration(text))
    parts = [parse_duration(part) for part in shown.split(" ")]  # every part is itself a duration
    assert len(parts) <= 2
    smallest_shown = parts[-1] // int(shown.split(" ")[-1][:-1])  # the size of the last unit shown
    assert 0 <= count * size - sum(parts) < smallest_shown
