"""A picture of the stacks: resources as boxes grouped by family, references as arrows.

Pure: takes template dicts (as synth renders them, or as GetTemplate returns them parsed), returns
text. Imports neither boto3 nor cfn-lint, reads no file.

What is drawn:
- every resource of every stack, labelled with its logical id and type, inside a box for its stack
  and, within that, a box for the family that added it (as recorded when the template was composed:
  builder.synth.Stack.resource_families; a resource nobody recorded is in OTHER);
- an arrow from a resource to each resource it refers to (Ref, Fn::GetAtt, Fn::Sub in its `${Name}`,
  `${Name.Attr}` and variable-map forms) or names in DependsOn: "A -> B" reads "A uses B";
- a resource with a Condition drawn dashed, its label naming the condition.

Parameters, pseudo parameters (AWS::Region ...), conditions and outputs are not boxes: every resource
reads a few parameters, and a dozen more boxes with lines to most resources would hide the structure
the picture is for (the parameter values belong in the diff). References between stacks travel by name,
not by Ref, so no arrow crosses from one stack's box to another's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

REF = "Ref"
GET_ATT = "GetAtt"
SUB = "Sub"
DEPENDS_ON = "DependsOn"
_REFERENCE_KINDS = (REF, GET_ATT, SUB)


OTHER = "other"  # the box of resources no family is recorded for; written last


@dataclass(frozen=True)
class Node:
    """One resource. id is unique in the graph and safe unquoted in mermaid and DOT."""

    id: str
    stack: str
    logical_id: str
    type: str
    family: str
    condition: str | None


@dataclass(frozen=True)
class Edge:
    """source refers to target; kinds is the sorted set of ways it does (REF, GET_ATT, SUB, DEPENDS_ON)."""

    source: str
    target: str
    kinds: tuple[str, ...]

    @property
    def depends_on_only(self) -> bool:
        return self.kinds == (DEPENDS_ON,)


@dataclass(frozen=True)
class Graph:
    """Stacks sorted by name; nodes by stack, family order, logical id; edges by source, target.
    `families` are the family boxes in the order they are written."""

    stacks: tuple[str, ...]
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    families: tuple[str, ...] = (OTHER,)

    def nodes_in(self, stack: str, family: str) -> tuple[Node, ...]:
        return tuple(node for node in self.nodes if node.stack == stack and node.family == family)


# `${Name}` or `${Name.Attr}`; `${!Literal}` is an escaped literal, not a reference
_SUB_VARIABLE = re.compile(r"\$\{(?!!)([^}]*)\}")


def _sub_names(text: object) -> Iterator[str]:
    if isinstance(text, str):
        for variable in _SUB_VARIABLE.findall(text):
            yield variable.strip().split(".", 1)[0]


def references(value: object) -> Iterator[tuple[str, str]]:
    """Every (kind, name) a template value refers to by Ref, Fn::GetAtt or Fn::Sub, at any depth.

    Names are whatever the template names (resources, parameters, pseudo parameters); an intrinsic
    function is a mapping of exactly one key, as CloudFormation reads it.
    """
    if isinstance(value, list):
        for item in value:
            yield from references(item)
        return
    if not isinstance(value, Mapping):
        return
    if len(value) == 1:
        (key, argument), = value.items()
        found = _intrinsic_references(key, argument)
        if found is not None:
            yield from found
            return
    for item in value.values():
        yield from references(item)


def _intrinsic_references(key: str, argument: object) -> list[tuple[str, str]] | None:
    """What the intrinsic function `key` refers to; None when it is no Ref, Fn::GetAtt or Fn::Sub of a
    shape CloudFormation reads (the mapping is then searched as plain data)."""
    if key == "Ref" and isinstance(argument, str):
        return [(REF, argument)]
    if key == "Fn::GetAtt":
        return _get_att_references(argument)
    if key == "Fn::Sub":
        return _sub_references(argument)
    return None


def _get_att_references(argument: object) -> list[tuple[str, str]] | None:
    if isinstance(argument, str):
        return [(GET_ATT, argument.split(".", 1)[0])]
    if isinstance(argument, list) and argument and isinstance(argument[0], str):
        return [(GET_ATT, argument[0]), *references(argument[1:])]
    return None


def _sub_references(argument: object) -> list[tuple[str, str]] | None:
    if isinstance(argument, str):
        return [(SUB, name) for name in _sub_names(argument)]
    if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], Mapping):
        text, variables = argument
        return [*((SUB, name) for name in _sub_names(text) if name not in variables),
                *references(list(variables.values()))]
    return None


def _depends_on(resource: Mapping[str, Any]) -> list[str]:
    names = resource.get("DependsOn", [])
    names = [names] if isinstance(names, str) else names
    return [name for name in names if isinstance(name, str)] if isinstance(names, list) else []


def _node_id(stack_index: int, logical_id: str) -> str:
    # Logical ids are alphanumeric, so "s<index>_<id>" is unique and needs no quoting anywhere.
    return f"s{stack_index}_{logical_id}"


def build_graph(templates: Mapping[str, Mapping[str, Any]],
                families: Mapping[str, Mapping[str, str]] | None = None, order: Sequence[str] = ()) -> Graph:
    """The graph of stacks given as {stack name: template dict}, e.g. the primary and the replica.

    `families` is {stack name: {logical id: family}} (who added each resource); `order` the families in
    the order their boxes are written (a family not in it after them, by name; OTHER last)."""
    stacks = tuple(sorted(templates))
    families = families or {}
    named = {family for stack in stacks for family in families.get(stack, {}).values()}
    boxes = tuple(dict.fromkeys([*order, *sorted(named - set(order) - {OTHER}), OTHER]))
    family_order = {family: index for index, family in enumerate(boxes)}
    nodes: list[Node] = []
    edges: list[Edge] = []
    for stack_index, stack in enumerate(stacks):
        resources = templates[stack].get("Resources", {})
        family_of = families.get(stack, {})
        for logical_id, resource in resources.items():
            resource_type = str(resource.get("Type", ""))
            condition = resource.get("Condition")
            nodes.append(Node(_node_id(stack_index, logical_id), stack, logical_id, resource_type,
                              family_of.get(logical_id, OTHER),
                              condition if isinstance(condition, str) else None))
            kinds: dict[str, set[str]] = {}
            for kind, name in references(resource):
                kinds.setdefault(name, set()).add(kind)
            for name in _depends_on(resource):
                kinds.setdefault(name, set()).add(DEPENDS_ON)
            edges += [Edge(_node_id(stack_index, logical_id), _node_id(stack_index, target), tuple(sorted(ways)))
                      for target, ways in kinds.items() if target in resources]
    nodes.sort(key=lambda node: (node.stack, family_order[node.family], node.logical_id))
    edges.sort(key=lambda edge: (edge.source, edge.target))
    return Graph(stacks, tuple(nodes), tuple(edges), boxes)


_PLAIN_NAME = re.compile(r"[A-Za-z0-9_]+")


def _box_id(stack_index: int, family_index: int, family: str) -> str:
    """`s<stack>__<family>`: a family's name as it is when it is safe unquoted in mermaid and DOT (every
    family of builder's is), else its position."""
    return f"s{stack_index}__{family if _PLAIN_NAME.fullmatch(family) else family_index}"


def _label_lines(node: Node) -> list[str]:
    lines = [node.logical_id, node.type]
    if node.condition is not None:
        lines.append(f"condition: {node.condition}")
    return lines


# Mermaid reads `#name;` and `#123;` in labels as entities; these characters would end a label,
# start an entity or be read as HTML or markdown, so each is written as its entity.
_MERMAID_ENTITIES = {char: f"#{ord(char)};" for char in '"#&<>`'}


def _mermaid_text(text: str) -> str:
    return "".join(_MERMAID_ENTITIES.get(char, char) for char in text)


def to_mermaid(graph: Graph) -> str:
    """A mermaid flowchart: a subgraph per stack holding a subgraph per family; conditional nodes dashed."""
    lines = ["flowchart LR"]
    for stack_index, stack in enumerate(graph.stacks):
        lines.append(f'  subgraph s{stack_index}["{_mermaid_text(stack)}"]')
        for family_index, family in enumerate(graph.families):
            members = graph.nodes_in(stack, family)
            if not members:
                continue
            lines.append(f'    subgraph {_box_id(stack_index, family_index, family)}["{_mermaid_text(family)}"]')
            lines += [f'      {node.id}["{"<br/>".join(_mermaid_text(line) for line in _label_lines(node))}"]'
                      for node in members]
            lines.append("    end")
        lines.append("  end")
    for edge in graph.edges:
        arrow = f"-.->|{DEPENDS_ON}|" if edge.depends_on_only else "-->"
        lines.append(f"  {edge.source} {arrow} {edge.target}")
    conditional = [node.id for node in graph.nodes if node.condition is not None]
    if conditional:
        lines.append("  classDef conditional stroke-dasharray: 5 5")
        lines.append(f"  class {','.join(conditional)} conditional")
    return "\n".join(lines) + "\n"


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(graph: Graph) -> str:
    """A Graphviz digraph: a cluster per stack holding a cluster per family; conditional nodes dashed,
    with the condition in the label and the tooltip; DependsOn-only edges dotted."""
    lines = ["digraph stacks {", "  rankdir=LR;", "  node [shape=box];"]
    for stack_index, stack in enumerate(graph.stacks):
        lines.append(f"  subgraph cluster_s{stack_index} {{")
        lines.append(f"    label={_dot_string(stack)};")
        for family_index, family in enumerate(graph.families):
            members = graph.nodes_in(stack, family)
            if not members:
                continue
            lines.append(f"    subgraph cluster_{_box_id(stack_index, family_index, family)} {{")
            lines.append(f"      label={_dot_string(family)};")
            for node in members:
                label = "\\n".join(_dot_string(line)[1:-1] for line in _label_lines(node))
                extra = "" if node.condition is None else \
                    f", style=dashed, tooltip={_dot_string('Condition: ' + node.condition)}"
                lines.append(f'      {node.id} [label="{label}"{extra}];')
            lines.append("    }")
        lines.append("  }")
    for edge in graph.edges:
        style = f' [style=dotted, label="{DEPENDS_ON}"]' if edge.depends_on_only else \
            f" [tooltip={_dot_string(', '.join(edge.kinds))}]"
        lines.append(f"  {edge.source} -> {edge.target}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"
