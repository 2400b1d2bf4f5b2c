"""W9001: a table that bills PROVISIONED capacity above a threshold when deployed with defaults."""

from __future__ import annotations

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from builder.template_values import UNKNOWN, DefaultsEvaluator, as_number, existing_path


class ProvisionedCapacityAboveThreshold(CloudFormationLintRule):
    id = "W9001"
    shortdesc = "Provisioned DynamoDB capacity above the cost threshold"
    description = (
        "With the template's parameter defaults, a DynamoDB table bills PROVISIONED (the default when "
        "BillingMode is absent) with read or write capacity above max_capacity units, on the table or a "
        "global secondary index. Provisioned capacity is charged every hour, used or not. Set the threshold "
        "with --configure-rule W9001:max_capacity=N."
    )
    source_url = "https://aws.amazon.com/dynamodb/pricing/provisioned/"
    tags = ["resources", "dynamodb", "cost"]

    def __init__(self) -> None:
        super().__init__()
        self.config_definition = {"max_capacity": {"default": 5, "type": "integer"}}
        self.configure()

    def match(self, cfn):
        matches = []
        limit = self.config["max_capacity"]
        for name, resource in DefaultsEvaluator(cfn.template).resources().items():
            if resource["Type"] != "AWS::DynamoDB::Table":
                continue
            props = resource["Properties"]
            if props.get("BillingMode", "PROVISIONED") != "PROVISIONED":
                continue  # PAY_PER_REQUEST, or unknown without defaults: nothing billed by the hour
            parts = [("table", ["ProvisionedThroughput"], props)]
            for index, gsi in enumerate(props.get("GlobalSecondaryIndexes") or []):
                label = f"index {gsi.get('IndexName', index)}"
                parts.append((label, ["GlobalSecondaryIndexes", index, "ProvisionedThroughput"], gsi))
            for label, path, part in parts:
                throughput = part.get("ProvisionedThroughput") or {}
                over = []
                for field in ("ReadCapacityUnits", "WriteCapacityUnits"):
                    value = throughput.get(field, UNKNOWN)
                    units = as_number(value)
                    if units is not None and units > limit:
                        over.append(f"{field} {units:g}")
                if over:
                    where = existing_path(cfn.template, ["Resources", name, "Properties", *path])
                    matches.append(RuleMatch(where, (
                        f"{name} ({label}) bills PROVISIONED by default with {' and '.join(over)}, above "
                        f"max_capacity {limit}: charged every hour, used or not; default to PAY_PER_REQUEST "
                        f"or lower the capacity")))
        return matches
