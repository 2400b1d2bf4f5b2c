"""reap and the fleet view against LocalStack, with ttl in seconds.

Each test gives its stacks a stack prefix of its own: the server is shared by the whole session, and
reap looks at every stack of a prefix. LocalStack stores a stack's termination protection but deletes
a protected stack anyway (its DeleteStack never checks), so these tests also show that builder's own
check is what keeps a protected stack.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.factories import look_alike

pytestmark = pytest.mark.emulator


def config_file(prefix: str, suffix: str) -> str:
    """Three previews: `a` expires after 1 s and has a replica; `b` too, but is protected; `c` has no
    ttl and keeps its data."""
    path = Path("environments.toml")
    path.write_text(f"""\
[defaults]
stack_prefix = "{prefix}"

[environments."{suffix}a"]
ttl = "1s"
enable_cross_region_replication = true
replication_region = "us-west-2"

[environments."{suffix}b"]
ttl = "1s"
termination_protection = true

[environments."{suffix}c"]
retain_data = true
""")
    return str(path)


def rows(out: str) -> dict[str, dict]:
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[-1]["event"] == "summary"
    return {row["stack"]: row for row in lines[:-1]}


def test_reap_lists_then_deletes_only_what_expired(aws, suffix):
    prefix = f"r{suffix}"
    config = config_file(prefix, suffix)
    a, b, c = (f"{prefix}-{suffix}{x}" for x in "abc")
    code, _, err = aws.run("deploy", "--config", config, "--suffix", f"{suffix}a", "--suffix", f"{suffix}b",
                           "--suffix", f"{suffix}c")
    assert code == 0, err
    assert aws.stack(b)["EnableTerminationProtection"] is True
    assert aws.stack(a)["EnableTerminationProtection"] is False
    assert {t["Key"]: t["Value"] for t in aws.stack(a)["Tags"]}["builder:ttl"] == "1s"
    s3 = aws.client("s3")
    bucket_a, bucket_c = f"{a}-data-000000000000-us-east-1", f"{c}-data-000000000000-us-east-1"
    for bucket in (bucket_a, bucket_c):
        s3.put_object(Bucket=bucket, Key="x.txt", Body=b"one")
        s3.put_object(Bucket=bucket, Key="x.txt", Body=b"two")
    time.sleep(2)  # past the 1 s ttl

    code, out, err = aws.run("reap", "--config", config, "--output", "json")
    assert (code, err) == (0, "")
    found = rows(out)
    assert {name: (row["verdict"], row["region"]) for name, row in found.items()} == {
        a: ("reap", "us-east-1"), f"{a}-replica": ("reap", "us-west-2"), b: ("keep", "us-east-1"),
        c: ("keep", "us-east-1")}
    assert found[b]["reason"] == "termination protection is on (setting termination_protection)"
    assert found[c]["reason"] == "no ttl" and found[c]["ttl_seconds"] is None
    assert found[a]["ttl_seconds"] == 1 and found[a]["idle_seconds"] >= 1
    assert all(row["deleted"] is False and row["monthly_idle_usd"] is not None for row in found.values())
    assert all(aws.stack(name) for name in (a, b, c)) and aws.stack(f"{a}-replica", "us-west-2")

    code, out, err = aws.run("reap", "--config", config, "--yes")
    assert code == 0, err
    assert f"emptied bucket {bucket_a}" in err
    assert err.index(f"{a}: deleted in") < err.index(f"{a}-replica: deleted in")  # the replica after its primary
    assert aws.stack(a) is None and aws.stack(f"{a}-replica", "us-west-2") is None
    assert aws.stack(b) and aws.stack(c)
    assert "reaping 2 saves" in out

    code, out, _ = aws.run("reap", "--config", config, "--yes", "--output", "json")
    assert code == 0
    assert {name: row["verdict"] for name, row in rows(out).items()} == {b: "keep", c: "keep"}
    assert json.loads(out.splitlines()[-1])["deleted"] == 0

    code, out, err = aws.run("reap", "--config", config, "--older-than", "1s", "--yes", "--output", "json")
    assert code == 0, err
    after = rows(out)
    assert after[c]["deleted"] is True and after[b]["deleted"] is False
    assert "past --older-than 1s" in after[c]["reason"]
    assert aws.stack(c) is None and aws.stack(b)
    assert s3.get_object(Bucket=bucket_c, Key="x.txt")["Body"].read() == b"two"  # retain_data: the data stays
    assert aws.client("dynamodb").describe_table(TableName=f"{c}-data")["Table"]["TableName"] == f"{c}-data"

    code, _, err = aws.run("destroy", "--config", config, "--suffix", f"{suffix}b", "--yes")
    assert code == 1
    assert err.splitlines()[-1] == (f"error: {b}: termination protection is on (setting termination_protection); "
                                    f"deploy with termination_protection = false and --allow-data-loss first, "
                                    f"then destroy")
    assert aws.stack(b)  # LocalStack would have deleted it: builder's check kept it

    code, out, err = aws.run("deploy", "--config", config, "--suffix", f"{suffix}b", "--set",
                             "termination_protection=false")
    assert code == 3 and "termination protection: on → off" in out  # the data guard: not by accident
    assert aws.stack(b)["EnableTerminationProtection"] is True
    code, out, err = aws.run("deploy", "--config", config, "--suffix", f"{suffix}b", "--set",
                             "termination_protection=false", "--allow-data-loss")
    assert code == 0, err
    assert "termination protection turned off (setting termination_protection)" in out
    assert aws.stack(b)["EnableTerminationProtection"] is False
    code, out, _ = aws.run("deploy", "--config", config, "--suffix", f"{suffix}b")
    assert code == 0 and "no changes" in out and "termination protection turned on" in out
    assert aws.stack(b)["EnableTerminationProtection"] is True
    unprotect = ("--set", "termination_protection=false", "--allow-data-loss")
    assert aws.run("deploy", "--config", config, "--suffix", f"{suffix}b", *unprotect)[0] == 0
    assert aws.run("destroy", "--config", config, "--suffix", f"{suffix}b", "--yes")[0] == 0


def test_status_all_is_the_fleet_view(aws, suffix):
    prefix = f"s{suffix}"
    assert aws.run("deploy", "--suffix", suffix, "--set", f"stack_prefix={prefix}", "--set", "ttl=3d")[0] == 0
    code, out, _ = aws.run("status", "--all", "--set", f"stack_prefix={prefix}", "--output", "json")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert lines[0]["stack"] == f"{prefix}-{suffix}" and lines[0]["ttl_seconds"] == 3 * 86400
    assert lines[0]["monthly_idle_usd"] is not None and lines[0]["outputs"]
    assert lines[-1]["event"] == "summary" and lines[-1]["stacks"] == 1
    code, out, _ = aws.run("status", "--all", "--set", f"stack_prefix={prefix}")
    assert code == 0 and "IDLE" in out and "TTL" in out and "fleet: 1 stack idle at" in out
    assert aws.run("destroy", "--suffix", suffix, "--set", f"stack_prefix={prefix}", "--yes")[0] == 0


def test_reap_looks_where_aws_default_region_and_the_profile_say_as_its_help_does(aws, suffix, monkeypatch, tmp_path):
    """Without --region, reap's region follows the same chain as every command: here AWS_DEFAULT_REGION,
    then (without it) the active profile's region; `reap --help` names both."""
    prefix = f"none{suffix}"
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    code, out, _ = aws.run("reap", "--set", f"stack_prefix={prefix}")
    assert (code, out) == (0, f"no stacks of builder named {prefix}-* in eu-west-1; nothing to reap\n")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    (tmp_path / "aws-config").write_text("[profile ci]\nregion = ap-south-1\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_PROFILE", "ci")
    code, out, _ = aws.run("reap", "--set", f"stack_prefix={prefix}")
    assert (code, out) == (0, f"no stacks of builder named {prefix}-* in ap-south-1; nothing to reap\n")
    _, help_text, _ = aws.run("reap", "--help")
    chain = " ".join(help_text.split())
    assert ("(default: $AWS_REGION, else $AWS_DEFAULT_REGION, else the AWS_REGION file, else the AWS profile's "
            "region, else us-east-1;") in chain
NOT_MANAGED = "not made by builder (no builder:managed-by=builder tag, not a builder template)"


def test_a_look_alike_and_a_longer_ttl_survive_reap_older_than(aws, suffix):
    """The issue's cases: another team's stack with builder's name and tags (no builder:managed-by), idle
    past even its own builder:ttl, and a preview someone gave ttl = "30d": `reap --older-than 1s --yes`
    deletes neither; only a stack without a ttl goes. `--max-age` is the hard cap that does reap the ttl."""
    prefix = f"l{suffix}"
    other, kept, plain = (f"{prefix}-{suffix}{x}" for x in "xyz")
    cf = aws.client("cloudformation")
    look_alike(cf, other, f"{suffix}x", **{"builder:ttl": "1s"})
    sets = ("--set", f"stack_prefix={prefix}")
    assert aws.run("deploy", "--suffix", f"{suffix}y", *sets, "--set", "ttl=30d")[0] == 0
    assert aws.run("deploy", "--suffix", f"{suffix}z", *sets)[0] == 0
    time.sleep(2)  # past --older-than 1s and the look-alike's own ttl

    code, out, err = aws.run("reap", *sets, "--older-than", "1s")
    assert (code, err) == (0, "")
    line = next(line for line in out.splitlines() if line.startswith(other))
    assert line.endswith(f"keep: {NOT_MANAGED}") and " ? " in line  # not priced either
    assert out.splitlines()[-1].startswith("fleet: 3 stacks idle at ") and \
        "(1 of them not made by builder: left alone, not priced); reaping 1 would save" in out.splitlines()[-1]

    code, out, err = aws.run("reap", *sets, "--older-than", "1s", "--yes", "--output", "json")
    assert code == 0, err
    found = rows(out)
    assert (found[other]["verdict"], found[other]["reason"], found[other]["managed_by_builder"],
            found[other]["deleted"]) == ("keep", NOT_MANAGED, False, False)
    assert found[kept]["verdict"] == "keep" and found[kept]["deleted"] is False
    assert found[kept]["reason"].endswith(" of its ttl 30d (a ttl wins over --older-than)")
    assert found[plain]["deleted"] is True
    assert aws.stack(other)["StackStatus"] == "CREATE_COMPLETE" and aws.stack(kept) and aws.stack(plain) is None

    code, out, _ = aws.run("status", "--all", *sets, "--output", "json")
    listed = {row["stack"]: row for row in [json.loads(line) for line in out.splitlines()][:-1]}
    assert (code, listed[other]["verdict"], listed[other]["managed_by_builder"]) == (0, "keep", False)

    code, _, err = aws.run("destroy", "--suffix", f"{suffix}x", *sets, "--yes")
    assert code == 3  # refused because it could lose data that is not builder's to delete
    assert err.splitlines() == [
        (f"error: {other}: refused: builder did not make this stack (no builder:managed-by=builder tag, not a builder "
        f"template); nothing was deleted. Delete it with the tool that made it")]
    assert aws.stack(other)["StackStatus"] == "CREATE_COMPLETE"

    code, out, err = aws.run("reap", *sets, "--max-age", "1s", "--yes", "--output", "json")
    assert code == 0, err
    found = rows(out)
    assert found[kept]["deleted"] is True and found[kept]["reason"].endswith(", past --max-age 1s")
    assert found[other]["deleted"] is False and aws.stack(other) and aws.stack(kept) is None
    cf.delete_stack(StackName=other)


def test_deploy_adopts_an_earlier_builder_s_stack_and_refuses_another_tool_s(aws, suffix):
    """Neither carries builder:managed-by. One is builder's template (its Description): deploy adopts it,
    and then reap and destroy act on it. The other is another team's: deploy changes nothing (exit 3)."""
    prefix = f"a{suffix}"
    earlier, foreign = f"{prefix}-{suffix}e", f"{prefix}-{suffix}f"
    cf = aws.client("cloudformation")
    look_alike(cf, earlier, f"{suffix}e", description=f"builder: data bucket, table, alerts and alarms of "
                                                       f"environment {suffix}e")
    look_alike(cf, foreign, f"{suffix}f", description="the finance team's ledger")
    sets = ("--set", f"stack_prefix={prefix}")

    code, out, err = aws.run("deploy", "--suffix", f"{suffix}f", *sets)
    assert (code, out) == (3, "")
    assert err.splitlines() == [
        (f"error: {foreign}: refused: a stack of this name exists and builder did not make it (no builder:managed-by="
        f"builder tag, not a builder template); nothing was changed. Choose another suffix or stack_prefix")]
    assert [r["LogicalResourceId"] for r in cf.describe_stack_resources(StackName=foreign)["StackResources"]] == [
        "Handle"]
    code, out, err = aws.run("diff", "--suffix", f"{suffix}f", *sets)  # what deploy would do, and no change set
    assert (code, out) == (3, "")
    assert err.splitlines() == [
        (f"error: {foreign}: deploy would refuse: a stack of this name exists and builder did not make it (no "
         f"builder:managed-by=builder tag, not a builder template); diff made no change set on it. Choose another "
         f"suffix or stack_prefix")]
    assert cf.list_change_sets(StackName=foreign)["Summaries"] == []

    code, out, _ = aws.run("reap", *sets, "--output", "json")
    assert rows(out)[earlier]["reason"] == ("made by an earlier builder (no builder:managed-by=builder tag yet): "
                                            "deploy it once to adopt it")
    code, out, err = aws.run("deploy", "--suffix", f"{suffix}e", *sets)
    assert code == 0, err
    assert "an earlier builder made this stack: this deploy adopts it, adding the builder:managed-by tag" in out
    assert {t["Key"]: t["Value"] for t in aws.stack(earlier)["Tags"]}["builder:managed-by"] == "builder"
    assert aws.run("destroy", "--suffix", f"{suffix}e", *sets, "--yes")[0] == 0
    assert aws.stack(earlier) is None and aws.stack(foreign)
    cf.delete_stack(StackName=foreign)
