"""The fleet on AWS: every stack of one stack prefix in some regions, what each costs idle, and reaping them.

builder.ops.reap decides (pure, over DescribeStacks records); this module reads CloudFormation for it,
prices each stack from its own deployed template and parameter values, and deletes through destroy.

Calls per stack: the listing is one DescribeStacks page per 100 stacks of a region; pricing is one
GetTemplate per stack; `status --all` adds one GetStackPolicy per stack (whether its policy protects what
its deployed template holds); a delete is destroy's own calls (its DescribeStacks doubles as reap's fresh look).
Every read is drawn from the run's budget of its region (`Pollers`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import botocore.exceptions

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
from builder.stack import policy
from builder.stack.deployed import DeployedStack
from builder.stack.poller import Pollers
from builder.stack.template import template_from_body
from builder.stack.watch import WatcherFactory
from builder.stack_policy import protected_resources

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
        try:
            token: str | None = None
            while True:
                page = read("describe_stacks", **({"NextToken": token} if token else {}))
                stacks = map(DeployedStack.from_api, page.get("Stacks", []))
                found += [Found(region, stack) for stack in stacks
                          if stack.name.startswith(f"{stack_prefix}-") and stack.exists]
                token = page.get("NextToken")
                if not token:
                    break
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:  # as aws.translate does
            aws.raise_failure(f"stacks {stack_prefix}-* in {region}", exc, region)
    return found


def monthly_idle_usd(row: Row, read: Read) -> float | None:
    """The stack's fixed monthly cost from its deployed template and parameters; None when it cannot be
    priced (a resource the price table does not know, or the template is gone)."""
    return _looked_at(row, read, policies=False)[0]


def _looked_at(row: Row, read: Read, policies: bool) -> tuple[float | None, str | None]:
    """The stack's idle monthly cost (one GetTemplate) and, with `policies`, whether its stack policy
    protects what its deployed template holds (one GetStackPolicy; builder.stack.policy.protection);
    None for what could not be read."""
    try:
        with aws.translate(row.stack, row.region):
            body = read("get_template", StackName=row.record.stack_id or row.stack,
                        TemplateStage="Original")["TemplateBody"]
        template = template_from_body(body, row.stack)
    except BuilderError:
        return None, None
    try:
        cost: float | None = price_deployed(template, row.record.resolved_parameters, row.stack, row.region)
    except BuilderError:
        cost = None
    if not policies:
        return cost, None
    try:
        with aws.translate(row.stack, row.region):
            return cost, policy.protection(read, row.record.stack_id or row.stack, protected_resources(template))
    except BuilderError:
        return cost, None


class PriceResult(StrEnum):
    """What pricing found of one stack of the fleet (it changes nothing)."""

    PRICED = "priced"
    NOT_PRICED = "not priced"


def priced(plan_: Plan, concurrency: int, pollers: Pollers, policies: bool = False) -> Plan:
    """The plan with every row's idle monthly cost (and, with `policies`, its stack policy's protection),
    `concurrency` stacks at a time through the executor (ops.pool), each read drawn from the run's budget of
    its region. Look-alikes are not read. Ctrl-C stops the reads of the run and raises KeyboardInterrupt:
    nothing is judged on a half-read fleet."""
    found: dict[tuple[str, str], tuple[float | None, str | None]] = {}

    def look(row: Row) -> Outcome:
        seen = _looked_at(row, pollers.poller(row.region).read, policies) if row.managed else (None, None)
        found[row.stack, row.region] = seen
        return Outcome(row.stack, row.region, PriceResult.NOT_PRICED if seen[0] is None else PriceResult.PRICED)

    outcomes = run_all([[row] for row in plan_.rows], look, max(1, concurrency), pollers)
    if pollers.interrupted or any(o.result is Result.INTERRUPTED for o in outcomes):
        raise KeyboardInterrupt
    costed = with_costs(plan_, lambda row: found.get((row.stack, row.region), (None, None))[0])
    if not policies:
        return costed
    return Plan(tuple(replace(row, stack_policy=found.get((row.stack, row.region), (None, None))[1])
                      for row in costed.rows))


def fleet_plan(stack_prefix: str, regions: Sequence[str], limits: AgeLimits, concurrency: int, pollers: Pollers,
               now: Clock = utc_now, owns: Callable[[str], bool] | None = None, policies: bool = False) -> Plan:
    """Every stack of the prefix in the regions, judged and priced (look-alikes not priced); with `owns`,
    only the stacks of the suffixes it owns (a --shard), so no other shard's stack is priced or deleted;
    with `policies`, each stack's stack policy read too."""
    judged = plan(list_stacks(stack_prefix, regions, pollers), stack_prefix, now(), limits, searched=regions)
    if owns is not None:
        judged = Plan(tuple(row for row in judged.rows if owns(row.suffix)))
    return priced(judged, concurrency, pollers, policies)


def destroyer(options: DestroyOptions, reporter: Reporter, limits: AgeLimits, watcher_factory: WatcherFactory,
              now: Clock = utc_now) -> DestroyOne:
    """Delete a row's stack exactly as destroy does, after a fresh look says it is still reapable."""

    def destroy_one(row: Row) -> Outcome:
        def still_reapable(fresh: DeployedStack) -> None:
            reason = recheck(row, fresh, now(), limits)
            if reason is not None:
                raise NoLongerReapable(row.stack, reason)

        return destroy_stack(row.stack, row.region, row.suffix, options, reporter, watcher_factory,
                             before_delete=still_reapable)

    return destroy_one


def fleet_rows(stack_prefix: str, regions: Sequence[str], pollers: Pollers, concurrency: int = 4,
               now: Clock = utc_now, policies: bool = False) -> Plan:
    """`status --all`: every stack of the prefix with its idle time, ttl and idle cost (no --older-than), and
    with `policies` whether its stack policy protects what it holds."""
    return fleet_plan(stack_prefix, regions, NO_LIMITS, concurrency, pollers, now, policies=policies)
