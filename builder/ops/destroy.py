"""Destroy one stack, after what must happen before its resources are deleted (emptying buckets); and
which stacks an environment's destroy deletes.

What is deployed decides, not today's config:
- which stacks: the primary, then every replica that belongs to it (builder.ops.ownership): the one
  in the region the deployed primary names (its builder:replica-region tag, its ReplicationRegion
  parameter), and any in the regions the config names whose own builder:primary-region tag names
  the primary's region, also when the primary is already gone. A replica that belongs to another
  primary (the same suffix deployed in another region) is left alone, and so is every stack without
  builder's builder:managed-by tag: destroy refuses it (exit 3) rather than delete what builder did
  not make;
- what happens first: each family says, per resource type, what must happen before CloudFormation
  deletes one (`ResourceKind.before_delete`: a versioned bucket is emptied of every object version and
  delete marker). It runs for each such resource the deployed template lets CloudFormation delete,
  never for one it keeps (DeletionPolicy Retain: retain_data).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import botocore.exceptions

from builder.deployed_cost import deployed_items
from builder.environment import MANAGED_BY, MANAGED_BY_TAG, EnvironmentConfig
from builder.errors import OperationError, RefusedError
from builder.families import PreDelete, ResourceKind
from builder.families.replication import REPLICATION_REGION
from builder.ops import ownership
from builder.ops.deploy import outputs_file
from builder.ops.ledger import FORCE_DELETE, LeftBehind, Stays, ledger, monthly_by_resource
from builder.ops.ownership import (
    NotBuilders,
    Owner,
    managed,
    not_builders,
    primary_region,
    replica_belongs,
    replica_regions,
)
from builder.ops.pool import Outcome
from builder.ops.reap import NEEDS_A_PERSON
from builder.pricing import CostError
from builder.report import Reporter
from builder.resources import inventory
from builder.stack import client as aws
from builder.stack.deployed import DeployedStack
from builder.stack.lookup import look_up
from builder.stack.poller import Pollers
from builder.stack.template import template_from_body
from builder.stack.watch import StackWatcher, WatcherFactory, describe_stack

KEPT = {"Retain", "RetainExceptOnCreate", "Snapshot"}


class DestroyResult(StrEnum):
    """What destroy did to one stack; the text is what the summary prints."""

    DELETED = "deleted"
    NOT_FOUND = "not found"


@dataclass(frozen=True)
class DestroyOptions:
    """What destroy was asked to do besides which stacks."""

    out_dir: str = "out"  # where deploy wrote <stack>.outputs.json, removed with the stack
    wait_for_others: bool = True  # wait for another operation on the stack instead of failing
    force_delete: bool = False  # a stack in DELETE_FAILED: DeletionMode FORCE_DELETE_STACK, its failures stay
    # sees (stack, region, what stays) after each delete that leaves something: cli/ renders the ledger
    on_ledger: Callable[[str, str, tuple[LeftBehind, ...]], None] | None = None


@dataclass(frozen=True)
class Prepared:
    """A resource of the stack with something to do before it is deleted, and its DeletionPolicy."""

    kind: ResourceKind
    physical_id: str
    deletion_policy: str

    @property
    def action(self) -> PreDelete:
        assert self.kind.before_delete is not None, "only kinds with a before_delete are prepared"
        return self.kind.before_delete

    @property
    def kept(self) -> bool:
        return self.deletion_policy in KEPT


def to_prepare(template: Mapping[str, Any], resources: Iterable[Mapping[str, Any]],
               kinds: Mapping[str, ResourceKind]) -> list[Prepared]:
    """Every resource still there whose kind has a before_delete, with the deployed template's policy."""
    policies = {logical: (kinds[r.get("Type")], r.get("DeletionPolicy", "Delete"))
                for logical, r in template.get("Resources", {}).items()
                if r.get("Type") in kinds and kinds[r.get("Type")].before_delete is not None}
    found = []
    for resource in resources:
        logical, physical = resource.get("LogicalResourceId"), resource.get("PhysicalResourceId")
        if logical not in policies or not physical or resource.get("ResourceStatus") == "DELETE_COMPLETE":
            continue
        kind, policy = policies[logical]
        found.append(Prepared(kind, physical, policy))
    return found


def _has_preparable(template: Mapping[str, Any], kinds: Mapping[str, ResourceKind]) -> bool:
    return any(r.get("Type") in kinds and kinds[r.get("Type")].before_delete is not None
               for r in template.get("Resources", {}).values())


def _prepare(watcher: StackWatcher, target: Prepared) -> None:
    action = target.action
    try:
        watcher.say("prepared for delete", done=action.run(watcher.client_for_writes(action.service),
                                                           target.physical_id))
    except botocore.exceptions.ClientError as exc:
        if aws.error_code(exc) not in action.gone:
            raise
        watcher.say("already gone", noun=target.kind.noun, physical_id=target.physical_id)


def _left_behind(watcher: StackWatcher, prepared: Iterable[Prepared]) -> list[Prepared]:
    """What was prepared for deletion and is still there now that the stack is deleted."""
    left = []
    for target in prepared:
        lookup = target.action.left_behind
        if lookup is not None and look_up(watcher.client(lookup.service), lookup, target.physical_id,
                                          target.kind.noun) is not None:
            left.append(target)
    return left


def _stack_resources(watcher: StackWatcher, stack_id: str) -> list[Mapping[str, Any]]:
    return list(aws.pages(watcher.read, "list_stack_resources", "StackResourceSummaries", StackName=stack_id))


def destroy_stack(name: str, region: str, suffix: str, options: DestroyOptions, reporter: Reporter,
                  watcher_factory: WatcherFactory,
                  before_delete: Callable[[DeployedStack], None] | None = None,
                  role_arn: str | None = None, known: DeployedStack | None = None) -> Outcome:
    """Do what must happen before CloudFormation deletes the stack's resources (empty its buckets), then
    delete the stack and wait.

    `suffix`: the environment the stack must be (its Environment tag): ownership.claim refuses another
    environment's stack of this name, and one builder did not make (exit 3), before anything is written.
    `before_delete` sees the stack as it stands right before anything is emptied (reap looks again
    there) and may raise to stop; it is not called for a stack that does not exist. `role_arn`
    (cloudformation_role_arn) is the role CloudFormation deletes with; without it, the stack's own.
    `known`: the stack as a DescribeStacks of this run found it moments ago (destroy's own look for which
    stacks go), which saves reading it again; None reads it.

    Reads a stack: DescribeStacks (unless `known`), GetTemplate, ListStackResources only when the template
    has a resource to prepare (a bucket to empty), then the wait: a status sweep until it settles and its
    events once it settles (the delete's own events: no baseline read before DeleteStack).
    """
    started = time.monotonic()
    watcher = watcher_factory(name, region, reporter)
    with aws.translate(name, region), watcher.interruptible("destroy"):
        current = known or watcher.describe()
        if current is not None:
            current = watcher.wait_for_others(current, options.wait_for_others)
        if current is None:
            watcher.say("missing, nothing to delete", name=name, region=region)
            _forget_outputs(watcher, name, options.out_dir)
            return Outcome(name, region, DestroyResult.NOT_FOUND, time.monotonic() - started)
        if before_delete is not None:
            before_delete(current)
        _refuse_unless_deletable(watcher, current, suffix)
        stack_id = current.stack_id
        body = watcher.read("get_template", StackName=stack_id, TemplateStage="Original")["TemplateBody"]
        template = template_from_body(body, name)
        kinds = inventory().kinds
        forcing = options.force_delete and current.status == "DELETE_FAILED"
        # the resources' physical ids matter only when one of them has something to do before it goes, or
        # when a force delete names the ones CloudFormation failed on
        resources = _stack_resources(watcher, stack_id) if forcing or _has_preparable(template, kinds) else []
        prepared = to_prepare(template, resources, kinds)
        for target in prepared:
            if target.kept:
                watcher.say("kept with its data", noun=target.kind.noun, physical_id=target.physical_id,
                            deletion_policy=target.deletion_policy)
            else:
                _prepare(watcher, target)
        stays = ledger(template, resources, region, forcing, _monthly(template, current, name, region))
        if forcing:
            failed = [item for item in stays if item.stays is Stays.DELETE_FAILED]
            watcher.say("force delete", failed=[(item.logical_id, item.physical_id) for item in failed])
        reporter.begin(name, len(resources) or len(template.get("Resources", {})))
        try:
            final = watcher.delete_and_wait(current, role_arn, FORCE_DELETE if forcing else None)
        finally:
            reporter.end(name)
        if final.exists:
            raise OperationError(name, f"{final.status}: {watcher.root_cause()}" + (
                "; --force-delete deletes the stack and leaves what CloudFormation could not delete behind (listed "
                "first, with the command that removes each)"
                if final.status == "DELETE_FAILED" and not forcing else ""))
        if stays and options.on_ledger is not None:
            options.on_ledger(name, region, stays)
        left = _left_behind(watcher, [target for target in prepared if not target.kept])
    if left:
        raise OperationError(name, f"the stack is deleted but "
                                   f"{', '.join(f'{target.kind.noun} {target.physical_id}' for target in left)} "
                                   f"still exists; empty and delete it by hand")
    _forget_outputs(watcher, name, options.out_dir)
    watcher.say("deleted", seconds=time.monotonic() - started)
    return Outcome(name, region, DestroyResult.DELETED, time.monotonic() - started)


def _refuse_unless_deletable(watcher: StackWatcher, current: DeployedStack, suffix: str) -> None:
    """Refused unless builder made the stack for this environment (ownership.claim, which opens the watcher's
    writes), and not while termination protection is on."""
    ownership.claim(watcher, current, suffix, (Owner.OURS,), _refused)
    if current.status in NEEDS_A_PERSON:  # reap's rule too: CloudFormation could not put resources back
        raise RefusedError(current.name, f"refused: the stack is {current.status}: "
                                         f"{NEEDS_A_PERSON[current.status]}; nothing was deleted")
    if current.termination_protection:
        raise OperationError(current.name, "termination protection is on (setting termination_protection); "
                                           "deploy with termination_protection = false and --allow-data-loss first, "
                                           "then destroy")


def _refused(found: Owner, current: DeployedStack, suffix: str) -> RefusedError:
    name = current.name
    if found is Owner.OTHER_ENVIRONMENT:
        return ownership.other_environment(current, suffix, "refused", "nothing was deleted")
    return RefusedError(name, (
        f"refused: an earlier builder made this stack and it has no {MANAGED_BY_TAG}={MANAGED_BY} tag yet; "
        f"nothing was deleted. Deploy it once with builder to adopt it, then destroy"
        if found is Owner.EARLIER else
        f"refused: builder did not make this stack (no {MANAGED_BY_TAG}={MANAGED_BY} tag, not a builder "
        f"template); nothing was deleted. Delete it with the tool that made it"))


def _monthly(template: Mapping[str, Any], current: DeployedStack, name: str, region: str) -> dict[str, float] | None:
    """What each resource costs a month as deployed, for the ledger; None when it cannot be priced."""
    try:
        return monthly_by_resource(deployed_items(template, current.parameters, name, region))
    except CostError:
        return None


def _forget_outputs(watcher: StackWatcher, name: str, out_dir: str) -> None:
    """The outputs file deploy wrote describes a stack that no longer exists: remove it."""
    path = outputs_file(name, out_dir)
    if path.is_file():
        path.unlink()
        watcher.say("outputs removed", path=path)


# --------------------------------------------------------------------------- which stacks destroy deletes

Describe = Callable[[str, str], DeployedStack | None]  # (stack name, region) -> the stack, or None


def describer(pollers: Pollers) -> Describe:
    """DescribeStacks of one stack through the run's poller of its region (its read budget); None if missing."""

    def describe(name: str, region: str) -> DeployedStack | None:
        with aws.translate(name, region):
            return describe_stack(pollers.poller(region).read, name)

    return describe


class FoundBy(StrEnum):
    """How destroy knows a replica stack is this environment's."""

    PRIMARY_NAMES_IT = "the deployed primary names its region"
    ITS_TAG = "its builder:primary-region tag names the primary's region"


@dataclass(frozen=True)
class Target:
    """One stack destroy deletes, where it is, and why it is this environment's (None for the primary)."""

    name: str
    region: str
    found_by: FoundBy | None = None
    stack: DeployedStack | None = field(default=None, compare=False)  # as found (destroy_stack's `known`)


class LeftAloneWhy(StrEnum):
    """Why destroy leaves a replica stack of this environment's name alone."""

    ANOTHER_PRIMARYS = "another primary's"  # its builder:primary-region tag names another region
    UNCLAIMED = "unclaimed"  # no tag, and no deployed primary here names its region
    NOT_BUILDERS = "not builder's"  # it lacks the managed-by tag


@dataclass(frozen=True)
class LeftAlone:
    """A replica stack destroy found and leaves alone, the primary it was looked for, and why."""

    name: str
    region: str
    why: LeftAloneWhy
    primary: str  # this environment's primary stack
    primary_region: str
    owner: str | None = None  # ANOTHER_PRIMARYS: the region its tag names
    not_builders: NotBuilders | None = None  # NOT_BUILDERS: whose it is instead


@dataclass(frozen=True)
class EnvironmentStacks:
    """What destroy of one environment deletes (the primary first, then its replicas), and the stacks
    it found but leaves alone, each with the reason."""

    suffix: str
    targets: tuple[Target, ...]
    left_alone: tuple[LeftAlone, ...] = ()


def environment_stacks(config: EnvironmentConfig, config_regions: Sequence[str],
                       describe: Describe) -> EnvironmentStacks:
    """The primary of `config`, then each replica of it found where the deployed primary says it is and
    in `config_regions` (the replication regions the config names), whatever today's config says of
    replication. Costs one DescribeStacks for the primary and one per region looked in for a replica."""
    name, region, replica_name = config.stack_name, config.region, config.replica_stack_name
    primary = describe(name, region)
    named = replica_regions(primary) if primary is not None else []
    setting = config.value(REPLICATION_REGION)  # today's replication_region, whether replication is on or not
    looked = [r for r in dict.fromkeys([*named, *([setting] if setting else []), *config_regions]) if r != region]
    targets = [Target(name, region, stack=primary)]
    left_alone: list[LeftAlone] = []
    for where in looked:
        replica = describe(replica_name, where)
        if replica is None:
            continue
        owner = primary_region(replica)
        if not replica_belongs(replica, where, region, primary):
            why = LeftAloneWhy.ANOTHER_PRIMARYS if owner else LeftAloneWhy.UNCLAIMED
            left_alone.append(LeftAlone(replica_name, where, why, name, region, owner=owner))
        elif not managed(replica):
            left_alone.append(LeftAlone(replica_name, where, LeftAloneWhy.NOT_BUILDERS, name, region,
                                        not_builders=not_builders(replica)))
        else:
            how = FoundBy.PRIMARY_NAMES_IT if where in named else FoundBy.ITS_TAG
            targets.append(Target(replica_name, where, how, replica))
    return EnvironmentStacks(config.suffix, tuple(targets), tuple(left_alone))
