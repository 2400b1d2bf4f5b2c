"""The command line through main([...]): synth files, determinism, errors, lint, help."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from builder.cli import main
from builder.errors import ConfigError
from tests.factories import config_line, snapshot

ROOT = Path(__file__).resolve().parents[2]


pytestmark = pytest.mark.usefixtures("clean_env")


def test_synth_writes_four_files_per_stack_and_prints_deploy_and_policy_commands(tmp_path, capsys):
    assert main(["synth", "--suffix", "pr123"]) == 0
    out = capsys.readouterr().out
    assert sorted(snapshot(tmp_path / "out")) == ["app-pr123.parameters.json", "app-pr123.policy.json",
                                                   "app-pr123.tags.json", "app-pr123.template.json"]
    assert json.loads((tmp_path / "out/app-pr123.tags.json").read_text()) == [
        "CostCenter=engineering", "Environment=pr123", "builder:managed-by=builder"]  # the CLI's deploy marks it too
    params = json.loads((tmp_path / "out/app-pr123.parameters.json").read_text())
    assert "BillingMode=PAY_PER_REQUEST" in params and all("=" in p for p in params)
    template = json.loads((tmp_path / "out/app-pr123.template.json").read_text())
    assert [p.split("=")[0] for p in params] == list(template["Parameters"])
    assert ("aws cloudformation deploy --stack-name app-pr123 --region us-east-1 --template-file "
            "out/app-pr123.template.json --parameter-overrides file://out/app-pr123.parameters.json "
            "--tags file://out/app-pr123.tags.json --capabilities CAPABILITY_IAM") in out
    lines = out.splitlines()
    policy_command = ("  aws cloudformation set-stack-policy --stack-name app-pr123 --region us-east-1 "
                      "--stack-policy-body file://out/app-pr123.policy.json")
    assert policy_command in lines  # after the deploy command: the stack must exist
    assert lines.index(policy_command) > next(i for i, line in enumerate(lines) if "cloudformation deploy" in line)


def test_synth_with_replication_writes_replica_first_in_its_region(tmp_path, capsys):
    (tmp_path / "environments.toml").write_text(textwrap.dedent("""
        [environments.prod]
        dynamodb_billing_mode = "PROVISIONED"
        dynamodb_read_capacity = 5
        dynamodb_write_capacity = 5
        enable_cross_region_replication = true
        replication_region = "eu-west-1"
        retain_data = true
    """))
    assert main(["synth", "--suffix", "prod", "--suffix", "pr1"]) == 0
    out = capsys.readouterr().out
    assert len(snapshot(tmp_path / "out")) == 12  # prod, its replica and pr1: four files each
    commands = [line.strip() for line in out.splitlines() if line.strip().startswith("aws cloudformation deploy ")]
    assert [c.split()[4] for c in commands] == ["app-prod-replica", "app-prod", "app-pr1"]
    assert "--region eu-west-1" in commands[0] and "--capabilities" not in commands[0]
    policies = [line.strip() for line in out.splitlines() if "set-stack-policy" in line]
    assert [c.split()[4] for c in policies] == ["app-prod-replica", "app-prod", "app-pr1"]
    assert "--region eu-west-1" in policies[0]
    replica_policy = json.loads((tmp_path / "out/app-prod-replica.policy.json").read_text())
    assert replica_policy["Statement"][1]["Resource"] == ["LogicalResourceId/ReplicaBucket"]


def test_the_printed_commands_name_the_files_in_an_out_folder_with_a_space(tmp_path, capsys):
    """Pasted into a shell, each path stays one word: `--out "my out"` printed `--template-file my out/...`."""
    import shlex

    assert main(["synth", "--suffix", "pr1", "--out", "my out"]) == 0
    lines = [shlex.split(line) for line in capsys.readouterr().out.splitlines() if line.startswith("  aws ")]
    deploy, policy = lines
    files = [deploy[deploy.index("--template-file") + 1], deploy[deploy.index("--parameter-overrides") + 1],
             deploy[deploy.index("--tags") + 1], policy[policy.index("--stack-policy-body") + 1]]
    assert files[0] == "my out/app-pr1.template.json"
    assert all((tmp_path / f.removeprefix("file://")).is_file() for f in files), files


def test_same_inputs_give_the_same_bytes(tmp_path):
    main(["synth", "--suffix", "pr1", "--suffix", "pr2", "--out", "a"])
    main(["synth", "--suffix", "pr1", "--suffix", "pr2", "--out", "b"])
    assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
    result = subprocess.run([sys.executable, "-m", "builder", "synth", "--suffix", "pr1", "--suffix", "pr2",
                             "--out", str(tmp_path / "c")], capture_output=True, text=True,
                            env={"PYTHONHASHSEED": "12345", "PATH": "/usr/bin:/bin",
                                 "PYTHONPATH": str(ROOT)}, check=False)
    assert result.returncode == 0, result.stderr
    assert snapshot(tmp_path / "c") == snapshot(tmp_path / "a")


def test_yaml_format(tmp_path):
    assert main(["synth", "--suffix", "pr1", "--format", "yaml"]) == 0
    text = (tmp_path / "out/app-pr1.template.yaml").read_text()
    assert "AWSTemplateFormatVersion: '2010-09-09'" in text and "!If" in text


def test_a_yaml_synth_removes_the_older_json_template_of_the_stack_and_back(tmp_path, capsys):
    """Left beside the YAML, the JSON would be out of date and `lint` would lint both."""
    assert main(["synth", "--suffix", "pr1", "--suffix", "pr2"]) == 0
    capsys.readouterr()
    assert main(["synth", "--suffix", "pr1", "--format", "yaml"]) == 0
    out = capsys.readouterr().out
    assert "removed out/app-pr1.template.json (the same stack's template in the other format)" in out.splitlines()
    assert sorted(p.name for p in (tmp_path / "out").glob("*.template.*")) == [
        "app-pr1.template.yaml", "app-pr2.template.json"]  # another stack's template is not touched
    assert main(["lint"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("2 template(s) linted")
    assert main(["synth", "--suffix", "pr1"]) == 0
    assert "removed out/app-pr1.template.yaml" in capsys.readouterr().out
    assert not (tmp_path / "out/app-pr1.template.yaml").exists()


def test_a_reader_that_leaves_at_once_still_gets_the_other_format_removed(tmp_path):
    """`synth --format yaml | head -1`: the reader gone before the first line, synth stops quietly, but only
    after its files are written and the stale JSON template is removed (else lint reads both)."""
    assert main(["synth", "--suffix", "pr1"]) == 0
    read_end, write_end = os.pipe()
    os.close(read_end)  # every write to stdout fails with a broken pipe, from the first line on
    try:
        subprocess.run([sys.executable, "-m", "builder", "synth", "--suffix", "pr1", "--format", "yaml"],
                       stdout=write_end, stderr=subprocess.DEVNULL, cwd=tmp_path, check=False)
    finally:
        os.close(write_end)
    assert sorted(p.name for p in (tmp_path / "out").glob("*.template.*")) == ["app-pr1.template.yaml"]


def test_one_bad_suffix_means_nothing_is_written_for_any(tmp_path, capsys):
    assert main(["synth", "--suffix", "good1", "--suffix", "Bad_1", "--suffix", "bad-replica"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        ("error: --suffix: suffix: 'Bad_1' is not allowed: use lowercase letters, digits and hyphens "
        "(not at either end) (S3 bucket and stack names), such as 'bad-1'"),
        ("error: --suffix: suffix: 'bad-replica' ends in '-replica': its stack name would collide with the "
        "replica stack of suffix 'bad'; choose another suffix"),
    ]
    assert not (tmp_path / "out").exists()


def test_rerun_replaces_files_and_leaves_no_temporary_files(tmp_path):
    main(["synth", "--suffix", "pr1"])
    main(["synth", "--suffix", "pr1", "--set", "bucket_lifecycle_days=3"])
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["app-pr1.parameters.json", "app-pr1.policy.json", "app-pr1.tags.json", "app-pr1.template.json"]
    assert "BucketLifecycleDays=3" in (tmp_path / "out/app-pr1.parameters.json").read_text()


def test_out_folder_that_cannot_be_written(tmp_path, capsys):
    (tmp_path / "afile").write_text("x")
    assert main(["synth", "--suffix", "pr1", "--out", "afile"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: afile: cannot create the output folder")


def test_usage_errors_are_one_line_exit_2(capsys):
    assert main(["synth", "--format", "xml"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: python -m builder synth: argument --format: invalid choice")
    assert main(["nonsense"]) == 2
    assert len(capsys.readouterr().err.splitlines()) == 1


@pytest.mark.parametrize("command", [[], ["synth"], ["lint"]])
def test_help_says_what_and_shows_an_example(command, capsys):
    assert main([*command, "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: python -m builder" in out and "example" in out


def test_debug_shows_the_traceback():
    with pytest.raises(ConfigError):
        main(["synth", "--suffix", "Bad", "--debug"])


def test_lint_passes_a_fresh_synth_and_fails_on_findings(tmp_path, capsys):
    main(["synth", "--suffix", "pr1"])
    capsys.readouterr()
    assert main(["lint"]) == 0
    assert capsys.readouterr().out == "1 template(s) linted: no findings\n"
    broken = json.loads((tmp_path / "out/app-pr1.template.json").read_text())
    broken["Resources"]["DataTable"]["Properties"]["BillingMode"] = "FREE"
    broken["Parameters"]["Unused"] = {"Type": "String"}
    (tmp_path / "broken.template.json").write_text(json.dumps(broken))
    assert main(["lint", "broken.template.json"]) == 1
    out = capsys.readouterr().out
    assert "W2001" in out and "broken.template.json:" in out  # unused parameter, cfn-lint's format
    assert "E3030" in out  # BillingMode not in its allowed values


def test_lint_refuses_a_file_that_is_not_a_template(tmp_path, capsys):
    main(["synth", "--suffix", "pr1"])
    (tmp_path / "README.md").write_text("# not a template\n")
    (tmp_path / "app.json").write_text("{}")
    capsys.readouterr()
    for name in ("README.md", "app.json"):
        assert main(["lint", "out/app-pr1.template.json", name]) == 2
        assert capsys.readouterr().err == (f"error: {name}: is not a template: give *.template.json or "
                                           "*.template.yaml files, or a folder that holds them\n")


def test_lint_refuses_a_region_or_cfnlintrc_that_cfn_lint_refuses_in_one_line(tmp_path, capsys):
    main(["synth", "--suffix", "pr1"])
    capsys.readouterr()
    assert main(["lint", "--region", "xx-nowhere-1"]) == 2
    assert capsys.readouterr().err == ("error: --region: xx-nowhere-1: not a region cfn-lint knows; give one such as "
                                       "us-east-1\n")
    (tmp_path / ".cfnlintrc").write_text("regions: [us-east-1]\nno_such_option: true\n")
    assert main(["lint"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: .cfnlintrc: ") and "no_such_option" in line


@pytest.mark.parametrize("text,expected", [
    (b"templates: [\n", "not valid YAML (did not find expected node content at line 2, column 1)"),
    (b"a: b\n c: d\n", "not valid YAML (mapping values are not allowed in this context at line 2, column 3)"),
    (b"regions: [\xff]\n", "is not UTF-8 text"),
])
def test_lint_refuses_a_cfnlintrc_that_is_no_yaml_in_one_line(tmp_path, capsys, text, expected):
    # it was 'error: ParserError: while parsing a flow node' and two more lines, exit 1 (UnicodeDecodeError likewise)
    main(["synth", "--suffix", "pr1"])
    capsys.readouterr()
    (tmp_path / ".cfnlintrc").write_bytes(text)
    assert main(["lint"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"error: .cfnlintrc: {expected}; fix the file cfn-lint reads from this folder or ~"]


def test_lint_without_templates_is_a_usage_error(capsys):
    assert main(["lint"]) == 2
    assert "run `python -m builder synth` first" in capsys.readouterr().err
    assert main(["lint", "missing.json"]) == 2


EXIT_NOW = ("import atexit, sys, threading, time\nfrom builder.cli import exit_now\n"
            "atexit.register(lambda: sys.stdout.write('handler ran'))\n")


def test_the_exit_skips_no_output_and_no_exit_handler_and_keeps_the_code():
    """exit_now skips the interpreter's teardown, not what a normal exit does: a library's exit handler
    runs, stdout is delivered in full (flushed after the handlers), the exit code is the run's."""
    code = EXIT_NOW + "sys.stdout.write('x' * 200000)\nexit_now(3)\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert (result.returncode, result.stderr) == (3, "")
    assert result.stdout == "x" * 200000 + "handler ran"


def test_the_exit_waits_for_a_thread_still_running(tmp_path):
    """A thread that still runs when the run returns finishes its work: exit_now exits the normal way then."""
    done = tmp_path / "done"
    code = EXIT_NOW + (f"threading.Thread(target=lambda: (time.sleep(0.3), open({str(done)!r}, 'w').write('1')))"
                       f".start()\nexit_now(0)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert (result.returncode, result.stdout, done.read_text()) == (0, "handler ran", "1")


def test_synth_imports_neither_boto3_nor_cfn_lint(tmp_path):
    code = ("import sys\nfrom builder.cli import main\n"  # what builder/__main__.py runs, before it exits
            "assert main(['synth', '--suffix', 'pr1', '--out', {!r}]) == 0\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('boto3', 'botocore', 'cfnlint'))\n"
            "print(bad)\n".format(str(tmp_path / "o")))
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=ROOT, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "[]"
    assert (tmp_path / "o/app-pr1.template.json").exists()


DEFAULT_NOTE = ("region us-east-1 (default: no --region, AWS_REGION, AWS_DEFAULT_REGION, AWS_REGION file or "
                "profile region)\n")


def test_synth_says_once_on_stderr_which_source_chose_the_region(tmp_path, monkeypatch, capsys):
    """stdout keeps its lines (wrote/unchanged, the deploy commands); the note goes to stderr, once."""
    def synth(*extra: str) -> tuple[str, str, list[str]]:
        assert main(["synth", "--suffix", "pr1", "--suffix", "pr2", *extra]) == 0
        out, err = capsys.readouterr()
        assert all(line.startswith(("wrote ", "unchanged ", "deploy with:", "  aws cloudformation deploy ",
                                    "then protect the data", "  aws cloudformation set-stack-policy "))
                   for line in out.splitlines() if line)
        regions = [line.split("--region ")[1].split()[0] for line in out.splitlines() if "--region " in line]
        assert len(regions) == 4 and len(set(regions)) == 1  # two deploy and two set-stack-policy commands
        regions = regions[:2]
        return out, err, regions

    config = config_line(tmp_path) + "\n"  # the config line comes first, from every command that reads config
    assert synth()[1:] == (config + DEFAULT_NOTE, ["us-east-1"] * 2)
    (tmp_path / "aws-config").write_text("[profile work]\nregion = eu-west-2\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_PROFILE", "work")
    assert synth()[1:] == (f"{config}region eu-west-2 (from profile work in {tmp_path / 'aws-config'})\n",
                           ["eu-west-2"] * 2)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert synth()[1:] == (f"{config}region eu-central-1 (from AWS_DEFAULT_REGION)\n", ["eu-central-1"] * 2)
    assert synth("--region", "ap-south-1")[1:] == (config, ["ap-south-1"] * 2)


@pytest.fixture
def closed_endpoint(monkeypatch):
    """AWS calls go to a closed port on loopback: a check that should come first and does not fails, and
    nothing leaves the machine."""
    for name, value in {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "test",
                        "AWS_SECRET_ACCESS_KEY": "test", "AWS_MAX_ATTEMPTS": "1",
                        "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize("command", [["deploy"], ["diff"], ["destroy", "--yes"], ["status"], ["status", "--all"]])
def test_aws_commands_refuse_a_region_botocore_does_not_know(command, closed_endpoint, capsys):
    if "--all" not in command:  # status --all takes no --suffix
        command = [*command, "--suffix", "pr1"]
    assert main([*command, "--region", "eu-north-2"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: --region: region: 'eu-north-2' is not an AWS region botocore ")
    assert "did you mean 'eu-north-1'?" in line
    replica = ["--set", "enable_cross_region_replication=true", "--set", "replication_region=us-wset-2"]
    assert main([*command, "--region", "us-east-1", *replica]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: --set: replication_region: 'us-wset-2' does not look like an AWS region")
    replica[-1] = "replication_region=us-west-9"
    assert main([*command, "--region", "us-east-1", *replica]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: --set: replication_region: 'us-west-9' is not an AWS region botocore ")


# Every command, by whether it reads the configuration; with the arguments that let it get that far.
READS_CONFIG = {"synth": ["--suffix", "pr1"], "cost": ["--suffix", "pr1"], "graph": ["--suffix", "pr1"],
                "deploy": ["--suffix", "pr1"], "diff": ["--suffix", "pr1"], "destroy": ["--suffix", "pr1", "--yes"],
                "drift": ["--suffix", "pr1"], "status": ["--suffix", "pr1"], "reap": []}
READS_NO_CONFIG = {"lint", "emulator"}


def test_every_command_is_known_to_read_config_or_not():
    from builder.cli import commands

    assert {module.__name__.rsplit(".", 1)[1] for module in commands()} == {*READS_CONFIG, *READS_NO_CONFIG}


@pytest.mark.parametrize("source", ["none", "working folder", "--config"])
@pytest.mark.parametrize("command", [*READS_CONFIG, "status --all"])
def test_every_command_that_reads_config_says_once_on_stderr_which_file(command, source, tmp_path, closed_endpoint,
                                                                         capsys):
    """First on stderr (before an AWS call can fail; synth: after its files), whatever the command then does."""
    name, *flags = command.split()
    args = [name, *(READS_CONFIG[name] if not flags else []), *flags, "--region", "us-east-1"]  # --all: no --suffix
    expected = config_line(tmp_path)
    if source != "none":
        config = tmp_path / ("environments.toml" if source == "working folder" else "other.toml")
        config.write_text('[defaults]\ncost_center = "data"\n')
        expected = config_line(tmp_path, config, given=source == "--config")
        args += ["--config", config.name] if source == "--config" else []
    main(args)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == expected
    assert [line for line in lines if line.startswith("config ")] == [expected]


@pytest.mark.parametrize("command", sorted(READS_NO_CONFIG))
def test_a_command_that_reads_no_config_says_nothing_of_it(command, tmp_path, capsys):
    (tmp_path / "environments.toml").write_text("[defaults]\n")
    main([command, "--help"] if command == "emulator" else [command])
    captured = capsys.readouterr()
    assert "config " not in captured.err + captured.out


def test_the_config_line_leaves_json_output_alone(tmp_path, capsys):
    (tmp_path / "environments.toml").write_text('[defaults]\ncost_center = "data"\n')
    assert main(["cost", "--suffix", "pr1", "--output", "json"]) == 0
    out, err = capsys.readouterr()
    json.loads(out)
    assert err.splitlines() == [config_line(tmp_path, tmp_path / "environments.toml")]


def test_a_bad_config_says_only_what_is_wrong(tmp_path, closed_endpoint, capsys):
    """No config line before a config error: the error names the file."""
    (tmp_path / "environments.toml").write_text("[defaults]\nbucket_lifecycle_days = 0\n")
    for command in ([name, *args] for name, args in READS_CONFIG.items()):
        assert main(command) == 2, command
        assert capsys.readouterr().err.splitlines() == [
            "error: environments.toml: defaults.bucket_lifecycle_days: must be a whole number from 1 to 36500 (got 0)"]


def test_synth_keeps_the_pattern_check_only(capsys):
    """A region that looks right but botocore does not know: synth needs no AWS library, so it writes."""
    assert main(["synth", "--suffix", "pr1", "--region", "eu-north-2"]) == 0
    assert "--region eu-north-2" in capsys.readouterr().out


def test_status_all_refuses_an_unknown_replication_region_any_table_names(tmp_path, closed_endpoint, capsys):
    (tmp_path / "c.toml").write_text('[environments.prod]\nreplication_region = "eu-west-9"\n')
    assert main(["status", "--all", "--config", "c.toml", "--region", "us-east-1"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("error: c.toml: environments.prod.replication_region: 'eu-west-9' is not an AWS region")


def test_the_configuration_page_documents_every_setting_with_its_default():
    from builder.resources import all_settings

    readme = (ROOT / "docs" / "configuration.md").read_text()
    for setting in all_settings():
        assert f"| `{setting.name}` |" in readme, setting.name


def test_example_config_writes_prod_with_its_replica_and_lints_clean(tmp_path, capsys):
    example = ROOT / "examples" / "environments.toml"
    assert main(["synth", "--config", str(example), "--suffix", "prod", "--suffix", "pr123"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*.template.json")) == [
        "app-pr123.template.json", "app-prod-replica.template.json", "app-prod.template.json"]
    capsys.readouterr()
    assert main(["lint"]) == 0


def test_lint_reports_each_file_of_one_structure_on_its_own(tmp_path, capsys):
    """Suffixes that differ only in length: the one whose bucket name is too long is the one reported."""
    from builder.names import replace_suffix

    main(["synth", "--suffix", "pr1", "--suffix", "pr2", "--set", "alarm_threshold_multiplier=2"])
    template = (tmp_path / "out/app-pr2.template.json").read_text()
    (tmp_path / "out/app-long.template.json").write_text(replace_suffix(template, "pr2", "l" * 40))
    capsys.readouterr()
    assert main(["lint"]) == 1
    captured = capsys.readouterr()
    files = {line.rsplit(":", 2)[0] for line in captured.out.splitlines() if line.startswith("out/")}
    assert files == {"out/app-long.template.json"} and "W1031" in captured.out
    assert captured.err == "2 finding(s) in 3 template(s)\n"


def test_lint_cost_rules_see_each_configs_defaults(tmp_path, capsys):
    replication = ["--set", "enable_cross_region_replication=true", "--set", "replication_region=eu-west-1"]
    main(["synth", "--suffix", "aaa", *replication])
    main(["synth", "--suffix", "zzz", *replication, "--set", "replication_time_control=true"])
    capsys.readouterr()
    assert main(["lint"]) == 1
    out = capsys.readouterr().out
    assert "W9002" in out and "app-zzz.template.json" in out and "app-aaa.template.json" not in out


def test_a_reader_that_goes_away_ends_output_quietly(tmp_path):
    """`python -m builder synth ... | head -1`: no traceback and no error line when the pipe closes."""
    suffixes = " ".join(f"--suffix s{i}" for i in range(300))  # about 140 KB of output: more than a pipe holds
    result = subprocess.run(
        f"{sys.executable} -m builder synth {suffixes} --region us-east-1 --out {tmp_path / 'o'} "
        "| head -c 1 >/dev/null; "
        "echo ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", capture_output=True, text=True,
        cwd=tmp_path, check=False)
    # no error line: at most what synth says of its config (before or after the reader left)
    assert result.stderr in ("", config_line(tmp_path) + "\n")
    assert result.stdout.strip() == "141"


def test_a_file_that_already_holds_the_same_bytes_is_left_alone(tmp_path, capsys):
    main(["synth", "--suffix", "pr1"])
    template = tmp_path / "out/app-pr1.template.json"
    os.utime(template, (1_000_000, 1_000_000))
    capsys.readouterr()
    assert main(["synth", "--suffix", "pr1", "--set", "bucket_lifecycle_days=5"]) == 0
    out = capsys.readouterr().out
    assert "wrote out/app-pr1.template.json" in out  # a parameter default changed, in the template too
    assert "unchanged out/app-pr1.tags.json" in out
    assert template.stat().st_mtime != 1_000_000
    os.utime(template, (1_000_000, 1_000_000))
    assert main(["synth", "--suffix", "pr1", "--set", "bucket_lifecycle_days=5"]) == 0
    assert "unchanged out/app-pr1.template.json" in capsys.readouterr().out
    assert template.stat().st_mtime == 1_000_000


def test_version_is_the_package_version(capsys):
    from builder import __version__

    assert main(["--version"]) == 0
    assert capsys.readouterr().out == f"python -m builder {__version__}\n"


@pytest.mark.parametrize("argv,fixed", [
    (["--suffix", "pr1", "synth"], "synth --suffix pr1"),
    (["--config", "x.toml", "--set", "a=b", "deploy", "--yes"], "deploy --config x.toml --set a=b"),
])
def test_an_option_before_the_command_is_told_where_it_goes(capsys, argv, fixed):
    """argparse called the option's value an invalid command: `invalid choice: 'pr1'`."""
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [(f"error: python -m builder: {argv[0]} goes after the command: python -m builder "
                                f"{fixed}; see `python -m builder --help`")]


def test_no_command_is_a_usage_error_of_one_line_naming_the_commands(capsys):
    from builder.cli import commands

    assert main([]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    names = ", ".join(sorted(module.__name__.rsplit(".", 1)[1] for module in commands()))
    assert "deploy, " in names
    expected = f"error: python -m builder: a command is missing: one of {names}; see `python -m builder --help`"
    assert err.splitlines() == [expected]


@pytest.mark.parametrize("program", ["module", "console script"])
def test_usage_errors_name_the_program_as_it_was_called(program, tmp_path):
    """`builder --bogus` names `builder`; `python -m builder --bogus` names `python -m builder`."""
    module = [sys.executable, "-m", "builder"]
    argv = module if program == "module" else [str(Path(sys.executable).with_name("builder"))]
    result = subprocess.run([*argv, "synth", "--bogus"], capture_output=True, text=True, cwd=tmp_path, check=False)
    called = "python -m builder" if program == "module" else "builder"
    assert result.returncode == 2
    assert result.stderr == f"error: {called} synth: unrecognized arguments: --bogus; see `{called} synth --help`\n"
    version = subprocess.run([*argv, "--version"], capture_output=True, text=True, cwd=tmp_path, check=False)
    assert version.stdout.startswith(f"{called} ")


# ---------------------------------------------------------------------- run from a Python without the dependencies

def test_a_python_without_the_dependencies_gets_one_line_that_says_how_to_run_builder(tmp_path):
    """`python -S`: this interpreter without its site-packages (so without troposphere), builder on PYTHONPATH:
    what a plain `python -m builder` outside the venv is."""
    done = subprocess.run([sys.executable, "-S", "-m", "builder", "synth", "--suffix", "pr1"], cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (2, "")
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"error: troposphere: not installed in this Python ({sys.executable}, ")
    assert "/bin/python -m builder synth (or activate the venv first" in line or "pip install -e " in line
    assert not (tmp_path / "out").exists()


def test_the_line_names_the_project_venv_when_there_is_one(tmp_path, monkeypatch):
    from builder.cli import missing_dependency

    (tmp_path / ".venv" / "bin").mkdir(parents=True)
    (tmp_path / ".venv" / "bin" / "python").write_text("")
    monkeypatch.setattr(sys, "prefix", "/usr")
    assert missing_dependency("troposphere.s3", ["--debug", "deploy", "--suffix", "pr1"], root=tmp_path) == (
        f"error: troposphere: not installed in this Python ({sys.executable}, {sys.version.split()[0]}); run it "
        f"with the project's venv: .venv/bin/python -m builder deploy (or activate the venv first: "
        f". .venv/bin/activate)")
    monkeypatch.chdir("/")
    assert f"run it with the project's venv: {tmp_path}/.venv/bin/python -m builder deploy" in missing_dependency(
        "troposphere", ["deploy"], root=tmp_path)
    (tmp_path / ".venv" / "bin" / "python").unlink()  # no venv: how to install
    assert missing_dependency("boto3", ["deploy"], root=tmp_path).endswith(
        f"install builder with its dependencies: pip install -e {tmp_path} (or into a venv of its own: python3 -m "
        f"venv {tmp_path}/.venv && {tmp_path}/.venv/bin/pip install -e {tmp_path})")


def test_a_missing_module_of_builder_itself_is_not_called_a_missing_dependency(monkeypatch, capsys):
    def broken(args):
        raise ModuleNotFoundError("No module named 'builder.nowhere'", name="builder.nowhere")

    monkeypatch.setattr("builder.cli.synth.run", broken)
    assert main(["synth"]) == 1
    assert capsys.readouterr().err == ("error: ModuleNotFoundError: No module named 'builder.nowhere' (rerun with "
                                       "--debug for a traceback)\n")


@pytest.mark.parametrize("command", [["status"], ["status", "--all"], ["deploy"], ["destroy", "--yes"]])
def test_region_given_twice_is_refused_not_the_last_one_silently(command, capsys):
    assert main([*command, "--region", "us-east-1", "--region", "eu-west-1"]) == 2
    assert capsys.readouterr().err == (
        f"error: python -m builder {command[0]}: argument --region: given twice ('us-east-1', then 'eu-west-1'); "
        f"give it once; see `python -m builder {command[0]} --help`\n")


def test_the_synth_page_shows_synths_output_as_synth_prints_it(tmp_path, capsys):
    """The deploy command is one line, as synth prints it (the README showed it wrapped)."""
    readme = (ROOT / "docs" / "commands" / "synth.md").read_text()
    block = readme.split("and prints the exact command to deploy them", 1)[1].split("```\n", 2)[1]
    command, *shown = block.splitlines()
    assert command == "$ python -m builder synth --suffix pr123"
    assert main(["synth", "--suffix", "pr123"]) == 0
    assert capsys.readouterr().out.splitlines() == shown
