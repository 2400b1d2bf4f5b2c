"""W9001: a table that bills PROVISIONED capacity above a threshold when deployed with defaults."""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from builder.template_values import (
    CAPACITY_FIELDS,
    UNKNOWN,
    DefaultsEvaluator,
    as_number,
    capacity_parts,
    existing_path,
)


class ProvisionedCapacityAboveThreshold(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no type information: its base class is Any
    id = "W9001"
    shortdesc = "Provisioned DynamoDB capacity above the cost threshold"
    description = (
        "With the template's parameter defaults, a DynamoDB table bills PROVISIONED (the default when "
        "BillingMode is absent) with read or write capacity above max_capacity units, on the table or a "
        "global secondary index. Provisioned capacity is charged every hour, used or not. Set the threshold "
        "with --configure-rule W9001:max_capacity=N."
    )
    source_url = "https://aws.amazon.com/dynamodb/pricing/provisioned/"
    tags: ClassVar[list[str]] = ["resources", "dynamodb", "cost"]

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = {"max_capacity": {"default": 5, "type": "integer"}}
        self.configure()

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        limit = self.config["max_capacity"]
        for name, resource in DefaultsEvaluator(cfn.template).resources().items():
            if resource["Type"] != "AWS::DynamoDB::Table":
                continue
            props = resource["Properties"]
            if props.get("BillingMode", "PROVISIONED") != "PROVISIONED":
                continue  # PAY_PER_REQUEST, or unknown without defaults: nothing billed by the hour
            for part in capacity_parts(props):
                over = []
                for field, _unit, _price in CAPACITY_FIELDS:
                    units = as_number(part.throughput.get(field, UNKNOWN))
                    if units is not None and units > limit:
                        over.append(f"{field} {units:g}")
                if over:
                    where = existing_path(cfn.template, ["Resources", name, "Properties", *part.path])
                    matches.append(RuleMatch(where, (
                        f"{name} ({part.label}) bills PROVISIONED by default with {' and '.join(over)}, above "
                        f"max_capacity {limit}: charged every hour, used or not; default to PAY_PER_REQUEST "
                        f"or lower the capacity")))
        return matches
