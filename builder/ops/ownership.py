"""Whose stack is this, and which replica belongs to which primary: read from what is deployed.

builder writes stack tags no `tags` setting can set (builder.environment refuses `builder:` keys):

- `builder:managed-by = builder` on every stack it creates or updates. reap, `status --all` and destroy
  act only on stacks that carry it: a stack with builder's name and its `Environment`/`CostCenter` tags
  but not this one is never deleted. It is an earlier builder's when its template's Description is
  builder's (`builder: ...`, DescribeStacks shows it): deploy adopts it, adding the tag. Any other is
  another tool's: deploy refuses to change it.
- `builder:primary-region` on a replica stack: the region of the primary it belongs to. The same suffix
  may be deployed in two regions; the replica's own tag, not today's config, says whose it is.
- `builder:replica-region` on a primary with replication: where its replica is (the deployed
  `ReplicationRegion` parameter says it too, also for stacks deployed before the tag existed).

The `Environment` tag (always the suffix: `tags` cannot set it) says which environment a builder stack is:
`app-x-foo` made with stack_prefix `app-x` and suffix `foo` carries `Environment = foo`, so `destroy --suffix
x-foo` with stack_prefix `app` (the same stack name) finds it is another environment's and leaves it alone.

`owner` is the one decision, and `claim` the one gate: every CloudFormation write of a command (a change set,
UpdateStack, DeleteStack, the stack policy, termination protection) goes through a StackWatcher whose writes
stay shut until `claim` has judged the deployed stack (builder.stack.watch.StackWatcher.cf;
tests/ops/test_write_gate.py holds that no other code opens them). Pure functions over DeployedStack values,
and `claim`.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from enum import StrEnum

from builder.environment import MANAGED_BY, MANAGED_BY_TAG, PRIMARY_REGION_TAG, REPLICA_REGION_TAG, SUFFIX_TAG
from builder.errors import RefusedError
from builder.resources import DESCRIPTION_START
from builder.stack.deployed import DeployedStack
from builder.stack.watch import StackWatcher

REPLICATION_REGION_PARAMETER = "ReplicationRegion"


class NotBuilders(StrEnum):
    """Whose a stack without the managed-by tag is (the CLI says it in words: builder.cli.views.reasons)."""

    EARLIER_BUILDERS = "earlier builder's"  # its template is builder's: deploy adopts it
    ANOTHER_TOOLS = "another tool's"  # not a builder template: builder never changes it


def managed(record: DeployedStack) -> bool:
    """Did builder make (or last update) this stack?"""
    return record.tags.get(MANAGED_BY_TAG) == MANAGED_BY


def made_by_earlier_builder(record: DeployedStack) -> bool:
    """A stack without the tag whose template builder made (its Description): deploy may adopt it."""
    return not managed(record) and record.description.startswith(DESCRIPTION_START)


def not_builders(record: DeployedStack) -> NotBuilders | None:
    """Why builder must not delete this stack (an earlier builder's, or another tool's); None: builder's own."""
    if managed(record):
        return None
    return NotBuilders.EARLIER_BUILDERS if made_by_earlier_builder(record) else NotBuilders.ANOTHER_TOOLS


def replica_regions(primary: DeployedStack) -> list[str]:
    """Where the deployed primary says its replica is: its builder:replica-region tag and its
    ReplicationRegion parameter (the same region, unless one of them predates the other); may be empty."""
    named = [primary.tags.get(REPLICA_REGION_TAG, ""), primary.parameters.get(REPLICATION_REGION_PARAMETER, "")]
    return list(dict.fromkeys(region for region in named if region))


def primary_region(replica: DeployedStack) -> str | None:
    """The region of the primary this replica belongs to, from its own tag; None for a replica deployed
    before builder wrote the tag."""
    return replica.tags.get(PRIMARY_REGION_TAG) or None


def replica_belongs(replica: DeployedStack, replica_region: str, primary_region_: str,
                    primary: DeployedStack | None) -> bool:
    """Is the replica stack in `replica_region` the replica of the primary in `primary_region_`?

    The replica's own builder:primary-region tag decides when it has one; without it (an earlier
    builder's replica) only a deployed primary that names the replica's region claims it.
    """
    owner = primary_region(replica)
    if owner is not None:
        return owner == primary_region_
    return primary is not None and replica_region in replica_regions(primary)


class Owner(StrEnum):
    """Whose the deployed stack of a name is, for the environment (suffix) a command acts on."""

    NONE = "no stack"  # nothing deployed, or REVIEW_IN_PROGRESS: a create that never ran holds nothing
    OURS = "this environment's"  # builder's tag, and its Environment tag is this suffix
    EARLIER = "an earlier builder's"  # no tag yet, a builder template: deploy adopts it
    OTHER_ENVIRONMENT = "another environment's"  # builder's tag, another Environment: same name, other prefix
    ANOTHER_TOOL = "another tool's"


def owner(record: DeployedStack | None, suffix: str) -> Owner:
    """Whose the deployed stack is, decided from its own tags and template Description, never from the config:
    a builder stack is this environment's only when its Environment tag is `suffix`. An earlier builder's stack
    whose Environment tag names another suffix is another environment's too."""
    if record is None or not record.exists or record.in_review:
        return Owner.NONE
    environment = record.tags.get(SUFFIX_TAG)
    if managed(record):
        return Owner.OURS if environment == suffix else Owner.OTHER_ENVIRONMENT
    if made_by_earlier_builder(record):
        return Owner.EARLIER if environment in (None, suffix) else Owner.OTHER_ENVIRONMENT
    return Owner.ANOTHER_TOOL


def other_environment(record: DeployedStack, suffix: str, refused: str, outcome: str) -> RefusedError:
    """The refusal of a command (`refused`: how it refuses, `outcome`: what it left undone) on a builder stack of
    this name that is not the environment `suffix`'s (its Environment tag)."""
    return RefusedError(record.name, f"{refused}: builder made this stack for another environment (its {SUFFIX_TAG} "
                                     f"tag is {record.tags.get(SUFFIX_TAG) or '(none)'}, not {suffix}: the same name "
                                     f"from another stack_prefix); {outcome}")


def refusal(found: Owner, record: DeployedStack, suffix: str, refused: str, outcome: str) -> RefusedError:
    """The refusal of a command that changes a stack (deploy, and diff for it) on a stack of this name that is
    not the environment `suffix`'s: another environment's, or another tool's."""
    if found is Owner.OTHER_ENVIRONMENT:
        return other_environment(record, suffix, refused, outcome)
    return RefusedError(record.name, f"{refused}: a stack of this name exists and builder did not make it (no "
                                     f"{MANAGED_BY_TAG}={MANAGED_BY} tag, not a builder template); {outcome}")


Refusal = Callable[[Owner, DeployedStack, str], RefusedError]  # (owner, stack, suffix): the command's refusal


def claim(watcher: StackWatcher, record: DeployedStack | None, suffix: str, allowed: Collection[Owner],
          refusal: Refusal) -> Owner:
    """The one ownership check before a write: judge the deployed stack (`record`, None when there is none)
    for the environment `suffix`; raise the command's refusal (exit 3, nothing written) unless its owner is
    `allowed`; else open the watcher's writes for this stack and return the owner."""
    found = owner(record, suffix)
    if found not in allowed:
        assert record is not None, "no stack is always allowed"
        raise refusal(found, record, suffix)
    watcher.allow_writes(record.stack_id if record is not None and found is not Owner.NONE else None)
    return found
