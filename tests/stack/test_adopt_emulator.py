"""Retained data on the emulator: found after destroy; IMPORT change sets a known gap, pinned.

What LocalStack 2026.3 does: HeadBucket and DescribeTable answer as AWS does for a bucket and a
table a retain_data stack left behind (200; 404 and ResourceNotFoundException when absent).
CreateChangeSet with ChangeSetType=IMPORT fails: 501 InternalFailure ("...has not yet been
emulated by LocalStack.") into an existing stack, ValidationError "Stack '<name>' does not exist."
for a new one (AWS creates the stack). The strict xfails turn into failures when that changes.
"""

from __future__ import annotations

import json
import time

import pytest

from builder.errors import OperationError
from builder.stack import adopt
from tests.factories import GAP_MESSAGE, KnownGap, pin_gap

pytestmark = [pytest.mark.emulator,
              pytest.mark.emulator_only("LocalStack's account 000000000000 and its import gaps")]

ACCOUNT = "000000000000"


def data_resources(suffix: str) -> list[adopt.Retained]:
    return [adopt.Retained("DataBucket", "AWS::S3::Bucket", f"app-{suffix}-data-{ACCOUNT}-us-east-1"),
            adopt.Retained("DataTable", "AWS::DynamoDB::Table", f"app-{suffix}-data")]


def test_find_retained_after_a_retain_data_destroy(aws, suffix):
    assert aws.run("deploy", "--suffix", suffix, "--set", "retain_data=true")[0] == 0
    assert aws.run("destroy", "--suffix", suffix, "--yes")[0] == 0
    found = adopt.find_retained(aws.client, data_resources(suffix))
    assert found == tuple(data_resources(suffix))
    assert found[1].answer["Table"]["TableName"] == f"app-{suffix}-data"  # what DescribeTable answered
    assert adopt.find_retained(aws.client, data_resources(f"{suffix}x")) == ()


def _retained_pair(aws, suffix: str) -> tuple[list[adopt.Retained], dict]:
    bucket, table = data_resources(suffix)
    aws.client("s3").create_bucket(Bucket=bucket.name)
    aws.client("dynamodb").create_table(
        TableName=table.name, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    template = {"Resources": {
        bucket.logical_id: {"Type": bucket.type, "Properties": {"BucketName": bucket.name}},
        table.logical_id: {"Type": table.type, "Properties": {
            "TableName": table.name, "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}]}},
        "Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    return [bucket, table], template


def _existing_stack(aws, name: str) -> None:
    cf = aws.client("cloudformation")
    placeholder = {"Resources": {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
    cf.create_stack(StackName=name, TemplateBody=json.dumps(placeholder))
    deadline = time.monotonic() + 60
    while aws.stack(name)["StackStatus"].endswith("_IN_PROGRESS") and time.monotonic() < deadline:
        time.sleep(0.2)


def test_import_into_an_existing_stack_is_one_line_naming_the_gap(aws, suffix):
    resources, template = _retained_pair(aws, suffix)
    _existing_stack(aws, f"adopt-{suffix}")
    with pytest.raises(OperationError) as caught:
        adopt.import_change_set(aws.client("cloudformation"), f"adopt-{suffix}", "adopt",
                                adopt.import_template(template, resources), resources)
    assert caught.value.lines() == [(f"error: adopt-{suffix}: this endpoint does not implement IMPORT change sets "
                                     f"(InternalFailure: {GAP_MESSAGE}); adopt retained resources against AWS itself")]


@pytest.mark.xfail(strict=True, raises=KnownGap,
                   reason="LocalStack 2026.3 rejects IMPORT into a new stack: Stack '<name>' does not exist.")
def test_gap_import_into_a_new_stack(aws, suffix):
    resources, template = _retained_pair(aws, suffix)
    cf = aws.client("cloudformation")
    try:
        adopt.import_change_set(cf, f"adopt-{suffix}", "adopt", adopt.import_template(template, resources),
                                resources)
    except OperationError as error:
        said = "\n".join(error.lines())
        pin_gap(f"Stack 'adopt-{suffix}' does not exist." in said, False, True, said)
        raise
    deadline = time.monotonic() + 60
    while (change_set := cf.describe_change_set(StackName=f"adopt-{suffix}", ChangeSetName="adopt"))["Status"] in (
            "CREATE_PENDING", "CREATE_IN_PROGRESS") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [c["ResourceChange"]["Action"] for c in change_set["Changes"]] == ["Import", "Import"]
