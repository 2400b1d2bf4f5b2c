"""The price table `python -m builder cost` multiplies by: list prices in USD, no free tier, no tax.

Provenance, honestly: the figures are AWS list prices as published on the SOURCES pages after
DynamoDB's on-demand price cut of 2024-11-01, written down on TRANSCRIBED_ON from the author's
knowledge of those pages, without fetching them (no network). A Price with verified=False is one
the author could not confirm even that way (derived, or assumed equal to us-east-1). Re-read the
pages and update PRICES_AS_OF before quoting a figure to anyone who pays the bill.

Regions: us-east-1, us-west-2 and eu-west-1. Any other region is priced with the us-east-1 row,
and the cost output says so.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Any

from builder.errors import OperationError
from builder.template_values import UNKNOWN

PRICES_AS_OF = "2024-11 (after DynamoDB's 2024-11-01 on-demand price cut)"
TRANSCRIBED_ON = "2026-11-28"
FALLBACK_REGION = "us-east-1"
HOURS_PER_MONTH = 730  # AWS's own convention in its pricing examples
FREE_TIER_NOTE = ("the account-wide free tier is not subtracted (among others: 10 CloudWatch alarm metrics, "
                  "25 GB of DynamoDB storage, 1,000 SNS emails a month)")

SOURCES: Mapping[str, str] = MappingProxyType({
    "dynamodb-provisioned": "https://aws.amazon.com/dynamodb/pricing/provisioned/",
    "dynamodb-on-demand": "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    "cloudwatch": "https://aws.amazon.com/cloudwatch/pricing/",
    "kms": "https://aws.amazon.com/kms/pricing/",
    "s3": "https://aws.amazon.com/s3/pricing/",
    "sns": "https://aws.amazon.com/sns/pricing/",
})


@dataclass(frozen=True)
class Price:
    """One list price: USD per `unit`, from the page SOURCES[source]."""

    usd: float
    unit: str
    source: str
    verified: bool = True


def _p(usd: float, unit: str, source: str) -> Price:
    return Price(usd, unit, source)


_US_EAST_1: dict[str, Price] = {
    # DynamoDB, Standard table class
    "dynamodb.rcu_hour": _p(0.00013, "RCU-hour", "dynamodb-provisioned"),
    "dynamodb.wcu_hour": _p(0.00065, "WCU-hour", "dynamodb-provisioned"),
    "dynamodb.read_requests": _p(0.125, "million RRUs", "dynamodb-on-demand"),
    "dynamodb.write_requests": _p(0.625, "million WRUs", "dynamodb-on-demand"),
    "dynamodb.storage": _p(0.25, "GB-month", "dynamodb-on-demand"),
    "dynamodb.pitr": _p(0.20, "GB-month of table size", "dynamodb-on-demand"),
    # CloudWatch
    "cloudwatch.alarm_metric": _p(0.10, "alarm metric-month", "cloudwatch"),
    "cloudwatch.high_resolution_alarm_metric": _p(0.30, "alarm metric-month", "cloudwatch"),
    "cloudwatch.custom_metric": _p(0.30, "metric-month", "cloudwatch"),
    # KMS
    "kms.key": _p(1.00, "key-month", "kms"),
    "kms.requests": _p(0.03, "10,000 requests", "kms"),
    # S3
    "s3.bucket": _p(0.0, "bucket-month", "s3"),
    "s3.standard_storage": _p(0.023, "GB-month", "s3"),
    "s3.put_requests": _p(0.005, "1,000 requests", "s3"),
    "s3.get_requests": _p(0.0004, "1,000 requests", "s3"),
    "s3.replication_rule": _p(0.0, "month", "s3"),
    "s3.inter_region_transfer": _p(0.02, "GB replicated", "s3"),
    "s3.rtc": _p(0.015, "GB replicated", "s3"),
    # SNS
    "sns.publish": _p(0.50, "million publishes", "sns"),
    "sns.email": _p(2.00, "100,000 emails", "sns"),
}


def _derived(base: Mapping[str, Price], changes: Mapping[str, float], unverified: frozenset[str]) -> dict[str, Price]:
    """Another region's row: base prices with changes; names in `unverified` marked so."""
    row = {key: replace(price, usd=changes.get(key, price.usd)) for key, price in base.items()}
    return {key: replace(price, verified=False) if key in unverified else price for key, price in row.items()}


# us-west-2 lists the same figures as us-east-1 for these services as far as the author knows.
_US_WEST_2 = _derived(_US_EAST_1, {}, frozenset({"sns.publish", "sns.email", "kms.requests"}))
# eu-west-1: DynamoDB provisioned and storage are the published Ireland figures; the on-demand
# figures are the pre-cut Ireland prices halved (the cut was 50 %), PITR is a guess of the same
# ratio as storage.
_EU_WEST_1 = _derived(
    _US_EAST_1,
    {"dynamodb.rcu_hour": 0.000147, "dynamodb.wcu_hour": 0.000735, "dynamodb.read_requests": 0.1415,
     "dynamodb.write_requests": 0.70675, "dynamodb.storage": 0.283, "dynamodb.pitr": 0.2264},
    frozenset({"dynamodb.read_requests", "dynamodb.write_requests", "dynamodb.pitr", "sns.publish", "sns.email"}),
)

PRICES: Mapping[str, Mapping[str, Price]] = MappingProxyType({
    region: MappingProxyType(row)
    for region, row in (("us-east-1", _US_EAST_1), ("us-west-2", _US_WEST_2), ("eu-west-1", _EU_WEST_1))
})


@dataclass(frozen=True)
class RegionPrices:
    """The row used for a region: which region's figures, and a note when it is not the asked one."""

    region: str
    priced_as: str
    prices: Mapping[str, Price]
    note: str | None

    def __getitem__(self, key: str) -> Price:
        return self.prices[key]

    def with_rows(self, rows: Mapping[str, Price]) -> RegionPrices:
        """These prices and more rows (a family's own, the same in every region); none: itself."""
        return replace(self, prices=MappingProxyType({**self.prices, **rows})) if rows else self


def prices_for(region: str) -> RegionPrices:
    if region in PRICES:
        return RegionPrices(region, region, PRICES[region], None)
    known = ", ".join(PRICES)
    note = (f"{region}: no prices in the table (it has {known}); showing the {FALLBACK_REGION} figures, "
            f"which may differ")
    return RegionPrices(region, FALLBACK_REGION, PRICES[FALLBACK_REGION], note)


# --------------------------------------------------------------------------- what a pricer works with

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
class PricingContext:
    """One stack being priced: its name, its region's prices, and the notes the estimate collects."""

    stack: str
    prices: RegionPrices
    notes: list[str]

    def fixed(self, resource: str, rtype: str, what: str, key: str, quantity: float) -> LineItem:
        return LineItem(self.stack, resource, rtype, what, self.prices[key], float(quantity))

    def rate(self, resource: str, rtype: str, what: str, key: str) -> LineItem:
        return LineItem(self.stack, resource, rtype, what, self.prices[key])


# A resource type's pricer: (context, logical id, properties under the parameter defaults) -> its items.
Pricer = Callable[[PricingContext, str, Mapping[str, Any]], list[LineItem]]


def known(value: Any, where: str, what: str) -> Any:
    """The value, or CostError when it depends on more than parameter defaults."""
    if value is UNKNOWN:
        raise CostError(where, f"{what} depends on something other than parameter defaults; cannot price it")
    return value


def enabled(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true") or value == "Enabled"
