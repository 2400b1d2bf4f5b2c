"""What several commands share: the parser class, the environment options, --output, the pool
options (--concurrency, --no-wait-for-others, --api-rate), the configs and stacks the options name, and
the confirmation prompt. Each command builds its own options (a dataclass of its ops module) from them."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence, Sized
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from builder.errors import UsageError

if TYPE_CHECKING:
    from builder.environment import EnvironmentConfig, RegionCheck
    from builder.ops.ledger import LeftBehind
    from builder.ops.pool import Outcome
    from builder.ops.shard import Shard
    from builder.report import Reporter
    from builder.synth import Stack

Subparsers = Any  # argparse's _SubParsersAction, which it does not export

# Where the region comes from without --region: builder.environment.resolve_region's order
REGION_CHAIN = ("$AWS_REGION, else $AWS_DEFAULT_REGION, else the AWS_REGION file, else the AWS profile's region, "
                "else us-east-1")


class Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting, so errors stay one line."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(self.prog, f"{message}; see `{self.prog} --help`")


def folder(text: str) -> str:
    """--out's value: an empty one (an unset variable, `--out "$OUT"`) would write into the working folder."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a folder, such as out")
    return text


def config_file(text: str) -> str:
    """--config's value: an empty one (`--config "$CONFIG"`, unset) said 'error: : is a folder'."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a TOML file, such as environments.toml")
    return text


class Once(argparse.Action):
    """An option that takes one value: given twice, it is an error, not the last one winning silently."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        earlier = getattr(namespace, self.dest, None)
        if earlier is not None:
            raise argparse.ArgumentError(self, f"given twice ({earlier!r}, then {values!r}); give it once")
        setattr(namespace, self.dest, values)


def common_options() -> argparse.ArgumentParser:
    """--suffix, --config, --set, --region and --debug, shared by every environment command."""
    common = Parser(add_help=False)
    group = common.add_argument_group("environment options")
    group.add_argument("--suffix", action="append", metavar="S",
                       help="environment suffix; repeat for several (default: $ENVIRONMENT_SUFFIX, else dev)")
    group.add_argument("--config", metavar="PATH", action=Once, type=config_file,
                       help="config file (default: environments.toml in the working directory, if present)")
    group.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="sets",
                       help="override a setting, highest precedence; tags: --set tags.Team=data")
    group.add_argument("--region", metavar="R", action=Once, help=f"stack region (default: {REGION_CHAIN})")
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show tracebacks for errors")
    return common


def docs_page(command: str) -> str:
    """The documentation page of a command, which its --help ends with (docs/ is the site's source)."""
    return f"docs/commands/{command}.md"


def add_command(subparsers: Subparsers, name: str, help_text: str, description: str,
                parents: Sequence[argparse.ArgumentParser] = ()) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, parents=list(parents), help=help_text, description=description, epilog=f"docs: {docs_page(name)}",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    return parser


def add_output_option(parser: argparse.ArgumentParser, help_text: str = "text (a live line on a terminal, a line "
                      "per event otherwise) or json: one object per line (default: text)",
                      choices: Sequence[str] = ("text", "json")) -> None:
    """--output text|json (and a command's own formats): the one spelling every command uses."""
    parser.add_argument("--output", choices=tuple(choices), default="text", help=help_text)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number >= 1 (got {text!r})")
    return value


def positive_number(what: str, least: float = 0.0) -> Callable[[str], float]:
    """An argparse type: a finite number above 0 (and at least `least`); `what` completes "must be a number
    of ..."."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = 0.0
        if not (0 < value < float("inf") and value >= least):
            raise argparse.ArgumentTypeError(f"must be a number of {what} (got {text!r})")
        return value

    return parse


def calls_per_second(text: str) -> float:
    """--api-rate: at least the budget's RATE_FLOOR (a slower budget would wait hours between calls: `--api-rate
    1e-300` would never finish). Imported here: the budget's module loads botocore, which synth never does."""
    from builder.stack.poller import RATE_FLOOR

    return positive_number(f"calls a second of at least {RATE_FLOOR:g}, such as 2 or 0.5", RATE_FLOOR)(text)


def usd(text: str) -> float:
    """A non-negative amount of US dollars, as a cost gate takes it."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be an amount of USD >= 0, such as 5 or 2.50 (got {text!r})")
    return value + 0.0  # -0 is 0: its gate said "over -0.00"


def add_pool_options(parser: argparse.ArgumentParser) -> None:
    """Options of every command that changes stacks (or plans to): a pool, and waiting for others."""
    parser.add_argument("--concurrency", type=positive_int, default=4, metavar="N",
                        help="environments handled at once (default: 4)")
    parser.add_argument("--no-wait-for-others", dest="wait_for_others", action="store_false",
                        help="fail instead of waiting when another operation runs on a stack")
    add_api_rate_option(parser)


def add_api_rate_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--api-rate", type=calls_per_second, default=None, metavar="N",
                        help="a hard cap on CloudFormation calls a second, per region, for every call of the "
                             "run together (waits, listing, pricing, change sets, deletes); builder never goes "
                             "above N and halves its rate on each Throttling reply (default: no cap; start "
                             "at 20 a second, halve on Throttling, grow back by 1 a second each minute)")


def add_artifact_bucket_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--artifact-bucket", metavar="BUCKET",
                        help="S3 bucket for templates over CloudFormation's 51,200-byte inline limit")


def shard_arg(text: str) -> Shard:
    from builder.ops.shard import parse_shard  # hashlib: only when --shard is given, never in synth's start-up

    try:
        return parse_shard(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_shard_option(parser: argparse.ArgumentParser) -> None:
    """--shard K/N: this CI job's share of the selected suffixes (see builder.ops.shard)."""
    parser.add_argument("--shard", type=shard_arg, metavar="K/N",
                        help="only the suffixes shard K of N owns, by a hash of the suffix: N CI jobs given the "
                             "same suffixes, in any order, handle each exactly once")


def config_note(config_path: str | None, config_file: str | None) -> str:
    """Which config file a command read, or that it read none: the one line every command that reads config
    prints on stderr (`config /work/app/environments.toml (from --config)`)."""
    from builder.config_file import DEFAULT_CONFIG_FILE

    if config_file is None:
        return f"config none: built-in defaults (no --config, no {DEFAULT_CONFIG_FILE} in {Path.cwd()})"
    source = "--config" if config_path is not None else "the working folder"
    return f"config {os.path.abspath(config_file)} (from {source})"


def say_config(args: argparse.Namespace, configs: Sequence[EnvironmentConfig]) -> None:
    """Print config_note on stderr (stdout stays the command's output, JSON included)."""
    print(config_note(args.config, configs[0].config_file if configs else None), file=sys.stderr)


def configs_from_args(args: argparse.Namespace, region_check: RegionCheck | None = None, *,
                      say: bool = True) -> list[EnvironmentConfig]:
    """The validated configs named by the common environment options (the families' settings included),
    only those of this shard with --shard. Says which config file was read (say_config) unless `say` is
    False: then the command says it itself, later."""
    from builder.environment import resolve_configs
    from builder.resources import schema

    configs = resolve_configs(suffixes=args.suffix, config_path=args.config, sets=args.sets, region=args.region,
                              schema=schema(), region_check=region_check)
    if say:
        say_config(args, configs)
    shard: Shard | None = getattr(args, "shard", None)
    if shard is None:
        return configs
    return [config for config in configs if shard.owns(config.suffix)]


def aws_configs_from_args(args: argparse.Namespace, *, say: bool = True) -> list[EnvironmentConfig]:
    """configs_from_args for a command that talks to AWS: its regions must also be ones botocore knows
    (exit 2 naming the closest one). Synth keeps the pattern check, and stays free of boto3."""
    from builder.stack.client import unknown_region_problem

    return configs_from_args(args, region_check=unknown_region_problem, say=say)


def regions_to_search(args: argparse.Namespace, configs: Sequence[EnvironmentConfig]) -> list[str]:
    """Where stacks of this config can live (status --all): the resolved region and replication regions,
    and every replication_region any table of the config file names, whichever suffix it is for."""
    from builder.environment import regions_named
    from builder.families.replication import REPLICATION_REGION
    from builder.resources import schema
    from builder.stack.client import unknown_region_problem

    named = regions_named(config_path=args.config, schema=schema(), region_check=unknown_region_problem)
    replicas = [c.value(REPLICATION_REGION) for c in configs]
    resolved = [c.region for c in configs] + [region for region in replicas if region]
    return list(dict.fromkeys([*resolved, *named]))


def region_note(args: argparse.Namespace) -> str | None:
    """Which source chose the region, when --region did not (synth prints it on stderr)."""
    if args.region is not None:
        return None
    from builder.region_chain import resolve_region

    return resolve_region(None, os.environ, Path.cwd()).note


def stack_groups(args: argparse.Namespace, reverse: bool = False) -> list[list[Stack]]:
    """Each environment's stacks in deploy order (replica first), or reversed for destroy."""
    from builder.synth import stacks_for

    groups = [stacks_for(config) for config in aws_configs_from_args(args)]
    return [group[::-1] for group in groups] if reverse else groups


def reporter_for(args: argparse.Namespace, groups: Sequence[Sized]) -> Reporter:
    from builder.cli.views import views
    from builder.report import Reporter

    return Reporter(mode=args.output, prefix=sum(len(g) for g in groups) > 1, views=views())


def finish(outcomes: Sequence[Outcome], reporter: Reporter, command: str, summary: bool) -> None:
    """Report the summary (several stacks; always in JSON mode) and raise when any stack failed."""
    from builder.cli.views.outcome import outcome_text
    from builder.ops.pool import raise_failures
    from builder.report import grid

    if summary:
        rows = [(o.stack, o.region, outcome_text(o), f"{o.seconds:.1f} s") for o in outcomes]
        reporter.lines(["", "summary:", *grid(rows, ("Stack", "Region", "Result", "Time"))])
    errors = [o.error for o in outcomes if o.error is not None]
    reporter.record("summary", command=command, stacks=[
        {"stack": o.stack, "region": o.region, "result": outcome_text(o), "seconds": round(o.seconds, 2),
         "changes": o.changes, "outputs": o.outputs, "error": o.error.message if o.error else None}
        for o in outcomes], exit_code=max((e.exit_code for e in errors), default=0))
    raise_failures(outcomes, command)


def nothing_in_shard(args: argparse.Namespace, groups: Sequence[object]) -> bool:
    """With --shard and no suffix (groups or configs) in this shard: say so in one line and return True
    (the command exits 0)."""
    if groups or getattr(args, "shard", None) is None:
        return False
    reporter_for(args, []).line(f"shard {args.shard}: none of the selected suffixes is in this shard; "
                                    f"nothing to do")
    return True


def confirm(question: str, refusal: UsageError) -> bool:
    """Ask on the terminal; without one, raise `refusal` (it says which flag answers instead). No answer
    (Ctrl-D, the end of input) is a no."""
    if not sys.stdin.isatty():
        raise refusal
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        print()  # the prompt's line ends here, not in the next line's middle
        return False
    return answer.strip().lower() in ("y", "yes")


def ledger_printer(reporter: Reporter) -> Callable[[str, str, tuple[LeftBehind, ...]], None]:
    """Print each stack's ledger as lines (text) and one `ledger` record (JSON)."""

    from builder.cli.views.destroy import ledger_lines, ledger_resource

    def show(stack: str, region: str, stays: tuple[LeftBehind, ...]) -> None:
        reporter.lines(ledger_lines(stack, region, stays), stack)
        reporter.record("ledger", stack=stack, region=region, resources=[ledger_resource(i) for i in stays])

    return show
