"""Smoke tests: the local AWS emulator (LocalStack) deploys the CloudFormation
resource types builder uses, via boto3 change sets and via the real AWS CLI.

Needs the emulator venv (``.ci/install-emulator``); the ``aws_endpoint`` fixture
(tests/conftest.py) fails with install instructions when it is missing. Everything runs against
127.0.0.1 with dummy credentials (account 000000000000).

Tests marked ``xfail(strict=True, raises=KnownGap)`` pin known LocalStack 2026.3.0 gaps: each asserts
what AWS does and raises ``KnownGap`` only when the emulator shows exactly the behaviour its reason
names. If one starts passing (LocalStack fixed it), strict xfail turns it into a failure so the gap
list gets updated; a failure of any other kind (another value, a helper's assertion, an unexpected
error) is not a KnownGap and fails the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.factories import KnownGap, aws_cli, pin_gap

pytestmark = [pytest.mark.emulator,
              pytest.mark.emulator_only("checks LocalStack itself: what it implements and its gaps")]

ACCOUNT = "000000000000"  # LocalStack's default account id
POLL = 0.2  # seconds between status polls
TIMEOUT = 90  # seconds per stack operation


# --------------------------------------------------------------------------- template


def _sub(s):
    return {"Fn::Sub": s}


def _ref(s):
    return {"Ref": s}


def smoke_template() -> dict:
    """One stack with every resource type / intrinsic builder relies on."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "builder emulator smoke test",
        "Parameters": {
            "Prefix": {"Type": "String", "AllowedPattern": "[a-z0-9-]+"},
            "OnDemand": {"Type": "String", "AllowedValues": ["true", "false"], "Default": "true"},
            "CreateRole": {"Type": "String", "AllowedValues": ["true", "false"], "Default": "true"},
            "AlarmEmail": {"Type": "String", "Default": "ops@example.com"},
        },
        "Conditions": {
            "IsOnDemand": {"Fn::Equals": [_ref("OnDemand"), "true"]},
            "WithRole": {"Fn::Equals": [_ref("CreateRole"), "true"]},
        },
        "Resources": {
            "DataBucket": {
                "Type": "AWS::S3::Bucket",
                "Properties": {
                    "BucketName": _sub("${Prefix}-data-${AWS::AccountId}-${AWS::Region}"),
                    "VersioningConfiguration": {"Status": "Enabled"},
                    "BucketEncryption": {
                        "ServerSideEncryptionConfiguration": [
                            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                        ]
                    },
                    "PublicAccessBlockConfiguration": {
                        "BlockPublicAcls": True,
                        "BlockPublicPolicy": True,
                        "IgnorePublicAcls": True,
                        "RestrictPublicBuckets": True,
                    },
                    "LifecycleConfiguration": {
                        "Rules": [
                            {
                                "Id": "expire-noncurrent",
                                "Status": "Enabled",
                                "NoncurrentVersionExpiration": {"NoncurrentDays": 30},
                            },
                            {
                                "Id": "abort-mpu",
                                "Status": "Enabled",
                                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
                            },
                        ]
                    },
                    "Tags": [{"Key": "app", "Value": "builder"}],
                },
            },
            "DataBucketPolicy": {
                "Type": "AWS::S3::BucketPolicy",
                "Properties": {
                    "Bucket": _ref("DataBucket"),
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "DenyInsecureTransport",
                                "Effect": "Deny",
                                "Principal": "*",
                                "Action": "s3:*",
                                "Resource": [
                                    {"Fn::GetAtt": ["DataBucket", "Arn"]},
                                    _sub("${DataBucket.Arn}/*"),
                                ],
                                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                            }
                        ],
                    },
                },
            },
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": _sub("${Prefix}-table"),
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                    "BillingMode": {"Fn::If": ["IsOnDemand", "PAY_PER_REQUEST", "PROVISIONED"]},
                    "ProvisionedThroughput": {
                        "Fn::If": [
                            "IsOnDemand",
                            _ref("AWS::NoValue"),
                            {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
                        ]
                    },
                    "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True},
                    "SSESpecification": {"SSEEnabled": True},
                },
            },
            "AlarmTopic": {
                "Type": "AWS::SNS::Topic",
                "Properties": {"TopicName": _sub("${Prefix}-alarms")},
            },
            "AlarmEmailSubscription": {
                "Type": "AWS::SNS::Subscription",
                "Properties": {
                    "TopicArn": _ref("AlarmTopic"),
                    "Protocol": "email",
                    "Endpoint": _ref("AlarmEmail"),
                },
            },
            "AlarmTopicPolicy": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "Topics": [_ref("AlarmTopic")],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "AllowCloudWatch",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": _ref("AlarmTopic"),
                            }
                        ],
                    },
                },
            },
            "ThrottleAlarm": {
                "Type": "AWS::CloudWatch::Alarm",
                "Properties": {
                    "AlarmName": _sub("${Prefix}-table-throttles"),
                    "Namespace": "AWS/DynamoDB",
                    "MetricName": "ThrottledRequests",
                    "Dimensions": [{"Name": "TableName", "Value": _ref("Table")}],
                    "Statistic": "Sum",
                    "Period": 60,
                    "EvaluationPeriods": 1,
                    "Threshold": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold",
                    "TreatMissingData": "notBreaching",
                    "AlarmActions": [_ref("AlarmTopic")],
                },
            },
            "OpsRole": {
                "Type": "AWS::IAM::Role",
                "Condition": "WithRole",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {
                                    "AWS": _sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")
                                },
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    },
                    "Policies": [
                        {
                            "PolicyName": "table-read",
                            "PolicyDocument": {
                                "Version": "2012-10-17",
                                "Statement": [
                                    {
                                        "Effect": "Allow",
                                        "Action": ["dynamodb:GetItem", "dynamodb:Query"],
                                        "Resource": {"Fn::GetAtt": ["Table", "Arn"]},
                                    }
                                ],
                            },
                        }
                    ],
                },
            },
        },
        "Outputs": {
            "BucketName": {
                "Value": _ref("DataBucket"),
                "Export": {"Name": _sub("${AWS::StackName}-BucketName")},
            },
            "TableName": {
                "Value": _ref("Table"),
                "Export": {"Name": _sub("${AWS::StackName}-TableName")},
            },
            "TableArn": {
                "Value": {"Fn::GetAtt": ["Table", "Arn"]},
                "Export": {"Name": _sub("${AWS::StackName}-TableArn")},
            },
            "TopicArn": {
                "Value": _ref("AlarmTopic"),
                "Export": {"Name": _sub("${AWS::StackName}-TopicArn")},
            },
            "RoleArn": {
                "Condition": "WithRole",
                "Value": {"Fn::GetAtt": ["OpsRole", "Arn"]},
                "Export": {"Name": _sub("${AWS::StackName}-RoleArn")},
            },
        },
    }


ALL_RESOURCES = sorted(smoke_template()["Resources"])


# --------------------------------------------------------------------------- helpers


def unique(name: str) -> str:
    """Stack name / resource prefix unique within the session's emulator."""
    return f"{name}-{uuid.uuid4().hex[:6]}"


def client(endpoint: str, service: str, region: str = "us-east-1"):
    return boto3.client(service, endpoint_url=endpoint, region_name=region)


def _failure_events(cfn, stack: str) -> str:
    try:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
    except Exception as e:  # noqa: BLE001 - diagnostics only
        return f"(no events: {e})"
    bad = [e for e in events if "FAILED" in e["ResourceStatus"]]
    return "\n".join(
        f"  {e['LogicalResourceId']} {e['ResourceStatus']}: {e.get('ResourceStatusReason')}"
        for e in bad
    ) or "  (no FAILED events)"


def wait_stack(cfn, stack: str, want: str, transient: tuple[str, ...] = ()) -> dict:
    """Poll until the stack leaves *_IN_PROGRESS (and ``transient``); assert it reached ``want``."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        if not s["StackStatus"].endswith("_IN_PROGRESS") and s["StackStatus"] not in transient:
            break
        assert time.monotonic() < deadline, f"{stack} still {s['StackStatus']} after {TIMEOUT}s"
        time.sleep(POLL)
    assert s["StackStatus"] == want, (
        f"{stack}: {s['StackStatus']} ({s.get('StackStatusReason')}), wanted {want}\n"
        + _failure_events(cfn, stack)
    )
    return s


def create_change_set(cfn, stack: str, name: str, kind: str, params: dict, template=None) -> dict:
    cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=kind,
        TemplateBody=json.dumps(template or smoke_template()),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=["CAPABILITY_IAM"],
        Tags=[{"Key": "project", "Value": "builder"}],
    )
    deadline = time.monotonic() + TIMEOUT
    while True:
        cs = cfn.describe_change_set(StackName=stack, ChangeSetName=name)
        if cs["Status"] not in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            return cs
        assert time.monotonic() < deadline, f"change set {name} still {cs['Status']}"
        time.sleep(POLL)


def deploy(cfn, stack: str, params: dict, template=None) -> dict:
    """Create ``stack`` through a CREATE change set; return the described stack."""
    cs = create_change_set(cfn, stack, "create", "CREATE", params, template)
    assert cs["Status"] == "CREATE_COMPLETE", cs.get("StatusReason")
    cfn.execute_change_set(StackName=stack, ChangeSetName="create")
    return wait_stack(cfn, stack, "CREATE_COMPLETE")


def update(cfn, stack: str, name: str, params: dict, template=None) -> dict:
    cs = create_change_set(cfn, stack, name, "UPDATE", params, template)
    assert cs["Status"] == "CREATE_COMPLETE", cs.get("StatusReason")
    cfn.execute_change_set(StackName=stack, ChangeSetName=name)
    wait_stack(cfn, stack, "UPDATE_COMPLETE")
    return cs


def outputs(stack: dict) -> dict:
    return {o["OutputKey"]: o for o in stack.get("Outputs", [])}


# --------------------------------------------------------------------------- (a) boto3 + change set


def test_change_set_creates_full_stack(aws_endpoint):
    cfn = client(aws_endpoint, "cloudformation")
    stack, prefix = unique("smoke-a"), unique("bld-a")

    t0 = time.monotonic()
    cs = create_change_set(cfn, stack, "create", "CREATE", {"Prefix": prefix})
    assert cs["Status"] == "CREATE_COMPLETE", cs.get("StatusReason")
    assert cs["ExecutionStatus"] == "AVAILABLE"
    adds = sorted(c["ResourceChange"]["LogicalResourceId"] for c in cs["Changes"])
    assert adds == ALL_RESOURCES
    assert {c["ResourceChange"]["Action"] for c in cs["Changes"]} == {"Add"}

    cfn.execute_change_set(StackName=stack, ChangeSetName="create")
    s = wait_stack(cfn, stack, "CREATE_COMPLETE")
    print(f"\nstack create via change set: {time.monotonic() - t0:.2f} s")

    bucket = f"{prefix}-data-{ACCOUNT}-us-east-1"
    table = f"{prefix}-table"
    out = outputs(s)
    assert set(out) == {"BucketName", "TableName", "TableArn", "TopicArn", "RoleArn"}
    assert out["BucketName"]["OutputValue"] == bucket
    assert out["TableName"]["OutputValue"] == table
    assert out["TableArn"]["OutputValue"] == f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{table}"
    assert out["TopicArn"]["OutputValue"] == f"arn:aws:sns:us-east-1:{ACCOUNT}:{prefix}-alarms"
    assert out["RoleArn"]["OutputValue"].startswith(f"arn:aws:iam::{ACCOUNT}:role/")
    for key, o in out.items():
        assert o["ExportName"] == f"{stack}-{key}"
    exports = {e["Name"]: e["Value"] for e in cfn.list_exports()["Exports"]}
    assert {f"{stack}-{k}": o["OutputValue"] for k, o in out.items()}.items() <= exports.items()
    assert {"Key": "project", "Value": "builder"} in s["Tags"]

    # S3
    s3 = client(aws_endpoint, "s3")
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    pab = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(pab.values())  # NB: LocalStack's default for new buckets, see the gap tests
    policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    (stmt,) = policy["Statement"]
    assert stmt["Effect"] == "Deny" and stmt["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert sorted(stmt["Resource"]) == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    assert {"Key": "app", "Value": "builder"} in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]

    # DynamoDB (served by moto through the dynamodb:moto provider plugin)
    ddb = client(aws_endpoint, "dynamodb")
    t = ddb.describe_table(TableName=table)["Table"]
    assert t["TableStatus"] == "ACTIVE"
    assert t["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert t["SSEDescription"]["Status"] == "ENABLED"

    # SNS
    sns = client(aws_endpoint, "sns")
    topic = out["TopicArn"]["OutputValue"]
    (sub,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert (sub["Protocol"], sub["Endpoint"]) == ("email", "ops@example.com")
    topic_policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    assert topic_policy["Statement"][0]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}

    # CloudWatch
    (alarm,) = client(aws_endpoint, "cloudwatch").describe_alarms(
        AlarmNames=[f"{prefix}-table-throttles"]
    )["MetricAlarms"]
    assert alarm["Dimensions"] == [{"Name": "TableName", "Value": table}]
    assert alarm["AlarmActions"] == [topic]

    # IAM
    iam = client(aws_endpoint, "iam")
    role = out["RoleArn"]["OutputValue"].rsplit("/", 1)[1]
    assert iam.list_role_policies(RoleName=role)["PolicyNames"] == ["table-read"]


def test_conditions_false_branch(aws_endpoint):
    """Fn::If picks PROVISIONED + throughput; the conditional role and its output vanish."""
    cfn = client(aws_endpoint, "cloudformation")
    stack, prefix = unique("smoke-b"), unique("bld-b")
    s = deploy(cfn, stack, {"Prefix": prefix, "OnDemand": "false", "CreateRole": "false"})

    assert "RoleArn" not in outputs(s)
    resources = {r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName=stack)["StackResources"]}
    assert resources == set(ALL_RESOURCES) - {"OpsRole"}
    t = client(aws_endpoint, "dynamodb").describe_table(TableName=f"{prefix}-table")["Table"]
    assert t["BillingModeSummary"]["BillingMode"] == "PROVISIONED"
    assert (t["ProvisionedThroughput"]["ReadCapacityUnits"], t["ProvisionedThroughput"]["WriteCapacityUnits"]) == (5, 5)


def test_no_change_update_change_set_fails_with_reason(aws_endpoint):
    """What builder sees for an empty change set (awscli matches this reason text too)."""
    cfn = client(aws_endpoint, "cloudformation")
    stack, prefix = unique("smoke-c"), unique("bld-c")
    deploy(cfn, stack, {"Prefix": prefix})

    cs = create_change_set(cfn, stack, "again", "UPDATE", {"Prefix": prefix})
    assert cs["Status"] == "FAILED"
    assert cs["ExecutionStatus"] == "UNAVAILABLE"
    assert cs["StatusReason"] == (
        "The submitted information didn't contain changes. "
        "Submit different information to create a change set."
    )
    assert cs["Changes"] == []


def table_template(table_name) -> dict:
    return {
        "Parameters": {"Name": {"Type": "String"}},
        "Resources": {
            "T": {
                "Type": "AWS::DynamoDB::Table",
                "Properties": {
                    "TableName": table_name,
                    "BillingMode": "PAY_PER_REQUEST",
                    "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
                    "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
                },
            }
        },
    }


def test_change_set_reports_replacement_for_create_only_property(aws_endpoint):
    """TableName from a Ref'd parameter: Replacement "True", and the table really is replaced."""
    cfn = client(aws_endpoint, "cloudformation")
    ddb = client(aws_endpoint, "dynamodb")
    stack, prefix = unique("smoke-r"), unique("bld-r")

    deploy(cfn, stack, {"Name": f"{prefix}-1"}, table_template(_ref("Name")))
    cs = update(cfn, stack, "rename", {"Name": f"{prefix}-2"}, table_template(_ref("Name")))
    (change,) = [c["ResourceChange"] for c in cs["Changes"]]
    assert (change["Action"], change["Replacement"]) == ("Modify", "True")
    tables = ddb.list_tables()["TableNames"]
    assert f"{prefix}-2" in tables and f"{prefix}-1" not in tables


# --------------------------------------------------------------------------- (b) real AWS CLI


def test_aws_cli_deploy(aws_endpoint, tmp_path):
    aws = [aws_cli()]
    version = subprocess.run([*aws, "--version"], capture_output=True, text=True, check=False)
    print(f"\n{aws[0]}: {(version.stdout or version.stderr).strip()}")

    stack, prefix = unique("smoke-cli"), unique("bld-cli")
    (tmp_path / "template.json").write_text(json.dumps(smoke_template(), indent=1))
    # awscli v1 `deploy` accepts ONLY a JSON list of "Key=Value" strings in these files
    # (not the [{"ParameterKey":..}] or {"Parameters": {..}} forms; those fail with rc 255).
    (tmp_path / "params.json").write_text(
        json.dumps([f"Prefix={prefix}", "OnDemand=false", "AlarmEmail=team@example.com"])
    )
    (tmp_path / "tags.json").write_text(json.dumps(["project=builder", "owner=ci"]))
    cmd = [
        *aws, "--endpoint-url", aws_endpoint, "--region", "us-east-1",
        "cloudformation", "deploy",
        "--stack-name", stack,
        "--template-file", "template.json",
        "--parameter-overrides", "file://params.json",
        "--tags", "file://tags.json",
        "--capabilities", "CAPABILITY_IAM",
        "--no-fail-on-empty-changeset",
    ]

    # `deploy` hard-codes its waiter delays (5 s change set, 30 s stack); a sitecustomize on
    # PYTHONPATH caps each sleep at 0.5 s (only the polling pace changes, not what is sent).
    quick = tmp_path / "quick-waiters"
    quick.mkdir()
    (quick / "sitecustomize.py").write_text(
        "import time\n_sleep = time.sleep\ntime.sleep = lambda seconds: _sleep(min(seconds, 0.5))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(quick)}

    def run():
        p = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
        assert p.returncode == 0, f"aws exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
        return p.stdout

    t0 = time.monotonic()
    assert f"Successfully created/updated stack - {stack}" in run()
    print(f"aws cloudformation deploy (create): {time.monotonic() - t0:.2f} s")
    assert f"No changes to deploy. Stack {stack} is up to date" in run()

    cfn = client(aws_endpoint, "cloudformation")
    s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert s["StackStatus"] == "CREATE_COMPLETE"
    params = {p["ParameterKey"]: p["ParameterValue"] for p in s["Parameters"]}
    assert params == {"Prefix": prefix, "OnDemand": "false", "CreateRole": "true", "AlarmEmail": "team@example.com"}
    assert {(t["Key"], t["Value"]) for t in s["Tags"]} == {("project", "builder"), ("owner", "ci")}
    assert set(outputs(s)) == {"BucketName", "TableName", "TableArn", "TopicArn", "RoleArn"}


# --------------------------------------------------------------------------- (c) second region


def test_stack_in_second_region(aws_endpoint):
    region = "eu-west-1"
    cfn = client(aws_endpoint, "cloudformation", region)
    stack, prefix = unique("smoke-eu"), unique("bld-eu")
    s = deploy(cfn, stack, {"Prefix": prefix})

    assert s["StackId"].startswith(f"arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{stack}/")
    out = outputs(s)
    bucket = f"{prefix}-data-{ACCOUNT}-{region}"
    assert out["BucketName"]["OutputValue"] == bucket
    assert out["TableArn"]["OutputValue"].startswith(f"arn:aws:dynamodb:{region}:")
    assert out["TopicArn"]["OutputValue"].startswith(f"arn:aws:sns:{region}:")
    assert client(aws_endpoint, "s3", region).get_bucket_location(Bucket=bucket)["LocationConstraint"] == region
    client(aws_endpoint, "dynamodb", region).describe_table(TableName=f"{prefix}-table")

    # regional isolation: stack, exports and table are invisible from us-east-1
    home = client(aws_endpoint, "cloudformation", "us-east-1")
    assert stack not in {x["StackName"] for x in home.list_stacks()["StackSummaries"]}
    assert not [e for e in home.list_exports()["Exports"] if e["Name"].startswith(stack)]
    assert f"{prefix}-table" not in client(aws_endpoint, "dynamodb").list_tables()["TableNames"]


# --------------------------------------------------------------------------- (d) delete with data


def test_delete_stack_with_empty_bucket(aws_endpoint):
    cfn = client(aws_endpoint, "cloudformation")
    stack, prefix = unique("smoke-de"), unique("bld-de")
    stack_id = deploy(cfn, stack, {"Prefix": prefix})["StackId"]
    cfn.delete_stack(StackName=stack)
    wait_stack(cfn, stack_id, "DELETE_COMPLETE")  # a deleted stack is found by id only
    buckets = {b["Name"] for b in client(aws_endpoint, "s3").list_buckets()["Buckets"]}
    assert f"{prefix}-data-{ACCOUNT}-us-east-1" not in buckets
    assert f"{prefix}-table" not in client(aws_endpoint, "dynamodb").list_tables()["TableNames"]


def test_delete_stack_with_versioned_objects(aws_endpoint):
    """LocalStack 2026.3.0 diverges from AWS here.

    AWS: DeleteBucket fails (BucketNotEmpty) -> the stack ends DELETE_FAILED and
    keeps the bucket. LocalStack: its bucket handler deletes the *current*
    objects (adding one more delete marker), DeleteBucket then fails on the
    remaining versions, the stack turns DELETE_FAILED for a few tens of ms and
    then DELETE_COMPLETE anyway (so a poller, e.g. boto3's stack_delete_complete
    waiter, may see either), and the bucket is left behind, orphaned, with all
    its versions. Pinned here so a LocalStack upgrade that changes it is noticed.
    """
    cfn = client(aws_endpoint, "cloudformation")
    s3 = client(aws_endpoint, "s3")
    stack, prefix = unique("smoke-dv"), unique("bld-dv")
    s = deploy(cfn, stack, {"Prefix": prefix})
    bucket = outputs(s)["BucketName"]["OutputValue"]

    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"v1")
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"v2")
    s3.put_object(Bucket=bucket, Key="b.txt", Body=b"x")
    s3.delete_object(Bucket=bucket, Key="b.txt")  # -> delete marker
    v = s3.list_object_versions(Bucket=bucket)
    assert (len(v.get("Versions", [])), len(v.get("DeleteMarkers", []))) == (3, 1)

    cfn.delete_stack(StackName=stack)
    wait_stack(cfn, s["StackId"], "DELETE_COMPLETE", transient=("DELETE_FAILED",))

    events = cfn.describe_stack_events(StackName=s["StackId"])["StackEvents"]
    assert any(
        e["LogicalResourceId"] == "DataBucket" and e["ResourceStatus"] == "DELETE_FAILED" for e in events
    )
    assert bucket in {b["Name"] for b in s3.list_buckets()["Buckets"]}, "bucket is orphaned"
    v = s3.list_object_versions(Bucket=bucket)
    assert (len(v.get("Versions", [])), len(v.get("DeleteMarkers", []))) == (3, 2)
    assert f"{prefix}-table" not in client(aws_endpoint, "dynamodb").list_tables()["TableNames"]


# --------------------------------------------------------------------------- known gaps (strict xfail)


@pytest.fixture(scope="module")
def gap_stack(aws_endpoint):
    cfn = client(aws_endpoint, "cloudformation")
    stack, prefix = unique("smoke-gap"), unique("bld-gap")
    tpl = smoke_template()
    tpl["Resources"]["DataBucket"]["Properties"]["BucketEncryption"] = {
        "ServerSideEncryptionConfiguration": [
            {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}
        ]
    }
    s = deploy(cfn, stack, {"Prefix": prefix}, tpl)
    return {"stack": stack, "prefix": prefix, "template": tpl, "outputs": outputs(s)}


@pytest.mark.xfail(strict=True, raises=KnownGap,
                   reason="LocalStack ignores AWS::S3::Bucket LifecycleConfiguration: "
                          "GetBucketLifecycleConfiguration answers NoSuchLifecycleConfiguration")
def test_gap_bucket_lifecycle(aws_endpoint, gap_stack):
    bucket = gap_stack["outputs"]["BucketName"]["OutputValue"]
    try:
        rules = client(aws_endpoint, "s3").get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    except ClientError as error:
        pin_gap(error.response["Error"]["Code"], None, "NoSuchLifecycleConfiguration", "lifecycle configuration")
        raise
    assert {r["ID"] for r in rules} == {"expire-noncurrent", "abort-mpu"}


@pytest.mark.xfail(strict=True, raises=KnownGap,
                   reason="LocalStack ignores AWS::S3::Bucket BucketEncryption: the bucket keeps the default AES256")
def test_gap_bucket_encryption(aws_endpoint, gap_stack):
    bucket = gap_stack["outputs"]["BucketName"]["OutputValue"]
    (rule,) = client(aws_endpoint, "s3").get_bucket_encryption(Bucket=bucket)[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    pin_gap(rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"], "aws:kms", "AES256", "SSEAlgorithm")


@pytest.mark.xfail(strict=True, raises=KnownGap,
                   reason="LocalStack ignores AWS::DynamoDB::Table PointInTimeRecoverySpecification: "
                          "DescribeContinuousBackups says DISABLED")
def test_gap_table_point_in_time_recovery(aws_endpoint, gap_stack):
    desc = client(aws_endpoint, "dynamodb").describe_continuous_backups(
        TableName=f"{gap_stack['prefix']}-table"
    )["ContinuousBackupsDescription"]
    pin_gap(desc["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"], "ENABLED", "DISABLED",
            "PointInTimeRecoveryStatus")


@pytest.mark.xfail(
    strict=True, raises=KnownGap,
    reason="AWS::DynamoDB::Table has no update handler in LocalStack: the stack goes UPDATE_COMPLETE and the "
           "table stays PAY_PER_REQUEST",
)
def test_gap_table_billing_mode_update(aws_endpoint, gap_stack):
    cfn = client(aws_endpoint, "cloudformation")
    update(cfn, gap_stack["stack"], "to-provisioned", {"Prefix": gap_stack["prefix"], "OnDemand": "false"},
           gap_stack["template"])
    t = client(aws_endpoint, "dynamodb").describe_table(TableName=f"{gap_stack['prefix']}-table")["Table"]
    pin_gap(t["BillingModeSummary"]["BillingMode"], "PROVISIONED", "PAY_PER_REQUEST", "BillingMode")


@pytest.mark.xfail(
    strict=True, raises=KnownGap,
    reason="a parameter change that reaches a create-only property only through Fn::Sub is "
    "not seen: change set says Modify/Replacement False, the stack goes UPDATE_COMPLETE, "
    "the table keeps its old name (the stack's TableName output still shows it)",
)
def test_gap_replacement_through_fn_sub(aws_endpoint):
    cfn = client(aws_endpoint, "cloudformation")
    ddb = client(aws_endpoint, "dynamodb")
    stack, prefix = unique("smoke-rs"), unique("bld-rs")
    tpl = table_template(_sub("${Name}-table"))
    deploy(cfn, stack, {"Name": f"{prefix}-1"}, tpl)
    cs = update(cfn, stack, "rename", {"Name": f"{prefix}-2"}, tpl)
    tables = ddb.list_tables()["TableNames"]
    (change,) = [c["ResourceChange"] for c in cs["Changes"]]
    pin_gap((f"{prefix}-2-table" in tables, f"{prefix}-1-table" in tables, change["Replacement"]),
            (True, False, "True"), (False, True, "False"), "(new table, old table, Replacement)")
