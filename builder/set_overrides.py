"""`--set KEY=VALUE` and `--set tags.KEY=VALUE`: the command line's overrides, typed by their settings.

Every problem is collected, not raised: one run reports them all (builder.environment raises them together).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from builder.errors import Problem
from builder.setting_values import Given, from_text, known_setting, tag_error
from builder.settings import Setting

WHERE = "--set"


def _one(key: str, text: str, known: Mapping[str, Setting[Any]], problems: list[Problem]) -> Given | None:
    """One `KEY=VALUE` (not a tag), typed; None with the problem when it cannot be."""
    setting = known_setting(key, WHERE, key or "(empty)", known, problems)
    if setting is None:
        return None
    if setting.kind is dict:
        problems.append(Problem(WHERE, key, "set one tag at a time: --set tags.KEY=VALUE"))
        return None
    value, error = from_text(setting, text)
    if error:
        problems.append(Problem(WHERE, key, error))
        return None
    return Given(value, WHERE, key)


def parse_sets(sets: Sequence[str], problems: list[Problem], known: Mapping[str, Setting[Any]]) -> dict[str, Given]:
    """The overrides by setting name; the tags together as one `tags` value."""
    parsed: dict[str, Given] = {}
    tags: dict[str, str] = {}
    seen: dict[str, str] = {}
    for item in sets:
        if "=" not in item:
            problems.append(Problem(WHERE, item, "expected KEY=VALUE, for example dynamodb_billing_mode=PROVISIONED"))
            continue
        key, text = item.split("=", 1)
        key = key.strip()
        if seen.setdefault(key, text) != text:  # the last one winning silently would hide a mistake
            problems.append(Problem(WHERE, key, f"given twice ({seen[key]!r}, then {text!r}); give it once"))
            continue
        if key.startswith("tags."):
            tag_key = key[len("tags."):]
            error = tag_error(tag_key, text)
            if error:
                problems.append(Problem(WHERE, key, error))
            else:
                tags[tag_key] = text
            continue
        given = _one(key, text, known, problems)
        if given is not None:
            parsed[key] = given
    if tags:
        parsed["tags"] = Given(tags, WHERE, "tags")
    return parsed
