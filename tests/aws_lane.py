"""The real-AWS lane of the deploy tests, and the teardown that leaves the account as it was.

`BUILDER_TEST_TARGET=aws` (`tox -e aws`) runs the emulator tests against the account the usual
credential chain names: no emulator, no endpoint URL. Every stack of the run has a suffix the `suffix`
fixture handed out (`t<random run id><n>`, also inside every derived name: `app-<suffix>`,
`st<suffix>-one`, `artifacts-<suffix>`), so the session's teardown finds what the run made by name:
every stack (deleted with builder's destroy: buckets emptied, the primary before its replica, after
turning termination protection off) and then every bucket and table a stack kept (retain_data) or a
test made directly. It runs when a test fails too; it is itself tested against the emulator.
"""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Collection, Iterable
from pathlib import Path

import boto3

from builder.cli.views import views
from builder.environment import resolve_region
from builder.families.storage import empty_bucket
from builder.ops.destroy import DestroyOptions, destroy_stack
from builder.ops.ownership import managed
from builder.report import Reporter
from builder.stack.deployed import DeployedStack
from builder.stack.poller import Pollers
from builder.stack.watch import watchers

TARGETS = ("emulator", "aws")
TARGET = os.environ.get("BUILDER_TEST_TARGET") or "emulator"
ON_AWS = TARGET == "aws"
REPLICA_REGION = "us-west-2"  # where the replication tests put their replica stacks
GONE = "DELETE_COMPLETE"


def lane_region() -> str:
    """The region builder deploys to in a test: no --region, no AWS_REGION file in the test's working
    directory, and no AWS_DEFAULT_REGION (the `aws_env` fixture removes it); AWS_REGION, else the
    profile's region, else us-east-1."""
    environ = {k: v for k, v in os.environ.items() if k != "AWS_DEFAULT_REGION"}
    return resolve_region(None, environ, Path(__file__).parent / "no-such-directory").region


def is_ours(name: str, suffixes: Collection[str]) -> bool:
    return any(suffix in name for suffix in suffixes)


def _stacks(cf, suffixes: Collection[str]) -> list[str]:
    pages = cf.get_paginator("list_stacks").paginate()
    names = {s["StackName"] for page in pages for s in page["StackSummaries"]
             if s["StackStatus"] != GONE and is_ours(s["StackName"], suffixes)}
    return sorted(names, key=lambda name: (name.endswith("-replica"), name))  # primaries first


def _destroy(name: str, region: str, out_dir: str) -> None:
    """builder's destroy for builder's stacks; a look-alike a test made itself (no builder:managed-by tag:
    destroy refuses it) goes with a plain DeleteStack, and its buckets and tables with the sweep after."""
    cf = boto3.session.Session(region_name=region).client("cloudformation")
    cf.update_termination_protection(StackName=name, EnableTerminationProtection=False)
    deployed = DeployedStack.from_api(cf.describe_stacks(StackName=name)["Stacks"][0])
    if not managed(deployed):
        cf.delete_stack(StackName=name)
        cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 2, "MaxAttempts": 300})
        return
    with Pollers() as pollers:
        reporter = Reporter(io.StringIO(), mode="text", tty=False, views=views())
        destroy_stack(name, region, deployed.tags.get("Environment", ""), DestroyOptions(out_dir=out_dir), reporter,
                      watchers(pollers))


def _delete_table(dynamodb, table: str) -> None:
    """Delete the table, unless it is going already: a stack deleted in express mode (deployment_mode) is
    DELETE_COMPLETE while its table may still be DELETING, and DeleteTable would refuse that one."""
    found = dynamodb.describe_table(TableName=table)["Table"]
    if found.get("TableStatus") == "DELETING":
        return
    if found.get("DeletionProtectionEnabled"):
        dynamodb.update_table(TableName=table, DeletionProtectionEnabled=False)
    dynamodb.delete_table(TableName=table)


def _delete_bucket(bucket: str) -> None:
    region = boto3.client("s3", region_name="us-east-1").get_bucket_location(Bucket=bucket)["LocationConstraint"]
    s3 = boto3.session.Session(region_name=region or "us-east-1").client("s3")
    empty_bucket(s3, bucket)
    s3.delete_bucket(Bucket=bucket)


def tear_down(suffixes: Collection[str], regions: Iterable[str]) -> tuple[list[str], list[str]]:
    """Delete every stack, then every table and bucket, whose name holds one of the suffixes, in the
    regions given (buckets: wherever they are). Returns (what was deleted, what could not be, and why);
    one failure does not stop the rest."""
    deleted: list[str] = []
    failed: list[str] = []
    regions = sorted(set(regions))
    if not suffixes:
        return deleted, failed

    def attempt(what: str, action) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - a BuilderError or botocore's: report it, then go on
            failed.append(f"{what}: {exc}")
        else:
            deleted.append(what)

    with tempfile.TemporaryDirectory() as out_dir:
        stacks = [(name, region) for region in regions
                  for name in _stacks(boto3.session.Session(region_name=region).client("cloudformation"), suffixes)]
        for name, region in sorted(stacks, key=lambda s: s[0].endswith("-replica")):
            attempt(f"stack {name} ({region})", lambda name=name, region=region: _destroy(name, region, out_dir))
    for region in regions:
        dynamodb = boto3.session.Session(region_name=region).client("dynamodb")
        tables = [t for page in dynamodb.get_paginator("list_tables").paginate() for t in page["TableNames"]]
        for table in (t for t in tables if is_ours(t, suffixes)):
            attempt(f"table {table} ({region})", lambda table=table, dynamodb=dynamodb: _delete_table(dynamodb, table))
    buckets = boto3.client("s3", region_name="us-east-1").list_buckets().get("Buckets", [])
    for bucket in (b["Name"] for b in buckets if is_ours(b["Name"], suffixes)):
        attempt(f"bucket {bucket}", lambda bucket=bucket: _delete_bucket(bucket))
    return deleted, failed
