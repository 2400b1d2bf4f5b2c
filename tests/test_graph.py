"""builder.graph: the picture of the stacks, read back by the parsers its readers use.

The DOT output is parsed by Graphviz itself (compiled to WebAssembly) and the mermaid output by mermaid's own
flowchart parser, both run by node from tests/diagrams: `npm ci --prefix tests/diagrams` installs them, and
without node or them these tests fail and say so. Every test asserts on what the parsers understood, not on
our text. The references every variant must show come from cfn-lint's template graph, an implementation
independent of ours.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cfnlint.template import Template

from builder.cli import main
from builder.graph import (
    DEPENDS_ON,
    GET_ATT,
    REF,
    SUB,
    Edge,
    build_graph,
    references,
    to_dot,
    to_mermaid,
)
from builder.resources import inventory
from builder.synth import Stack, stacks_for
from tests.variants import VARIANTS, variant_configs

DIAGRAMS = Path(__file__).parent / "diagrams"

# The family of every resource the templates hold today (the grouping issue 12 asks for), as the families
# record it when they compose the templates. A new resource of these variants fails here until its family
# is written down on purpose.
FAMILY = {
    "DataKey": "keys", "DataKeyAlias": "keys", "ReplicaKey": "keys", "ReplicaKeyAlias": "keys",
    "DataBucket": "storage", "DataBucketPolicy": "storage", "BucketSizeAlarm": "storage",
    "ReplicaBucket": "storage", "ReplicaBucketPolicy": "storage",
    "ReplicationRole": "replication",
    "DataTable": "table", "TableReadThrottleAlarm": "table", "TableWriteThrottleAlarm": "table",
    "TableSystemErrorsAlarm": "table",
    "AlertTopic": "alerts", "AlertTopicPolicy": "alerts", "AlertEmailSubscription": "alerts",
}


def parse(diagrams: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Each (format, text) as its parser understood it (see tests/diagrams/parse.mjs)."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the diagram parsers run on Node.js >= 20")
    if not (DIAGRAMS / "node_modules").is_dir():
        pytest.fail("the diagram parsers are not installed: run `npm ci --prefix tests/diagrams`")
    payload = json.dumps([{"format": fmt, "text": text} for fmt, text in diagrams])
    done = subprocess.run([node, str(DIAGRAMS / "parse.mjs")], input=payload, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    results: list[dict[str, Any]] = json.loads(done.stdout)
    return results


def parsed_ok(result: dict[str, Any]) -> dict[str, Any]:
    assert "error" not in result, result["error"]
    return result


def cfn_lint_edges(template: dict[str, Any]) -> set[tuple[str, str]]:
    """Resource -> resource references (Ref, GetAtt, Sub, DependsOn) as cfn-lint's graph finds them."""
    resources = template.get("Resources", {})
    graph = Template("template.json", template).graph
    assert graph is not None
    return {(source, target) for source, target in graph.graph.edges() if source in resources and target in resources}


def graph_of(stacks: list[Stack]):
    """The graph `python -m builder graph` draws of these stacks."""
    return build_graph({stack.name: json.loads(stack.template_body) for stack in stacks},
                       {stack.name: stack.resource_families for stack in stacks}, inventory().drawing_order)


@pytest.fixture(scope="module")
def variants() -> dict[str, tuple[dict[str, dict[str, Any]], dict[str, Any], dict[str, Any]]]:
    """Variant name -> (templates by stack name, mermaid parsed, DOT parsed), one node run for all."""
    templates, graphs = {}, []
    for name in VARIANTS:
        stacks = stacks_for(variant_configs(name, ["pr123"])[0])
        templates[name] = {stack.name: json.loads(stack.template_body) for stack in stacks}
        graphs.append(graph_of(stacks))
    results = parse([(fmt, render(graph)) for graph in graphs for fmt, render in (("mermaid", to_mermaid),
                                                                                   ("dot", to_dot))])
    return {name: (templates[name], results[2 * i], results[2 * i + 1]) for i, name in enumerate(VARIANTS)}


def stack_ids(templates: dict[str, Any]) -> dict[str, int]:
    """Stack name -> its index in node ids (stacks are numbered in name order)."""
    return {stack: index for index, stack in enumerate(sorted(templates))}


def expected_nodes(templates: dict[str, Any]) -> dict[str, tuple[str, str, str, str | None]]:
    """Node id -> (stack, logical id, type, condition) for every resource of every stack."""
    index = stack_ids(templates)
    return {f"s{index[stack]}_{logical_id}": (stack, logical_id, resource["Type"], resource.get("Condition"))
            for stack, template in templates.items() for logical_id, resource in template["Resources"].items()}


def expected_edges(templates: dict[str, Any]) -> set[tuple[str, str]]:
    index = stack_ids(templates)
    return {(f"s{index[stack]}_{source}", f"s{index[stack]}_{target}")
            for stack, template in templates.items() for source, target in cfn_lint_edges(template)}


@pytest.mark.parametrize("variant", VARIANTS)
def test_dot_parses_with_every_resource_in_its_stack_and_family(variants, variant):
    templates, _, dot = variants[variant]
    dot = parsed_ok(dot)
    nodes = {node["name"]: node for node in dot["nodes"]}
    expected = expected_nodes(templates)
    assert set(nodes) == set(expected)
    clusters = {cluster["name"]: cluster for cluster in dot["clusters"]}
    parent = {member: cluster for cluster in dot["clusters"] for member in cluster["members"]}
    for node_id, (stack, logical_id, resource_type, _) in expected.items():
        assert nodes[node_id]["lines"][:2] == [logical_id, resource_type]
        family = clusters[parent[node_id]["name"]]
        assert family["label"] == FAMILY[logical_id]
        assert parent[family["name"]]["label"] == stack
    assert len([c for c in dot["clusters"] if c["name"] not in parent]) == len(templates)  # one box per stack


@pytest.mark.parametrize("variant", VARIANTS)
def test_dot_has_an_edge_for_every_reference_and_no_other(variants, variant):
    templates, _, dot = variants[variant]
    edges = {(edge["source"], edge["target"]) for edge in parsed_ok(dot)["edges"]}
    assert edges == expected_edges(templates)
    assert edges  # every variant refers to something: an empty set would pass the line above vacuously


@pytest.mark.parametrize("variant", VARIANTS)
def test_dot_draws_conditional_resources_dashed_with_their_condition(variants, variant):
    templates, _, dot = variants[variant]
    nodes = {node["name"]: node for node in parsed_ok(dot)["nodes"]}
    conditional = {node_id: condition for node_id, (*_, condition) in expected_nodes(templates).items()
                   if condition}
    assert conditional  # the primary's replication role is under ReplicationOn in every variant
    for node_id, node in nodes.items():
        if node_id in conditional:
            assert node["style"] == "dashed"
            assert node["lines"][2:] == [f"condition: {conditional[node_id]}"]
            assert conditional[node_id] in node["tooltip"]
        else:
            assert node["style"] == ""
            assert len(node["lines"]) == 2


@pytest.mark.parametrize("variant", VARIANTS)
def test_mermaid_parses_with_every_resource_reference_and_condition(variants, variant):
    templates, mermaid, _ = variants[variant]
    mermaid = parsed_ok(mermaid)
    expected = expected_nodes(templates)
    nodes = {node["id"]: node for node in mermaid["nodes"]}
    assert set(nodes) == set(expected)
    subgraphs = {subgraph["id"]: subgraph for subgraph in mermaid["subgraphs"]}
    parent = {member: subgraph for subgraph in mermaid["subgraphs"] for member in subgraph["members"]}
    for node_id, (stack, logical_id, resource_type, condition) in expected.items():
        node = nodes[node_id]
        assert node["lines"] == [logical_id, resource_type, *([f"condition: {condition}"] if condition else [])]
        assert ("conditional" in node["classes"]) == bool(condition)
        family = subgraphs[parent[node_id]["id"]]
        assert family["title"] == FAMILY[logical_id]
        assert parent[family["id"]]["title"] == stack
    assert any("stroke-dasharray" in style for style in mermaid["classes"]["conditional"])
    edges = {(edge["source"], edge["target"]) for edge in mermaid["edges"]}
    assert edges == expected_edges(templates)
    assert all(edge["stroke"] == "normal" for edge in mermaid["edges"])  # no DependsOn-only edge today


def test_the_replica_stack_is_its_own_group():
    graph = graph_of(stacks_for(variant_configs("pay-per-request+replication", ["pr123"])[0]))
    assert graph.stacks == ("app-pr123", "app-pr123-replica")
    assert {node.logical_id for node in graph.nodes if node.stack == "app-pr123-replica"} == {
        "ReplicaBucket", "ReplicaBucketPolicy"}


@pytest.mark.parametrize("value,expected", [
    ({"Ref": "Bucket"}, [(REF, "Bucket")]),
    ({"Fn::GetAtt": ["Bucket", "Arn"]}, [(GET_ATT, "Bucket")]),
    ({"Fn::GetAtt": "Bucket.Arn"}, [(GET_ATT, "Bucket")]),
    ({"Fn::Sub": "${Bucket}/${Key.Arn}/${!Literal}/${AWS::Region}"},
     [(SUB, "Bucket"), (SUB, "Key"), (SUB, "AWS::Region")]),
    # a variable of the map hides the resource of the same name; the map's values are read
    ({"Fn::Sub": ["${Bucket}/${Key}", {"Bucket": {"Fn::GetAtt": ["Real", "Arn"]}}]},
     [(SUB, "Key"), (GET_ATT, "Real")]),
    ({"Fn::If": ["Cond", {"Ref": "A"}, {"Ref": "AWS::NoValue"}]}, [(REF, "A"), (REF, "AWS::NoValue")]),
    # a mapping of two keys is data (an IAM policy, say), not a function
    ({"Ref": "A", "Other": {"Ref": "B"}}, [(REF, "B")]),
    ({"Ref": {"Fn::Sub": "x"}}, []),
    ("${NotInASub}", []),
])
def test_references_finds_every_form(value, expected):
    assert sorted(references(value)) == sorted(expected)


SMALL = {
    "Parameters": {"Size": {"Type": "Number"}},
    "Conditions": {"Big": {"Fn::Equals": [{"Ref": "Size"}, "9"]}},
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"X": {"Ref": "Size"}}},
        "Alarm": {"Type": "AWS::CloudWatch::Alarm", "DependsOn": "Table", "Condition": "Big"},
        "Queue": {"Type": "AWS::SQS::Queue", "DependsOn": ["Table", "Missing"],
                  "Properties": {"Name": {"Fn::Sub": "${Table}-q"}, "Arn": {"Fn::GetAtt": "Table.Arn"}}},
    },
}


def test_small_template_edges_kinds_and_no_parameter_nodes():
    graph = build_graph({"one": SMALL}, {"one": {"Table": "table", "Queue": "queue"}}, ["table"])
    # the parameter is no node; nodes come in family order (the order given, then families not in it by
    # name, then other), then by logical id
    assert graph.families == ("table", "queue", "other")
    assert [(node.family, node.logical_id, node.condition) for node in graph.nodes] == [
        ("table", "Table", None), ("queue", "Queue", None), ("other", "Alarm", "Big")]
    assert graph.edges == (Edge("s0_Alarm", "s0_Table", (DEPENDS_ON,)),
                           Edge("s0_Queue", "s0_Table", (DEPENDS_ON, GET_ATT, SUB)))
    assert cfn_lint_edges(SMALL) == {("Alarm", "Table"), ("Queue", "Table")}


def test_depends_on_only_edges_are_dotted_and_labelled_in_both_outputs():
    graph = build_graph({"one": SMALL})
    mermaid, dot = (parsed_ok(result) for result in parse([("mermaid", to_mermaid(graph)), ("dot", to_dot(graph))]))
    assert {(e["source"], e["target"], e["stroke"], e["label"]) for e in mermaid["edges"]} == {
        ("s0_Alarm", "s0_Table", "dotted", DEPENDS_ON), ("s0_Queue", "s0_Table", "normal", "")}
    assert {(e["source"], e["target"], e["style"], e["label"]) for e in dot["edges"]} == {
        ("s0_Alarm", "s0_Table", "dotted", DEPENDS_ON), ("s0_Queue", "s0_Table", "", "")}


def test_names_that_need_escaping_read_back_unchanged():
    odd = 'app "x" #35; <b>&amp; `y` \\n \\'
    template = {"Resources": {"Thing": {"Type": "Custom::A\"B", "Condition": "Has#quot;Hash"}}}
    graph = build_graph({odd: template, "same-ids": {"Resources": {"Thing": {"Type": "AWS::SNS::Topic"}}}})
    mermaid, dot = (parsed_ok(result) for result in parse([("mermaid", to_mermaid(graph)), ("dot", to_dot(graph))]))
    labels = {subgraph["id"]: subgraph["title"] for subgraph in mermaid["subgraphs"]}
    assert odd in labels.values()
    assert {node["id"]: node["lines"] for node in mermaid["nodes"]} == {
        "s0_Thing": ["Thing", 'Custom::A"B', "condition: Has#quot;Hash"], "s1_Thing": ["Thing", "AWS::SNS::Topic"]}
    assert odd in {cluster["label"] for cluster in dot["clusters"]}
    assert {node["name"]: node["lines"] for node in dot["nodes"]} == {
        "s0_Thing": ["Thing", 'Custom::A"B', "condition: Has#quot;Hash"], "s1_Thing": ["Thing", "AWS::SNS::Topic"]}


def test_output_does_not_depend_on_the_order_of_its_input():
    stacks = stacks_for(variant_configs("provisioned+replication+key", ["pr123"])[0])
    templates = {stack.name: json.loads(stack.template_body) for stack in stacks}
    families = {stack.name: stack.resource_families for stack in stacks}
    shuffled = {name: {**template, "Resources": dict(reversed(list(template["Resources"].items())))}
                for name, template in reversed(list(templates.items()))}
    shuffled_families = {name: dict(reversed(list(families[name].items()))) for name in reversed(list(families))}
    assert list(shuffled) != list(templates)
    order = inventory().drawing_order
    for render in (to_mermaid, to_dot):
        assert render(build_graph(shuffled, shuffled_families, order)) == render(graph_of(stacks))


def test_graph_imports_only_the_standard_library():
    """graph must stay usable where synth is: no boto3, cfn-lint, troposphere or other builder module."""
    code = ("import sys, builder.graph; print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('boto3', 'botocore', 'cfnlint', 'troposphere', 'awacs', 'builder')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).parent.parent)
    assert done.stdout.strip() == "['builder', 'builder.graph']"


# ------------------------------------------------------------------ the command

README_GRAPH = re.compile(r"```\npython -m builder (graph [^\n]*)\n```\n\n```mermaid\n(.*?)```", re.DOTALL)


def test_readme_graphs_are_the_commands_own_output(capsys, monkeypatch, clean_env):
    """The graph page shows the default and the example prod as mermaid; this fails when the template changes them."""
    monkeypatch.chdir(Path(__file__).parents[1])
    blocks = README_GRAPH.findall((Path(__file__).parents[1] / "docs" / "commands" / "graph.md").read_text())
    assert [command for command, _ in blocks] == [
        "graph --suffix pr123", "graph --config examples/environments.toml --suffix prod"]
    for command, shown in blocks:
        assert main(shlex.split(command)) == 0
        assert capsys.readouterr().out == shown
    for result in parse([("mermaid", shown) for _, shown in blocks]):
        assert parsed_ok(result)["nodes"]


def test_graph_command_dot_parses_and_draws_both_stacks_of_a_replicated_suffix(capsys):
    assert main(["graph", "--suffix", "pr7", "--set", "enable_cross_region_replication=true",
                 "--set", "replication_region=eu-west-1", "--output", "dot"]) == 0
    dot = capsys.readouterr().out
    (result,) = parse([("dot", dot)])
    assert {c["label"] for c in parsed_ok(result)["clusters"]} >= {"app-pr7", "app-pr7-replica"}


def test_graph_command_bad_output_exits_2(capsys):
    assert main(["graph", "--suffix", "pr7", "--output", "svg"]) == 2
    assert capsys.readouterr().err.startswith("error: python -m builder graph: argument --output: invalid choice")
