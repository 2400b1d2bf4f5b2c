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

Pure functions over DeployedStack values.
"""

from __future__ import annotations

from enum import StrEnum

from builder.environment import MANAGED_BY, MANAGED_BY_TAG, PRIMARY_REGION_TAG, REPLICA_REGION_TAG
from builder.resources import DESCRIPTION_START
from builder.stack.deployed import DeployedStack

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
