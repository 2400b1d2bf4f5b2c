"""The stack region, and which source chose it: --region, AWS_REGION, AWS_DEFAULT_REGION, an AWS_REGION file
in the working folder, the active profile's region in the AWS config file, else us-east-1.

The AWS config file is read with the standard library, as botocore reads it (no boto3, no credentials), and
only when no earlier source decides.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from builder.errors import Problem, one_line

if TYPE_CHECKING:
    import configparser

DEFAULT_REGION = "us-east-1"
DEFAULT_AWS_CONFIG_FILE = "~/.aws/config"
REGION_CHAIN = "no --region, AWS_REGION, AWS_DEFAULT_REGION, AWS_REGION file or profile region"


class RegionChoice(NamedTuple):
    """The stack region, which source chose it (`source`, for the note synth prints), and where an
    error about it points (`where`, `key`)."""

    region: str
    source: str
    where: str
    key: str = "region"

    @property
    def note(self) -> str:
        if self.source == "default":
            return f"region {self.region} (default: {REGION_CHAIN})"
        return f"region {self.region} (from {self.source})"


def active_profile(environ: Mapping[str, str]) -> str:
    """The profile boto3 would use: AWS_DEFAULT_PROFILE, else AWS_PROFILE, else default (botocore's
    order: configprovider.BOTOCORE_DEFAUT_SESSION_VARIABLES['profile'] lists them so)."""
    return environ.get("AWS_DEFAULT_PROFILE") or environ.get("AWS_PROFILE") or "default"


def _profile_sections(parser: configparser.RawConfigParser) -> dict[str, str]:
    """Profile name -> section name, as botocore's configloader.build_profile_map reads them: `[default]`
    and `[profile NAME]` (so `[profile default]` too); a later section of the same profile wins."""
    import shlex

    sections: dict[str, str] = {}
    for section in parser.sections():
        if section == "default":
            sections["default"] = section
            continue
        try:
            parts = shlex.split(section)
        except ValueError:
            continue
        if len(parts) == 2 and parts[0] == "profile":
            sections[parts[1]] = section
    return sections


def _profile_region(environ: Mapping[str, str], problems: list[Problem]) -> RegionChoice | None:
    """The `region` of the active profile in the AWS config file (AWS_CONFIG_FILE, else ~/.aws/config).
    None when there is none."""
    path = os.path.expanduser(os.path.expandvars(environ.get("AWS_CONFIG_FILE") or DEFAULT_AWS_CONFIG_FILE))
    if not os.path.isfile(path):
        return None
    import configparser  # only when the chain gets this far: a region from the environment does not pay for it

    parser = configparser.RawConfigParser()
    try:
        parser.read_string(Path(path).read_text(encoding="utf-8"), source=path)
    except (OSError, UnicodeDecodeError, configparser.Error) as exc:
        reason = one_line(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        problems.append(Problem(path, "", f"cannot be read as an AWS config file ({reason}); fix it, or give "
                                          f"the region with --region or AWS_REGION"))
        return None
    profile = active_profile(environ)
    section = _profile_sections(parser).get(profile)
    if section is None or not parser.get(section, "region", fallback="").strip():
        return None
    region = parser.get(section, "region").strip()
    return RegionChoice(region, f"profile {profile} in {path}", path, f"[{section}] region")


REGION_FILE = "./AWS_REGION"  # where its errors point: a file in the working folder, not the variable


def _region_file(cwd: Path, problems: list[Problem]) -> RegionChoice | None:
    """The first line of a file named AWS_REGION in cwd, when there is one (a file that cannot be read is
    a problem, not a region of '')."""
    region_file = cwd / "AWS_REGION"
    if not (region_file.exists() or region_file.is_symlink()):
        return None
    if not region_file.is_file():  # a folder, or a link to nothing: the stack would go to another region unsaid
        problems.append(Problem(REGION_FILE, "", "is not a file (a folder, or a link to nothing); its first line "
                                                 "would be the region: fix it, or give the region with --region"))
        return None
    try:
        lines = region_file.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError:
        problems.append(Problem(REGION_FILE, "", "is not UTF-8 text; its first line is the region, such as us-east-1"))
        return None
    except OSError as exc:
        problems.append(Problem(REGION_FILE, "", f"cannot be read ({exc.strerror or exc}); fix it, or give the "
                                                 f"region with --region or AWS_REGION"))
        return None
    return RegionChoice(lines[0].strip() if lines else "", "the AWS_REGION file", REGION_FILE)


def resolve_region(region: str | None, environ: Mapping[str, str], cwd: Path,
                   problems: list[Problem] | None = None) -> RegionChoice:
    """The first of: --region, AWS_REGION, AWS_DEFAULT_REGION, the first line of an AWS_REGION file in
    cwd, the active profile's region in the AWS config file, us-east-1. The config file is read only
    when nothing before it decides; a file that cannot be read is a problem, not a silent us-east-1."""
    if region is not None:
        return RegionChoice(region, "--region", "--region")
    for variable in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        if environ.get(variable):
            return RegionChoice(environ[variable].strip(), variable, variable)
    problems = [] if problems is None else problems
    from_file = _region_file(cwd, problems) or _profile_region(environ, problems)
    return from_file or RegionChoice(DEFAULT_REGION, "default", "default")
