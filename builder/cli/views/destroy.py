"""What destroy says about the stacks it found: the replicas it deletes and why they are this environment's,
the ones it leaves alone and why, and the ledger of what a delete leaves behind."""

from __future__ import annotations

from typing import Any

from builder.cli.views.reasons import NOT_BUILDERS
from builder.ops.destroy import FoundBy, LeftAlone, LeftAloneWhy, Target
from builder.ops.ledger import LeftBehind, Stays
from builder.ops.ownership import NotBuilders


def left_alone_text(found: LeftAlone) -> str:
    """`app-pr1-replica in us-west-2 belongs to the primary app-pr1 in eu-west-1, ...; left alone`."""
    where = f"{found.name} in {found.region}"
    if found.why is LeftAloneWhy.ANOTHER_PRIMARYS:
        return (f"{where} belongs to the primary {found.primary} in {found.owner}, not to {found.primary} in "
                f"{found.primary_region}; left alone")
    if found.why is LeftAloneWhy.UNCLAIMED:
        return (f"{where} has no builder:primary-region tag, and no deployed {found.primary} in "
                f"{found.primary_region} names {found.region}; left alone")
    return f"{where} is {NOT_BUILDERS[found.not_builders or NotBuilders.ANOTHER_TOOLS]}; left alone"


def found_by_text(primary: Target, replica: Target) -> str:
    """`the replica of app-pr1: the deployed app-pr1 names that region`: why a replica is this environment's."""
    how = (f"the deployed {primary.name} names that region" if replica.found_by is FoundBy.PRIMARY_NAMES_IT
           else f"its builder:primary-region tag names {primary.region}")
    return f"the replica of {primary.name}: {how}"


def why_text(item: LeftBehind) -> str:
    """Why a resource outlives its stack: its DeletionPolicy, or what CloudFormation failed on (a force delete)."""
    if item.stays is Stays.KEPT:
        return f"DeletionPolicy {item.deletion_policy}"
    because = f" ({item.status_reason})" if item.status_reason else ""
    return f"CloudFormation could not delete it{because}; force delete skips it"


def ledger_lines(stack: str, region: str, stays: tuple[LeftBehind, ...]) -> list[str]:
    return [f"left behind by the delete of {stack} ({region}): {len(stays)} resource(s)",
            *(f"  {i.logical_id} {i.resource_type} {i.physical_id}: {why_text(i)}; "
              f"{'not priced' if i.monthly_usd is None else f'{i.monthly_usd:.2f} USD/month idle'}; "
              f"remove: {i.remove_command}" for i in stays)]


def ledger_resource(item: LeftBehind) -> dict[str, Any]:
    """One resource of the `ledger` JSON record."""
    return {"logical_id": item.logical_id, "resource_type": item.resource_type, "physical_id": item.physical_id,
            "why": why_text(item), "remove_command": item.remove_command, "monthly_usd": item.monthly_usd}
