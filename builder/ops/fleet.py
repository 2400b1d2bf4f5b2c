"""The fleet on AWS: every stack of one stack prefix in some regions, what each costs idle, and reaping them.

builder.ops.reap decides (pure, over DescribeStacks records); this module reads CloudFormation for it,
prices each stack from its own deployed template and parameter values, and deletes through destroy.

Calls per stack: the listing is one DescribeStacks page per 100 stacks of a region; pricing is one
GetTemplate per stack; a delete is destroy's own calls (its DescribeStacks doubles as reap's fresh look).
Every read is drawn from the run's budget of its region (`Pollers`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from builder.deployed_cost import price_deployed
from builder.errors import BuilderError
from builder.ops.destroy import DestroyOptions, destroy_stack
from builder.ops.pool import Outcome, Result, run_all
from builder.ops.reap import (
    NO_LIMITS,
    AgeLimits,
    DestroyOne,
    Found,
    NoLongerReapable,
    Plan,
    Row,
    plan,
    recheck,
    with_costs,
)
from builder.report import Reporter
from builder.stack import client as aws
from builder.stack.deployed import DeployedStack
from builder.stack.poller import Pollers
from builder.stack.template import template_from_body
from builder.stack.watch import WatcherFactory

Clock = Callable[[], datetime]
Read = Callable[..., dict[str, Any]]  # read(operation, **kwargs): one CloudFormation read through the budget


def utc_now() -> datetime:
    return datetime.now(UTC)


def list_stacks(stack_prefix: str, regions: Sequence[str], pollers: Pollers) -> list[Found]:
    """Every live stack named `<stack_prefix>-...` in the regions (each region once, in the order given);
    each DescribeStacks page drawn from the run's budget of its region."""
    found: list[Found] = []
    for region in dict.fromkeys(regions):
        read = pollers.poller(region).read
        with aws.translate(f"stacks {stack_prefix}-* in {region}", region):
            token: str | None = None
            while True:
                page = read("describe_stacks", **({"NextToken": token} if token else {}))
                stacks = map(DeployedStack.from_api, page.get("Stacks", []))
                found += [Found(region, stack) for stack in stacks
                          if stack.name.startswith(f"{stack_prefix}-") and stack.exists]
                token = page.get("NextToken")
                if not token:
                    break
    return found


def monthly_idle_usd(row: Row, read: Read) -> float | None:
    """The stack's fixed monthly cost from its deployed template and parameters; None when it cannot be
    priced (a resource the price table does not know, or the template is gone)."""
    try:
        with aws.translate(row.stack, row.region):
            body = read("get_template", StackName=row.record.stack_id or row.stack,
                        TemplateStage="Original")["TemplateBody"]
        return price_deployed(template_from_body(body, row.stack), row.record.resolved_parameters, row.stack,
                              row.region)
    except BuilderError:
        return None


class PriceResult(StrEnum):
    """What pricing found of one stack of the fleet (it changes nothing)."""

    PRICED = "priced"
    NOT_PRICED = "not priced"


def priced(plan_: Plan, concurrency: int, pollers: Pollers) -> Plan:
    """The plan with every row's idle monthly cost, `concurrency` GetTemplate calls at a time (through the
    executor, ops.pool), each drawn from the run's budget of its region. Ctrl-C stops the reads of the run
    and raises KeyboardInterrupt: nothing is judged on a half-priced fleet."""
    costs: dict[tuple[str, str], float | None] = {}

    def price(row: Row) -> Outcome:
        cost = monthly_idle_usd(row, pollers.poller(row.region).read) if row.managed else None
        costs[row.stack, row.region] = cost
        return Outcome(row.stack, row.region, PriceResult.NOT_PRICED if cost is None else PriceResult.PRICED)

    outcomes = run_all([[row] for row in plan_.rows], price, max(1, concurrency), pollers)
    if pollers.interrupted or any(o.result is Result.INTERRUPTED for o in outcomes):
        raise KeyboardInterrupt
    return with_costs(plan_, lambda row: costs.get((row.stack, row.region)))


def fleet_plan(stack_prefix: str, regions: Sequence[str], limits: AgeLimits, concurrency: int, pollers: Pollers,
               now: Clock = utc_now, owns: Callable[[str], bool] | None = None) -> Plan:
    """Every stack of the prefix in the regions, judged and priced (look-alikes not priced); with `owns`,
    only the stacks of the suffixes it owns (a --shard), so no other shard's stack is priced or deleted."""
    judged = plan(list_stacks(stack_prefix, regions, pollers), stack_prefix, now(), limits, searched=regions)
    if owns is not None:
        judged = Plan(tuple(row for row in judged.rows if owns(row.suffix)))
    return priced(judged, concurrency, pollers)


def destroyer(options: DestroyOptions, reporter: Reporter, limits: AgeLimits, watcher_factory: WatcherFactory,
              now: Clock = utc_now) -> DestroyOne:
    """Delete a row's stack exactly as destroy does, after a fresh look says it is still reapable."""

    def destroy_one(row: Row) -> Outcome:
        def still_reapable(fresh: DeployedStack) -> None:
            reason = recheck(row, fresh, now(), limits)
            if reason is not None:
                raise NoLongerReapable(row.stack, reason)

        return destroy_stack(row.stack, row.region, options, reporter, watcher_factory, before_delete=still_reapable)

    return destroy_one


def fleet_rows(stack_prefix: str, regions: Sequence[str], pollers: Pollers, concurrency: int = 4,
               now: Clock = utc_now) -> Plan:
    """`status --all`: every stack of the prefix with its idle time, ttl and idle cost (no --older-than)."""
    return fleet_plan(stack_prefix, regions, NO_LIMITS, concurrency, pollers, now)
