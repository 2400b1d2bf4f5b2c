"""builder.stack.deployed: a DescribeStacks record as botocore parses CloudFormation's reply, typed once."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from builder.stack.deployed import DeployedStack
from tests.factories import describe_stacks_reply

MEMBER = """<member>
  <StackName>app-pr1</StackName>
  <StackId>arn:aws:cloudformation:us-east-1:123456789012:stack/app-pr1/1</StackId>
  <CreationTime>2026-11-20T10:00:00.123Z</CreationTime>
  <LastUpdatedTime>2026-11-24T12:00:00Z</LastUpdatedTime>
  <StackStatus>UPDATE_ROLLBACK_COMPLETE</StackStatus>
  <StackStatusReason>Resource update cancelled</StackStatusReason>
  <Description>builder: data bucket, table, alerts and alarms of environment pr1</Description>
  <EnableTerminationProtection>true</EnableTerminationProtection>
  <RoleARN>arn:aws:iam::123456789012:role/deployer</RoleARN>
  <NotificationARNs><member>arn:aws:sns:us-east-1:123456789012:ops</member></NotificationARNs>
  <Tags>
    <member><Key>Environment</Key><Value>pr1</Value></member>
    <member><Key>CostCenter</Key><Value>engineering</Value></member>
  </Tags>
  <Parameters>
    <member><ParameterKey>BillingMode</ParameterKey><ParameterValue>PROVISIONED</ParameterValue></member>
    <member><ParameterKey>Size</ParameterKey><ParameterValue>/config/size</ParameterValue>
      <ResolvedValue>7</ResolvedValue></member>
  </Parameters>
  <Outputs>
    <member><OutputKey>TableName</OutputKey><OutputValue>app-pr1-data</OutputValue></member>
    <member><OutputKey>BucketName</OutputKey><OutputValue>app-pr1-bucket</OutputValue></member>
  </Outputs>
</member>"""


def test_every_field_from_a_reply_botocore_parsed() -> None:
    (record,) = describe_stacks_reply(MEMBER)
    stack = DeployedStack.from_api(record)
    assert (stack.name, stack.status, stack.status_reason) == (
        "app-pr1", "UPDATE_ROLLBACK_COMPLETE", "Resource update cancelled")
    assert stack.stack_id == "arn:aws:cloudformation:us-east-1:123456789012:stack/app-pr1/1"
    assert stack.description == "builder: data bucket, table, alerts and alarms of environment pr1"  # the template's
    assert stack.parameters == {"BillingMode": "PROVISIONED", "Size": "/config/size"}  # as sent
    assert stack.resolved_parameters == {"BillingMode": "PROVISIONED", "Size": "7"}  # what it is
    assert stack.tags == {"Environment": "pr1", "CostCenter": "engineering"}
    assert list(stack.outputs.items()) == [("BucketName", "app-pr1-bucket"), ("TableName", "app-pr1-data")]
    assert stack.role_arn == "arn:aws:iam::123456789012:role/deployer"
    assert stack.termination_protection is True
    assert stack.notification_arns == ("arn:aws:sns:us-east-1:123456789012:ops",)
    assert stack.last_change == datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_a_bare_record_has_empty_values_and_its_creation_as_last_change() -> None:
    created = datetime(2026, 11, 20, tzinfo=UTC)
    stack = DeployedStack.from_api({"StackName": "app-pr2", "StackId": "id", "StackStatus": "CREATE_COMPLETE",
                                    "CreationTime": created})
    assert (stack.parameters, stack.tags, stack.outputs, stack.role_arn) == ({}, {}, {}, None)
    assert (stack.termination_protection, stack.notification_arns, stack.last_change) == (False, (), created)


@pytest.mark.parametrize(("status", "expected"), [
    # status: exists, in_progress, settled, in_review, failed_create, stuck, succeeded
    ("CREATE_COMPLETE", (True, False, True, False, False, False, True)),
    ("IMPORT_COMPLETE", (True, False, True, False, False, False, True)),
    ("UPDATE_IN_PROGRESS", (True, True, False, False, False, False, False)),
    ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", (True, True, False, False, False, False, False)),
    ("REVIEW_IN_PROGRESS", (True, False, False, True, False, False, False)),
    ("ROLLBACK_COMPLETE", (True, False, True, False, True, False, False)),
    ("ROLLBACK_FAILED", (True, False, True, False, False, True, False)),
    ("DELETE_FAILED", (True, False, True, False, False, True, False)),
    ("UPDATE_ROLLBACK_FAILED", (True, False, True, False, False, True, False)),
    ("UPDATE_ROLLBACK_COMPLETE", (True, False, True, False, False, False, False)),
    ("DELETE_COMPLETE", (False, False, True, False, False, False, False)),
])
def test_what_a_status_says(status: str, expected: tuple[bool, ...]) -> None:
    stack = DeployedStack("app-pr1", "id", status)
    assert (stack.exists, stack.in_progress, stack.settled, stack.in_review, stack.failed_create, stack.stuck,
            stack.succeeded) == expected
