"""A claim is a measurement. Every number of time, money, rate or ratio that the README, CONTRIBUTING.md, the
docs site or a command's --help states is one of three things, and this file says which:

- a value the code defines: TIED renders the sentence from that value, so the text and the code cannot part
  (change the value and the sentence is no longer found: the test names it);
- a fact of AWS or of another tool: CITED names the phrase and the address that must stand in its paragraph;
- a figure a run produced: pasted output that a test runs (fenced blocks: tests/test_cost.py,
  tests/test_doc_examples.py) or BENCHMARKS.md, which benchmarks/run.py writes and docs/benchmarks.md includes.

test_every_quantity_is_accounted_for finds, in the prose (fenced blocks, inline code and example command lines
are examples, not claims), every number with a unit of time, money, size or rate, every ratio and percentage,
every approximation or bound ("about 3", "~3", "within 3", "at most 3") and every "faster"/"slower", and fails on
one that no entry here accounts for. A value that only illustrates an option is EXAMPLE.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import inspect
import io
import json
import os
import re
from pathlib import Path
from typing import NamedTuple

import pytest

from benchmarks import notes
from builder.cli import build_parser, commands, main
from builder.cli.views.review import MARKDOWN_LIMIT
from builder.cost import estimate
from builder.durations import MAX_SECONDS, MIN_SECONDS, UNITS
from builder.emulator import DEFAULT_PORT
from builder.families.keys import KEY_MONTH_USD
from builder.families.shared import MAX_MULTIPLIER
from builder.families.storage import ABORT_MULTIPART_DAYS
from builder.families.storage import ALARM_BASES as BUCKET_ALARM_BASES
from builder.families.table import ALARM_BASES, MAX_METRICS_PER_EXPRESSION
from builder.names import S3_BUCKET_NAME_MAX, S3_BUCKET_NAME_MIN, max_suffix_length
from builder.pricing import PRICES
from builder.settings import ROLLBACK_MONITORING_MINUTES
from builder.stack.drift import DEFAULT_TIMEOUT_S
from builder.stack.poller import (
    BURST_SECONDS,
    CUT_EVERY,
    EVENTS_EVERY,
    FLEET_CEILING,
    FLEET_FROM,
    GROWTH,
    RATE_FLOOR,
    START_RATE,
    STATUS_AFTER_PROGRESS,
    STATUS_CEILING,
    STATUS_FIRST,
    STATUS_SHARE,
    THROTTLED_TRIES,
)
from builder.stack.rollback import MAX_TRIGGERS
from builder.synth import TEMPLATE_BODY_LIMIT, stacks_for
from tests.cli.test_bad_inputs import CASES, DOCUMENTED_COUNT
from tests.factories import REPLICATION_SETTINGS, config

pytestmark = pytest.mark.usefixtures("clean_env")

ROOT = Path(__file__).resolve().parent.parent
NUM = r"(?<![\w.\-/:])\d[\d,]*(?:\.\d+)?"
QUANTITY = re.compile("|".join((
    rf"{NUM}\s?(?:ms|s|sec|seconds?|min|minutes?|hours?|h|days?|d)\b",
    rf"{NUM}\s?USD\b", rf"\bUSD\s?{NUM}",
    rf"{NUM}(?:\s?%|x\b)", rf"{NUM} times\b",
    rf"{NUM} (?:API )?(?:calls?|reads?)\b", rf"{NUM} (?:a|per|each) (?:second|minute)\b",
    rf"{NUM}[- ](?:bytes?|characters?|KiB|MiB|GiB|KB|MB|GB)\b",
    rf"\b(?:about|around|roughly|approximately|within|at most|up to|no more than|at least|over|under)\s{NUM}",
    rf"~\s?{NUM}",
    r"\b(?:faster|slower|quicker|quickly)\b",
    r"\b(?:a few|tens of|several|many) (?:cents|seconds|minutes|hours)\b",
    r"\b(?:one|two|three|four|five|ten|fifteen|twenty|thirty|sixty)[- ](?:seconds?|minutes?|hours?)\b",
)), re.IGNORECASE)


# ---------------------------------------------------------------------- the texts
def prose(text: str) -> str:
    """What a Markdown page says in words, whitespace collapsed: no fenced blocks, comments, inline code, link
    targets or bare addresses."""
    text = re.sub(r"^\s*```.*?^\s*```", " ", text, flags=re.DOTALL | re.MULTILINE)
    text = re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)
    text = re.sub(r"`[^`]*`", "``", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    text = re.sub(r"https?://\S+", "", text)
    return " ".join(text.replace("**", "").split())


def help_text(name: str) -> str:
    """A command's --help (the top level's for ""), unwrapped, without its example command lines."""
    out = io.StringIO()
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "10000"  # argparse wraps at the terminal's width: one line per option
    try:
        with contextlib.redirect_stdout(out):
            assert main([name, "--help"] if name else ["--help"]) == 0
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    lines = [line for line in out.getvalue().splitlines()
             if not re.match(r"\s*(\$ )?python -m builder ", line)]
    return " ".join(" ".join(lines).split())


def markdown_files() -> list[Path]:
    return [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").rglob("*.md"))]


def benchmark_text() -> str:
    """benchmarks/run.py's own words: its docstring (its --help's description) and its options' help, without the
    example command lines."""
    tree = ast.parse((ROOT / "benchmarks" / "run.py").read_text(encoding="utf-8"))
    helps = [ast.literal_eval(k.value) for node in ast.walk(tree) if isinstance(node, ast.Call)
             for k in node.keywords if k.arg == "help" and isinstance(k.value, ast.Constant | ast.BinOp)
             and not any(isinstance(n, ast.Call) for n in ast.walk(k.value))]
    lines = [line for line in (ast.get_docstring(tree) or "").splitlines() if ".venv/bin/python" not in line]
    return " ".join(" ".join([*lines, *helps]).split())


NAMES = ["", *(module.__name__.rpartition(".")[2] for module in commands())]
PAGES = {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8") for path in markdown_files()}
TEXTS = {**{where: prose(text) for where, text in PAGES.items()},
         **{f"--help {name}".rstrip(): help_text(name) for name in NAMES},
         "benchmarks/run.py": benchmark_text()}


# ---------------------------------------------------------------------- what the code says
def benchmark_default(function: str, parameter: str, module: str = "run.py") -> object:
    """A default of a benchmarks/ module, read from its source (importing run.py would edit sys.path): a function's
    parameter, run.py's option (function "argparse"), or a module constant (function "")."""
    tree = ast.parse((ROOT / "benchmarks" / module).read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == function:
            args = node.args.args[-len(node.args.defaults):]
            return next(ast.literal_eval(d) for a, d in zip(args, node.args.defaults, strict=True)
                        if a.arg == parameter)
        if (not function and isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Tuple | ast.Name)):
            names = [getattr(n, "id", "") for n in getattr(node.targets[0], "elts", [node.targets[0]])]
            if parameter in names:
                value = ast.literal_eval(node.value)
                return value[names.index(parameter)] if len(names) > 1 else value
        if (function == "argparse" and isinstance(node, ast.Call) and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == parameter):
            return next(ast.literal_eval(k.value) for k in node.keywords if k.arg == "default")
    raise LookupError(f"{function}: {parameter}")


def max_examples(test_file: str, test: str) -> int:
    """The hypothesis budget the @settings just above `def test` gives it."""
    source = (ROOT / test_file).read_text(encoding="utf-8")
    found = re.search(rf"max_examples=(\d+)[^\n]*\n(?:\s*@[^\n]*\n)*\s*def {test}\(", source)
    assert found, f"{test_file}: no max_examples for {test}"
    return int(found.group(1))


def alarm_period_minutes() -> int:
    """The period of the default table's throttle alarms, from the template synth writes."""
    template = json.loads(stacks_for(config())[-1].template_body)
    periods = {m.get("Period") or m.get("MetricStat", {}).get("Period")
               for name, r in template["Resources"].items() if name.startswith("Table") and name.endswith("Alarm")
               for m in [r["Properties"], *r["Properties"].get("Metrics", [])]} - {None}
    assert len(periods) == 1, periods
    return int(periods.pop()) // 60


def default_alarms() -> int:
    """The CloudWatch alarms of the default stack, from the template synth writes."""
    template = json.loads(stacks_for(config())[-1].template_body)
    return sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in template["Resources"].values())


def cleared_triggers() -> dict[str, object]:
    """What deploy sends to clear the rollback triggers a stack kept, with rollback_alarms off."""
    from builder.stack.deployed import DeployedStack
    from builder.stack.rollback import for_update

    stack = stacks_for(config())[-1]
    deployed = DeployedStack(stack.name, "arn:aws:cloudformation:us-east-1:123456789012:stack/app-pr1/1",
                             "UPDATE_COMPLETE", rollback_triggers=("arn:aws:cloudwatch:us-east-1:1:alarm:a",),
                             rollback_monitoring_minutes=10)
    found = for_update(lambda operation, **kwargs: {}, stack, deployed)
    assert found is not None and found.cleared
    configuration: dict[str, object] = found.argument()["RollbackConfiguration"]
    return configuration


def once_every(seconds: float) -> str:
    return "once a second" if seconds == 1 else f"once every {seconds:g} s"


WORDS = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine",
         10: "ten"}
CLEARED = cleared_triggers()
US = PRICES["us-east-1"]
ALARM_USD = US["cloudwatch.alarm_metric"].usd
DEFAULT_IDLE = estimate(config()).fixed_monthly_usd
PROD = estimate(config("dynamodb_billing_mode=PROVISIONED", "dynamodb_read_capacity=5", "dynamodb_write_capacity=5",
                       *REPLICATION_SETTINGS, "retain_data=true", "customer_managed_key=true"))
PROD_CAPACITY = sum(item.monthly_usd for item in PROD.fixed if "capacity" in item.row or "CUs x" in item.row)
RATE_DEFAULT = (f"start at {START_RATE:g} a second, halve on Throttling, grow back by {GROWTH * 60:g} a second each "
                f"minute")
SETTLES = benchmark_default("bench_polling", "settles")
_SIZES = [str(n) for n in benchmark_default("bench_poller_fleet", "sizes")]  # type: ignore[attr-defined]
POLL_SIZES = f"{', '.join(_SIZES[:-1])} and {_SIZES[-1]}"
PEER_FLEET = benchmark_default("", "FLEET", "peer.py")
WINDOW = inspect.signature(notes.busiest_window).parameters["width"].default
PEER_CONCURRENCY = benchmark_default("", "FLEET_CONCURRENCY", "peer.py")
REAP = {name: benchmark_default("bench_reap", name, "reap.py") for name in ("listed", "reaped", "concurrency")}
GRACE = float(re.search(r'BENCH_CLOCK_GRACE", "([\d.]+)"', (ROOT / "benchmarks" / "hooks" / "sitecustomize.py")
                        .read_text(encoding="utf-8")).group(1))  # type: ignore[union-attr]


def w9001_default() -> int:
    from builder.rules.ProvisionedCapacityAboveThreshold import ProvisionedCapacityAboveThreshold

    default: int = ProvisionedCapacityAboveThreshold().config_definition["max_capacity"]["default"]
    return default


def example_prod_capacity() -> int:
    """The capacity units the example config's prod gives its table (examples/environments.toml)."""
    import tomllib

    prod = tomllib.loads((ROOT / "examples" / "environments.toml").read_text(encoding="utf-8"))["environments"]["prod"]
    assert prod["dynamodb_read_capacity"] == prod["dynamodb_write_capacity"]
    capacity: int = prod["dynamodb_read_capacity"]
    return capacity


W9001_DEFAULT = w9001_default()
PROD_CAPACITY_UNITS = example_prod_capacity()
PLANTED = {letter: int(n) for letter, n in re.findall(r'"([xy])" \* (\d+)\)',
                                                     (ROOT / "tests" / "test_lint.py").read_text(encoding="utf-8"))}


FUZZ = "tests/cli/test_fuzz.py"


class Claim(NamedTuple):
    where: str  # a page (docs/aws.md), or "--help <command>"
    phrase: str  # as the prose reads, whitespace collapsed
    url: str = ""  # CITED: the address that must stand in the phrase's paragraph


TIED = [
    Claim("docs/commands/deploy.md", f"runs on time whatever else waits, within {STATUS_SHARE:.0%} of the"),
    Claim("CONTRIBUTING.md", f"(an alarm: {ALARM_USD:.2f} USD a month; a key: {KEY_MONTH_USD:g} USD)"),
    Claim("CONTRIBUTING.md", f"holds the default environment at {DEFAULT_IDLE:.2f} USD a month idle"),
    Claim("docs/commands/cost.md", f"The default environment costs {DEFAULT_IDLE:.2f} USD a month while idle"),
    Claim("docs/commands/cost.md", f"{ALARM_USD:.2f} USD a month for each operation added (with several, one "
                                   f"metric-math alarm sums them, at most {MAX_METRICS_PER_EXPRESSION})"),
    Claim("docs/commands/cost.md", f"costs {PROD.fixed_monthly_usd:.2f} USD a month while idle: {PROD_CAPACITY:.2f} "
                                   f"for the provisioned capacity"),
    Claim("docs/commands/cost.md", f"{KEY_MONTH_USD:.2f} for each of its two KMS keys"),
    Claim("docs/commands/cost.md", f"the same {DEFAULT_IDLE:.2f} of alarms"),
    Claim("docs/configuration.md", f"about {KEY_MONTH_USD:g} USD per key per month"),
    Claim("docs/configuration.md", f"{ALARM_USD:.2f} USD a month per operation watched"),
    Claim("docs/configuration.md", f"(units s, m, h, d; {MIN_SECONDS}s to {MAX_SECONDS // UNITS['d']}d)"),
    Claim("docs/configuration.md",
          f"read throttles {ALARM_BASES['ReadThrottleThreshold']:g} and write throttles "
          f"{ALARM_BASES['WriteThrottleThreshold']:g} events per {alarm_period_minutes()} minutes, system errors "
          f"{ALARM_BASES['SystemErrorThreshold']:g} per {alarm_period_minutes()} minutes"),
    Claim("docs/configuration.md", f"a number above 0 (at most {MAX_MULTIPLIER:g})"),
    Claim("docs/configuration.md", f"bucket size {BUCKET_ALARM_BASES['BucketSizeThreshold'] / 1024**3:g} GiB of "
                                   f"standard storage"),
    Claim("docs/configuration.md",
          f"S3 bucket names are {S3_BUCKET_NAME_MIN} to {S3_BUCKET_NAME_MAX} characters, so with `` in us-east-1 the "
          f"longest suffix is {max_suffix_length('app', ['us-east-1'])} "
          f"({max_suffix_length('app', ['us-east-1', 'us-west-2'])} with a replica in us-west-2)"),
    Claim("docs/commands/lint.md", f"a {PLANTED['x']}-character suffix (a bucket name over S3's {S3_BUCKET_NAME_MAX} "
                                   f"characters) and a {PLANTED['y']}-character one"),
    Claim("docs/commands/lint.md", f"with read or write capacity above `` (default {W9001_DEFAULT})"),
    Claim("docs/commands/lint.md", f"the example `` passes too ({PROD_CAPACITY_UNITS} is not above {W9001_DEFAULT})"),
    Claim("--help emulator", f"port on 127.0.0.1 (default: {DEFAULT_PORT})"),
    Claim("docs/configuration.md", f"each looks at {alarm_period_minutes()} minutes of data"),
    Claim("docs/configuration.md", f"within the {ROLLBACK_MONITORING_MINUTES.range.maximum:g} minutes "
                                   f"CloudFormation watches at most"),  # type: ignore[union-attr]
    Claim("docs/configuration.md", f"in logical-id order, at most {WORDS[MAX_TRIGGERS]} (CloudFormation's limit)"),
    Claim("docs/configuration.md", f"(an empty list and {CLEARED['MonitoringTimeInMinutes']} minutes)"
          if CLEARED["RollbackTriggers"] == [] else "triggers cleared: not an empty list"),
    Claim("docs/aws.md", f"and {WORDS[default_alarms()]} CloudWatch alarms (billed pro-rated by the hour)"),
    Claim("docs/commands/cost.md", f"its {WORDS[default_alarms()]} CloudWatch alarms, billed per metric"),
    Claim("docs/safety.md", f"stack's {default_alarms()} alarms"),
    Claim("docs/index.md", f"incomplete multipart uploads after {ABORT_MULTIPART_DAYS} days"),
    Claim("docs/commands/deploy.md",
          f"Polling starts at {STATUS_FIRST:g} s and backs off to {STATUS_CEILING:g} s ({STATUS_AFTER_PROGRESS:g} s "
          f"while events arrive); stack events are read at most {once_every(EVENTS_EVERY)}."),
    Claim("docs/commands/deploy.md",
          f"it starts at {START_RATE:g} calls a second, halves on a Throttling reply (at most {once_every(CUT_EVERY)}) "
          f"and grows back by {GROWTH * 60:g} a second each minute, up to {START_RATE:g}."),
    Claim("docs/commands/deploy.md", f"a read throttled {THROTTLED_TRIES} times in a row fails"),
    Claim("docs/commands/deploy.md", f"never below {RATE_FLOOR:g} (the slowest it takes: a call every "
                                     f"{1 / RATE_FLOOR:g} s)"),
    Claim("docs/commands/deploy.md", f"It lets out at most {BURST_SECONDS:g} s worth of calls at once (one call at "
                                     f"least)"),
    Claim("docs/commands/deploy.md", f"One stack alone is still read at least every {STATUS_CEILING:g} s"),
    Claim("docs/commands/deploy.md",
          f"sweep of {FLEET_FROM} stacks in flight or more at least every {FLEET_CEILING:g} s"),
    Claim("docs/commands/deploy.md", f"Templates over {TEMPLATE_BODY_LIMIT:,} bytes (CloudFormation's inline limit)"),
    Claim("docs/commands/diff.md", f"A block over {MARKDOWN_LIMIT:,} characters is cut at a stack boundary"),
    Claim("docs/commands/drift.md", f"at most `` seconds per stack (default {DEFAULT_TIMEOUT_S:g})"),
    Claim("docs/safety.md", f"holds {len(CASES)} bad inputs (the test fails if the catalogue drops below "
                            f"{DOCUMENTED_COUNT})"),
    Claim("docs/safety.md", f"feeds {max_examples(FUZZ, 'test_any_input_is_synthesized_or_rejected_cleanly')} "
                            f"arbitrary"),
    Claim("docs/safety.md", f"Up to {max_examples(FUZZ, 'synthesize')} more configurations"),
    Claim("docs/benchmarks.md", f"settles N = {', '.join(str(n) for n in SETTLES[:-1])}, {SETTLES[-1]} s after "
                                f"it starts"),
    Claim("docs/benchmarks.md", f"reads a second in every sliding {WINDOW:g} s window"),
    Claim("docs/benchmarks.md", f"one synth of {benchmark_default('bench_synth', 'many_suffixes')} suffixes against "
                                f"one suffix, and against {benchmark_default('bench_synth', 'many_suffixes')} synth "
                                f"processes of one"),
    Claim("docs/benchmarks.md", f"over the templates of {benchmark_default('bench_lint', 'count')} synthesized "
                                f"suffixes against `` as a user runs it on the same "
                                f"{benchmark_default('bench_lint', 'count')} files"),
    Claim("docs/benchmarks.md", f"of {benchmark_default('bench_fleet', 'size')} suffixes at `--concurrency "
                                f"{benchmark_default('bench_fleet', 'concurrency')}` against one"),
    Claim("docs/benchmarks.md", f"of {POLL_SIZES} suffixes at concurrency equal to the fleet at `--api-rate "
                                f"{benchmark_default('bench_poller_fleet', 'api_rate'):g}`, and of "
                                f"{benchmark_default('bench_poller_fleet', 'default_size')} at the default budget"),
    Claim("docs/benchmarks.md", f"over the same {REAP['listed']} stacks, and `reap --yes` of {REAP['reaped']} expired "
                                f"stacks beside `destroy --yes` of the same {REAP['reaped']}, at `--concurrency "
                                f"{REAP['concurrency']}`"),
    Claim("docs/benchmarks.md", f"against Sceptre {benchmark_default('', 'SCEPTRE_VERSION', 'peer.py')} on one "
                                f"LocalStack"),
    Claim("docs/benchmarks.md", f"create {PEER_FLEET} at concurrency {PEER_CONCURRENCY}, delete {PEER_FLEET};"),
    Claim("docs/benchmarks.md", f"begun or ended a sleep for {GRACE * 1000:g} ms of real time"),
    Claim("docs/benchmarks.md", f"(default {benchmark_default('argparse', '--runs')}) sets the rounds"),
    Claim("docs/benchmarks.md", f"(default {benchmark_default('argparse', '--long-runs')}) the rounds"),
    *(Claim(f"--help {name}", RATE_DEFAULT) for name in ("deploy", "diff", "destroy", "status", "reap", "drift")),
    *(Claim(f"--help {name}", f"CloudFormation's {TEMPLATE_BODY_LIMIT:,}-byte inline limit")
      for name in ("deploy", "diff")),
    Claim("--help diff", f"past {MARKDOWN_LIMIT:,} characters"),
]

CITED = [
    Claim("docs/configuration.md", "Deploy CloudFormation stacks faster with express mode",
          "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-express-mode.html"),
    Claim("docs/commands/deploy.md", "up to the last 35 days",
          "https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PointInTimeRecoveryDescription.html"),
    Claim("docs/commands/diff.md", "refuses a comment over 65,536",
          "https://docs.github.com/rest/issues/comments#create-an-issue-comment"),
    Claim("docs/commands/lint.md", "a table name over 255",
          "https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html"),
]

EXAMPLE = [
    Claim("--help reap", "such as 14d"),  # --older-than's help: the form a value takes
]


# ---------------------------------------------------------------------- the tests
def test_the_tied_values_are_what_the_code_says():
    """Each TIED sentence, rendered from the code's value, stands where it is said to."""
    missing = [claim for claim in TIED + EXAMPLE if claim.phrase not in TEXTS[claim.where]
               and claim.phrase not in " ".join(PAGES.get(claim.where, "").split())]  # a value in inline code
    assert not missing, "\n".join(f"{c.where}: no longer says {c.phrase!r} (the code's value, or the wording, changed)"
                                  for c in missing)


def test_every_citation_has_its_address_in_its_paragraph():
    for claim in CITED:
        paragraphs = [p for p in re.split(r"\n\s*\n", PAGES[claim.where]) if claim.phrase in prose(p)]
        assert paragraphs, f"{claim.where}: no longer says {claim.phrase!r}"
        assert claim.url in paragraphs[0], f"{claim.where}: {claim.phrase!r} cites no {claim.url}"


def accounted(where: str, text: str) -> list[tuple[int, int]]:
    spans = []
    for claim in TIED + CITED + EXAMPLE:
        if claim.where == where:
            spans += [(m.start(), m.end()) for m in re.finditer(re.escape(claim.phrase), text)]
    return spans


@pytest.mark.parametrize("where", sorted(TEXTS))
def test_every_quantity_is_accounted_for(where):
    text = TEXTS[where]
    spans = accounted(where, text)
    loose = [f"{where}: {m.group()!r} in '...{text[max(0, m.start() - 60):m.end() + 40]}...'"
             for m in QUANTITY.finditer(text) if not any(a <= m.start() and m.end() <= b for a, b in spans)]
    assert not loose, (
        "a number no run, code value or citation backs (tie it to the code in tests/test_claims.py TIED, cite its "
        "page in CITED, point to the benchmark that measures it, or say it without a number):\n" + "\n".join(loose))


def test_the_scan_sees_a_typed_measurement():
    """The guard itself: a sentence of the kind that used to be typed in is caught, a tied one is not."""
    for sentence in ("the first start installs it, about 1.5 minutes", "deploys 3 times faster than the AWS CLI",
                     "a run costs a few cents", "a 300 s settle costs a second of real time", "~1.5 min once",
                     "idles at 0.40 USD a month", "at most 2 API calls", "A five-minute tour"):
        assert QUANTITY.search(prose(sentence)), sentence
    for sentence in ("Python 3.12 or newer", "us-east-1", "CKV_AWS_18", "exit 3", "`--older-than 1s`"):
        assert not QUANTITY.search(prose(sentence)), sentence


def option_defaults() -> list[tuple[str, argparse.Action]]:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))  # no public walk
    return [(name, action) for name, sub in subparsers.choices.items() for action in sub._actions
            if action.help and "(default: " in action.help]


@pytest.mark.parametrize(("name", "action"), option_defaults(), ids=lambda x: x if isinstance(x, str) else x.dest)
def test_a_number_an_options_help_calls_its_default_is_its_default(name, action):
    said = re.search(r"\(default: ([\d.]+)\)", action.help or "")
    if said is None or action.default is None:  # a default in words (no cap, out, text, ...), or one resolved at
        return  # run time (emulator --port: TIED holds it to DEFAULT_PORT)
    assert float(said.group(1)) == float(action.default), f"{name} {action.option_strings}: {action.help}"
