"""The DynamoDB table (billing mode and capacities are Parameters) and its throttle and error alarms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from troposphere import Equals, GetAtt, If, NoValue, Ref, cloudwatch, dynamodb

from builder import names
from builder.environment import Resolved
from builder.errors import Problem
from builder.families import (
    AlarmSpec,
    CheckovSkip,
    Composition,
    DataHolder,
    Family,
    Lookup,
    ParameterSpec,
    ResourceKind,
    Safeguard,
)
from builder.families.shared import add_output, checkov_skips, retention, tags, threshold_parameters
from builder.pricing import HOURS_PER_MONTH, CostError, LineItem, PricingContext, enabled, known
from builder.settings import Range, Setting
from builder.template_values import CAPACITY_FIELDS, UNKNOWN, as_flag, as_number, capacity_parts, is_intrinsic

TABLE = "AWS::DynamoDB::Table"
IS_PROVISIONED = "IsProvisioned"  # condition name (used in the template and by tests)
ALARM_BASES: dict[str, float] = {
    "ReadThrottleThreshold": 10,  # throttled read events in 5 minutes
    "WriteThrottleThreshold": 10,  # throttled write events in 5 minutes
    "SystemErrorThreshold": 5,  # DynamoDB 5xx errors in 5 minutes, summed over the operations watched
}
# DynamoDB publishes SystemErrors only per TableName and Operation, and CloudWatch bills an alarm per
# metric it reads (a metric-math alarm: each metric it sums), so every operation watched costs 0.10 USD
# a month. The default watches PutItem: a failed write the caller does not retry loses data, while a
# failed read can be read again. Errors of an operation not listed go unseen until it is added.
DATA_PLANE_OPERATIONS = ("BatchExecuteStatement", "BatchGetItem", "BatchWriteItem", "DeleteItem",
                         "ExecuteStatement", "ExecuteTransaction", "GetItem", "PutItem", "Query", "Scan",
                         "TransactGetItems", "TransactWriteItems", "UpdateItem")
MAX_METRICS_PER_EXPRESSION = 10  # CloudWatch: a metric-math alarm reads at most 10 metrics


def operations(value: str) -> tuple[str, ...]:
    """The operations of a system_error_operations value: comma-separated, blanks ignored."""
    return tuple(part.strip() for part in value.split(",") if part.strip())


def _check_operations(value: str) -> str | None:
    ops = operations(value)
    unknown = [op for op in ops if op not in DATA_PLANE_OPERATIONS]
    if unknown:
        return (f"{', '.join(map(repr, unknown))} is not a DynamoDB data-plane operation; "
                f"choose from {', '.join(DATA_PLANE_OPERATIONS)}")
    if not 1 <= len(ops) <= MAX_METRICS_PER_EXPRESSION:
        return f"list 1 to {MAX_METRICS_PER_EXPRESSION} operations, comma-separated (got {len(ops)})"
    repeated = sorted({op for op in ops if ops.count(op) > 1})
    if repeated:
        return f"lists {', '.join(repeated)} more than once"
    return None


BILLING_MODES = ("PAY_PER_REQUEST", "PROVISIONED")
MAX_CAPACITY = 40_000  # DynamoDB's default per-table quota for read or write capacity units

DYNAMODB_BILLING_MODE: Setting[str] = Setting(
    "dynamodb_billing_mode", str, "PAY_PER_REQUEST", True, "`PAY_PER_REQUEST` (on-demand) or `PROVISIONED`",
    "PROVISIONED bills capacity every hour", choices=BILLING_MODES)


def _capacity_setting(direction: str, unit: str) -> Setting[int | None]:
    return Setting(f"dynamodb_{direction}_capacity", int, None, True,
                   f"{direction} capacity units; only with PROVISIONED, then required", f"per {unit}-hour",
                   range=Range(1, MAX_CAPACITY), only_with=(DYNAMODB_BILLING_MODE.name, "PROVISIONED"))


DYNAMODB_READ_CAPACITY = _capacity_setting("read", "RCU")
DYNAMODB_WRITE_CAPACITY = _capacity_setting("write", "WCU")
SYSTEM_ERROR_OPERATIONS: Setting[str] = Setting(
    "system_error_operations", str, "PutItem", False,
    "DynamoDB operations whose server errors (SystemErrors) the table's alarm watches, comma-separated "
    "(PutItem by default: a failed write can lose data, a read can be retried); errors of others go unseen",
    "0.10 USD a month per operation watched", check=_check_operations)
SKIP_TABLE_CMK = CheckovSkip("CKV_AWS_119", "customer_managed_key is off: the table is encrypted at rest with "
                                            "the AWS-owned key; a customer-managed key costs monthly")

def _check(resolved: Resolved) -> list[Problem]:
    """PROVISIONED needs both capacities (with PAY_PER_REQUEST, `only_with` refuses them)."""
    if resolved.value(DYNAMODB_BILLING_MODE) != "PROVISIONED":
        return []
    missing = [s.name for s in (DYNAMODB_READ_CAPACITY, DYNAMODB_WRITE_CAPACITY) if resolved.value(s) is None]
    if not missing:
        return []
    return [resolved.problem(DYNAMODB_BILLING_MODE, f"PROVISIONED needs {' and '.join(missing)} (whole numbers >= 1)")]


def _capacity(title: str, setting: Setting[int | None], what: str) -> ParameterSpec:
    # With PAY_PER_REQUEST the capacities are unused; 1 keeps them valid Numbers.
    return ParameterSpec(title, setting.name, lambda config: str(config.value(setting) or 1),
                         {"Type": "Number", "MinValue": 1, "MaxValue": MAX_CAPACITY,
                          "Description": f"{what} capacity units (PROVISIONED only)"})


BILLING_MODE = ParameterSpec("BillingMode", DYNAMODB_BILLING_MODE.name,
                             lambda config: config.value(DYNAMODB_BILLING_MODE),
                             {"Type": "String", "AllowedValues": list(BILLING_MODES),
                              "Description": "DynamoDB billing mode"})
READ_CAPACITY = _capacity("ReadCapacity", DYNAMODB_READ_CAPACITY, "Read")
WRITE_CAPACITY = _capacity("WriteCapacity", DYNAMODB_WRITE_CAPACITY, "Write")


def build(c: Composition) -> None:
    t, config, key = c.template, c.config, c.key
    t.add_condition(IS_PROVISIONED, Equals(Ref(c.parameters[BILLING_MODE.title]), "PROVISIONED"))
    if key is None:
        sse = dynamodb.SSESpecification(SSEEnabled=True)
    else:
        sse = dynamodb.SSESpecification(SSEEnabled=True, SSEType="KMS", KMSMasterKeyId=Ref(key))
    table = t.add_resource(dynamodb.Table(
        "DataTable",
        TableName=names.table_name(config.stack_prefix, config.suffix),
        AttributeDefinitions=[dynamodb.AttributeDefinition(AttributeName="pk", AttributeType="S"),
                              dynamodb.AttributeDefinition(AttributeName="sk", AttributeType="S")],
        KeySchema=[dynamodb.KeySchema(AttributeName="pk", KeyType="HASH"),
                   dynamodb.KeySchema(AttributeName="sk", KeyType="RANGE")],
        BillingMode=If(IS_PROVISIONED, "PROVISIONED", "PAY_PER_REQUEST"),
        ProvisionedThroughput=If(IS_PROVISIONED, dynamodb.ProvisionedThroughput(
            ReadCapacityUnits=Ref(c.parameters[READ_CAPACITY.title]),
            WriteCapacityUnits=Ref(c.parameters[WRITE_CAPACITY.title])), NoValue),
        PointInTimeRecoverySpecification=dynamodb.PointInTimeRecoverySpecification(PointInTimeRecoveryEnabled=True),
        SSESpecification=sse,
        DeletionProtectionEnabled=config.retain_data,
        Tags=tags(config),
        **retention(config),
        **checkov_skips(*([SKIP_TABLE_CMK] if key is None else [])),
    ))
    _alarms(c, table)
    add_output(t, "TableName", Ref(table), "Name of the DynamoDB table")
    add_output(t, "TableArn", GetAtt(table, "Arn"), "ARN of the DynamoDB table")


def _alarms(c: Composition, table: dynamodb.Table) -> None:
    table_dimension = [cloudwatch.MetricDimension(Name="TableName", Value=Ref(table))]
    for direction in ("Read", "Write"):
        c.alarms.append(AlarmSpec(
            f"Table{direction}ThrottleAlarm", f"table-{direction.lower()}-throttles",
            f"{direction} requests to the table are throttled", f"{direction}ThrottleThreshold",
            {"Namespace": "AWS/DynamoDB", "MetricName": f"{direction}ThrottleEvents", "Dimensions": table_dimension,
             "Statistic": "Sum", "Period": 300}, rollback_trigger=True))
    watched = operations(c.config.value(SYSTEM_ERROR_OPERATIONS))
    description = f"DynamoDB returns server errors for the table ({', '.join(watched)})"

    def dimensions(operation: str) -> list[cloudwatch.MetricDimension]:
        return [*table_dimension, cloudwatch.MetricDimension(Name="Operation", Value=operation)]

    if len(watched) == 1:  # a plain alarm: one metric
        metric: dict[str, object] = {"Namespace": "AWS/DynamoDB", "MetricName": "SystemErrors",
                                     "Dimensions": dimensions(watched[0]), "Statistic": "Sum", "Period": 300}
    else:  # metric math: billed per metric it sums
        queries = [
            cloudwatch.MetricDataQuery(
                Id=f"m{index}", ReturnData=False,
                MetricStat=cloudwatch.MetricStat(Stat="Sum", Period=300, Metric=cloudwatch.Metric(
                    Namespace="AWS/DynamoDB", MetricName="SystemErrors", Dimensions=dimensions(operation))))
            for index, operation in enumerate(watched)
        ]
        ids = ", ".join(q.Id for q in queries)
        queries.append(cloudwatch.MetricDataQuery(Id="errors", Expression=f"SUM([{ids}])", Label="SystemErrors",
                                                  ReturnData=True))
        metric = {"Metrics": queries}
    c.alarms.append(AlarmSpec("TableSystemErrorsAlarm", "table-system-errors", description,
                              "SystemErrorThreshold", metric, rollback_trigger=True))


def price_table(ctx: PricingContext, name: str, props: Mapping[str, Any]) -> list[LineItem]:
    rtype = TABLE
    where = f"{ctx.stack}.{name}"
    mode = known(props.get("BillingMode", "PROVISIONED"), where, "BillingMode")  # CloudFormation's default
    items: list[LineItem] = []
    if mode == "PROVISIONED":
        for part in capacity_parts(props):
            for field, unit, key in CAPACITY_FIELDS:
                units = as_number(known(part.throughput.get(field, UNKNOWN), where, f"{part.label} {field}"))
                if units is None:
                    raise CostError(where, f"{part.label} {field} is not a number ({part.throughput.get(field)!r})")
                items.append(ctx.fixed(name, rtype, f"{part.label} {unit}s x {HOURS_PER_MONTH} h", key,
                                       units * HOURS_PER_MONTH))
    elif mode == "PAY_PER_REQUEST":
        items.append(ctx.rate(name, rtype, "on-demand writes", "dynamodb.write_requests"))
        items.append(ctx.rate(name, rtype, "on-demand reads", "dynamodb.read_requests"))
    else:
        raise CostError(where, f"BillingMode {mode!r} is neither PROVISIONED nor PAY_PER_REQUEST")
    items.append(ctx.rate(name, rtype, "storage", "dynamodb.storage"))
    pitr = (props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
    if enabled(known(pitr, where, "PointInTimeRecoveryEnabled")):
        items.append(ctx.rate(name, rtype, "point-in-time recovery", "dynamodb.pitr"))
    return items


def adoption_mismatches(answer: Mapping[str, Any], properties: Mapping[str, Any]) -> list[str]:
    """How an existing table (DescribeTable's answer) differs from the template's in what an update could
    not change in place or would change at once: its key schema and billing mode. Each difference as
    `what: existing X, template Y`."""
    described = answer.get("Table", {})
    found = []
    existing_keys = ", ".join(f"{k['AttributeName']} {k['KeyType']}" for k in described.get("KeySchema", []))
    template_keys = ", ".join(f"{k['AttributeName']} {k['KeyType']}" for k in properties.get("KeySchema", []))
    if existing_keys != template_keys:
        found.append(f"KeySchema: existing {existing_keys}, template {template_keys}")
    # DescribeTable leaves out BillingModeSummary for tables that were always PROVISIONED, and
    # PROVISIONED is CloudFormation's default too
    existing_mode = described.get("BillingModeSummary", {}).get("BillingMode", "PROVISIONED")
    template_mode = properties.get("BillingMode", "PROVISIONED")
    if existing_mode != template_mode:
        found.append(f"BillingMode: existing {existing_mode}, template {template_mode}")
    return found


TABLE_KIND = ResourceKind(
    TABLE, "table", name_property="TableName",
    lookup=Lookup("dynamodb", "describe_table", "TableName", missing=frozenset({"ResourceNotFoundException"})),
    identifier="TableName", mismatches=adoption_mismatches)


TABLE_HOLDS_DATA = DataHolder(TABLE, "its items", replaced_by=(
    "TableName", "KeySchema", "LocalSecondaryIndexes", "ImportSourceSpecification"))


def point_in_time_recovery(props: Mapping[str, Any]) -> object:
    spec = props.get("PointInTimeRecoverySpecification") or {}
    return UNKNOWN if is_intrinsic(spec) else as_flag(spec.get("PointInTimeRecoveryEnabled", False))


def deletion_protection(props: Mapping[str, Any]) -> object:
    return as_flag(props.get("DeletionProtectionEnabled", False))


TABLE_SAFEGUARDS = (
    Safeguard(TABLE, "point-in-time recovery", "switch", point_in_time_recovery,
              "the table can no longer be restored to a moment of the last 35 days: its continuous backups "
              "are deleted"),
    Safeguard(TABLE, "deletion protection", "switch", deletion_protection,
              "the table, with its items, can be deleted by one call or with the stack"),
)

FAMILY = Family(
    name="table",
    remove_commands={"AWS::DynamoDB::Table": "aws dynamodb delete-table --table-name {id} --region {region}"},
    build=build,
    settings=(DYNAMODB_BILLING_MODE, DYNAMODB_READ_CAPACITY, DYNAMODB_WRITE_CAPACITY, SYSTEM_ERROR_OPERATIONS),
    check=_check,
    parameters=(BILLING_MODE, READ_CAPACITY, WRITE_CAPACITY, *threshold_parameters(ALARM_BASES)),
    pricers={TABLE: price_table},
    checkov_skips=(SKIP_TABLE_CMK,),
    kinds=(TABLE_KIND,),
    holds_data=(TABLE_HOLDS_DATA,),
    safeguards=TABLE_SAFEGUARDS,
)
