"""`cost`: the idle monthly cost and the usage rates of each environment.

Needs no credentials and no network; builder.cost is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from builder.cli.common import Subparsers, add_command, configs_from_args, usd
from builder.errors import EXIT_OK
from builder.report import grid

if TYPE_CHECKING:
    from builder.cost import EnvironmentCost, LineItem
    from builder.pricing import Price

DESCRIPTION = """\
For each suffix: the fixed monthly charges its stacks incur while idle (provisioned DynamoDB
capacity, CloudWatch alarms, customer-managed KMS keys, buckets and replication) and, as prices per
unit, the usage-based items (requests, storage, replication, RTC, PITR). Priced from the same
config and template as synth, with the list prices in builder/pricing.py; no free tier subtracted.

examples:
  python -m builder cost --suffix pr123
  python -m builder cost --suffix pr123 --suffix prod --config environments.toml
  python -m builder cost --suffix prod --output json
  python -m builder cost --suffix pr123 --max-monthly 1    # CI: exit 6 when over 1 USD a month idle
"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "cost", "monthly idle cost and usage rates per suffix", DESCRIPTION, [common])
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--output", choices=("text", "json"), default="text", help="output (default: text)")
    # The spelling the README documented before --output was the same on every command.
    output.add_argument("--format", choices=("table", "json"), dest="output", help=argparse.SUPPRESS)
    parser.add_argument("--max-monthly", type=usd, metavar="USD",
                        help="exit 6 when an environment's fixed monthly cost (to the cent) exceeds USD; "
                             "each environment on its own, after printing the costs")
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.cost import check_max_monthly, estimate

    costs = [estimate(config) for config in configs_from_args(args)]
    print(render_json(costs) if args.output == "json" else render_text(costs))
    if args.max_monthly is not None:
        check_max_monthly(costs, args.max_monthly)
    return EXIT_OK


def _money(usd: float) -> str:
    return f"{usd:.2f}"


def _rate(usd: float) -> str:
    return f"{usd:.6g}"


def _grid(rows: Sequence[Sequence[str]]) -> list[str]:
    return grid(rows[1:], rows[0], indent="", right_after_first=True)


def _mark(price: Price) -> str:
    return "" if price.verified else "*"


def render_text(costs: Sequence[EnvironmentCost]) -> str:
    from builder.cost import price_sources
    from builder.pricing import FREE_TIER_NOTE, PRICES_AS_OF, TRANSCRIBED_ON

    suffixes = [c.suffix for c in costs]
    several = len(costs) > 1
    lines = [f"{c.suffix}: " + ", ".join(f"{s.name} in {s.region}" for s in c.stacks) for c in costs]

    fixed_rows: dict[str, dict[str, str]] = {}
    sums: dict[str, dict[str, float]] = {}
    for c in costs:
        for item in c.fixed:
            sums.setdefault(item.row, {}).setdefault(c.suffix, 0.0)
            sums[item.row][c.suffix] += item.monthly_usd
            fixed_rows.setdefault(item.row, {})[c.suffix] = _mark(item.price)
    header = ["fixed monthly charges while idle (USD)", *suffixes] + (["total"] if several else [])
    rows = [header]
    for row, per_suffix in sums.items():
        cells = [_money(per_suffix[s]) + fixed_rows[row][s] if s in per_suffix else "-" for s in suffixes]
        rows.append([f"  {row}", *cells] + ([_money(sum(per_suffix.values()))] if several else []))
    totals = [c.fixed_monthly_usd for c in costs]
    rows.append(["  total per month", *map(_money, totals)] + ([_money(sum(totals))] if several else []))
    lines += ["", *_grid(rows)]

    rate_rows: dict[tuple[str, str], dict[str, str]] = {}
    for c in costs:
        for item in c.rates:
            rate_rows.setdefault((item.row, item.price.unit), {})[c.suffix] = _rate(item.price.usd) + _mark(item.price)
    rows = [["usage rates, charged only when used (USD)", "per", *suffixes]]
    rows += [[f"  {row}", unit, *(cells.get(s, "-") for s in suffixes)] for (row, unit), cells in rate_rows.items()]
    lines += ["", *_grid(rows)]

    notes = list(dict.fromkeys(note for c in costs for note in c.notes))
    if any(not i.price.verified for c in costs for i in c.items):
        notes.append("* a price the table marks as not verified (see builder/pricing.py)")
    notes.append(FREE_TIER_NOTE)
    pages = ", ".join(price_sources().values())
    notes.append(f"list prices as of {PRICES_AS_OF}, transcribed {TRANSCRIBED_ON} from: {pages}")
    lines += ["", *(f"note: {n}" for n in notes)]
    return "\n".join(lines)


def render_json(costs: Sequence[EnvironmentCost]) -> str:
    from builder.cost import price_sources
    from builder.pricing import PRICES_AS_OF, TRANSCRIBED_ON

    sources = price_sources()

    def item(i: LineItem) -> dict[str, object]:
        out: dict[str, object] = {"stack": i.stack, "resource": i.resource, "type": i.resource_type, "item": i.what,
               "unit": i.price.unit, "unit_price_usd": i.price.usd, "price_source": sources[i.price.source],
               "price_verified": i.price.verified}
        if i.fixed:
            out.update(quantity=i.quantity, monthly_usd=round(i.monthly_usd, 6))
        return out

    document = {
        "prices": {"as_of": PRICES_AS_OF, "transcribed_on": TRANSCRIBED_ON, "sources": sources,
                   "free_tier_subtracted": False},
        "environments": [{"suffix": c.suffix, "region": c.region, "notes": list(c.notes),
                          "stacks": [{"name": s.name, "region": s.region, "priced_as": s.priced_as} for s in c.stacks],
                          "fixed_monthly_usd": round(c.fixed_monthly_usd, 6),
                          "fixed": [item(i) for i in c.fixed], "rates": [item(i) for i in c.rates]}
                         for c in costs],
        "total_fixed_monthly_usd": round(sum(c.fixed_monthly_usd for c in costs), 6),
    }
    return json.dumps(document, indent=2)
