"""`emulator`: the local AWS emulator the tests use (LocalStack on 127.0.0.1), one command away."""

from __future__ import annotations

import argparse
from pathlib import Path

from builder.cli.common import Subparsers, add_command
from builder.errors import EXIT_OK

DESCRIPTION = """\
Run LocalStack on 127.0.0.1 exactly as the test suite does (its DynamoDB provider plugin and gateway
settings included), installing it into its own venv first if needed (once; needs a Python
3.12 or newer on the machine). Prints the `export AWS_ENDPOINT_URL=... AWS_ACCESS_KEY_ID=test ...`
lines on stdout; everything else on stderr. Stays in the foreground until Ctrl-C, or with --background
returns and leaves it running until --stop. Nothing leaves the machine; nothing needs an AWS account.

With --env-file FILE the export lines also go to FILE, written only once the emulator is ready, in one
rename: a failed start leaves FILE as it was (`> FILE` in the shell would empty it first).

examples:
  python -m builder emulator                                   # foreground; Ctrl-C stops it
  python -m builder emulator --background --env-file emulator.env && . ./emulator.env
  python -m builder deploy --suffix pr123
  python -m builder emulator --stop"""


# builder.emulator is a 50 ms import (subprocess, urllib, ctypes): only `run` loads it, so the help shows its
# defaults as text; tests/cli/test_emulator_cli.py holds these equal to builder.emulator's.
PORT_HELP = "port on 127.0.0.1 (default: 4566)"
PIDFILE_HELP = "where --background records the emulator (default: ~/.cache/builder/emulator.pid)"


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "emulator", "run the local AWS emulator (LocalStack) the tests use",
                         DESCRIPTION)
    parser.add_argument("--port", type=int, help=PORT_HELP)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--background", action="store_true", help="start, print the export lines, and return")
    action.add_argument("--stop", action="store_true", help="stop the emulator started with --background")
    action.add_argument("--install", action="store_true", help="only install (or check) the emulator's venv")
    parser.add_argument("--pidfile", type=Path, help=PIDFILE_HELP)
    parser.add_argument("--env-file", type=Path, metavar="FILE",
                        help="also write the export lines to FILE, once the emulator is ready (a failed start "
                             "leaves FILE as it was)")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.emulator import DEFAULT_PIDFILE, DEFAULT_PORT
    from builder.emulator import run as run_emulator

    run_emulator(args.port or DEFAULT_PORT, args.pidfile or DEFAULT_PIDFILE, background=args.background,
                 stop_it=args.stop, install_only=args.install, env_file=args.env_file)
    return EXIT_OK
