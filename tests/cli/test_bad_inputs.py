"""A catalogue of bad inputs: each exits 2 with one `error:` line naming where and which key, no
traceback, and out/ exactly as a previous synth left it (no partial files: writes are atomic).

Each case runs `main(["synth", ...])` in a fresh working folder whose out/ holds a previous synth
of the same suffixes, so a write that should not happen shows up as a changed or extra file.

Unreadable config file: the tests run as root, for whom chmod 000 does not stop a read, so
"unreadable" is produced as a folder given to --config and as a file that is not UTF-8 text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from builder.cli import main
from builder.names import max_suffix_length
from tests.factories import REPLICATION_ARGS as REPLICATION
from tests.factories import snapshot

LONGEST = max_suffix_length("app", ["us-east-1"])
LONGEST_REPLICATED = max_suffix_length("app", ["us-east-1", "us-west-2"])
PROVISIONED = ["--set", "dynamodb_billing_mode=PROVISIONED"]


@dataclass(frozen=True)
class Case:
    id: str
    args: list[str]
    expect: str  # the error line starts with this: "error: <file or flag>: <key>:"
    files: dict[str, bytes] = field(default_factory=dict)  # created in the working folder first
    env: dict[str, str] = field(default_factory=dict)


def suffix(case_id: str, value: str, *extra: str) -> Case:
    return Case(case_id, ["--suffix", value, *extra], "error: --suffix: suffix: ")


def setting(case_id: str, key: str, *sets: str, expect_key: str | None = None) -> Case:
    args = [arg for item in sets for arg in ("--set", item)]
    return Case(case_id, args, f"error: --set: {expect_key or key}: ")


def config(case_id: str, text: bytes | str, expect: str) -> Case:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return Case(case_id, ["--config", "bad.toml"], expect, files={"bad.toml": data})


CASES: list[Case] = [
    # suffixes
    suffix("suffix-empty", ""),
    suffix("suffix-uppercase", "PR123"),
    suffix("suffix-underscore", "pr_123"),
    suffix("suffix-dot", "pr.123"),
    suffix("suffix-space", "pr 123"),
    suffix("suffix-unicode-letter", "prö"),
    suffix("suffix-unicode-digit", "pr١٢٣"),
    suffix("suffix-emoji", "pr🙂"),
    Case("suffix-leading-hyphen", ["--suffix=-pr123"], "error: --suffix: suffix: "),
    suffix("suffix-trailing-hyphen", "pr123-"),
    suffix("suffix-trailing-newline", "pr123\n"),
    suffix("suffix-too-long-by-one", "a" * (LONGEST + 1)),
    suffix("suffix-too-long-by-one-for-the-replica", "a" * (LONGEST_REPLICATED + 1), *REPLICATION),
    suffix("suffix-ending-in-replica", "pr1-replica"),
    suffix("suffix-with-double-hyphen-that-breaks-the-bucket-name", "s3-demo", "--set", "stack_prefix=amzn"),
    suffix("one-bad-suffix-among-good-ones", "Bad", "--suffix", "pr123"),
    Case("suffix-from-environment", [], "error: ENVIRONMENT_SUFFIX: suffix: ", env={"ENVIRONMENT_SUFFIX": "PR_1"}),
    # --set syntax and keys
    Case("set-without-equals", ["--set", "bucket_lifecycle_days"], "error: --set: bucket_lifecycle_days: "),
    setting("set-unknown-key", "bucket_lifecycle", "bucket_lifecycle=3"),
    setting("set-empty-key", "(empty)", "=3"),
    setting("set-region-as-key", "region", "region=us-east-1"),
    setting("set-tags-as-a-whole", "tags", "tags=Team"),
    setting("set-reserved-tag-key", "tags.aws:owner", "tags.aws:owner=me"),
    config("config-tag-key-with-equals", '[defaults.tags]\n"a=b" = "c"\n',
           "error: bad.toml: defaults.tags.a=b: a tag key cannot hold '=' (got 'a=b')"),
    Case("tags-past-cloudformations-limit-with-builders-own", [
        *(arg for i in range(47) for arg in ("--set", f"tags.k{i}=v")), "--set", "ttl=1d"],
        "error: --set: tags: 47 tags and builder's own 4 (CostCenter, Environment, builder:managed-by, builder:ttl) "
        "make 51 stack tags"),  # written to the tags file, refused only by CloudFormation at deploy
    setting("set-tag-value-with-newline", "tags.Team", "tags.Team=a\nb"),
    setting("set-tag-value-empty", "tags.Team", "tags.Team="),
    Case("set-with-a-carriage-return-only", ["--set", "\r"], "error: --set: \\r: expected KEY=VALUE"),
    setting("set-same-key-twice", "bucket_lifecycle_days", "bucket_lifecycle_days=3", "bucket_lifecycle_days=4"),
    setting("set-same-tag-twice", "tags.Team", "tags.Team=a", "tags.Team=b"),
    # wrong types
    setting("text-for-a-number", "bucket_lifecycle_days", "bucket_lifecycle_days=ten"),
    setting("float-for-a-whole-number", "bucket_lifecycle_days", "bucket_lifecycle_days=1.5"),
    setting("unicode-digits-for-a-whole-number", "bucket_lifecycle_days", "bucket_lifecycle_days=１２"),
    setting("yes-for-a-boolean", "retain_data", "retain_data=yes"),
    setting("one-for-a-boolean", "customer_managed_key", "customer_managed_key=1"),
    setting("hex-for-a-number", "alarm_threshold_multiplier", "alarm_threshold_multiplier=0x10"),
    setting("underscores-in-a-number", "alarm_threshold_multiplier", "alarm_threshold_multiplier=1_0"),
    # zero, negative, absurdly large
    setting("lifecycle-zero", "bucket_lifecycle_days", "bucket_lifecycle_days=0"),
    setting("lifecycle-negative", "bucket_lifecycle_days", "bucket_lifecycle_days=-1"),
    setting("lifecycle-absurd", "bucket_lifecycle_days", "bucket_lifecycle_days=" + "9" * 30),
    setting("multiplier-zero", "alarm_threshold_multiplier", "alarm_threshold_multiplier=0"),
    setting("multiplier-negative", "alarm_threshold_multiplier", "alarm_threshold_multiplier=-0.5"),
    setting("multiplier-absurd", "alarm_threshold_multiplier", "alarm_threshold_multiplier=1e9"),
    Case("multiplier-just-above-its-maximum", ["--set", "alarm_threshold_multiplier=1000.0000001"],
         "error: --set: alarm_threshold_multiplier: must be a number > 0 and <= 1000 (got 1000.0000001)"),
    setting("multiplier-infinite", "alarm_threshold_multiplier", "alarm_threshold_multiplier=inf"),
    setting("multiplier-not-a-number", "alarm_threshold_multiplier", "alarm_threshold_multiplier=nan"),
    setting("capacity-zero", "dynamodb_read_capacity", "dynamodb_billing_mode=PROVISIONED",
            "dynamodb_read_capacity=0", "dynamodb_write_capacity=5"),
    setting("capacity-negative", "dynamodb_write_capacity", "dynamodb_billing_mode=PROVISIONED",
            "dynamodb_read_capacity=5", "dynamodb_write_capacity=-5"),
    setting("capacity-absurd", "dynamodb_read_capacity", "dynamodb_billing_mode=PROVISIONED",
            "dynamodb_read_capacity=" + "9" * 20, "dynamodb_write_capacity=5"),
    # consistency
    setting("billing-mode-unknown", "dynamodb_billing_mode", "dynamodb_billing_mode=provisioned"),
    setting("provisioned-without-capacities", "dynamodb_billing_mode", "dynamodb_billing_mode=PROVISIONED"),
    Case("provisioned-without-write-capacity", [*PROVISIONED, "--set", "dynamodb_read_capacity=5"],
         "error: --set: dynamodb_billing_mode: "),
    setting("capacity-with-pay-per-request", "dynamodb_read_capacity", "dynamodb_read_capacity=5"),
    setting("replication-without-region", "enable_cross_region_replication", "enable_cross_region_replication=true"),
    setting("replication-to-its-own-region", "replication_region", "enable_cross_region_replication=true",
            "replication_region=us-east-1"),
    setting("replication-to-a-bad-region", "replication_region", "enable_cross_region_replication=true",
            "replication_region=mars-north-1"),
    setting("rtc-without-replication", "replication_time_control", "replication_time_control=true"),
    setting("deployment-mode-unknown", "deployment_mode", "deployment_mode=fast"),
    setting("deployment-mode-in-capitals", "deployment_mode", "deployment_mode=EXPRESS"),
    setting("express-with-termination-protection", "deployment_mode", "deployment_mode=express",
            "termination_protection=true"),
    setting("express-with-retain-data", "deployment_mode", "retain_data=true", "deployment_mode=express"),
    config("config-express-in-a-matching-pattern-with-retain-data-in-defaults",
           "[defaults]\nretain_data = true\n[environments.\"dev*\"]\ndeployment_mode = \"express\"\n",
           'error: bad.toml: environments."dev*".deployment_mode: express cannot be combined with retain_data'),
    config("config-deployment-mode-not-text", "[defaults]\ndeployment_mode = true\n",
           "error: bad.toml: defaults.deployment_mode: expected a string"),
    setting("email-without-at", "alert_email", "alert_email=alerts.example.com"),
    setting("email-without-domain", "alert_email", "alert_email=alerts@example"),
    setting("email-with-trailing-newline", "alert_email", "alert_email=alerts@example.com\n"),
    setting("cost-center-empty", "cost_center", "cost_center="),
    setting("prefix-uppercase", "stack_prefix", "stack_prefix=App"),
    setting("prefix-with-double-hyphen", "stack_prefix", "stack_prefix=a--b"),
    setting("prefix-making-a-forbidden-bucket-name", "stack_prefix", "stack_prefix=sthree"),
    setting("prefix-with-trailing-newline", "stack_prefix", "stack_prefix=app\n"),
    # regions
    Case("region-bad", ["--region", "us-east"], "error: --region: region: "),
    Case("region-uppercase", ["--region", "US-EAST-1"], "error: --region: region: "),
    Case("region-with-trailing-newline", ["--region", "us-east-1\n"], "error: --region: region: "),
    Case("region-with-unicode-digit", ["--region", "us-east-١"], "error: --region: region: "),
    Case("region-from-environment", [], "error: AWS_REGION: region: ", env={"AWS_REGION": "moon-1"}),
    Case("region-from-file", [], "error: ./AWS_REGION: region: ", files={"AWS_REGION": b"nowhere\n"}),
    Case("region-file-empty", [], "error: ./AWS_REGION: region: '' ", files={"AWS_REGION": b"\n"}),
    Case("region-file-a-folder", [], "error: ./AWS_REGION: is not a file", files={"AWS_REGION/keep": b"eu-west-1\n"}),
    Case("region-file-not-text", [], "error: ./AWS_REGION: is not UTF-8 text", files={"AWS_REGION": b"\xff\n"}),
    Case("region-from-default-region-variable", [], "error: AWS_DEFAULT_REGION: region: ",
         env={"AWS_DEFAULT_REGION": "moon-1"}),
    Case("region-from-the-profile", [], "error: aws-config: [profile dev] region: ",
         files={"aws-config": b"[profile dev]\nregion = moon-1\n"},
         env={"AWS_CONFIG_FILE": "aws-config", "AWS_PROFILE": "dev"}),
    Case("aws-config-without-a-section", [], "error: aws-config: cannot be read as an AWS config file",
         files={"aws-config": b"region = eu-west-1\n"}, env={"AWS_CONFIG_FILE": "aws-config"}),
    Case("aws-config-not-utf8", [], "error: aws-config: cannot be read as an AWS config file",
         files={"aws-config": b"[default]\nregion = \xff\n"}, env={"AWS_CONFIG_FILE": "aws-config"}),
    # the tags builder sets itself
    setting("set-tag-environment", "tags.Environment", "tags.Environment=x"),
    setting("set-tag-cost-center", "tags.CostCenter", "tags.CostCenter=x"),
    config("config-tag-environment", "[defaults]\ntags = { Environment = \"x\" }\n",
           "error: bad.toml: defaults.tags.Environment: Environment is always the suffix"),
    config("config-tag-cost-center", "[environments.\"pr*\"]\ntags = { CostCenter = \"x\" }\n",
           'error: bad.toml: environments."pr*".tags.CostCenter: CostCenter comes from the cost_center setting'),
    # config files
    Case("config-empty", ["--config", ""], "error: python -m builder synth: argument --config: is empty; give a TOML "
         "file"),
    Case("config-missing", ["--config", "missing.toml"], "error: missing.toml: file not found"),
    Case("config-unreadable-folder", ["--config", "out"], "error: out: is a folder"),
    config("config-unreadable-not-utf8", b"[defaults]\ncost_center = \"\xff\xfe\"\n", "error: bad.toml: is not UTF-8"),
    config("config-not-toml", "[defaults\nbucket_lifecycle_days = 3\n", "error: bad.toml: not valid TOML"),
    config("config-unknown-table", "[default]\nbucket_lifecycle_days = 3\n", "error: bad.toml: default: unknown table"),
    config("config-pattern-not-a-table", "[environments]\n\"pr*\" = 3\n",
           'error: bad.toml: environments."pr*": must be a table'),
    # a pattern no suffix can match would leave its suffix on the defaults without a word
    config("config-pattern-uppercase", "[environments.Prod]\nretain_data = true\n",
           "error: bad.toml: environments.Prod: matches no suffix"),
    config("config-pattern-underscore", "[environments.\"pr_*\"]\nttl = \"1d\"\n",
           'error: bad.toml: environments."pr_*": matches no suffix'),
    config("config-pattern-stray-bracket", "[environments.\"pr[\"]\nttl = \"1d\"\n",
           'error: bad.toml: environments."pr[": matches no suffix'),
    config("config-environments-not-a-table", "environments = 3\n", "error: bad.toml: environments: must hold tables"),
    config("config-defaults-not-a-table", "defaults = [1, 2]\n", "error: bad.toml: defaults: must be a table"),
    config("config-setting-at-top-level", "bucket_lifecycle_days = 3\n", "error: bad.toml: bucket_lifecycle_days: "),
    config("config-unknown-key", "[defaults]\nbucket_days = 3\n", "error: bad.toml: defaults.bucket_days: unknown key"),
    config("config-text-for-a-number", "[defaults]\nbucket_lifecycle_days = \"30\"\n",
           "error: bad.toml: defaults.bucket_lifecycle_days: expected a whole number"),
    config("config-float-for-a-whole-number", "[environments.pr1]\nbucket_lifecycle_days = 1.5\n",
           "error: bad.toml: environments.pr1.bucket_lifecycle_days: expected a whole number"),
    config("config-boolean-for-a-number", "[defaults]\nalarm_threshold_multiplier = true\n",
           "error: bad.toml: defaults.alarm_threshold_multiplier: expected a number"),
    config("config-text-for-a-boolean", "[defaults]\nretain_data = \"yes\"\n",
           "error: bad.toml: defaults.retain_data: expected true or false"),
    config("config-date-for-a-duration", "[defaults]\nttl = 2026-12-31\n",
           "error: bad.toml: defaults.ttl: expected a string (got the date 2026-12-31)"),
    config("config-region-key", "[defaults]\nregion = \"us-east-1\"\n", "error: bad.toml: defaults.region: "),
    config("config-tag-not-text", "[defaults.tags]\nTeam = 3\n", "error: bad.toml: defaults.tags.Team: "),
    config("config-zero-in-a-matching-pattern", "[environments.\"dev*\"]\nbucket_lifecycle_days = 0\n",
           "error: bad.toml: environments.\"dev*\".bucket_lifecycle_days: "),
    config("config-zero-in-a-pattern-no-suffix-of-the-run-matches",
           "[environments.\"zz*\"]\nbucket_lifecycle_days = 0\n",
           "error: bad.toml: environments.\"zz*\".bucket_lifecycle_days: must be a whole number from 1"),
    config("config-bad-region-in-a-pattern-no-suffix-of-the-run-matches",
           "[environments.prod]\nreplication_region = \"mars\"\n",
           "error: bad.toml: environments.prod.replication_region: 'mars' does not look like an AWS region"),
    Case("config-implicit-environments-toml-broken", [], "error: environments.toml: not valid TOML",
         files={"environments.toml": b"[defaults"}),
    Case("config-implicit-environments-toml-a-folder", [], "error: environments.toml: is a folder; builder reads",
         files={"environments.toml/keep": b""}),
    # the output folder
    Case("out-empty", ["--out", ""], "error: python -m builder synth: argument --out: is empty"),
    Case("out-is-a-regular-file", ["--out", "a-file"], "error: a-file: cannot create the output folder (a-file is a "
         "file)", files={"a-file": b"not a folder\n"}),  # it said (File exists)
    Case("out-below-a-regular-file", ["--out", "a-file/out"], "error: a-file/out: ", files={"a-file": b"x\n"}),
    Case("out-holds-a-folder-where-a-file-goes", ["--suffix", "blocked"], "error: out: ",
         files={"out/app-blocked.tags.json/keep": b"x\n"}),
    # the command line itself
    Case("format-unknown", ["--format", "xml"], "error: python -m builder synth: argument --format: "),
    Case("option-unknown", ["--bogus"], "error: python -m builder synth: unrecognized arguments: --bogus; see "
         "`python -m builder synth --help`"),
    Case("positional-unknown", ["pr123"], "error: python -m builder synth: unrecognized arguments: pr123"),
    Case("suffix-without-value", ["--suffix"], "error: python -m builder synth: argument --suffix: "),
    Case("region-given-twice", ["--region", "us-east-1", "--region", "eu-west-1"],
         "error: python -m builder synth: argument --region: given twice ('us-east-1', then 'eu-west-1'); give it "
         "once"),
    Case("config-given-twice", ["--config", "a.toml", "--config", "b.toml"],
         "error: python -m builder synth: argument --config: given twice ('a.toml', then 'b.toml')",
         files={"a.toml": b"", "b.toml": b""}),
]

DOCUMENTED_COUNT = 90  # the Safety section says so; this fails when the catalogue shrinks below it


def test_the_catalogue_has_at_least_the_documented_number_of_distinct_cases():
    assert len(CASES) >= DOCUMENTED_COUNT >= 40
    assert len({case.id for case in CASES}) == len(CASES)
    assert len({(tuple(case.args), tuple(case.files.items()), tuple(case.env.items())) for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_bad_input_exits_2_with_one_error_line_and_writes_nothing(case, clean_env, monkeypatch, capsys):
    # a previous synth of the default suffix and of the good one some cases name
    assert main(["synth", "--suffix", "dev", "--suffix", "pr123"]) == 0
    for name, data in case.files.items():
        (clean_env / name).parent.mkdir(parents=True, exist_ok=True)
        (clean_env / name).write_bytes(data)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value)
    before = snapshot(clean_env / "out", mtimes=True)
    capsys.readouterr()

    code = main(["synth", *case.args])

    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, (out, err)
    assert out == ""
    assert "Traceback" not in err
    assert len(lines) == 1, err
    assert lines[0].startswith(case.expect), lines[0]
    assert snapshot(clean_env / "out", mtimes=True) == before


@pytest.mark.parametrize("command", ["synth", "deploy", "destroy"])
def test_an_empty_out_folder_is_refused_before_anything_runs(command, clean_env, capsys):
    # `--out "$OUT"` with OUT unset would otherwise write into (or remove from) the working folder
    code = main([command, "--out", ""])

    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    expected = (f"error: python -m builder {command}: argument --out: is empty; give a folder, such as out; "
                f"see `python -m builder {command} --help`")
    assert err.splitlines() == [expected]
    assert list(clean_env.iterdir()) == []


def test_a_dangling_environments_toml_link_is_an_error_not_the_defaults(clean_env, capsys):
    # `ln -s configs/prod.toml environments.toml` whose target moved: prod would deploy on the defaults
    (clean_env / "environments.toml").symlink_to("configs/prod.toml")

    code = main(["synth", "--suffix", "prod"])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [("error: environments.toml: is a link to a file that does not exist; fix the link, "
                                "or remove it to run on the built-in defaults")]
    assert not (clean_env / "out").exists()


def test_deploy_refuses_a_folder_where_an_outputs_file_goes_before_it_changes_anything(clean_env, capsys):
    # it created the stack, then exited 2 ('bad input') writing out/app-pr1.outputs.json
    (clean_env / "out" / "app-pr1.outputs.json" / "keep").mkdir(parents=True)

    code = main(["deploy", "--suffix", "pr2", "--suffix", "pr1"])

    out_text, err = capsys.readouterr()
    assert (code, out_text) == (2, "")
    assert err.splitlines()[-1] == ("error: out: cannot write there (app-pr1.outputs.json is a folder); choose "
                                    "another folder with --out")


@pytest.mark.parametrize("out", ["a-file", "a-file/below"])
def test_deploy_refuses_an_out_folder_it_cannot_write_before_it_changes_anything(out, clean_env, capsys):
    # it deployed the stack, then failed (exit 2) writing <stack>.outputs.json into a file
    (clean_env / "a-file").write_text("not a folder\n")

    code = main(["deploy", "--suffix", "pr1", "--out", out])

    out_text, err = capsys.readouterr()
    assert (code, out_text) == (2, "")
    assert err.splitlines()[-1] == (f"error: {out}: cannot create the output folder (a-file is a file); choose "
                                    f"another with --out")


def _last_error(capsys) -> tuple[str, list[str]]:
    out, err = capsys.readouterr()
    return out, [line for line in err.splitlines() if not line.startswith("config ")]


@pytest.mark.parametrize(("variable", "value", "expected"), [
    ("AWS_ENDPOINT_URL", "garbage", "Invalid endpoint: garbage"),
    ("AWS_ENDPOINT_URL", "http://127.0.0.1:99999", "Port out of range 0-65535 in 'http://127.0.0.1:99999'"),
    ("AWS_ENDPOINT_URL", "ftp://127.0.0.1:4566", "'ftp://127.0.0.1:4566' is not an http:// or https:// URL"),
    ("AWS_ENDPOINT_URL_CLOUDFORMATION", "127.0.0.1:4566", "Invalid endpoint: 127.0.0.1:4566"),
])
def test_an_endpoint_that_is_no_url_is_bad_input_naming_its_variable(variable, value, expected, clean_env,
                                                                     monkeypatch, capsys):
    # it was 'error: ValueError: Invalid endpoint: garbage (rerun with --debug ...)', exit 1, as if AWS had failed
    monkeypatch.setenv(variable, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")

    code = main(["status", "--suffix", "pr1"])

    out, lines = _last_error(capsys)
    assert (code, out) == (2, "")
    assert lines == [f"error: {variable}: {expected}; give a URL such as http://127.0.0.1:4566"]


@pytest.mark.parametrize("value", ["garbage", "0", "-1", ""])
def test_max_attempts_that_botocore_cannot_use_is_bad_input_naming_it(value, clean_env, monkeypatch, capsys):
    # it was 'error: ValueError: invalid literal for int() ...' or 'error: cloudformation client:
    # InvalidMaxRetryAttemptsError: ...', exit 1, as if AWS had failed
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")

    code = main(["status", "--suffix", "pr1"])

    out, lines = _last_error(capsys)
    assert (code, out) == (2, "")
    assert lines == [f"error: AWS_MAX_ATTEMPTS: {value!r} is not a whole number of attempts of at least 1, such as 3"]


@pytest.mark.parametrize("variable", ["AWS_PROFILE", "AWS_DEFAULT_PROFILE"])
@pytest.mark.parametrize("command", [["status", "--suffix", "pr1"], ["reap"], ["deploy", "--suffix", "pr1"]])
def test_a_profile_that_is_nowhere_is_bad_input_naming_its_variable(variable, command, clean_env, monkeypatch,
                                                                    capsys):
    # it was 'error: ProfileNotFound: The config profile (deve) could not be found (rerun with --debug ...)', exit 1
    (clean_env / "aws-config").write_text("[profile dev]\nregion = eu-west-1\n")
    (clean_env / "aws-credentials").write_text("[ci]\naws_access_key_id = x\naws_secret_access_key = x\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(clean_env / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(clean_env / "aws-credentials"))
    monkeypatch.setenv(variable, "deve")

    code = main([*command, "--region", "eu-west-1"])

    out, lines = _last_error(capsys)
    assert (code, out) == (2, "")
    assert lines == [(f"error: {variable}: profile 'deve' is in neither the AWS config file nor the credentials "
                      f"file (profiles there: ci, dev); name one of them, or unset {variable}")]


def test_lint_refuses_an_empty_path_instead_of_linting_the_working_folder(clean_env, capsys):
    # `lint "$TEMPLATE"` with TEMPLATE unset: Path("") is the working folder, whose every template was linted
    assert main(["synth", "--suffix", "pr1", "--out", "elsewhere"]) == 0
    capsys.readouterr()

    code = main(["lint", ""])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == [("error: python -m builder lint: argument PATH: is empty; give a template or a "
                                 "folder that holds them, such as out; see `python -m builder lint --help`")]


def test_status_all_with_a_suffix_is_refused_not_the_whole_fleet(clean_env, capsys):
    # the suffixes were ignored and every stack of the fleet listed, where diff --all --suffix is refused
    code = main(["status", "--all", "--suffix", "pr1"])

    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err.splitlines() == ["error: status: --all lists every stack of the fleet; give --all or --suffix, not both"]


@pytest.mark.parametrize("command", ["deploy", "diff", "destroy", "status", "drift", "reap"])
@pytest.mark.parametrize("rate", ["1e-300", "0.05", "0", "-2", "inf", "nan", "two"])
def test_an_api_rate_too_slow_to_finish_is_refused_before_any_call(command, rate, clean_env, capsys):
    """A budget slower than RATE_FLOOR would wait hours for each call (1e-300: forever): bad input, exit 2."""
    from builder.stack.poller import RATE_FLOOR

    args = ["--prefix", "app"] if command == "reap" else ["--suffix", "pr1"]
    assert main([command, *args, f"--api-rate={rate}"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines()[-1].startswith(
        f"error: python -m builder {command}: argument --api-rate: must be a number of calls a second of at least "
        f"{RATE_FLOOR:g}"), err


def test_the_slowest_api_rate_taken_is_the_budgets_floor(clean_env):
    from builder.cli.common import calls_per_second
    from builder.stack.poller import RATE_FLOOR, Budget

    assert calls_per_second(str(RATE_FLOOR)) == RATE_FLOOR == Budget(RATE_FLOOR).limit
