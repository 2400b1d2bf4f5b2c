"""The AWS lane's plumbing (tests/aws_lane.py, tests/conftest.py), checked where it is safe: the teardown
runs against the emulator, the lane's switches in a pytest subprocess that never reaches AWS."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests import aws_lane
from tests.factories import REPLICATION_ARGS as REPLICATION
from tests.factories import look_alike

pytestmark = pytest.mark.emulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.emulator_only("deletes what a simulated failing test left on the emulator; the lane runs it for real")
def test_teardown_deletes_everything_a_failed_test_left_and_nothing_else(aws, suffix):
    # what a test that failed half way can leave: a primary and its replica, termination protection on,
    # objects in the bucket, data a stack keeps (retain_data), and a table the test made directly
    name, replica = f"app-{suffix}", f"app-{suffix}-replica"
    assert aws.run("deploy", "--suffix", suffix, "--set", "retain_data=true", *REPLICATION)[0] == 0
    cf = aws.client("cloudformation")
    cf.update_termination_protection(StackName=name, EnableTerminationProtection=True)
    aws.client("s3").put_object(Bucket=f"{name}-data-{aws.account}-us-east-1", Key="k", Body=b"v")
    aws.client("dynamodb").create_table(
        TableName=f"{name}x-data", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
    look_alike(cf, f"app-{suffix}-team", suffix)  # made by a test itself: destroy refuses it, the teardown not
    other = f"k{uuid.uuid4().hex[:6]}"  # another run's stack: not a suffix this run handed out
    assert aws.run("deploy", "--suffix", other)[0] == 0

    deleted, failed = aws_lane.tear_down([suffix], {"us-east-1", "us-west-2"})

    assert failed == []
    assert {f"stack {name} (us-east-1)", f"stack {replica} (us-west-2)", f"stack app-{suffix}-team (us-east-1)"} \
        <= set(deleted)
    assert aws.stack(f"app-{suffix}-team") is None
    assert aws.stack(name) is None and aws.stack(replica, "us-west-2") is None
    for region in ("us-east-1", "us-west-2"):
        assert [t for t in aws.client("dynamodb", region).list_tables()["TableNames"] if suffix in t] == []
    assert [b["Name"] for b in aws.client("s3").list_buckets()["Buckets"] if suffix in b["Name"]] == []
    assert aws.stack(f"app-{other}")["StackStatus"] == "CREATE_COMPLETE"
    assert aws_lane.tear_down([], {"us-east-1"}) == ([], [])  # nothing handed out: no call at all


def lane(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """pytest in a subprocess with the given environment on top of this one (dummy credentials, no config)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BUILDER_TEST"))}
    environ.update(AWS_ACCESS_KEY_ID="x", AWS_SECRET_ACCESS_KEY="x", AWS_CONFIG_FILE=os.devnull,
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true", **env)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300, env=environ, check=False)


@pytest.mark.emulator_only("runs the lane's switches in a subprocess that never reaches AWS")
def test_the_aws_lane_starts_no_emulator_keeps_the_credentials_and_skips_emulator_facts():
    """No suffix is handed out in the subprocess, so its teardown makes no call: nothing leaves the machine."""
    probe = lane("tests/emulator/lane_probe.py", "tests/emulator/test_smoke.py", "-rs",
                 BUILDER_TEST_TARGET="aws", AWS_ENDPOINT_URL="http://127.0.0.1:9",
                 AWS_ENDPOINT_URL_S3="http://127.0.0.1:9")
    assert probe.returncode == 0, probe.stdout + probe.stderr
    assert "1 passed" in probe.stdout
    assert "emulator only: checks LocalStack itself" in probe.stdout


def test_an_unknown_target_is_a_usage_error():
    result = lane("--collect-only", "tests/test_layers.py", BUILDER_TEST_TARGET="moto")
    assert result.returncode == 4  # pytest's usage error
    assert "BUILDER_TEST_TARGET must be one of emulator, aws (got 'moto')" in result.stdout + result.stderr


@pytest.mark.parametrize("status,deleted", [("DELETING", False), ("ACTIVE", True)])
def test_the_teardown_leaves_a_table_an_express_delete_is_still_deleting(stubs, status, deleted):
    """AWS's answers through Stubber: the emulator deletes a table at once, so it never shows DELETING."""
    stub = stubs["dynamodb"]
    stub.add_response("describe_table", {"Table": {"TableName": "app-t1-data", "TableStatus": status}},
                      {"TableName": "app-t1-data"})
    if deleted:
        stub.add_response("delete_table", {"TableDescription": {"TableName": "app-t1-data"}},
                          {"TableName": "app-t1-data"})
    aws_lane._delete_table(stubs.clients["dynamodb"], "app-t1-data")
