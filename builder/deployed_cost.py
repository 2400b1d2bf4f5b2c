"""What a deployed stack costs idle, from its own template and parameter values.

A stack deployed by an older config is priced as it is, not as today's config would make it: the
template comes from GetTemplate, the values from DescribeStacks' Parameters. The cost module prices
a template with its Parameters' Defaults, so the deployed values are put in as the Defaults of a copy.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

from builder.cost import region_prices, stack_items
from builder.environment import EnvironmentConfig
from builder.pricing import LineItem
from builder.synth import Stack


def with_values_as_defaults(template: Mapping[str, Any], parameters: Mapping[str, str]) -> dict[str, Any]:
    """A copy of the template whose Parameters' Defaults are the deployed values.

    Values of parameters the template does not declare are ignored (CloudFormation would have refused
    them); declared parameters without a deployed value keep their Default.
    """
    result = copy.deepcopy(dict(template))
    declared = result.get("Parameters") or {}
    for name, value in parameters.items():
        if isinstance(declared.get(name), dict):
            declared[name]["Default"] = value
    return result


def deployed_items(template: Mapping[str, Any], parameters: Mapping[str, str], stack_name: str,
                   region: str) -> list[LineItem]:
    """The priced line items of a deployed stack, fixed and rates. Raises CostError when the template
    holds a resource the price table cannot price."""
    body = json.dumps(with_values_as_defaults(template, parameters), sort_keys=True)
    # stack_items reads only name, region and template_body; the rest of Stack is not consulted.
    stack = Stack(stack_name, region, body, "json", {}, {}, (), EnvironmentConfig(suffix=stack_name))
    return stack_items(stack, region_prices(region), [])


def price_deployed(template: Mapping[str, Any], parameters: Mapping[str, str], stack_name: str,
                   region: str) -> float:
    """Monthly fixed USD of a deployed stack: what it costs while it sits idle. Raises CostError
    when the template holds a resource the price table cannot price."""
    return sum(item.monthly_usd for item in deployed_items(template, parameters, stack_name, region) if item.fixed)
