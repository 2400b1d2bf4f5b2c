"""Every CloudFormation write of builder goes through one gate that only the ownership check opens.

The static half reads builder/'s source: every call of a CloudFormation operation that changes something
(the names come from botocore's service model) is made on a StackWatcher's `cf` (or a `cf` taken from it),
at one of the call sites listed here; only builder.ops.ownership.claim opens a watcher's writes. A new write
call fails this test until it is listed, which is the moment to check that a claim comes before it. The
runtime half drives a StackWatcher on a stubbed client (Stubber: nothing is sent, so no server is needed and
an unexpected call fails the test): shut before the claim, shut after a refused claim, and, once open, only
for its own stack.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path

import botocore.session
import pytest

from builder.cli.views import views
from builder.errors import RefusedError
from builder.ops.ownership import Owner, claim, owner
from builder.report import Reporter
from builder.stack.deployed import DeployedStack
from builder.stack.watch import WritesShut, names_stack
from tests.factories import FakeClock, stack_id, stubbed_watcher

BUILDER = Path(__file__).resolve().parents[2] / "builder"
READS = ("describe_", "list_", "get_", "validate_", "estimate_", "detect_", "batch_describe_")


def write_operations() -> set[str]:
    """CloudFormation's operations that change something, as boto3 names them (from the installed model)."""
    model = botocore.session.get_session().get_service_model("cloudformation")
    return {botocore.xform_name(name) for name in model.operation_names} - {
        botocore.xform_name(name) for name in model.operation_names if botocore.xform_name(name).startswith(READS)}


# (module, function, operation): each write call site, and the claim that comes before it
WRITE_SITES = {
    ("ops/deploy.py", "deploy_stack", "execute_change_set"),  # _ready_stack's claim
    ("ops/adopt.py", "_import", "execute_change_set"),  # deploy's claim (before_create)
    ("ops/diff.py", "_discard", "delete_change_set"),  # diff's claim (_refuse_another_tools)
    ("ops/diff.py", "_discard", "delete_stack"),  # the REVIEW_IN_PROGRESS stack diff's own change set made
    ("ops/protection.py", "match_termination_protection", "update_termination_protection"),  # deploy's claim
    ("stack/adopt.py", "import_change_set", "create_change_set"),  # deploy's claim; `cf` is watcher.cf
    ("stack/changeset.py", "create_change_set", "create_change_set"),  # deploy's or diff's claim
    ("stack/changeset.py", "create_change_set", "delete_change_set"),  # after a Ctrl-C, on the same gate
    ("stack/changeset.py", "_read", "delete_change_set"),  # a change set that changes nothing
    ("stack/changeset.py", "_verdict", "delete_change_set"),
    ("stack/policy.py", "_set", "set_stack_policy"),  # deploy's claim
    ("stack/policy.py", "for_update", "set_stack_policy"),
    ("stack/tags.py", "_update_in_place", "update_stack"),  # deploy's claim
    ("stack/watch.py", "delete_and_wait", "delete_stack"),  # destroy's claim, or deploy's (a failed create)
}


def write_calls() -> list[tuple[str, str, str, str]]:
    """(module, innermost function, operation, receiver) of every call of a write operation in builder/."""
    writes = write_operations()
    found: list[tuple[str, str, str, str]] = []

    class Calls(ast.NodeVisitor):
        def __init__(self, module: str) -> None:
            self.module, self.functions = module, ["<module>"]

        def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
            self.functions.append(node.name)
            self.generic_visit(node)
            self.functions.pop()

        def visit_Call(self, node: ast.Call) -> None:
            if isinstance(node.func, ast.Attribute) and node.func.attr in writes:
                found.append((self.module, self.functions[-1], node.func.attr, ast.unparse(node.func.value)))
            self.generic_visit(node)

    for path in sorted(BUILDER.rglob("*.py")):
        Calls(str(path.relative_to(BUILDER))).visit(ast.parse(path.read_text()))
    return found


def test_the_model_names_the_writes_builder_makes():
    assert {"create_change_set", "execute_change_set", "delete_stack", "update_stack", "set_stack_policy",
            "update_termination_protection", "delete_change_set"} <= write_operations()
    assert not {"describe_stacks", "get_template", "detect_stack_drift"} & write_operations()


def test_every_write_is_a_listed_call_on_a_watchers_gated_client():
    calls = write_calls()
    assert {(module, function, operation) for module, function, operation, _ in calls} == WRITE_SITES
    assert {receiver for *_, receiver in calls} <= {"watcher.cf", "self.cf", "cf", "watcher.cf_after_interrupt"}
    changeset = (BUILDER / "stack/changeset.py").read_text()
    assert "cf = watcher.cf" in changeset
    assert "adopt.import_change_set(watcher.cf," in (BUILDER / "ops/adopt.py").read_text()


def test_only_the_ownership_check_opens_a_watchers_writes():
    openers = []
    for path in sorted(BUILDER.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "allow_writes":
                openers.append(str(path.relative_to(BUILDER)))
    assert openers == ["ops/ownership.py"]
    # and the only way to the writer around the gate is `paced`, for DetectStackDrift alone
    users = [str(p.relative_to(BUILDER)) for p in BUILDER.rglob("*.py") if ".paced" in p.read_text()]
    assert users == ["ops/drift.py"]
    assert "poller.writer" not in "".join(p.read_text() for p in BUILDER.rglob("*.py")
                                          if p.name != "watch.py")


def record(tags: dict[str, str], description: str = "", status: str = "UPDATE_COMPLETE",
           name: str = "app-x-foo") -> DeployedStack:
    return DeployedStack.from_api({"StackName": name, "StackId": stack_id(name), "StackStatus": status,
                                   "Description": description,
                                   "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]})


OURS = {"builder:managed-by": "builder", "Environment": "foo", "CostCenter": "engineering"}


@pytest.mark.parametrize("tags, description, status, suffix, expected", [
    (OURS, "", "UPDATE_COMPLETE", "foo", Owner.OURS),
    (OURS, "", "UPDATE_COMPLETE", "x-foo", Owner.OTHER_ENVIRONMENT),  # app-x / foo, asked as app / x-foo
    ({**OURS, "Environment": ""}, "", "UPDATE_COMPLETE", "foo", Owner.OTHER_ENVIRONMENT),
    ({k: v for k, v in OURS.items() if k != "Environment"}, "", "UPDATE_COMPLETE", "foo", Owner.OTHER_ENVIRONMENT),
    ({"Environment": "foo"}, "builder: data stack", "UPDATE_COMPLETE", "foo", Owner.EARLIER),
    ({}, "builder: data stack", "UPDATE_COMPLETE", "foo", Owner.EARLIER),
    ({"Environment": "foo"}, "builder: data stack", "UPDATE_COMPLETE", "x-foo", Owner.OTHER_ENVIRONMENT),
    ({"Environment": "foo", "CostCenter": "x"}, "", "UPDATE_COMPLETE", "foo", Owner.ANOTHER_TOOL),
    ({"Environment": "foo"}, "", "REVIEW_IN_PROGRESS", "foo", Owner.NONE),
    (OURS, "", "DELETE_COMPLETE", "x-foo", Owner.NONE),
])
def test_whose_a_stack_is_comes_from_its_own_tags(tags, description, status, suffix, expected):
    assert owner(record(tags, description, status), suffix) is expected


def test_owner_of_nothing_deployed():
    assert owner(None, "foo") is Owner.NONE


def watcher(cf):
    return stubbed_watcher(cf.client, "app-x-foo", Reporter(io.StringIO(), tty=False, views=views()), FakeClock(),
                           claimed=False)


def refuse(found: Owner, current: DeployedStack, suffix: str) -> RefusedError:
    return RefusedError(current.name, f"{found} for {suffix}")


def test_writes_are_shut_until_the_claim(cf):
    shut = watcher(cf)  # no response queued: a call that reached the client would fail the Stubber
    with pytest.raises(WritesShut):
        shut.cf.delete_stack(StackName="app-x-foo")
    with pytest.raises(WritesShut):
        shut.client_for_writes("s3")
    assert WritesShut("x", "y").exit_code == 3


def test_a_refused_claim_leaves_the_writes_shut(cf):
    shut = watcher(cf)
    with pytest.raises(RefusedError, match="another environment's for x-foo"):
        claim(shut, record(OURS), "x-foo", (Owner.OURS,), refuse)
    with pytest.raises(WritesShut):
        shut.cf.delete_stack(StackName="app-x-foo")


def test_an_open_watcher_writes_to_its_own_stack_only(cf):
    mine = watcher(cf)
    assert claim(mine, record(OURS), "foo", (Owner.OURS,), refuse) is Owner.OURS
    with pytest.raises(WritesShut, match="named another stack"):
        mine.cf.delete_stack(StackName="app-x-foo-replica")
    with pytest.raises(WritesShut, match="named another stack"):
        mine.cf.update_termination_protection(EnableTerminationProtection=False, StackName=stack_id("app-other"))
    cf.add_response("delete_stack", {}, {"StackName": stack_id("app-x-foo")})
    mine.cf.delete_stack(StackName=stack_id("app-x-foo"))


@pytest.mark.parametrize("given, expected", [
    ("app-x-foo", True), ("app-x-foo-replica", False), ("app-x", False),
    ("arn:aws:cloudformation:us-east-1:123456789012:stack/app-x-foo/1a2b", True),
    ("arn:aws:cloudformation:us-east-1:123456789012:stack/app-x-foo-replica/1a2b", False),
    ("arn:aws:cloudformation:us-east-1:123456789012:changeSet/app-x-foo/1a2b", False),
])
def test_names_stack(given, expected):
    assert names_stack(given, "app-x-foo") is expected

