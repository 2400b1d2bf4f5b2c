"""`graph`: a picture of each environment's stacks, as mermaid (GitHub renders it) or Graphviz DOT.

Needs no credentials and no network: it draws the templates synth would write.
"""

from __future__ import annotations

import argparse
import json

from builder.cli.common import Subparsers, add_command, configs_from_args
from builder.errors import EXIT_OK

DESCRIPTION = """\
Draw the stacks of the suffixes in one picture: resources as boxes grouped by stack and family
(labelled with logical id and type), an arrow for each Ref, Fn::GetAtt, Fn::Sub reference and
DependsOn, a resource under a Condition dashed with the condition named. The replica stack, when
replication is on, is its own box. Deterministic: the same config gives the same bytes. Needs no
credentials and no network.

examples:
  python -m builder graph --suffix pr123                     # mermaid, for a README or a PR comment
  python -m builder graph --suffix prod --config examples/environments.toml
  python -m builder graph --suffix pr123 --output dot | dot -Tsvg > stack.svg
"""


def add_parser(subparsers: Subparsers, common: argparse.ArgumentParser) -> argparse.ArgumentParser:
    parser = add_command(subparsers, "graph", "draw the stacks of a suffix (mermaid or DOT)", DESCRIPTION, [common])
    parser.add_argument("--output", choices=("mermaid", "dot"), default="mermaid",
                        help="mermaid (default) or dot (Graphviz)")
    return parser


def run(args: argparse.Namespace) -> int:
    from builder.graph import build_graph, to_dot, to_mermaid
    from builder.resources import inventory
    from builder.synth import stacks_for

    render = to_dot if args.output == "dot" else to_mermaid
    stacks = [stack for config in configs_from_args(args) for stack in stacks_for(config)]
    graph = build_graph({stack.name: json.loads(stack.template_body) for stack in stacks},
                        {stack.name: stack.resource_families for stack in stacks}, inventory().drawing_order)
    print(render(graph), end="")
    return EXIT_OK
