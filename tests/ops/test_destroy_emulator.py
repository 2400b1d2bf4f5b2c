"""destroy against LocalStack: versioned buckets emptied, retain_data respected, missing stacks, no TTY.

LocalStack reports DELETE_COMPLETE even when a non-empty bucket failed to delete, so these tests
check the bucket itself, not only the stack status.
"""

from __future__ import annotations

from pathlib import Path

import botocore.exceptions
import pytest

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
    assert aws.stack(name) is None
    assert s3.get_object(Bucket=bucket, Key="keep.txt")["Body"].read() == b"precious"
    assert aws.client("dynamodb").describe_table(TableName=f"{name}-data")["Table"]["TableName"] == f"{name}-data"


def test_destroy_deletes_the_primary_then_the_replica(aws, suffix):
    replication = ["--set", "enable_cross_region_replication=true", "--set", "replication_region=us-west-2"]
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
