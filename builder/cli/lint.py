"""`lint`: cfn-lint templates, informational findings and the package's cost rules included."""

from __future__ import annotations

import argparse
import sys

from builder.cli.common import Subparsers, add_command
from builder.errors import EXIT_FAILED, EXIT_OK

DESCRIPTION = """\
Run cfn-lint (its Python API) on templates, informational findings included, plus the package's cost
rules (W9xxx); exit 0 only when there are none. Templates that differ only in their suffix and
parameter defaults are linted once.

examples:
  python -m builder lint
  python -m builder lint out/app-pr123.template.json"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "lint", "cfn-lint templates; fails on any finding, informational included",
                         DESCRIPTION)
    parser.add_argument("paths", nargs="*", metavar="PATH", help="templates or folders (default: out)")
    parser.add_argument("--region", action="append", metavar="R", dest="regions",
                        help="regions to check resource availability in; repeatable (default: us-east-1)")
    parser.add_argument("--no-cache", action="store_true",
                        help="run cfn-lint on every file, not once per distinct template structure")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks for errors")
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.lint import lint_templates, templates_in

    files = templates_in(args.paths, "out")
    result = lint_templates(files, args.regions or ["us-east-1"], cache=not args.no_cache)
    for finding in result.findings:
        print(finding + "\n")
    if result.findings:
        print(f"{len(result.findings)} finding(s) in {len(files)} template(s)", file=sys.stderr)
        return EXIT_FAILED
    print(f"{len(files)} template(s) linted ({result.runs} distinct structure(s)): no findings")
    return EXIT_OK
