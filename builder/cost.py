"""What an environment costs while it sits idle, and the rates of what it would cost in use.

`estimate(config)` takes the same stacks synth writes (`builder.synth.stacks_for`), reads each
template with its Parameters' defaults (which carry the suffix's config) and prices every resource
that exists under them. Fixed items are charged every month the stack exists; rate items are
prices per unit of use, never multiplied by invented usage. No free tier is subtracted.

Each resource family says how its types are priced (Family.pricers, with builder.pricing's rows and its
own Family.prices) and which it does not pay for (Family.free_types); builder.resources.inventory()
collects them. A type in neither raises CostError, so a new resource cannot slip into a template with
no price.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from builder.environment import EnvironmentConfig
from builder.errors import OverBudgetError
from builder.pricing import SOURCES, CostError, LineItem, PricingContext, RegionPrices, prices_for
from builder.resources import inventory
from builder.synth import Stack, stacks_for
from builder.template_values import DefaultsEvaluator

__all__ = ["CostError", "EnvironmentCost", "LineItem", "StackPricing", "check_max_monthly", "estimate",
           "price_sources", "region_prices", "stack_items"]


@dataclass(frozen=True)
class StackPricing:
    name: str
    region: str
    priced_as: str  # the region whose prices were used


@dataclass(frozen=True)
class EnvironmentCost:
    suffix: str
    region: str
    stacks: tuple[StackPricing, ...]
    items: tuple[LineItem, ...]
    notes: tuple[str, ...]

    @property
    def fixed(self) -> tuple[LineItem, ...]:
        return tuple(i for i in self.items if i.fixed)

    @property
    def rates(self) -> tuple[LineItem, ...]:
        return tuple(i for i in self.items if not i.fixed)

    @property
    def fixed_monthly_usd(self) -> float:
        return sum(i.monthly_usd for i in self.fixed)


# --------------------------------------------------------------------------- estimates

def region_prices(region: str) -> RegionPrices:
    """builder.pricing's row for the region, with the rows the families bring."""
    return prices_for(region).with_rows(inventory().prices)


def price_sources() -> dict[str, str]:
    """Every Price.source -> its page: builder.pricing's and the families' own."""
    return {**SOURCES, **inventory().price_sources}


def stack_items(stack: Stack, prices: RegionPrices, notes: list[str]) -> list[LineItem]:
    """Line items of one synthesized stack, in template order."""
    template = json.loads(stack.template_body)
    ctx = PricingContext(stack.name, prices, notes)
    evaluator = DefaultsEvaluator(template, {"AWS::Region": stack.region, "AWS::StackName": stack.name})
    collected = inventory()
    items: list[LineItem] = []
    for name, resource in evaluator.resources().items():
        rtype = resource["Type"]
        if rtype in collected.free_types:
            continue
        pricer = collected.pricers.get(rtype)
        if pricer is None:
            raise CostError(f"{stack.name}.{name}", f"no price for {rtype}; add a pricer to its family's pricers "
                                                    f"or, if AWS does not bill it, to its free_types")
        items += pricer(ctx, name, resource["Properties"])
    return items


def estimate(config: EnvironmentConfig) -> EnvironmentCost:
    """The priced line items of every stack synth writes for this config, primary stack first."""
    notes: list[str] = []
    items: list[LineItem] = []
    stacks: list[StackPricing] = []
    for stack in sorted(stacks_for(config, "json"), key=lambda s: s.is_replica):
        prices = region_prices(stack.region)
        if prices.note and prices.note not in notes:
            notes.append(prices.note)
        stacks.append(StackPricing(stack.name, stack.region, prices.priced_as))
        items += stack_items(stack, prices, notes)
    return EnvironmentCost(config.suffix, config.region, tuple(stacks), tuple(items), tuple(notes))


def check_max_monthly(costs: list[EnvironmentCost], max_monthly_usd: float) -> None:
    """The cost gate of `cost --max-monthly`: OverBudgetError (exit 6) when any environment's fixed
    monthly cost exceeds the limit (each environment on its own, not their sum)."""
    over = [c for c in costs if round(c.fixed_monthly_usd, 2) > max_monthly_usd]
    if over:
        raise OverBudgetError("--max-monthly", "; ".join(
            f"{c.suffix} costs {c.fixed_monthly_usd:,.2f} USD a month idle, over {max_monthly_usd:,.2f}" for c in over))
