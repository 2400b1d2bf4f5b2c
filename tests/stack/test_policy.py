"""The stack policy of a deployed stack: how deploy sets, lifts and puts it back, and how status reads it.
SetStackPolicy and GetStackPolicy through botocore's Stubber, which checks each request and reply against
the installed service model; the replies are shaped like AWS's (SetStackPolicy answers with an empty
result; GetStackPolicy with the body as a string, or none without a policy). LocalStack 2026.3 does not
implement either (501 InternalFailure, checked in tests/ops/test_deploy_emulator.py)."""

from __future__ import annotations

import io
import json

import pytest

from builder.cli.views import views
from builder.environment import EnvironmentConfig
from builder.report import Reporter
from builder.stack import policy
from builder.stack_policy import PERMISSIVE, document
from builder.synth import stacks_for
from tests.factories import FakeClock, expect_set_stack_policy, stubbed_watcher

STACK = stacks_for(EnvironmentConfig(suffix="stub"))[0]
STACK_ID = "arn:aws:cloudformation:us-east-1:123456789012:stack/app-stub/1"
GAP = ("InternalFailure", ("The API for service cloudformation is either not included in your current license plan "
                          "or has not yet been emulated by LocalStack."))


@pytest.fixture
def watched(cf):
    out = io.StringIO()
    return stubbed_watcher(cf.client, STACK.name, Reporter(out, tty=False, views=views()), FakeClock()), out


LIFTED = json.dumps(PERMISSIVE, sort_keys=True)


def test_an_update_sets_the_new_templates_policy_before_it_runs(cf, watched):
    watcher, out = watched
    expect_set_stack_policy(cf, STACK_ID, STACK.policy_body)
    with policy.for_update(watcher, STACK, STACK_ID, allow_data_loss=False):
        cf.assert_no_pending_responses()  # set before the body (the execution) runs
    assert out.getvalue() == ""


def test_a_create_sets_nothing_before_it_runs(cf, watched):
    watcher, _ = watched
    with policy.for_update(watcher, STACK, STACK_ID, allow_data_loss=False, kind="CREATE"):
        pass


@pytest.mark.parametrize("ending", [RuntimeError("update failed"), KeyboardInterrupt()])
def test_allow_data_loss_lifts_the_policy_and_puts_it_back_after_a_failure_and_after_ctrl_c(cf, watched, ending):
    watcher, out = watched
    expect_set_stack_policy(cf, STACK_ID, LIFTED)
    expect_set_stack_policy(cf, STACK_ID, STACK.policy_body)
    with pytest.raises(type(ending)), policy.for_update(watcher, STACK, STACK_ID, allow_data_loss=True):
        raise ending
    assert "stack policy lifted for this update (--allow-data-loss)" in out.getvalue()
    assert "stack policy put back" in out.getvalue()


def test_a_policy_that_cannot_be_put_back_is_one_line_with_the_command_that_restores_it(cf, watched):
    watcher, out = watched
    expect_set_stack_policy(cf, STACK_ID, LIFTED)
    cf.add_client_error("set_stack_policy", "AccessDenied", "User is not authorized to perform "
                        "cloudformation:SetStackPolicy", 403, expected_params={"StackName": STACK_ID,
                                                                               "StackPolicyBody": STACK.policy_body})
    with policy.for_update(watcher, STACK, STACK_ID, allow_data_loss=True):
        pass
    (line,) = [line for line in out.getvalue().splitlines() if "could not be put back" in line]
    command = line.split("restore it with: ", 1)[1]
    assert command.startswith("aws cloudformation set-stack-policy --stack-name app-stub --region us-east-1 "
                              "--stack-policy-body '")
    assert json.loads(command.split("--stack-policy-body '", 1)[1].rstrip("'")) == json.loads(STACK.policy_body)
    assert "AccessDenied" in line


def test_an_endpoint_without_stack_policies_is_named_in_one_line_and_the_deploy_goes_on(cf, watched):
    watcher, out = watched
    cf.add_client_error("set_stack_policy", GAP[0], GAP[1], 501)
    ran = []
    with policy.for_update(watcher, STACK, STACK_ID, allow_data_loss=True):  # nothing to put back afterwards
        ran.append(True)
    assert ran == [True]
    (line,) = out.getvalue().splitlines()
    assert "this endpoint does not implement stack policies (InternalFailure on SetStackPolicy)" in line


def test_another_error_setting_the_policy_stops_the_update(cf, watched):
    watcher, _ = watched
    cf.add_client_error("set_stack_policy", "ValidationError", "Stack app-stub does not exist", 400)
    with pytest.raises(Exception, match="does not exist"), \
            policy.for_update(watcher, STACK, STACK_ID, allow_data_loss=False):
        pytest.fail("the update ran without its policy")


@pytest.mark.parametrize("body, expected", [
    (None, policy.UNPROTECTED),
    (LIFTED, policy.UNPROTECTED),
    (STACK.policy_body, policy.PROTECTED),
    (json.dumps(document(("DataTable",))), policy.UNPROTECTED),  # the bucket is left unprotected
    (json.dumps({"Statement": [{"Effect": "Deny", "Action": "Update:*", "Principal": "*", "Resource": "*"}]}),
     policy.PROTECTED),
    (json.dumps({"Statement": [{"Effect": "Deny", "Action": ["Update:Modify"], "Principal": "*",
                                "Resource": "*"}]}), policy.UNPROTECTED),
])
def test_status_reads_whether_the_policy_protects_the_data(cf, watched, body, expected):
    watcher, _ = watched
    cf.add_response("get_stack_policy", {"StackPolicyBody": body} if body else {}, {"StackName": STACK.name})
    assert policy.protection(watcher.read, STACK.name, STACK.protected) == expected


def test_status_on_an_endpoint_without_stack_policies_does_not_know(cf, watched):
    watcher, _ = watched
    cf.add_client_error("get_stack_policy", GAP[0], GAP[1], 501)
    assert policy.protection(watcher.read, STACK.name, STACK.protected) == policy.NOT_KNOWN

