"""destroy against LocalStack: versioned buckets emptied, retain_data respected, missing stacks, no TTY.

LocalStack reports DELETE_COMPLETE even when a non-empty bucket failed to delete, so these tests
check the bucket itself, not only the stack status.
"""

from __future__ import annotations

import re
from pathlib import Path

import botocore.exceptions
import pytest

from tests import aws_lane
from tests.factories import REPLICATION_ARGS, look_alike

pytestmark = pytest.mark.emulator


def bucket_exists(s3, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
    except botocore.exceptions.ClientError:
        return False
    return True


def fill_with_versions(s3, bucket: str) -> int:
    """Objects with several versions and delete markers; how many entries list_object_versions holds."""
    for index in range(5):
        for body in (b"one", b"two"):
            s3.put_object(Bucket=bucket, Key=f"data/{index}.txt", Body=body)
    s3.delete_object(Bucket=bucket, Key="data/0.txt")
    s3.delete_object(Bucket=bucket, Key="data/1.txt")
    listed = s3.list_object_versions(Bucket=bucket)
    assert len(listed["DeleteMarkers"]) == 2
    return len(listed["Versions"]) + len(listed["DeleteMarkers"])


def test_destroy_empties_the_versioned_bucket_and_deletes_the_stack(aws, suffix):
    name = f"app-{suffix}"
    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    s3 = aws.client("s3")
    bucket = f"{name}-data-{aws.account}-us-east-1"
    assert fill_with_versions(s3, bucket) == 12

    outputs = Path("out") / f"{name}.outputs.json"  # deploy wrote it in the test's working directory
    assert outputs.is_file()

    code, out, err = aws.run("destroy", "--suffix", suffix, "--yes")
    assert (code, err) == (0, "")
    assert f"emptied bucket {bucket}: 12 object version(s) and delete marker(s) deleted" in out
    assert not outputs.exists() and f"removed {outputs}: its stack no longer exists" in out
    assert any(line.split()[1:] == ["DELETE_COMPLETE", "AWS::S3::Bucket", "DataBucket"] for line in out.splitlines())
    assert aws.stack(name) is None
    assert not bucket_exists(s3, bucket)
    with pytest.raises(botocore.exceptions.ClientError):
        aws.client("dynamodb").describe_table(TableName=f"{name}-data")


def test_a_bucket_already_deleted_by_hand_needs_no_emptying(aws, suffix):
    name = f"app-{suffix}"
    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    bucket = f"{name}-data-{aws.account}-us-east-1"
    aws.client("s3").delete_bucket(Bucket=bucket)  # empty: S3 deletes it
    code, out, err = aws.run("destroy", "--suffix", suffix, "--yes")
    assert (code, err) == (0, "")
    assert f"bucket {bucket} is already gone" in out and "emptied" not in out
    assert aws.stack(name) is None


def test_destroy_with_retain_data_keeps_the_bucket_and_the_table(aws, suffix):
    name = f"app-{suffix}"
    assert aws.run("deploy", "--suffix", suffix, "--set", "retain_data=true")[0] == 0
    s3 = aws.client("s3")
    bucket = f"{name}-data-{aws.account}-us-east-1"
    s3.put_object(Bucket=bucket, Key="keep.txt", Body=b"precious")

    # today's config does not matter: the deployed template's DeletionPolicy decides
    code, out, _ = aws.run("destroy", "--suffix", suffix, "--yes")
    assert code == 0
    assert f"keeping bucket {bucket} and its data (DeletionPolicy Retain: retain_data)" in out
    assert "emptied" not in out
    # the ledger: what stays, priced from the deployed template, with the command that removes it
    assert re.search(rf"^  \S+ AWS::S3::Bucket {bucket}: DeletionPolicy Retain; \d+\.\d\d USD/month idle; "
                     rf"remove: aws s3 rb s3://{bucket} --force --region us-east-1$", out, re.MULTILINE), out
    assert re.search(rf"^  \S+ AWS::DynamoDB::Table {name}-data: DeletionPolicy Retain; \d+\.\d\d USD/month idle; "
                     rf"remove: aws dynamodb delete-table --table-name {name}-data --region us-east-1$",
                     out, re.MULTILINE), out
    assert aws.stack(name) is None
    assert s3.get_object(Bucket=bucket, Key="keep.txt")["Body"].read() == b"precious"
    assert aws.client("dynamodb").describe_table(TableName=f"{name}-data")["Table"]["TableName"] == f"{name}-data"


def test_destroy_deletes_the_primary_then_the_replica(aws, suffix):
    replication = REPLICATION_ARGS
    assert aws.run("deploy", "--suffix", suffix, *replication)[0] == 0
    code, out, _ = aws.run("destroy", "--suffix", suffix, "--yes", *replication)
    assert code == 0
    primary, replica = f"app-{suffix}: deleted in", f"app-{suffix}-replica: deleted in"
    assert out.index(primary) < out.index(replica)
    assert aws.stack(f"app-{suffix}") is None and aws.stack(f"app-{suffix}-replica", "us-west-2") is None
    assert not bucket_exists(aws.client("s3", "us-west-2"), f"app-{suffix}-replica-{aws.account}-us-west-2")


def test_destroy_of_a_missing_stack_says_so_and_succeeds(aws, suffix):
    code, out, err = aws.run("destroy", "--suffix", suffix, "--yes")
    assert (code, out.strip(), err) == (0, f"app-{suffix} does not exist in us-east-1; nothing to delete", "")


def test_destroy_without_a_terminal_and_without_yes_refuses(aws, suffix, monkeypatch):
    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _out, err = aws.run("destroy", "--suffix", suffix)
    assert code == 2
    assert err == f"error: destroy: would delete app-{suffix} (us-east-1); no terminal to confirm on, so pass --yes\n"
    assert aws.stack(f"app-{suffix}")["StackStatus"] == "CREATE_COMPLETE"


@pytest.mark.parametrize("answer, deleted", [("n", False), ("yes", True), (EOFError, False)])
def test_destroy_asks_on_a_terminal(aws, suffix, monkeypatch, answer, deleted):
    """EOFError: Ctrl-D at the prompt, no answer: a no, not `error: EOFError:`."""
    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    prompts = []

    def ask(prompt):
        prompts.append(prompt)
        if answer is EOFError:
            raise EOFError
        return answer

    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", ask)
    code, out, err = aws.run("destroy", "--suffix", suffix)
    assert (code, err) == (0, "")
    assert prompts == [f"Delete app-{suffix} (us-east-1) and the data in their buckets and tables? [y/N] "]
    assert (aws.stack(f"app-{suffix}") is None) == deleted
    if not deleted:
        assert out.splitlines()[-1] == "nothing deleted"


# --------------------------------------------------------------------------- what is deployed decides

def test_destroy_deletes_the_replica_the_deployed_primary_names_when_the_config_lost_replication(aws, suffix):
    """The issue's case: deployed with replication to us-west-2, then destroyed from a folder with no
    config (replication off, as the defaults say): both stacks go, and one line says where."""
    name, replica = f"app-{suffix}", f"app-{suffix}-replica"
    assert aws.run("deploy", "--suffix", suffix, *REPLICATION_ARGS)[0] == 0
    assert not Path("environments.toml").exists()
    code, out, err = aws.run("destroy", "--suffix", suffix, "--yes")
    assert (code, err) == (0, "")
    assert f"{replica} in us-west-2 is the replica of {name}: the deployed {name} names that region" in out
    assert out.index(f"{name}: deleted in") < out.index(f"{replica}: deleted in")
    assert f"destroyed {suffix}: deleted {name} in us-east-1 and {replica} in us-west-2" in out.splitlines()
    assert aws.stack(name) is None and aws.stack(replica, "us-west-2") is None
    assert not bucket_exists(aws.client("s3", "us-west-2"), f"{replica}-{aws.account}-us-west-2")


def test_destroy_finds_a_replica_whose_primary_is_gone_by_its_own_tag(aws, suffix, tmp_path):
    """The primary was deleted by hand; the replica is found in a replication region the config names
    (for another suffix: this one has replication off now) and deleted, as its tag names this primary."""
    name, replica = f"app-{suffix}", f"app-{suffix}-replica"
    assert aws.run("deploy", "--suffix", suffix, *REPLICATION_ARGS)[0] == 0
    assert {t["Key"]: t["Value"] for t in aws.stack(replica, "us-west-2")["Tags"]}["builder:primary-region"] == \
        "us-east-1"
    cf = aws.client("cloudformation")
    cf.delete_stack(StackName=name)
    cf.get_waiter("stack_delete_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
    config = tmp_path / "fleet.toml"
    config.write_text('[environments.prod]\nenable_cross_region_replication = true\nreplication_region = "us-west-2"\n')

    code, out, err = aws.run("destroy", "--suffix", suffix, "--config", str(config), "--yes")
    assert (code, err) == (0, "")
    assert f"{name} does not exist in us-east-1; nothing to delete" in out
    assert (f"{replica} in us-west-2 is the replica of {name}: its builder:primary-region tag names us-east-1"
            in out.splitlines())
    assert f"destroyed {suffix}: deleted {replica} in us-west-2" in out.splitlines()
    assert aws.stack(replica, "us-west-2") is None


def test_destroy_leaves_alone_the_replica_of_the_same_suffix_deployed_in_another_region(aws, suffix, tmp_path):
    """`app-<suffix>` deployed in eu-west-1 with its replica in us-west-2: destroying the suffix in
    us-east-1 (where it is not deployed) must not take eu-west-1's replica with it."""
    name, replica = f"app-{suffix}", f"app-{suffix}-replica"
    assert aws.run("deploy", "--suffix", suffix, "--region", "eu-west-1", *REPLICATION_ARGS)[0] == 0
    config = tmp_path / "fleet.toml"
    config.write_text('[defaults]\nenable_cross_region_replication = true\nreplication_region = "us-west-2"\n')

    code, out, err = aws.run("destroy", "--suffix", suffix, "--region", "us-east-1", "--config", str(config), "--yes")
    assert (code, err) == (0, "")
    assert (f"{replica} in us-west-2 belongs to the primary {name} in eu-west-1, not to {name} in "
            f"us-east-1; left alone") in out.splitlines()
    assert "destroyed" not in out
    assert aws.stack(replica, "us-west-2")["StackStatus"] == "CREATE_COMPLETE"

    code, out, err = aws.run("destroy", "--suffix", suffix, "--region", "eu-west-1", "--yes")  # its own: both go
    assert (code, err) == (0, "")
    assert f"destroyed {suffix}: deleted {name} in eu-west-1 and {replica} in us-west-2" in out.splitlines()
    assert aws.stack(name, "eu-west-1") is None and aws.stack(replica, "us-west-2") is None


def test_destroy_leaves_alone_a_replica_builder_did_not_make(aws, suffix):
    """A look-alike `<stack>-replica` in the region the deployed primary names (no builder:managed-by:
    an earlier builder's, or another team's): the primary goes, the look-alike stays, with a line why."""
    name, replica = f"app-{suffix}", f"app-{suffix}-replica"
    assert aws.run("deploy", "--suffix", suffix, "--set", "replication_region=us-west-2")[0] == 0
    assert aws.parameters(name)["ReplicationRegion"] == "us-west-2"  # replication off, the region still named
    look_alike(aws.client("cloudformation", "us-west-2"), replica, suffix)
    code, out, err = aws.run("destroy", "--suffix", suffix, "--yes")
    assert (code, err) == (0, "")
    assert (f"{replica} in us-west-2 is not made by builder (no builder:managed-by=builder tag, not a builder "
            f"template); left alone") in out.splitlines()
    assert aws.stack(name) is None and aws.stack(replica, "us-west-2")["StackStatus"] == "CREATE_COMPLETE"
    aws.client("cloudformation", "us-west-2").delete_stack(StackName=replica)


@pytest.mark.xfail(not aws_lane.ON_AWS, strict=True, raises=AssertionError,
                   reason="LocalStack 2026.3 deletes a table with deletion protection on, so no delete ends "
                          "DELETE_FAILED there (test_force_delete_stubbed.py plays it); AWS refuses it")
def test_a_delete_failed_names_force_delete_which_deletes_the_stack_and_lists_the_table(aws, suffix):
    """A table with deletion protection switched on outside CloudFormation: the delete ends DELETE_FAILED;
    --force-delete deletes the stack, leaves the table and prints how to remove it."""
    name = f"app-{suffix}"
    assert aws.run("deploy", "--suffix", suffix)[0] == 0
    dynamodb = aws.client("dynamodb")
    dynamodb.update_table(TableName=f"{name}-data", DeletionProtectionEnabled=True)
    code, _, err = aws.run("destroy", "--suffix", suffix, "--yes")
    assert code == 1
    assert "--force-delete deletes the stack and leaves what CloudFormation could not delete" in err
    assert aws.stack(name)["StackStatus"] == "DELETE_FAILED"

    code, out, err = aws.run("destroy", "--suffix", suffix, "--yes", "--force-delete")
    assert code == 0, err
    assert "force delete (the stack is DELETE_FAILED): leaving behind" in out
    assert f"remove: aws dynamodb delete-table --table-name {name}-data" in out
    assert aws.stack(name) is None
    dynamodb.update_table(TableName=f"{name}-data", DeletionProtectionEnabled=False)
