"""The cost guardrails in builder/rules, tested the way cfn-lint tests its own rules: small good and
bad templates per rule (tests/fixtures/rules/<id>/), inline parametrised cases, and our own templates."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.api import lint, lint_file
from cfnlint.config import ManualArgs

from builder.cli import main
from builder.environment import resolve_configs
from builder.resources import schema
from builder.rules import RULES_DIR
from builder.synth import all_stacks, file_contents, write_files

FIXTURES = Path(__file__).parent / "fixtures" / "rules"
RULE_CLASSES = {"W9001": "ProvisionedCapacityAboveThreshold", "W9002": "ReplicationTimeControlEnabled",
                "W9003": "ConditionOnEnvironmentName"}
# How many findings each bad fixture must produce, and nothing else.
BAD_COUNTS = {"W9001/bad_provisioned_by_default.yaml": 2, "W9002/bad_rtc_always_on.yaml": 1,
              "W9003/bad_conditions_on_names.yaml": 4}


@pytest.fixture(autouse=True)
def _away_from_the_repo_cfnlintrc(tmp_path, monkeypatch):
    """cfn-lint reads .cfnlintrc from the working directory; the repository's names out/ templates."""
    monkeypatch.chdir(tmp_path)


def _config(**configure: dict) -> ManualArgs:
    return ManualArgs(append_rules=[RULES_DIR], include_checks=["I"], configure_rules=configure or {})


def _ids(matches) -> list[str]:
    return [m.rule.id for m in matches]


def test_each_rule_file_holds_the_class_it_is_named_after():
    files = sorted(p.stem for p in Path(RULES_DIR).glob("[A-Za-z1-9]*.py"))
    assert files == sorted(RULE_CLASSES.values())
    for rule_id, name in RULE_CLASSES.items():
        rule = getattr(importlib.import_module(f"builder.rules.{name}"), name)()
        assert rule.id == rule_id and rule.shortdesc and rule.description and "cost" in rule.tags


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*/good_*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_good_fixture_has_no_findings_at_all(path):
    assert [f"{m.rule.id} {m.message}" for m in lint_file(path, config=_config())] == []


@pytest.mark.parametrize("name,count", sorted(BAD_COUNTS.items()))
def test_bad_fixture_has_exactly_its_rules_findings(name, count):
    matches = lint_file(FIXTURES / name, config=_config())
    assert _ids(matches) == [name.split("/")[0]] * count, [m.message for m in matches]


def test_every_rule_has_a_good_and_a_bad_fixture():
    for rule_id in RULE_CLASSES:
        assert list((FIXTURES / rule_id).glob("good_*.yaml")) and list((FIXTURES / rule_id).glob("bad_*.yaml"))


def _table(props: dict, parameters: dict | None = None) -> str:
    base = {"AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}
    table = {"Type": "AWS::DynamoDB::Table", "DeletionPolicy": "Delete", "UpdateReplacePolicy": "Delete",
             "Properties": {**base, **props}}
    return json.dumps({"Parameters": parameters or {}, "Resources": {"Table": table}})


def _throughput(read, write) -> dict:
    return {"BillingMode": "PROVISIONED", "ProvisionedThroughput": {"ReadCapacityUnits": read,
                                                                    "WriteCapacityUnits": write}}


@pytest.mark.parametrize("template,configure,expected", [
    (_table(_throughput(5, 5)), {}, 0),  # at the default threshold: allowed
    (_table(_throughput(6, 5)), {}, 1),
    (_table(_throughput(50, 50)), {"max_capacity": "50"}, 0),  # --configure-rule W9001:max_capacity=50
    (_table(_throughput(51, 1)), {"max_capacity": "50"}, 1),
    (_table({"BillingMode": "PAY_PER_REQUEST"}), {"max_capacity": "0"}, 0),
    # a capacity parameter without a Default: the deploy decides, the rule cannot know
    (_table(_throughput({"Ref": "Read"}, 1), {"Read": {"Type": "Number"}}), {}, 0),
], ids=["at-threshold", "above", "configured-higher", "above-configured", "on-demand", "no-default"])
def test_provisioned_capacity_threshold(template, configure, expected):
    config = _config(W9001=configure) if configure else _config()
    assert _ids(lint(template, config=config)) == ["W9001"] * expected


def _condition(expression: dict, parameters: dict) -> str:
    return json.dumps({"Parameters": parameters, "Conditions": {"C": expression},
                       "Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Condition": "C"}}})


@pytest.mark.parametrize("expression,parameters,expected", [
    ({"Fn::Equals": [{"Ref": "Stage"}, "prod"]}, {"Stage": {"Type": "String", "Default": "dev"}}, 1),
    ({"Fn::Equals": [{"Ref": "Anything"}, "pr123"]}, {"Anything": {"Type": "String", "Default": "a"}}, 1),
    ({"Fn::Equals": [{"Fn::Sub": "${EnvName}-x"}, "blue-x"]}, {"EnvName": {"Type": "String", "Default": "a"}}, 1),
    ({"Fn::Equals": [{"Ref": "AWS::StackName"}, "app-main"]}, {}, 1),
    ({"Fn::Equals": [{"Ref": "Tier"}, "gold"]},
     {"Tier": {"Type": "String", "Default": "gold", "AllowedValues": ["gold", "silver"]}}, 0),
    ({"Fn::Equals": [{"Ref": "EnvFlag"}, "true"]}, {"EnvFlag": {"Type": "String", "Default": "true"}}, 0),
    ({"Fn::Equals": [{"Ref": "Mode"}, "PROVISIONED"]}, {"Mode": {"Type": "String", "Default": "a"}}, 0),
    ({"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}, {}, 0),
], ids=["stage-prod", "pr-literal", "sub-env", "stack-name", "allowed-tier", "flag", "setting", "region"])
def test_condition_on_environment_name(expression, parameters, expected):
    assert _ids(lint(_condition(expression, parameters), config=_config())) == ["W9003"] * expected


@pytest.mark.parametrize("sets", [
    [],
    ["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5", "dynamodb_write_capacity=5"],
    ["customer_managed_key=true", "retain_data=true", "enable_cross_region_replication=true",
     "replication_region=eu-west-1"],
], ids=["default", "provisioned-5", "cmk-replication"])
def test_our_templates_pass_the_rules(sets, tmp_path):
    stacks = all_stacks(resolve_configs(suffixes=["pr1"], sets=sets, environ={}, cwd=tmp_path, schema=schema()))
    contents = {name: text for stack in stacks for name, text in file_contents(stack).items()}
    templates = [p for p in write_files(contents, tmp_path / "out") if p.name.endswith(".template.json")]
    found = [f"{m.rule.id} {m.message}" for path in templates for m in lint_file(path, config=_config())
             if m.rule.id.startswith("W9")]
    assert found == []


def test_builder_lint_runs_the_rules(capsys, monkeypatch):
    monkeypatch.delenv("AWS_REGION", raising=False)
    sets = ["--set", "enable_cross_region_replication=true", "--set", "replication_region=eu-west-1",
            "--set", "replication_time_control=true"]
    assert main(["synth", "--suffix", "pr1", *sets]) == 0
    capsys.readouterr()
    assert main(["lint", "out/app-pr1.template.json"]) == 1
    out = capsys.readouterr().out
    assert "W9002 DataBucket replication rule ReplicateEverything enables Replication Time Control" in out


def test_cfn_lint_command_line_loads_and_configures_the_rules():
    bad = str(FIXTURES / "W9001" / "bad_provisioned_by_default.yaml")
    cfn_lint = [str(Path(sys.executable).parent / "cfn-lint"), "--append-rules", RULES_DIR]
    warned = subprocess.run([*cfn_lint, "--", bad], capture_output=True, text=True, check=False)
    findings = [line for line in warned.stdout.splitlines() if line.startswith("W9001 ")]
    assert warned.returncode == 4 and len(findings) == 2, warned.stdout + warned.stderr
    relaxed = subprocess.run([*cfn_lint, "--configure-rule", "W9001:max_capacity=50", "--", bad],
                             capture_output=True, text=True, check=False)
    assert relaxed.returncode == 0, relaxed.stdout + relaxed.stderr
