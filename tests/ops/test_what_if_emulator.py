"""`diff --all` against LocalStack: every live stack of the fleet diffed against its suffix's config,
then one matrix (text, JSON, markdown); no change set stays behind."""

from __future__ import annotations

import json

import pytest

from tests.aws_lane import lane_region

pytestmark = pytest.mark.emulator


def test_diff_all_over_three_deployed_suffixes_prints_the_matrix(aws, suffix, tmp_path):
    prefix = f"wi{suffix}"  # a prefix of its own, so --all sees only this test's stacks
    config = tmp_path / "fleet.toml"
    config.write_text(f'[defaults]\nstack_prefix = "{prefix}"\n')
    for name in ("one", "two", "three"):
        assert aws.run("deploy", "--suffix", name, "--config", str(config))[0] == 0
    # today's config changes only `two`: provisioned capacity costs money while idle
    config.write_text(f'[defaults]\nstack_prefix = "{prefix}"\n\n[environments.two]\n'
                      'dynamodb_billing_mode = "PROVISIONED"\ndynamodb_read_capacity = 5\n'
                      'dynamodb_write_capacity = 5\n')

    code, out, err = aws.run("diff", "--all", "--config", str(config), "--output", "json")
    assert code == 0, err
    matrix = next(r for r in map(json.loads, out.splitlines()) if r.get("event") == "matrix")
    rows = {row["stack"]: row for row in matrix["stacks"]}
    assert sorted(rows) == [f"{prefix}-one", f"{prefix}-three", f"{prefix}-two"]
    assert [rows[f"{prefix}-{n}"]["state"] for n in ("one", "two", "three")] == ["no changes", "changes",
                                                                               "no changes"]
    two = rows[f"{prefix}-two"]
    assert two["changes"] >= 1 and two["replacements"] == 0 and two["data_losses"] == 0
    assert two["cost_delta_usd"] > 2  # 5 RCU + 5 WCU provisioned
    # LocalStack has no DescribeEvents (no findings read), and a drift column only with --revert-drift
    assert (two["validation_findings"], two["reverted_drift"]) == (0, None)
    assert matrix["totals"]["stacks"] == 3
    assert matrix["totals"]["cost_delta_monthly_usd"] == round(two["cost_delta_usd"], 2)
    assert aws.client("cloudformation").list_change_sets(StackName=f"{prefix}-two")["Summaries"] == []

    from builder.ops.shard import shard_of

    code, out, _ = aws.run("diff", "--all", "--config", str(config), "--shard", "5/5", "--output", "json")
    assert code == 0
    sharded = next(r for r in map(json.loads, out.splitlines()) if r.get("event") == "matrix")
    mine = [n for n in ("one", "three", "two") if shard_of(n, 5) == 5]
    assert 0 < len(mine) < 3  # the shard owns some of the three, not all
    assert [row["stack"] for row in sharded["stacks"]] == [f"{prefix}-{n}" for n in mine]

    code, out, _ = aws.run("diff", "--all", "--config", str(config))
    assert code == 0
    lines = out.splitlines()
    at = lines.index("what deploy would do to the fleet:")
    assert lines[at + 1].split() == ["Stack", "Region", "State", "Changes", "Replacements", "Data", "loss",
                                     "Validation", "Reverted", "drift", "Cost/month"]
    assert lines[-1].startswith("fleet: 3 stack(s), 0 replacement(s), 0 data-loss finding(s), cost +")

    code, out, _ = aws.run("diff", "--all", "--config", str(config), "--output", "markdown")
    assert code == 0
    assert "### The fleet" in out and f"| {prefix}-two | {lane_region()} | changes |" in out


def test_diff_all_with_a_suffix_exits_2_with_one_line(aws, suffix):
    code, _, err = aws.run("diff", "--all", "--suffix", suffix)
    assert code == 2
    assert err.strip().splitlines()[-1] == ("error: diff: --all diffs every live stack of the fleet; give --all or "
                                            "--suffix, not both")


def test_diff_all_with_nothing_deployed_says_so(aws, suffix):
    code, _, err = aws.run("diff", "--all", "--set", f"stack_prefix=none{suffix}")
    assert code == 0
    assert f"no live stacks of builder named none{suffix}-* in {lane_region()}; nothing to diff" in err


def test_a_diff_interrupted_after_its_change_set_is_made_deletes_it(aws, suffix, monkeypatch):
    """Ctrl-C while diff shows the change set: the change set is deleted on the way out."""
    import builder.ops.diff

    name = f"app-{suffix}"
    assert aws.run("deploy", "--suffix", suffix)[0] == 0

    shown = []

    def interrupted(*_args, **_kwargs):
        shown.append(True)
        raise KeyboardInterrupt

    monkeypatch.setattr(builder.ops.diff, "show_changes", interrupted)
    try:  # the executor turns it into the stack's failure, or lets it through: either way the set goes
        code = aws.run("diff", "--suffix", suffix, "--set", "bucket_lifecycle_days=60")[0]
    except KeyboardInterrupt:
        code = 130
    assert shown and code != 0  # the change set was made, and diff did not pretend to succeed
    assert aws.client("cloudformation").list_change_sets(StackName=name)["Summaries"] == []
