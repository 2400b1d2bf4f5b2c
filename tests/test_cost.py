"""`python -m builder cost`: idle monthly charges and usage rates from the same config and template as synth."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from builder.cli import main
from builder.cost import CostError, estimate, stack_items
from builder.environment import resolve_configs
from builder.pricing import HOURS_PER_MONTH, PRICES, SOURCES, prices_for
from builder.resources import inventory, schema
from builder.synth import stacks_for
from builder.template_values import UNKNOWN, DefaultsEvaluator
from tests.factories import REPLICATION_SETTINGS as REPLICATION
from tests.factories import config, run_cli

pytestmark = pytest.mark.usefixtures("clean_env")

US = PRICES["us-east-1"]
ALARM_METRICS = 4  # 4 single-metric alarms: the SystemErrors one watches PutItem only by default
PROVISIONED = ["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5", "dynamodb_write_capacity=7"]
PROD = ["dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5", "dynamodb_write_capacity=5",
        *REPLICATION, "retain_data=true", "customer_managed_key=true"]


def fixed(cost) -> dict[str, float]:
    return {item.row: item.monthly_usd for item in cost.fixed}


# ------------------------------------------------------------------ the pure functions

def test_default_environment_costs_only_its_alarms_while_idle():
    cost = estimate(config())
    assert cost.fixed_monthly_usd == pytest.approx(ALARM_METRICS * US["cloudwatch.alarm_metric"].usd)  # 0.40
    assert cost.fixed_monthly_usd <= 0.40  # the ceiling for an idle default environment
    charged = {row for row, usd in fixed(cost).items() if usd}
    assert {c.resource_type for c in cost.fixed if c.row in charged} == {"AWS::CloudWatch::Alarm"}
    assert fixed(cost)["TableSystemErrorsAlarm: alarm, 1 metric"] == pytest.approx(0.10)
    rates = {item.row for item in cost.rates}
    assert {"DataTable: on-demand writes", "DataTable: on-demand reads", "DataTable: point-in-time recovery",
            "DataBucket: storage (noncurrent versions count)"} <= rates


def test_each_system_error_operation_watched_costs_one_alarm_metric():
    widened = resolve_configs(suffixes=["pr1"], sets=["system_error_operations=PutItem, GetItem,Query"],
                              environ={}, schema=schema())[0]
    cost = estimate(widened)
    assert fixed(cost)["TableSystemErrorsAlarm: alarm, 3 metrics"] == pytest.approx(0.30)
    assert cost.fixed_monthly_usd == pytest.approx(0.60)


@pytest.mark.parametrize("value,message", [
    ("PutItem,Foo", "'Foo' is not a DynamoDB data-plane operation"),
    ("PutItem,PutItem", "lists PutItem more than once"),
    (" , ", "list 1 to 10 operations, comma-separated (got 0)"),
    ("GetItem,PutItem,UpdateItem,DeleteItem,Query,Scan,BatchGetItem,BatchWriteItem,TransactGetItems,TransactWriteItems,ExecuteStatement",
     "list 1 to 10 operations, comma-separated (got 11)"),
])
def test_system_error_operations_are_checked(capsys, value, message):
    code, out, err = run_cli(capsys, "cost", "--set", f"system_error_operations={value}")
    assert (code, out) == (2, "")
    assert message in err


def test_provisioned_capacity_is_billed_every_hour_of_the_month():
    cost = estimate(config(*PROVISIONED))
    rows = fixed(cost)
    assert rows[f"DataTable: table RCUs x {HOURS_PER_MONTH} h"] == pytest.approx(5 * 730 * 0.00013)
    assert rows[f"DataTable: table WCUs x {HOURS_PER_MONTH} h"] == pytest.approx(7 * 730 * 0.00065)
    assert not any("on-demand" in item.row for item in cost.rates)
    assert cost.fixed_monthly_usd == pytest.approx(0.40 + 5 * 730 * 0.00013 + 7 * 730 * 0.00065)


def test_customer_managed_key_adds_a_key_month():
    plain, keyed = estimate(config()), estimate(config("customer_managed_key=true"))
    assert keyed.fixed_monthly_usd - plain.fixed_monthly_usd == pytest.approx(1.00)
    assert any("rotate yearly" in note for note in keyed.notes)


@pytest.mark.parametrize("cmk,keys", [(False, 0), (True, 2)])
def test_replication_adds_the_replica_key_only_with_a_customer_managed_key(cmk, keys):
    cost = estimate(config(*REPLICATION, f"customer_managed_key={str(cmk).lower()}"))
    assert [i.stack for i in cost.fixed if i.resource_type == "AWS::KMS::Key"] == (
        ["app-pr1", "app-pr1-replica"] if cmk else [])
    assert [s.region for s in cost.stacks] == ["us-east-1", "eu-west-1"]
    assert cost.fixed_monthly_usd == pytest.approx(0.40 + keys)  # buckets and replication: no fixed part
    rows = {i.row: i for i in cost.rates}
    assert rows["DataBucket: replication transfer"].price == US["s3.inter_region_transfer"]
    replica_storage = rows["ReplicaBucket: storage (noncurrent versions count)"]
    assert replica_storage.price == PRICES["eu-west-1"]["s3.standard_storage"]
    assert "DataBucket: Replication Time Control" not in rows


def test_replication_time_control_is_a_per_gb_rate_not_a_fixed_charge():
    plain = estimate(config(*REPLICATION))
    rtc = estimate(config(*REPLICATION, "replication_time_control=true"))
    assert rtc.fixed_monthly_usd == plain.fixed_monthly_usd
    assert {i.row: i.price.usd for i in rtc.rates}["DataBucket: Replication Time Control"] == 0.015


def test_unknown_region_is_priced_as_us_east_1_with_a_note():
    cost = estimate(config(region="ap-south-1"))
    assert cost.stacks[0].priced_as == "us-east-1"
    assert any(note.startswith("ap-south-1: no prices in the table") for note in cost.notes)
    assert prices_for("eu-west-1").note is None


VARIANTS = [[], PROVISIONED, PROD, [*PROD, "replication_time_control=true"], ["customer_managed_key=true"]]


@pytest.mark.parametrize("sets", VARIANTS, ids=["default", "provisioned", "prod", "prod-rtc", "cmk"])
def test_every_resource_type_in_the_templates_is_priced_or_declared_free(sets):
    for stack in stacks_for(config(*sets)):
        types = {r["Type"] for r in json.loads(stack.template_body)["Resources"].values()}
        assert types - set(inventory().pricers) - inventory().free_types == set(), stack.name


def test_a_resource_without_a_price_fails():
    stack = stacks_for(config())[0]
    template = json.loads(stack.template_body)
    # a made-up type: no family will ever price it
    template["Resources"]["Thing"] = {"Type": "Custom::Unpriced", "Properties": {}}
    with pytest.raises(CostError, match=r"no price for Custom::Unpriced"):
        stack_items(replace(stack, template_body=json.dumps(template)), prices_for("us-east-1"), [])


def test_price_table_rows_are_complete_and_name_their_sources():
    for region, row in PRICES.items():
        assert set(row) == set(US), region
        assert all(price.source in SOURCES and price.usd >= 0 for price in row.values())
    with pytest.raises(TypeError):
        PRICES["us-east-1"]["kms.key"] = None  # type: ignore[index]


def test_defaults_evaluator_reads_conditions_like_cloudformation():
    template = {
        "Parameters": {"On": {"Type": "String", "Default": "true"}, "Free": {"Type": "String"}},
        "Conditions": {"IsOn": {"Fn::Equals": [{"Ref": "On"}, "true"]},
                       "Unknown": {"Fn::Equals": [{"Ref": "Free"}, "x"]},
                       "OnOrUnknown": {"Fn::Or": [{"Condition": "IsOn"}, {"Condition": "Unknown"}]},
                       "OffAndUnknown": {"Fn::And": [{"Fn::Not": [{"Condition": "IsOn"}]}, {"Condition": "Unknown"}]}},
        "Resources": {"Gone": {"Type": "T", "Condition": "OffAndUnknown"},
                      "Kept": {"Type": "T", "Properties": {"A": {"Fn::If": ["IsOn", {"Ref": "AWS::NoValue"}, 1]},
                                                           "B": {"Fn::GetAtt": ["X", "Y"]}}}},
    }
    evaluator = DefaultsEvaluator(template)
    assert [evaluator.condition(c) for c in ("IsOn", "Unknown", "OnOrUnknown", "OffAndUnknown")] == [
        True, UNKNOWN, True, False]
    assert evaluator.resources() == {"Kept": {"Type": "T", "Properties": {"B": UNKNOWN}}}


# ------------------------------------------------------------------ the command

def test_cost_command_table_for_the_default_environment(capsys):
    code, out, err = run_cli(capsys, "cost", "--suffix", "pr1")
    assert (code, err) == (0, "")
    assert out.startswith("pr1: app-pr1 in us-east-1\n")
    assert "TableSystemErrorsAlarm: alarm, 1 metric   0.10" in out
    assert [line.split() for line in out.splitlines() if line.strip().startswith("total per month")] == [
        ["total", "per", "month", "0.40"]]
    assert re.search(r"\n  DataTable: on-demand writes +million WRUs +0\.625\n", out)
    assert "free tier is not subtracted" in out and "https://aws.amazon.com/dynamodb/pricing/" in out


def test_cost_command_json(capsys):
    code, out, _ = run_cli(capsys, "cost", "--suffix", "pr1", "--set", "customer_managed_key=true", "--format", "json")
    document = json.loads(out)
    assert code == 0 and set(document) == {"prices", "environments", "total_fixed_monthly_usd"}
    (environment,) = document["environments"]
    assert environment["fixed_monthly_usd"] == pytest.approx(1.40) == document["total_fixed_monthly_usd"]
    key = next(i for i in environment["fixed"] if i["type"] == "AWS::KMS::Key")
    assert key == {"stack": "app-pr1", "resource": "DataKey", "type": "AWS::KMS::Key", "item": "customer-managed key",
                   "unit": "key-month", "unit_price_usd": 1.0, "price_source": "https://aws.amazon.com/kms/pricing/",
                   "price_verified": True, "quantity": 1.0, "monthly_usd": 1.0}
    assert all("monthly_usd" not in rate for rate in environment["rates"])


def test_cost_command_several_suffixes_have_a_column_each_and_a_total(capsys, tmp_path):
    (tmp_path / "environments.toml").write_text(
        '[environments.prod]\ndynamodb_billing_mode = "PROVISIONED"\ndynamodb_read_capacity = 5\n'
        'dynamodb_write_capacity = 5\nenable_cross_region_replication = true\nreplication_region = "eu-west-1"\n'
        'retain_data = true\ncustomer_managed_key = true\n')
    code, out, _ = run_cli(capsys, "cost", "--suffix", "pr1", "--suffix", "prod")
    assert code == 0
    lines = out.splitlines()
    assert lines[:2] == ["pr1: app-pr1 in us-east-1", "prod: app-prod in us-east-1, app-prod-replica in eu-west-1"]
    assert lines[3].split()[-3:] == ["pr1", "prod", "total"]
    prod = estimate(config(*PROD, suffix="prod")).fixed_monthly_usd
    total = next(line for line in lines if line.strip().startswith("total per month")).split()
    assert total[-3:] == ["0.40", f"{prod:.2f}", f"{0.40 + prod:.2f}"]
    assert next(line for line in lines if "DataTable: table WCUs" in line).split()[-3:] == ["-", "2.37", "2.37"]


def test_cost_command_unknown_region_says_so(capsys):
    code, out, _ = run_cli(capsys, "cost", "--suffix", "pr1", "--region", "ap-south-1")
    assert code == 0
    assert "note: ap-south-1: no prices in the table (it has us-east-1, us-west-2, eu-west-1); showing the " \
           "us-east-1 figures" in out


@pytest.mark.parametrize("argv,message", [
    (["--set", "dynamodb_billing_mode=FAST"],
     "error: --set: dynamodb_billing_mode: must be PAY_PER_REQUEST or PROVISIONED"),
    (["--format", "xml"], "error: python -m builder cost: argument --format: invalid choice: 'xml'"),
    (["--suffix", "Bad_Name"], "error: --suffix: suffix: 'Bad_Name' is not allowed"),
])
def test_cost_command_bad_input_exits_2(capsys, argv, message):
    code, out, err = run_cli(capsys, "cost", *argv)
    assert (code, out) == (2, "")
    assert err.startswith(message)


def test_cost_command_imports_neither_boto3_nor_cfn_lint(tmp_path):
    script = ("import sys\nfrom builder.cli import main\nassert main(['cost', '--suffix', 'pr1']) == 0\n"
              "print(sorted({'boto3', 'botocore', 'cfnlint'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"


def _readme_blocks_after(prompt: str) -> str:
    readme = (Path(__file__).parents[1] / "docs" / "commands" / "cost.md").read_text()
    start = readme.index(prompt)
    return readme[start:readme.index("```", start)]


@pytest.mark.parametrize("prompt", ["$ python -m builder cost --suffix pr123\n",
                                    "$ python -m builder cost --suffix prod --set"])
def test_readme_cost_figures_are_the_commands_own_output(prompt, capsys, monkeypatch, tmp_path):
    """The cost page pastes the command's output (stderr's config line first, run in /home/me/app); this fails
    when a price or resource changes it."""
    block = _readme_blocks_after(prompt)
    command, _, expected = block.partition("\n")
    while command.endswith("\\"):
        more, _, expected = expected.partition("\n")
        command = command[:-1] + more
    argv = shlex.split(command)[4:]  # after "$ python -m builder"
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert err.replace(str(tmp_path), "/home/me/app") + out.strip() == expected.strip()


def test_max_monthly_passes_at_the_limit_and_exits_6_over_it_after_printing(capsys):
    code, out, err = run_cli(capsys, "cost", "--suffix", "pr1", "--max-monthly", "0.40")
    assert (code, err) == (0, "") and "total per month" in out
    code, out, err = run_cli(capsys, "cost", "--suffix", "pr1", "--suffix", "pr2",
                             "--set", "dynamodb_billing_mode=PROVISIONED", "--set", "dynamodb_read_capacity=40000",
                             "--set", "dynamodb_write_capacity=40000", "--max-monthly", "100")
    assert code == 6 and "total per month" in out
    assert err == ("error: --max-monthly: pr1 costs 22,776.40 USD a month idle, over 100.00; "
                   "pr2 costs 22,776.40 USD a month idle, over 100.00\n")


@pytest.mark.parametrize("amount", ["-1", "abc", "inf", "nan"])
def test_max_monthly_takes_only_an_amount(capsys, amount):
    code, out, err = run_cli(capsys, "cost", "--suffix", "pr1", "--max-monthly", amount)
    assert (code, out) == (2, "")
    assert "argument --max-monthly: must be an amount of USD >= 0" in err


def test_max_monthly_of_minus_zero_is_zero(capsys):
    # `--max-monthly=-0` passed the >= 0 check and the gate said "dev costs 0.40 USD a month idle, over -0.00"
    code, out, err = run_cli(capsys, "cost", "--suffix", "pr1", "--max-monthly=-0")
    assert code == 6 and "total per month" in out
    assert err == "error: --max-monthly: pr1 costs 0.40 USD a month idle, over 0.00\n"
