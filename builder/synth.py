"""From validated configs to the files a deploy needs: template, parameters and tags per stack.

Imports neither boto3 nor cfn-lint: synth needs no credentials and no network.
"""

from __future__ import annotations

import dataclasses
import errno
import functools
import json
import os
import shlex
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from builder import names
from builder.environment import PRIMARY_REGION_TAG, REPLICA_REGION_TAG, EnvironmentConfig
from builder.errors import UsageError
from builder.families import Family
from builder.families.alerts import ALERT_EMAIL
from builder.families.replication import replica_region
from builder.resources import Composed, active, compose, compose_replica, deploy_parameters, replica_parameters
from builder.stack_policy import body as policy_body
from builder.stack_policy import protected_resources

FORMATS = ("json", "yaml")
TEMPLATE_BODY_LIMIT = 51_200  # bytes CloudFormation accepts inline as TemplateBody


@dataclass(frozen=True)
class Stack:
    """One stack to write or deploy: its name, region and the exact bytes of its files."""

    name: str
    region: str
    template_body: str
    template_format: str
    parameters: Mapping[str, str]
    tags: Mapping[str, str]
    capabilities: tuple[str, ...]
    config: EnvironmentConfig
    is_replica: bool = False
    resource_families: Mapping[str, str] = dataclasses.field(default_factory=dict)  # logical id -> family name
    protected: tuple[str, ...] = ()  # logical ids the stack policy keeps from replacement and deletion
    # the alarms the families declare as rollback triggers: (logical id, resource type), by logical id
    rollback_alarms: tuple[tuple[str, str], ...] = ()

    @property
    def policy_body(self) -> str:
        """The stack policy (stack_policy.py) as synth writes it and deploy sets it."""
        return policy_body(self.protected)

    @property
    def template_file(self) -> str:
        return f"{self.name}.template.{self.template_format}"

    @property
    def parameters_file(self) -> str:
        return f"{self.name}.parameters.json"

    @property
    def tags_file(self) -> str:
        return f"{self.name}.tags.json"

    @property
    def policy_file(self) -> str:
        return f"{self.name}.policy.json"


def _render(template_dict: dict[str, Any], fmt: str) -> str:
    if fmt == "yaml":
        from cfn_flip import to_yaml  # only when asked: it is a slow import

        text: str = to_yaml(json.dumps(template_dict, sort_keys=True), clean_up=False, long_form=False)
        return text
    return json.dumps(template_dict, indent=2, sort_keys=True) + "\n"


def required_capabilities(template_dict: Mapping[str, Any]) -> tuple[str, ...]:
    """Only the capabilities the template needs: IAM resources need CAPABILITY_IAM (NAMED with names)."""
    iam = [r for r in template_dict.get("Resources", {}).values() if str(r.get("Type", "")).startswith("AWS::IAM::")]
    if not iam:
        return ()
    named = any(key in r.get("Properties", {}) for r in iam for key in ("RoleName", "UserName", "GroupName",
                                                                       "ManagedPolicyName", "InstanceProfileName"))
    return ("CAPABILITY_NAMED_IAM",) if named else ("CAPABILITY_IAM",)


# a template's text, the capabilities it needs, which family added each resource, what the stack policy protects,
# and the alarms declared as rollback triggers
Rendered = tuple[str, tuple[str, ...], Mapping[str, str], tuple[str, ...], tuple[tuple[str, str], ...]]

# Stands for the suffix while a template is built once for every suffix of one configuration. It obeys
# the suffix rules and appears nowhere else in a template, so putting the suffix back is exact.
_SUFFIX_PLACEHOLDER = "q7x9builder-suffix-placeholder9x7q"


def _rendered(composed: Composed, fmt: str) -> Rendered:
    data = composed.template.to_dict()
    return (_render(data, fmt), required_capabilities(data), composed.families, protected_resources(data),
            tuple(sorted((spec.title, data["Resources"][spec.title]["Type"]) for spec in composed.alarms
                         if spec.rollback_trigger)))


def build_templates(config: EnvironmentConfig, fmt: str = "json",
                    families: tuple[Family, ...] | None = None) -> tuple[Rendered | None, Rendered]:
    """The replica template (None without replication) and the primary one, rendered."""
    replica = _rendered(compose_replica(config, families), fmt) if replica_region(config) else None
    return replica, _rendered(compose(config, families), fmt)


_build_templates_once = functools.lru_cache(maxsize=32)(build_templates)  # keyed by the families in use too


def templates_for(config: EnvironmentConfig, fmt: str = "json") -> tuple[Rendered | None, Rendered]:
    """build_templates(config), built once for all suffixes that share the rest of the configuration.

    Suffixes differ only where names, tags and descriptions hold the suffix: each JSON template is built
    with a placeholder and the suffix is put in its text (JSON quotes every string alike; YAML would not,
    so YAML is built per suffix). tests/test_synth.py holds this equal to a direct build.
    """
    if fmt != "json":
        return build_templates(config, fmt)
    email = config.value(ALERT_EMAIL)  # unset: alerts-<suffix>@example.com, from the placeholder suffix
    if email is not None:
        config_shape = config.with_value(ALERT_EMAIL, names.replace_suffix(email, config.suffix, _SUFFIX_PLACEHOLDER))
    else:
        config_shape = config
    shape = dataclasses.replace(config_shape, suffix=_SUFFIX_PLACEHOLDER)
    replica, primary = _build_templates_once(shape, fmt, active())

    def put_back(rendered: Rendered) -> Rendered:
        return (rendered[0].replace(_SUFFIX_PLACEHOLDER, config.suffix), rendered[1], rendered[2],
                tuple(logical_id.replace(_SUFFIX_PLACEHOLDER, config.suffix) for logical_id in rendered[3]),
                rendered[4])

    return (put_back(replica) if replica else None), put_back(primary)


def stacks_for(config: EnvironmentConfig, fmt: str = "json") -> list[Stack]:
    """The stacks of one environment, in deploy order: the replica (if any) before the primary.

    With replication, each stack's tags also name the other's region (builder:replica-region on the
    primary, builder:primary-region on the replica), so destroy and reap pair them from what is deployed.
    """
    stacks = []
    tags = config.stack_tags
    replica, primary = templates_for(config, fmt)
    if replica is not None:
        stacks.append(Stack(config.replica_stack_name, str(replica_region(config)), replica[0], fmt,
                            replica_parameters(config), _sorted({**tags, PRIMARY_REGION_TAG: config.region}),
                            replica[1], config, True, replica[2], replica[3]))
        tags = _sorted({**tags, REPLICA_REGION_TAG: str(replica_region(config))})
    stacks.append(Stack(config.stack_name, config.region, primary[0], fmt, deploy_parameters(config), tags,
                        primary[1], config, resource_families=primary[2], protected=primary[3],
                        rollback_alarms=primary[4]))
    return stacks


def _sorted(tags: Mapping[str, str]) -> dict[str, str]:
    return dict(sorted(tags.items()))


def key_value_list(values: Mapping[str, str]) -> str:
    """The only file form `aws cloudformation deploy` accepts for --parameter-overrides and --tags."""
    return json.dumps([f"{key}={value}" for key, value in sorted(values.items())], indent=2) + "\n"


def file_contents(stack: Stack) -> dict[str, str]:
    return {
        stack.template_file: stack.template_body,
        stack.parameters_file: key_value_list(stack.parameters),
        stack.tags_file: key_value_list(stack.tags),
        stack.policy_file: stack.policy_body,
    }


def _holds(path: Path, text: str) -> bool:
    """Does the file already hold exactly this text? (Then it is left alone: a rename is not free.)"""
    try:
        return path.is_file() and path.read_bytes() == text.encode("utf-8")
    except OSError:
        return False


def check_output_folder(out_dir: str, names: Sequence[str] = ()) -> None:
    """UsageError when `out_dir` cannot be made into a folder for files (it, or a folder above it, is a file;
    the first that exists is not writable), or one of the files `names` there is a folder: what deploy
    checks before it changes anything, not after."""
    path = Path(out_dir)
    for name in names:
        if (path / name).is_dir():
            raise UsageError(out_dir, f"cannot write there ({name} is a folder); choose another folder with --out")
    for folder in (path, *path.parents):
        if not folder.exists():
            continue
        if not folder.is_dir():
            raise UsageError(out_dir, f"cannot create the output folder ({folder} is a file); choose another "
                                      f"with --out")
        if not os.access(folder, os.W_OK | os.X_OK):
            raise UsageError(out_dir, f"cannot write there ({folder} is not writable); choose another with --out")
        return


def write_files_reporting(contents: Mapping[str, str], out_dir: Path) -> list[tuple[Path, bool]]:
    """Write every file or none, each to a temporary file first, then all renamed in place.

    Returns each file with whether it changed; a file that already holds the same bytes is not
    rewritten (its modification time stays, and re-synthesizing many suffixes costs no renames).
    """
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        check_output_folder(str(out_dir))  # a file in the way is named as such, not as "File exists"
        raise UsageError(str(out_dir), f"cannot create the output folder ({exc.strerror or exc}); "
                                       f"choose another with --out") from None
    staged: list[tuple[str, Path]] = []
    result: list[tuple[Path, bool]] = []
    try:
        for name, text in contents.items():
            final = out_dir / name
            if _holds(final, text):
                result.append((final, False))
                continue
            fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{name}.", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
                handle.write(text)
            staged.append((tmp, final))
            result.append((final, True))
        # os.replace fails on a folder in the way; find that before the first rename, not after it
        blocked = [final.name for _, final in staged if final.is_dir()]
        if blocked:
            raise IsADirectoryError(errno.EISDIR, f"{blocked[0]} is a folder")
        for tmp, final in staged:
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
    except OSError as exc:
        for tmp, _ in staged:
            Path(tmp).unlink(missing_ok=True)
        raise UsageError(str(out_dir), f"cannot write there ({exc.strerror or exc}); choose another folder "
                                       f"with --out") from None
    return result


def write_files(contents: Mapping[str, str], out_dir: Path) -> list[Path]:
    """write_files_reporting without the report: every file's path."""
    return [path for path, _ in write_files_reporting(contents, out_dir)]


def remove_other_formats(stacks: Iterable[Stack], out_dir: Path) -> list[Path]:
    """Remove each stack's template of the other format (`synth --format yaml` after a JSON synth), which
    would otherwise stay beside the new one, out of date, and be linted with it. Returns what was removed."""
    removed = []
    for stack in stacks:
        for fmt in FORMATS:
            old = out_dir / f"{stack.name}.template.{fmt}"
            if fmt != stack.template_format and old.is_file():
                try:
                    old.unlink()
                except OSError as exc:
                    raise UsageError(str(old), f"cannot remove this older template ({exc.strerror or exc}); "
                                               f"remove it by hand") from None
                removed.append(old)
    return removed


def deploy_command(stack: Stack, out_dir: str) -> str:
    """The exact `aws cloudformation deploy` command for the files synth wrote."""
    base = out_dir.rstrip("/") or "."
    parts = [
        "aws cloudformation deploy",
        f"--stack-name {stack.name}",
        f"--region {stack.region}",
        f"--template-file {shlex.quote(f'{base}/{stack.template_file}')}",  # an --out with a space stays one word
        f"--parameter-overrides {shlex.quote(f'file://{base}/{stack.parameters_file}')}",
        f"--tags {shlex.quote(f'file://{base}/{stack.tags_file}')}",
    ]
    if stack.capabilities:
        parts.append(f"--capabilities {' '.join(stack.capabilities)}")
    if stack.config.cloudformation_role_arn:
        parts.append(f"--role-arn {stack.config.cloudformation_role_arn}")
    parts.append("--no-fail-on-empty-changeset")
    return " ".join(parts)


def set_policy_command(stack: Stack, out_dir: str) -> str:
    """The exact `aws cloudformation set-stack-policy` command for the policy synth wrote (after the deploy:
    the stack must exist)."""
    base = out_dir.rstrip("/") or "."
    return (f"aws cloudformation set-stack-policy --stack-name {stack.name} --region {stack.region} "
            f"--stack-policy-body {shlex.quote(f'file://{base}/{stack.policy_file}')}")


def all_stacks(configs: Iterable[EnvironmentConfig], fmt: str = "json") -> list[Stack]:
    return [stack for config in configs for stack in stacks_for(config, fmt)]
