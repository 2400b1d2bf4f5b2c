"""What an environment costs while it sits idle, and the rates of what it would cost in use.

`estimate(config)` takes the same stacks synth writes (`builder.synth.stacks_for`), reads each
template with its Parameters' defaults (which carry the suffix's config) and prices every resource
that exists under them. Fixed items are charged every month the stack exists; rate items are
prices per unit of use, never multiplied by invented usage. No free tier is subtracted.

Every resource type must be in PRICERS or FREE_TYPES: an unpriced type raises CostError, so a new
resource cannot slip into a template with no price.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from builder.environment import EnvironmentConfig
from builder.errors import OperationError
from builder.pricing import HOURS_PER_MONTH, Price, RegionPrices, prices_for
from builder.synth import Stack, stacks_for
from builder.template_values import UNKNOWN, DefaultsEvaluator, as_number

# Types AWS does not bill for by themselves (what they enable is priced on the resource it belongs to).
FREE_TYPES = frozenset({
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::KMS::Alias",
    "AWS::S3::BucketPolicy",
    "AWS::SNS::TopicPolicy",
})


ROTATION_NOTE = ("KMS keys rotate yearly: each of the first two rotations adds the key-month price again "
                 "(so up to 3 USD a key from the third year)")


class CostError(OperationError):
    """A template holds something the price table cannot price."""


@dataclass(frozen=True)
class LineItem:
    """One priced thing. Fixed items have a monthly quantity; rate items have none."""

    stack: str
    resource: str
    resource_type: str
    what: str
    price: Price
    quantity: float | None = None  # units per month, for fixed items

    @property
    def fixed(self) -> bool:
        return self.quantity is not None

    @property
    def monthly_usd(self) -> float:
        return (self.quantity or 0.0) * self.price.usd

    @property
    def row(self) -> str:
        """The row label, the same for every suffix (stack names differ, logical ids do not)."""
        return f"{self.resource}: {self.what}"


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


@dataclass(frozen=True)
class _Context:
    stack: str
    prices: RegionPrices
    notes: list[str]

    def fixed(self, resource: str, rtype: str, what: str, key: str, quantity: float) -> LineItem:
        return LineItem(self.stack, resource, rtype, what, self.prices[key], float(quantity))

    def rate(self, resource: str, rtype: str, what: str, key: str) -> LineItem:
        return LineItem(self.stack, resource, rtype, what, self.prices[key])


def _known(value: Any, where: str, what: str) -> Any:
    if value is UNKNOWN:
        raise CostError(where, f"{what} depends on something other than parameter defaults; cannot price it")
    return value


def _enabled(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true") or value == "Enabled"


# --------------------------------------------------------------------------- pricers, one per type

def _table(ctx: _Context, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    rtype = "AWS::DynamoDB::Table"
    where = f"{ctx.stack}.{name}"
    mode = _known(props.get("BillingMode", "PROVISIONED"), where, "BillingMode")  # CloudFormation's default
    items: list[LineItem] = []
    if mode == "PROVISIONED":
        parts = [("table", props)] + [(f"index {gsi.get('IndexName', '?')}", gsi)
                                       for gsi in props.get("GlobalSecondaryIndexes", [])]
        for label, part in parts:
            throughput = part.get("ProvisionedThroughput") or {}
            for field, unit, key in (("ReadCapacityUnits", "RCU", "dynamodb.rcu_hour"),
                                     ("WriteCapacityUnits", "WCU", "dynamodb.wcu_hour")):
                units = as_number(_known(throughput.get(field, UNKNOWN), where, f"{label} {field}"))
                if units is None:
                    raise CostError(where, f"{label} {field} is not a number ({throughput.get(field)!r})")
                items.append(ctx.fixed(name, rtype, f"{label} {unit}s x {HOURS_PER_MONTH} h", key,
                                       units * HOURS_PER_MONTH))
    elif mode == "PAY_PER_REQUEST":
        items.append(ctx.rate(name, rtype, "on-demand writes", "dynamodb.write_requests"))
        items.append(ctx.rate(name, rtype, "on-demand reads", "dynamodb.read_requests"))
    else:
        raise CostError(where, f"BillingMode {mode!r} is neither PROVISIONED nor PAY_PER_REQUEST")
    items.append(ctx.rate(name, rtype, "storage", "dynamodb.storage"))
    pitr = (props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
    if _enabled(_known(pitr, where, "PointInTimeRecoveryEnabled")):
        items.append(ctx.rate(name, rtype, "point-in-time recovery", "dynamodb.pitr"))
    return items


def _alarm(ctx: _Context, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    """CloudWatch bills alarms per metric: a metric math alarm counts each metric it reads."""
    queries = props.get("Metrics")
    if queries:
        stats = [q["MetricStat"] for q in queries if isinstance(q, Mapping) and "MetricStat" in q]
        periods = [as_number(s.get("Period")) for s in stats]
    else:
        stats, periods = [props], [as_number(props.get("Period"))]
    metrics = max(len(stats), 1)
    high = any(p is not None and p < 60 for p in periods)
    key = "cloudwatch.high_resolution_alarm_metric" if high else "cloudwatch.alarm_metric"
    label = f"{'high-resolution ' if high else ''}alarm, {metrics} metric{'s' if metrics > 1 else ''}"
    return [ctx.fixed(name, "AWS::CloudWatch::Alarm", label, key, metrics)]


def _key(ctx: _Context, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    rtype = "AWS::KMS::Key"
    if _enabled(props.get("EnableKeyRotation")) and ROTATION_NOTE not in ctx.notes:
        ctx.notes.append(ROTATION_NOTE)
    return [ctx.fixed(name, rtype, "customer-managed key", "kms.key", 1),
            ctx.rate(name, rtype, "requests", "kms.requests")]


def _bucket(ctx: _Context, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    rtype = "AWS::S3::Bucket"
    versioned = (props.get("VersioningConfiguration") or {}).get("Status") == "Enabled"
    items = [ctx.fixed(name, rtype, "bucket", "s3.bucket", 1),
             ctx.rate(name, rtype, "storage" + (" (noncurrent versions count)" if versioned else ""),
                      "s3.standard_storage"),
             ctx.rate(name, rtype, "PUT/COPY/POST/LIST requests", "s3.put_requests"),
             ctx.rate(name, rtype, "GET requests", "s3.get_requests")]
    rules = [r for r in (props.get("ReplicationConfiguration") or {}).get("Rules", [])
             if isinstance(r, Mapping) and r.get("Status") == "Enabled"]
    if rules:
        items.append(ctx.fixed(name, rtype, "replication", "s3.replication_rule", 1))
        items.append(ctx.rate(name, rtype, "replication transfer", "s3.inter_region_transfer"))
        destinations = [r.get("Destination") or {} for r in rules]
        if any((d.get("ReplicationTime") or {}).get("Status") == "Enabled" for d in destinations):
            items.append(ctx.rate(name, rtype, "Replication Time Control", "s3.rtc"))
        if any((d.get("Metrics") or {}).get("Status") == "Enabled" for d in destinations):
            items.append(ctx.rate(name, rtype, "replication metrics (CloudWatch, while reported)",
                                  "cloudwatch.custom_metric"))
    return items


def _topic(ctx: _Context, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    return [ctx.rate(name, "AWS::SNS::Topic", "publishes", "sns.publish")]


def _subscription(ctx: _Context, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    protocol = props.get("Protocol")
    if protocol != "email":
        raise CostError(f"{ctx.stack}.{name}", f"no price row for SNS {protocol!r} deliveries; add one to "
                                               f"builder.pricing")
    return [ctx.rate(name, "AWS::SNS::Subscription", "email notifications", "sns.email")]


Pricer = Callable[[_Context, str, Mapping[str, Any]], list[LineItem]]
PRICERS: Mapping[str, Pricer] = {
    "AWS::DynamoDB::Table": _table,
    "AWS::CloudWatch::Alarm": _alarm,
    "AWS::KMS::Key": _key,
    "AWS::S3::Bucket": _bucket,
    "AWS::SNS::Topic": _topic,
    "AWS::SNS::Subscription": _subscription,
}


# --------------------------------------------------------------------------- estimates

def stack_items(stack: Stack, prices: RegionPrices, notes: list[str]) -> list[LineItem]:
    """Line items of one synthesized stack, in template order."""
    template = json.loads(stack.template_body)
    ctx = _Context(stack.name, prices, notes)
    evaluator = DefaultsEvaluator(template, {"AWS::Region": stack.region, "AWS::StackName": stack.name})
    items: list[LineItem] = []
    for name, resource in evaluator.resources().items():
        rtype = resource["Type"]
        if rtype in FREE_TYPES:
            continue
        pricer = PRICERS.get(rtype)
        if pricer is None:
            raise CostError(f"{stack.name}.{name}", f"no price for {rtype}; add a pricer to builder.cost.PRICERS "
                                                    f"or, if AWS does not bill it, to FREE_TYPES")
        items += pricer(ctx, name, resource["Properties"])
    return items


def estimate(config: EnvironmentConfig) -> EnvironmentCost:
    """The priced line items of every stack synth writes for this config, primary stack first."""
    notes: list[str] = []
    items: list[LineItem] = []
    stacks: list[StackPricing] = []
    for stack in sorted(stacks_for(config, "json"), key=lambda s: s.is_replica):
        prices = prices_for(stack.region)
        if prices.note and prices.note not in notes:
            notes.append(prices.note)
        stacks.append(StackPricing(stack.name, stack.region, prices.priced_as))
        items += stack_items(stack, prices, notes)
    return EnvironmentCost(config.suffix, config.region, tuple(stacks), tuple(items), tuple(notes))
