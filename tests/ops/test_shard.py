"""--shard K/N: a stable partition of the selected suffixes (builder/ops/shard.py, builder/cli/common.py)."""

from __future__ import annotations

import random

import pytest

from builder.cli import main
from builder.ops.shard import Shard, in_shard, parse_shard, shard_of
from tests.factories import without_config_line

SUFFIXES = [f"pr{n}" for n in range(1, 400)] + ["prod", "staging", "synthaw2nm", "synth-12345", "a"]


@pytest.mark.parametrize("count", range(1, 11))
def test_every_suffix_lands_in_exactly_one_shard(count):
    owners = {s: [k for k in range(1, count + 1) if in_shard(s, k, count)] for s in SUFFIXES}
    assert all(len(shards) == 1 for shards in owners.values())
    if count > 1:  # and the shards are used: none gets everything
        assert len({shards[0] for shards in owners.values()}) == count


def test_the_shard_depends_on_the_suffix_only_not_its_order_or_the_process():
    shuffled = SUFFIXES[:]
    random.Random(7).shuffle(shuffled)
    for count in (2, 3, 7):
        assert {s: shard_of(s, count) for s in shuffled} == {s: shard_of(s, count) for s in SUFFIXES}
    # pinned: the same in every process and on every machine (Python's hash() of a str is salted per process)
    assert [shard_of(s, 3) for s in ("pr1", "pr2", "prod", "staging")] == [3, 2, 2, 2]


def test_parse_shard():
    assert parse_shard("2/3") == Shard(2, 3) and str(Shard(2, 3)) == "2/3"
    assert parse_shard("1/1") == Shard(1, 1)


@pytest.mark.parametrize("text", ["0/3", "4/3", "1/0", "x/y", "1/2/3", "", "1", "-1/3", "1.0/3", "²/3"])
def test_bad_shard_exits_2_with_one_line(text, capsys):
    assert main(["diff", "--suffix", "pr1", f"--shard={text}"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and "--shard" in err and "K/N" in err


@pytest.mark.parametrize("command", ["deploy", "diff", "destroy"])
def test_a_shard_with_no_suffix_says_so_and_exits_0(command, capsys, clean_env):
    mine = [s for s in SUFFIXES[:20] if shard_of(s, 3) == 1]
    others = [arg for s in SUFFIXES[:20] if s not in mine for arg in ("--suffix", s)]
    extra = ["--yes"] if command == "destroy" else []
    assert main([command, *others, "--shard", "1/3", *extra]) == 0  # nothing reaches AWS: no credentials here
    captured = capsys.readouterr()
    assert captured.out == "shard 1/3: none of the selected suffixes is in this shard; nothing to do\n"
    assert without_config_line(captured.err) == ""


@pytest.mark.parametrize("command", ["deploy", "diff", "destroy"])
def test_the_shards_of_a_command_line_split_its_suffixes(command, monkeypatch, tmp_path):
    from builder.cli import build_parser
    from builder.cli.common import configs_from_args

    monkeypatch.chdir(tmp_path)
    suffixes = SUFFIXES[:30]
    argv = [command, *[arg for s in suffixes for arg in ("--suffix", s)]]
    shards = [[c.suffix for c in configs_from_args(build_parser().parse_args([*argv, "--shard", f"{k}/4"]))]
              for k in range(1, 5)]
    assert sorted(s for shard in shards for s in shard) == sorted(suffixes)
    assert shards[1] == [s for s in suffixes if shard_of(s, 4) == 2]  # in command-line order within a shard
    assert [c.suffix for c in configs_from_args(build_parser().parse_args(argv))] == suffixes  # no --shard: all
