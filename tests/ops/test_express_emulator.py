"""deployment_mode = express, deployed and destroyed for real: on the emulator the suite starts, and in the AWS lane.

LocalStack 2026.3 has no DeploymentConfig in its API model: it takes the key and drops it (its change set
and its stack come back without one), so the stack is deployed in standard mode there, deploy says so in
one line and goes on, and destroy deletes it in standard mode: what is deployed decides. AWS records the
mode on the stack (DescribeStacks' DeploymentConfig) and destroy sends it back with DeleteStack. What is
sent on the wire is checked with Stubber in tests/stack/test_express.py.
"""

from __future__ import annotations

import pytest

import builder.stack.client
from builder.cli.views.progress import EXPRESS_GAP
from tests import aws_lane
from tests.factories import KnownGap, pin_gap

pytestmark = pytest.mark.emulator


def record_deletes(monkeypatch) -> list[dict]:
    """The parameters of every DeleteStack builder sends (the process's shared clients are made anew for
    the test, each with a recording hook, and forgotten after it)."""
    sent: list[dict] = []
    real = builder.stack.client.shared_client
    monkeypatch.setattr(builder.stack.client, "_SHARED_CLIENTS", {})

    def recording(region, service):
        made = real(region, service)
        made.meta.events.register("provide-client-params.cloudformation.DeleteStack",
                                  lambda params, **_: sent.append(dict(params)), unique_id=f"deletes-{id(sent)}")
        return made

    monkeypatch.setattr(builder.stack.client, "shared_client", recording)
    return sent


def deployed_mode(aws, name: str) -> str | None:
    return (aws.stack(name).get("DeploymentConfig") or {}).get("Mode")


@pytest.mark.xfail(not aws_lane.ON_AWS, strict=True, raises=KnownGap,
                   reason="LocalStack 2026.3 drops DeploymentConfig: the stack deploys in standard mode and deploy "
                          "says so in one line (test_on_the_emulator_express_is_one_line_and_standard_throughout)")
def test_an_express_stack_is_deployed_and_deleted_in_express_mode(aws, suffix, monkeypatch):
    name = f"app-{suffix}"
    code, out, err = aws.run("deploy", "--suffix", suffix, "--set", "deployment_mode=express")
    assert (code, err) == (0, ""), err
    pin_gap(deployed_mode(aws, name), "EXPRESS", None, "the deployed stack's DeploymentConfig Mode")
    assert EXPRESS_GAP not in out
    deletes = record_deletes(monkeypatch)
    code, _, err = aws.run("destroy", "--suffix", suffix, "--yes")  # the config no longer says express
    assert (code, err) == (0, ""), err
    assert [d.get("DeploymentConfig") for d in deletes] == [{"Mode": "EXPRESS"}]
    assert aws.stack(name) is None


@pytest.mark.emulator_only("LocalStack 2026.3 drops DeploymentConfig from change sets and stacks")
def test_on_the_emulator_express_is_one_line_and_standard_throughout(aws, suffix, monkeypatch):
    name = f"app-{suffix}"
    code, out, err = aws.run("deploy", "--suffix", suffix, "--set", "deployment_mode=express")
    assert (code, err) == (0, "")
    assert [line for line in out.splitlines() if "express" in line] == [EXPRESS_GAP]
    assert aws.stack(name)["StackStatus"] == "CREATE_COMPLETE" and deployed_mode(aws, name) is None
    deletes = record_deletes(monkeypatch)
    code, _, err = aws.run("destroy", "--suffix", suffix, "--yes", "--set", "deployment_mode=express")
    assert (code, err) == (0, "")
    assert deletes == [{"StackName": deletes[0]["StackName"]}]  # deployed standard: deleted standard, no key
    assert aws.stack(name) is None
