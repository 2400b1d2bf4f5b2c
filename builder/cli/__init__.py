"""The command line: the parser, the list of commands, and the one place that turns errors into exit
codes and one-line messages.

Exit codes (builder/errors.py): 0 success (including nothing to change), 1 an operation failed, 2 bad
input or usage (a Python without builder's dependencies too), 3 refused because it would destroy data,
4 drifted (`drift --exit-code`), 5 deploy refused over drift (check_drift), 6 over a cost gate, 130
interrupted (Ctrl-C), 141 the reader of our output left.

Each module in this package but `common` is one subcommand: `add_parser(commands, common)` adds its
parser and `run(args) -> int` does it; views/ (how results are shown) is a folder, not a command.
Command modules import neither boto3 nor cfn-lint at import time (they import builder.ops or
builder.lint when they run), so `synth` stays free of both.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import NoReturn

from builder import __version__
from builder.cli.common import Parser, common_options
from builder.errors import EXIT_BAD_INPUT, EXIT_BROKEN_PIPE, EXIT_FAILED, EXIT_INTERRUPTED, BuilderError

PROG = "python -m builder"

DESCRIPTION = """\
Build one CloudFormation stack per environment suffix (pr123, synth-12345, staging, prod, ...):
an S3 data bucket, a DynamoDB table, an SNS alert topic and CloudWatch alarms.

examples:
  python -m builder synth --suffix pr123            # writes out/app-pr123.*
  python -m builder lint                            # cfn-lint every template in out/
  python -m builder synth --suffix prod --config environments.toml --set bucket_lifecycle_days=90
"""

EPILOG = "docs: docs/index.md (a page per command: docs/commands/)"


def commands() -> list[ModuleType]:
    """Every subcommand module of this package, by name: a new command is a new file here (in any folder
    of the package's __path__, so a test can plug one in at run time without writing into builder/).

    Listed with os.scandir rather than pkgutil, whose import (importlib.util) synth's start-up would pay.
    """
    names = sorted({entry.name[:-3] for folder in __path__ for entry in os.scandir(folder)
                    if entry.name.endswith(".py") and entry.name not in ("__init__.py", "common.py")})
    return [importlib.import_module(f"{__name__}.{name}") for name in names]


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    parser = Parser(prog=prog, description=DESCRIPTION, epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    common = common_options()
    for module in commands():
        module.add_parser(subparsers, common).set_defaults(run=module.run)
    return parser


def main(argv: Sequence[str] | None = None, prog: str = PROG) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(argv, prog)
    except BrokenPipeError:  # `python -m builder status | head`: the reader left; stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except (Exception, KeyboardInterrupt) as exc:  # the boundary: never a traceback without --debug
        if "--debug" in argv:
            raise
        return _report(exc, argv)


def _run(argv: list[str], prog: str) -> int:
    parser = build_parser(prog)
    _options_before_the_command(parser, argv)
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help and --version print, then exit 0
        return int(exc.code or 0)
    if extra:  # named by the command they were given to, whose --help lists what it takes
        _command_parser(parser, args.command).error(f"unrecognized arguments: {' '.join(extra)}")
    if not args.command:  # a usage error like any other: one line on stderr, not the help on stdout
        names = ", ".join(sorted(_command_names(parser)))
        parser.error(f"a command is missing: one of {names}")
    code: int = args.run(args)
    return code


TOP_LEVEL = ("-h", "--help", "--version", "--debug")  # the only options that go before the command


def _options_before_the_command(parser: argparse.ArgumentParser, argv: list[str]) -> None:
    """`python -m builder --suffix pr1 synth`: argparse would call pr1 an invalid command; say where the
    option goes instead."""
    first = next((word for word in argv if word not in TOP_LEVEL), "")
    if first.startswith("-"):
        command = next((i for i, word in enumerate(argv) if word in _command_names(parser)), None)
        if command:
            before = [word for word in argv[:command] if word not in TOP_LEVEL]
            parser.error(f"{before[0]} goes after the command: {parser.prog} {argv[command]} {' '.join(before)}")


def _command_names(parser: argparse.ArgumentParser) -> list[str]:
    return [name for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for name in action.choices]


def _command_parser(parser: argparse.ArgumentParser, command: str | None) -> argparse.ArgumentParser:
    """The subcommand's own parser (the top one without a command)."""
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction) and command in action.choices:
            chosen: argparse.ArgumentParser = action.choices[command]
            return chosen
    return parser


def _report(exc: BaseException, argv: Sequence[str]) -> int:
    """The error's lines on stderr; its exit code."""
    if isinstance(exc, BuilderError):
        for line in exc.lines():
            print(line, file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        print("error: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    if isinstance(exc, ModuleNotFoundError) and exc.name and exc.name.split(".")[0] != "builder":
        print(missing_dependency(exc.name, argv), file=sys.stderr)  # run outside the venv
        return EXIT_BAD_INPUT
    print(f"error: {type(exc).__name__}: {exc} (rerun with --debug for a traceback)", file=sys.stderr)
    return EXIT_FAILED


CHECKOUT = Path(__file__).resolve().parents[2]  # where builder runs from: a checkout (or site-packages)


def missing_dependency(module: str, argv: Sequence[str], root: Path = CHECKOUT) -> str:
    """One line for a dependency this Python lacks (builder run outside its venv): which Python, and the
    commands that run builder where its dependencies are. `root`: the checkout builder runs from."""
    venv = root / ".venv"

    def shown(path: Path) -> str:  # relative to the working directory when that is the checkout
        return str(path.relative_to(root)) if root == Path.cwd() else str(path)

    if (venv / "bin" / "python").is_file() and Path(sys.prefix).resolve() != venv.resolve():
        command = next((arg for arg in argv if not arg.startswith("-")), "")
        fix = (f"run it with the project's venv: {shown(venv)}/bin/python -m builder {command}".rstrip()
               + f" (or activate the venv first: . {shown(venv)}/bin/activate)")
    else:
        fix = (f"install builder with its dependencies: pip install -e {shown(root)} (or into a venv of its own: "
               f"python3 -m venv {shown(venv)} && {shown(venv)}/bin/pip install -e {shown(root)})")
    return (f"error: {module.split('.')[0]}: not installed in this Python ({sys.executable}, "
            f"{sys.version.split()[0]}); {fix}")


def main_entry() -> None:
    """Console script `builder`: usage errors name it as it was called."""
    exit_now(main(prog=os.path.basename(sys.argv[0]) or "builder"))


def exit_now(code: int) -> NoReturn:
    """End the process with `code` once the run is over, without the interpreter's teardown: freeing every
    object of boto3's, botocore's and troposphere's modules one by one took about 90 ms after a one-stack
    destroy's last call (of about 1 s in all), measured against LocalStack. Nothing is cut short: every file
    builder writes is closed by then, the exit handlers of libraries and of the interpreter's site (coverage,
    a profiler) run as at a normal exit, and stdout and stderr are flushed after them. While a thread other
    than this one still runs, it exits the normal way, which waits for it."""
    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # the reader left, or the stream is closed: nothing more can reach it
            pass
    os._exit(code)
