"""The config file (TOML): which file is read, its `[defaults]` and `[environments."<pattern>"]` tables
with every value type-checked against its setting, and which table applies to a suffix.

Every problem is collected, not raised: one run reports them all (builder.environment raises them together).
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder.errors import Problem
from builder.setting_values import NOT_CONFIG_KEYS, Given, closest, from_toml, known_setting, tag_error
from builder.settings import Setting

DEFAULT_CONFIG_FILE = "environments.toml"
Table = Mapping[str, Given]


@dataclass(frozen=True)
class ConfigFile:
    """A parsed, type-checked config file: its defaults and its pattern tables, in file order."""

    where: str  # its path as given (--config), or DEFAULT_CONFIG_FILE found in the working folder
    defaults: Table
    environments: tuple[tuple[str, Table], ...]

    def table_for(self, suffix: str) -> Table:
        """The one table that applies: exact match, else the longest glob, else the first of equals."""
        exact = [table for pattern, table in self.environments if pattern == suffix]
        if exact:
            return exact[0]
        globs = [(pattern, table) for pattern, table in self.environments
                 if any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(suffix, pattern)]
        if not globs:
            return {}
        longest = max(len(pattern) for pattern, _ in globs)
        return next(table for pattern, table in globs if len(pattern) == longest)

    @property
    def tables(self) -> list[Table]:
        """[defaults], then every pattern table, whichever suffixes they match."""
        return [self.defaults, *(table for _, table in self.environments)]


def _check_table(table: Mapping[str, Any], where: str, keypath: str, known: Mapping[str, Setting[Any]],
                 problems: list[Problem]) -> dict[str, Given]:
    """Type-check one table of settings; returns the good values with their source."""
    good: dict[str, Given] = {}
    for key, raw in table.items():
        full = f"{keypath}.{key}"
        setting = known_setting(key, where, full, known, problems)
        if setting is None:
            continue
        value, error = from_toml(setting, raw)
        if error:
            problems.append(Problem(where, full, error))
            continue
        if setting.kind is dict:
            problems += _tag_problems(value, where, full)
        good[key] = Given(value, where, full)
    return good


def _tag_problems(tags: Mapping[str, Any], where: str, keypath: str) -> list[Problem]:
    found = [(key, tag_error(key, value)) for key, value in tags.items()]
    return [Problem(where, f"{keypath}.{key}", error) for key, error in found if error]


_GLOB_CLASS = re.compile(r"\[!?\]?[^\]]*\]")  # a glob's [...] or [!...], as fnmatch reads it


def _pattern_problem(pattern: str) -> str | None:
    """What makes a pattern unable to match any suffix (an uppercase letter, an underscore, a stray
    bracket...), or None. Such a table would never apply: its suffix would silently get the defaults."""
    if not pattern:
        return "pattern is empty; use a suffix or a glob such as 'pr*'"
    if re.fullmatch(r"[a-z0-9*?-]*", _GLOB_CLASS.sub("", pattern)):
        return None
    lowered = re.sub(r"[^a-z0-9*?-]+", "-", pattern.lower()).strip("-")
    hint = f"[environments.{_toml_key(lowered)}]" if lowered else "a suffix or a glob such as 'pr*'"
    return (f"matches no suffix (suffixes are lowercase letters, digits and hyphens; a pattern adds the globs "
            f"*, ? and [...]); use {hint}")


def _toml_key(pattern: str) -> str:
    return pattern if re.fullmatch(r"[A-Za-z0-9_-]+", pattern) else f'"{pattern}"'


def _load(path: Path, where: str, problems: list[Problem], found_in_cwd: bool) -> dict[str, Any] | None:
    """The file's TOML, or None with the one problem that stopped it (`found_in_cwd`: environments.toml in
    the working folder, which nobody named with --config)."""
    import tomllib  # only when there is a file: synth without one does not pay for the parser

    reasons: dict[type[Exception], str] = {
        FileNotFoundError: "file not found; give an existing file to --config",
        IsADirectoryError: "is a folder; --config takes a TOML file",
    } if not found_in_cwd else {
        FileNotFoundError: ("is a link to a file that does not exist; fix the link, or remove it to run on the "
                            "built-in defaults"),
        IsADirectoryError: ("is a folder; builder reads environments.toml in the working folder as its config: "
                            "make it a TOML file, or pass --config"),
    }
    reasons |= {
        PermissionError: "cannot be read (permission denied)",
        UnicodeDecodeError: "is not UTF-8 text; a config file is TOML",
    }
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except tuple(reasons) as exc:
        problems.append(Problem(where, "", next(why for kind, why in reasons.items() if isinstance(exc, kind))))
    except OSError as exc:
        problems.append(Problem(where, "", f"cannot be read ({exc.strerror or exc})"))
    except tomllib.TOMLDecodeError as exc:
        problems.append(Problem(where, "", f"not valid TOML: {exc}"))
    return None


def _environments(value: Any, where: str, known: Mapping[str, Setting[Any]],
                  problems: list[Problem]) -> list[tuple[str, Table]]:
    """The [environments."<pattern>"] tables, checked, in file order."""
    if not isinstance(value, dict):
        problems.append(Problem(where, "environments", 'must hold tables: [environments."<pattern>"]'))
        return []
    found: list[tuple[str, Table]] = []
    for pattern, table in value.items():
        keypath = f"environments.{_toml_key(pattern)}"
        if not isinstance(table, dict):
            problems.append(Problem(where, keypath, f'must be a table: [environments."{pattern}"]'))
        elif problem := _pattern_problem(pattern):
            problems.append(Problem(where, keypath, problem))
        else:
            found.append((pattern, _check_table(table, where, keypath, known, problems)))
    return found


def _misplaced(top: str, known: Mapping[str, Setting[Any]]) -> str:
    if top in known or top in NOT_CONFIG_KEYS:
        return "settings go in [defaults] or [environments.\"<pattern>\"], not at the top"
    return f"unknown table{closest(top, ['defaults', 'environments'])}"


def read_config_file(path: Path, where: str, problems: list[Problem], known: Mapping[str, Setting[Any]],
                     found_in_cwd: bool = False) -> ConfigFile | None:
    """The file, parsed and type-checked against `known` settings; None when it cannot be read at all."""
    data = _load(path, where, problems, found_in_cwd)
    if data is None:
        return None
    defaults: Table = {}
    environments: list[tuple[str, Table]] = []
    for top, value in data.items():
        if top == "defaults" and not isinstance(value, dict):
            problems.append(Problem(where, "defaults", "must be a table: [defaults]"))
        elif top == "defaults":
            defaults = _check_table(value, where, "defaults", known, problems)
        elif top == "environments":
            environments += _environments(value, where, known, problems)
        else:
            problems.append(Problem(where, top, _misplaced(top, known)))
    return ConfigFile(where, defaults, tuple(environments))


def chosen_config_file(config_path: str | None, cwd: Path, problems: list[Problem],
                       known: Mapping[str, Setting[Any]]) -> ConfigFile | None:
    """--config, else environments.toml in cwd when there is one, else none."""
    if config_path is not None:
        return read_config_file(Path(config_path), config_path, problems, known)
    found = cwd / DEFAULT_CONFIG_FILE
    if found.exists() or found.is_symlink():  # a dangling link is a mistake to report, not "no config"
        return read_config_file(found, DEFAULT_CONFIG_FILE, problems, known, found_in_cwd=True)
    return None
