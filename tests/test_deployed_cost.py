"""builder.deployed_cost: a deployed stack is priced with its deployed parameter values, which must
give what `cost` says for a config that has those values as its own."""

from __future__ import annotations

import json

import pytest

from builder.cost import CostError, stack_items
from builder.deployed_cost import price_deployed, with_values_as_defaults
from builder.environment import EnvironmentConfig
from builder.errors import OperationError
from builder.pricing import prices_for
from builder.stack.template import template_from_body
from builder.synth import Stack, stacks_for
from tests.factories import config as resolved


def primary(config: EnvironmentConfig, fmt: str = "json") -> Stack:
    (stack,) = [s for s in stacks_for(config, fmt) if not s.is_replica]
    return stack


def fixed_usd(stack: Stack) -> float:
    return sum(i.monthly_usd for i in stack_items(stack, prices_for(stack.region), []) if i.fixed)


PROVISIONED = resolved("dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5", "dynamodb_write_capacity=5",
                       suffix="pr7")


def test_deployed_values_replace_the_defaults() -> None:
    """Deployed with 40/10 capacity from a template whose defaults say 5/5: priced as 40/10."""
    deployed = primary(PROVISIONED)
    bigger = primary(resolved("dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=40",
                              "dynamodb_write_capacity=10", suffix="pr7"))
    values = {**deployed.parameters, "ReadCapacity": "40", "WriteCapacity": "10"}
    got = price_deployed(json.loads(deployed.template_body), values, deployed.name, deployed.region)
    assert got == pytest.approx(fixed_usd(bigger))
    assert got > fixed_usd(deployed) + 1  # the override really changed the price (capacity is dollars a month)


def test_the_deployed_billing_mode_decides_not_the_template_default() -> None:
    deployed = primary(PROVISIONED)
    on_demand = primary(EnvironmentConfig(suffix="pr7"))
    values = {**deployed.parameters, "BillingMode": "PAY_PER_REQUEST"}
    got = price_deployed(json.loads(deployed.template_body), values, deployed.name, deployed.region)
    assert got == pytest.approx(fixed_usd(on_demand))


def test_without_values_it_is_what_cost_says() -> None:
    deployed = primary(PROVISIONED)
    assert price_deployed(json.loads(deployed.template_body), {}, deployed.name, deployed.region) == \
        pytest.approx(fixed_usd(deployed))


def test_the_replica_is_priced_in_its_own_region() -> None:
    config = resolved("enable_cross_region_replication=true", "replication_region=eu-west-1",
                      "customer_managed_key=true", suffix="pr7")
    (replica,) = [s for s in stacks_for(config) if s.is_replica]
    got = price_deployed(json.loads(replica.template_body), dict(replica.parameters), replica.name, replica.region)
    assert got == pytest.approx(fixed_usd(replica))
    assert got > 0


def test_the_template_passed_in_is_not_changed() -> None:
    template = json.loads(primary(PROVISIONED).template_body)
    before = json.dumps(template, sort_keys=True)
    with_values_as_defaults(template, {"ReadCapacity": "40"})
    assert json.dumps(template, sort_keys=True) == before


def test_values_of_undeclared_parameters_are_ignored() -> None:
    template = {"Parameters": {"A": {"Type": "String", "Default": "x"}}, "Resources": {}}
    assert with_values_as_defaults(template, {"A": "y", "B": "z"})["Parameters"] == {
        "A": {"Type": "String", "Default": "y"}}


def test_an_unpriced_resource_type_is_an_error() -> None:
    template = {"Resources": {"Thing": {"Type": "Custom::Unpriced", "Properties": {}}}}  # made up: never priced
    with pytest.raises(CostError, match="no price for Custom::Unpriced"):
        price_deployed(template, {}, "app-pr7", "us-east-1")


def test_get_template_bodies_json_yaml_and_dict() -> None:
    yaml_stack = primary(PROVISIONED, "yaml")
    json_stack = primary(PROVISIONED)
    as_dict = json.loads(json_stack.template_body)
    assert template_from_body(as_dict, "s") == as_dict
    assert template_from_body(json_stack.template_body, "s") == as_dict
    assert template_from_body(yaml_stack.template_body, "s") == as_dict


def test_a_body_that_is_not_a_template_is_an_error() -> None:
    with pytest.raises(OperationError, match="not a mapping"):
        template_from_body("- just\n- a list\n", "app-pr7")
