"""Can a deploy skip the change set? Only when the deployed stack already is what deploy would send.

A no-op deploy then costs two calls, DescribeStacks (which deploy makes anyway) and GetTemplate, instead
of creating, waiting for and deleting an empty change set, which on AWS takes seconds per stack.

The rules follow AWS CDK's `canSkipDeploy` (aws-cdk-cli,
packages/@aws-cdk/toolkit-lib/lib/api/deployments/deploy-stack.ts, with `TemplateParameters.hasChanges`
in cfn-api.ts): never skip for a forced deploy or a missing stack; skip only when the template from
GetTemplate (TemplateStage=Original), the tags, the notification ARNs, termination protection, the
service role (RoleARN) and every parameter value equal what would be sent, and no parameter is of an
`AWS::SSM::Parameter::` type (its value is resolved at deploy time, so an equal name says nothing about
an equal value). Stricter than CDK:

- the stack must be settled in success (CREATE_COMPLETE, UPDATE_COMPLETE, IMPORT_COMPLETE). CDK only
  refuses states that end in FAILED; after UPDATE_ROLLBACK_COMPLETE the deployed template can equal ours
  while the update that failed is still wanted, and a retry must run it again;
- a NoEcho parameter never skips: DescribeStacks shows its value as `****`, so it cannot be compared;
- a template is compared as data when GetTemplate returns it decoded (boto3 decodes a JSON body into a
  dict, so key order and whitespace do not count) and byte for byte when it comes back as text (YAML).
  Compared as data means as JSON values with their types: `1`, `1.0`, `true` and `"1"` all differ
  (Python's `==` holds `1 == 1.0 == True`), so a change of type is never skipped;
- the service role: a stack whose RoleARN is not cloudformation_role_arn is never skipped. Going from
  a role to none cannot be done at all: CloudFormation keeps a stack's service role when a change set
  names none and offers no way to remove it ("AWS CloudFormation service role" in its User Guide), so
  deploy says so (kept_role) each time instead of calling the stack unchanged.

builder sends no notification ARNs, so a stack that has any was changed by hand: not skipped. The
rollback triggers (DescribeStacks' RollbackConfiguration) are compared by deploy once these rules let it
skip (builder.stack.rollback.differs: it needs one ListStackResources with rollback_alarms); a difference
there alone is an UpdateStack with the deployed template (builder.stack.tags.update_rollback).
Anything here that is unsure means "make the change set"; the change set then decides.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from builder.stack.deployed import DeployedStack
from builder.stack.template import template_from_body
from builder.synth import Stack

SSM_TYPE = "AWS::SSM::Parameter::"


def wanted_termination_protection(stack: Stack) -> bool:
    """The termination protection deploy would leave the stack with (off unless the config turns it on)."""
    return bool(getattr(stack.config, "termination_protection", False))


def wanted_role_arn(stack: Stack) -> str | None:
    """The service role deploy sends with the change set (cloudformation_role_arn), or None."""
    return getattr(stack.config, "cloudformation_role_arn", None) or None


def kept_role(stack: Stack, deployed: DeployedStack) -> str | None:
    """The service role a stack keeps although the config names none (CloudFormation cannot remove it), or None."""
    kept = deployed.role_arn
    if not kept or wanted_role_arn(stack) is not None:
        return None
    return kept


class Differs(enum.Enum):
    """What makes a change set needed for an existing stack."""

    NOT_SETTLED = "not settled in success"  # the stack's status (`detail`) is not a settled success
    NOTIFICATION_ARNS = "notification ARNs"  # the stack has some; deploy sends none
    TERMINATION_PROTECTION = "termination protection"
    ROLE = "service role"  # RoleARN
    TAGS = "tags"
    PARAMETER_VALUES = "parameter values"
    RESOLVED_PARAMETER = "resolved parameter"  # `subject` is of an SSM type (`detail`): resolved at deploy time
    NO_ECHO_PARAMETER = "NoEcho parameter"  # `subject`'s deployed value cannot be read back
    TEMPLATE = "template"
    TEMPLATE_FORMAT = "template format"  # the deployed template is JSON, ours is not


@dataclass(frozen=True)
class Difference:
    """Why deploy must make a change set: what differs, and which parameter or what value when that says more."""

    differs: Differs
    subject: str = ""  # the parameter
    detail: str = ""  # the stack's status, or the parameter's type


def described_difference(stack: Stack, deployed: DeployedStack) -> Difference | None:
    """Why the DescribeStacks record alone says a change set is needed; None if only the template is left."""
    if not deployed.succeeded:
        return Difference(Differs.NOT_SETTLED, detail=deployed.status)
    simple = next((differs for differs, found in (
        (Differs.NOTIFICATION_ARNS, bool(deployed.notification_arns)),
        (Differs.TERMINATION_PROTECTION, deployed.termination_protection != wanted_termination_protection(stack)),
        (Differs.ROLE, deployed.role_arn != wanted_role_arn(stack)),
        (Differs.TAGS, dict(deployed.tags) != dict(stack.tags)),
        (Differs.PARAMETER_VALUES, dict(deployed.parameters) != dict(stack.parameters))) if found), None)
    if simple is not None:
        return Difference(simple)
    declared = template_from_body(stack.template_body, stack.name).get("Parameters", {})
    for key, parameter in sorted(declared.items()):
        if str(parameter.get("Type", "")).startswith(SSM_TYPE):
            return Difference(Differs.RESOLVED_PARAMETER, key, str(parameter["Type"]))
        if str(parameter.get("NoEcho", "")).lower() == "true":
            return Difference(Differs.NO_ECHO_PARAMETER, key)
    return None


def typed_json(value: Any) -> str:
    """The JSON text of a decoded value, keys sorted: equal exactly when the values are equal as JSON,
    types included (`1`, `1.0`, `true` and `"1"` each give other text)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True)


def template_difference(body: str, deployed_body: Mapping[str, Any] | str) -> Difference | None:
    """Why the deployed template (GetTemplate's TemplateBody) is not the one deploy would send, or None."""
    if isinstance(deployed_body, Mapping):
        try:
            ours = json.loads(body)
        except ValueError:
            return Difference(Differs.TEMPLATE_FORMAT)
        return None if typed_json(ours) == typed_json(deployed_body) else Difference(Differs.TEMPLATE)
    return None if body == deployed_body else Difference(Differs.TEMPLATE)


def reason_to_deploy(stack: Stack, deployed: DeployedStack,
                     deployed_body: Mapping[str, Any] | str) -> Difference | None:
    """Why deploy must make a change set for this existing stack; None when it can skip it.

    `deployed_body` is GetTemplate's TemplateBody (TemplateStage=Original), which deploy reads anyway for
    the data guard: the skip costs no call of its own.
    """
    return described_difference(stack, deployed) or template_difference(stack.template_body, deployed_body)
