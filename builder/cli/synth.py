"""`synth`: write templates, parameters and tags to out/ and print the deploy command of each stack."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from builder.cli.common import Subparsers, add_command, configs_from_args, folder, region_note, say_config
from builder.errors import EXIT_OK

DESCRIPTION = """\
Write <stack>.template.json, .parameters.json, .tags.json and .policy.json (the stack policy) for each
suffix (and its replica stack when replication is on), then print the aws cloudformation deploy
command for each, and the set-stack-policy command that protects its data. Needs no credentials and
no network. The stack's template in the other format (.template.yaml after --format json, and the
other way round) is removed: lint would read both.

example:
  python -m builder synth --suffix pr123 --suffix pr124 --out out"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "synth", "write templates, parameters and tags to out/", DESCRIPTION, [common])
    parser.add_argument("--out", default="out", metavar="DIR", type=folder, help="output folder (default: out)")
    parser.add_argument("--format", choices=("json", "yaml"), default="json", help="template format (default: json)")
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.synth import (
        all_stacks,
        deploy_command,
        file_contents,
        remove_other_formats,
        set_policy_command,
        write_files_reporting,
    )

    configs = configs_from_args(args, say=False)
    stacks = all_stacks(configs, args.format)
    contents: dict[str, str] = {}
    for stack in stacks:
        contents.update(file_contents(stack))
    # every file written and every stale one removed before the first line: a reader that leaves early
    # (`synth | head -1`) must not leave a template in both formats behind
    written = write_files_reporting(contents, Path(args.out))
    removed = remove_other_formats(stacks, Path(args.out))
    for path, changed in written:
        print(f"{'wrote' if changed else 'unchanged'} {path}")
    for path in removed:
        print(f"removed {path} (the same stack's template in the other format)")
    # on stderr, after the files are written (an error stays one line): stdout stays the files and the commands
    say_config(args, configs)
    note = region_note(args)
    if note:
        print(note, file=sys.stderr)
    print("\ndeploy with:")
    for stack in stacks:
        print(f"  {deploy_command(stack, args.out)}")
    print("\nthen protect the data (CloudFormation refuses to replace or delete it, for every client):")
    for stack in stacks:
        print(f"  {set_policy_command(stack, args.out)}")
    return EXIT_OK
