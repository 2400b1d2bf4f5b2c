"""W9002: S3 Replication Time Control enabled when deployed with the template's defaults."""

from __future__ import annotations

from typing import Any, ClassVar

from cfnlint.rules import CloudFormationLintRule, RuleMatch

from builder.template_values import DefaultsEvaluator, existing_path


class ReplicationTimeControlEnabled(CloudFormationLintRule):  # type: ignore[misc]  # cfn-lint ships no type information: its base class is Any
    id = "W9002"
    shortdesc = "S3 Replication Time Control is enabled"
    description = (
        "With the template's parameter defaults, a bucket's replication rule turns on Replication Time "
        "Control, a premium charged per GB replicated on top of replication's transfer. Keep it opt-in: "
        "behind a Condition whose default is off."
    )
    source_url = "https://aws.amazon.com/s3/pricing/"
    tags: ClassVar[list[str]] = ["resources", "s3", "cost"]

    def match(self, cfn: Any) -> list[RuleMatch]:
        matches: list[RuleMatch] = []
        for name, resource in DefaultsEvaluator(cfn.template).resources().items():
            if resource["Type"] != "AWS::S3::Bucket":
                continue
            replication = resource["Properties"].get("ReplicationConfiguration") or {}
            for index, rule in enumerate(replication.get("Rules") or []):
                time = (rule.get("Destination") or {}).get("ReplicationTime") or {}
                if rule.get("Status") == "Enabled" and time.get("Status") == "Enabled":
                    where = existing_path(cfn.template, ["Resources", name, "Properties", "ReplicationConfiguration",
                                                         "Rules", index, "Destination", "ReplicationTime"])
                    matches.append(RuleMatch(where, (
                        f"{name} replication rule {rule.get('Id', index)} enables Replication Time Control by "
                        f"default: a per-GB premium on every object replicated; make it opt-in")))
        return matches
