"""What tests build their inputs from: configurations, AWS-shaped answers and stubbed clients.

The stub factories serve the paths LocalStack cannot produce (drift detection, IMPORT change sets, an
operation in progress, throttling): botocore Stubbers behind builder's client factory, with responses
shaped like AWS's own (API reference examples); the Stubber checks every request and response against
the service model. The fixtures that use them (`stubs`, `clean_env`) are in tests/conftest.py.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import boto3
import pytest
from botocore.stub import ANY, Stubber

import builder.synth
from builder import emulator
from builder.environment import EnvironmentConfig, resolve_configs
from builder.report import Reporter
from builder.resources import schema
from builder.stack.poller import Budget, Poller
from builder.stack.watch import StackWatcher

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
OPERATION_ID = "3e1a3b5c-7d9f-4b2a-8c6e-0f1a2b3c4d5e"
ACCOUNT = "123456789012"
CHANGE_SET_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/builder-1/1a2345b6-0000-00a0-a123-00abc0abc000"
DETECTION_ID = "1a229160-e4d9-xmpl-ab67-0a4f93df83d4"
# what CloudFormation says of a change set that changes nothing (DescribeChangeSet, Status FAILED)
NO_CHANGES_REASON = ("The submitted information didn't contain changes. Submit different information to create a "
                     "change set.")

# what LocalStack answers for a CloudFormation API it does not emulate (501 InternalFailure)
GAP_MESSAGE = ("The API for service cloudformation is either not included in your current license plan or has not "
               "yet been emulated by LocalStack.")

# the stack tag builder writes on every stack it makes (DescribeStacks' Tags shape): reap and destroy act only
# on stacks that carry it
MANAGED_TAGS = [{"Key": "builder:managed-by", "Value": "builder"}]

# settings that switch replication on, as `--set` arguments (to the replica region the emulator tests use)
# and as plain settings (to the region the template tests use)
REPLICATION_ARGS = ["--set", "enable_cross_region_replication=true", "--set", "replication_region=us-west-2"]
REPLICATION_SETTINGS = ["enable_cross_region_replication=true", "replication_region=eu-west-1"]


def config(*sets: str, suffix: str = "pr1", region: str | None = None) -> EnvironmentConfig:
    """The configuration of one suffix from `--set` settings alone: no environment, no config file."""
    return resolve_configs(suffixes=[suffix], sets=list(sets), region=region, environ={}, config_path=None,
                           cwd=Path("/nonexistent"), schema=schema())[0]


def config_line(cwd: Path, file: Path | None = None, given: bool = False) -> str:
    """The line every command that reads config prints on stderr: the file it read, or none."""
    if file is None:
        return f"config none: built-in defaults (no --config, no environments.toml in {cwd})"
    return f"config {file} (from {'--config' if given else 'the working folder'})"


# the line a command that reads config prints first on stderr (config_line; tests/cli/test_main.py tests it)
_CONFIG_LINE = re.compile(r"config (/.* \(from (--config|the working folder)\)"
                          r"|none: built-in defaults \(no --config, no environments\.toml in /.*\))\n")


def without_config_line(err: str) -> str:
    """A command's stderr after the config line it starts with (if any): what else it said. Never two."""
    found = _CONFIG_LINE.match(err)
    rest = err[found.end():] if found else err
    assert not re.search(r"^config (/|none: )", rest, re.MULTILINE), f"the config line again: {rest!r}"
    return rest


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """`python -m builder ARGV` in-process: (exit code, stdout, stderr) of this command alone, stderr after
    the config line (without_config_line)."""
    from builder.cli import main

    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, without_config_line(captured.err)


class FakeClock:
    """Time that passes only when the code under test sleeps; a sleep that reaches interrupt_at is Ctrl-C."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.interrupt_at = float("inf")

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds
        if self.now >= self.interrupt_at:
            raise KeyboardInterrupt


def edit_template(monkeypatch, edit: Callable[[dict], None]) -> None:
    """Make synth hand out the primary template as `edit` changes it (a dict, edited in place): a change
    to the template that the configuration cannot make."""
    real = builder.synth.stacks_for

    def edited(config, fmt="json"):
        stacks = real(config, fmt)
        template = json.loads(stacks[-1].template_body)
        edit(template)
        return [*stacks[:-1], dataclasses.replace(stacks[-1], template_body=json.dumps(template))]

    monkeypatch.setattr(builder.synth, "stacks_for", edited)


def snapshot(folder: Path, *, mtimes: bool = False) -> dict[str, object]:
    """Every file and folder below folder (hidden temporary files included): its bytes (b"<dir>" for a
    folder) and, with mtimes, its modification time, so that a rewrite with the same bytes shows too."""
    state: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        content = path.read_bytes() if path.is_file() else b"<dir>"
        state[str(path.relative_to(folder))] = (content, path.stat().st_mtime_ns) if mtimes else content
    return state


def aws_cli() -> str:
    """The real AWS CLI: $BUILDER_AWS_CLI, beside this Python, on PATH, or the one in the emulator's venv."""
    if os.environ.get("BUILDER_AWS_CLI"):
        return os.environ["BUILDER_AWS_CLI"]
    candidates = [Path(sys.executable).parent / "aws"]
    if found := shutil.which("aws"):
        candidates.append(Path(found))
    try:
        candidates.append(emulator.emulator_python().parent / "aws")  # localstack-core ships awscli
    except emulator.EmulatorNotInstalled:
        pass
    for candidate in candidates:
        if candidate.is_file() and subprocess.run([str(candidate), "--version"], capture_output=True,
                                                  check=False).returncode == 0:
            return str(candidate)
    pytest.fail("AWS CLI not found: set BUILDER_AWS_CLI, put `aws` on PATH (pip install awscli), "
                "or run .ci/install-emulator (its venv ships awscli)", pytrace=False)


def look_alike(cf, name: str, suffix: str, description: str | None = None, **tags: str) -> None:
    """CreateStack of a stack without builder's builder:managed-by tag, with builder's name pattern and its
    Environment and CostCenter tags (and any other `tags`): another team's, or with a `description`
    starting `builder: `, one an earlier builder made. One resource that holds nothing; waits until created."""
    all_tags = {"Environment": suffix, "CostCenter": "finance", **tags}
    template = {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
                **({"Description": description} if description else {})}
    # through a change set, as builder deploys (LocalStack 2026.3 keeps a template's Description only then)
    created = cf.create_change_set(StackName=name, ChangeSetName="look-alike", ChangeSetType="CREATE",
                                   Tags=[{"Key": k, "Value": v} for k, v in all_tags.items()],
                                   TemplateBody=json.dumps(template))
    cf.get_waiter("change_set_create_complete").wait(ChangeSetName=created["Id"],
                                                     WaiterConfig={"Delay": 1, "MaxAttempts": 300})
    cf.execute_change_set(ChangeSetName=created["Id"])
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 300})


def stubbed_client(service: str, region: str = "us-east-1"):
    """A boto3 client with dummy credentials, for a botocore Stubber to answer for."""
    session = boto3.session.Session(region_name=region, aws_access_key_id="x", aws_secret_access_key="x")
    return session.client(service)


def stubbed_watcher(client, name: str, reporter: Reporter, clock: FakeClock, region: str = "us-east-1",
                    rate: float = 2.0, claimed: bool = True) -> StackWatcher:
    """A StackWatcher of the stack whose poller reads through `client` (a stubbed one) on the fake clock:
    every wait is a sleep the clock records, none is real. `claimed`: its writes open, as after
    ownership.claim (a test of one step after the check; a whole command's test claims as the command does)."""
    poller = Poller(client, Budget(rate, clock, clock.sleep), clock, clock.sleep)
    watcher = StackWatcher(name, region, reporter, poller=poller, sleep=clock.sleep)
    if claimed:
        watcher.allow_writes(None)
    return watcher


def describe_stacks_reply(members: str) -> list[dict]:
    """The Stacks of a DescribeStacks reply whose <member> elements are given, as botocore's own parser
    reads CloudFormation's XML: the real field names, timezone-aware timestamps, tag and parameter lists."""
    import botocore.session
    from botocore.parsers import create_parser

    body = (f'<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            f"<DescribeStacksResult><Stacks>{members}</Stacks></DescribeStacksResult>"
            f"<ResponseMetadata><RequestId>b9b4b068-3a41-11e5-94eb-example</RequestId></ResponseMetadata>"
            f"</DescribeStacksResponse>").encode()
    model = botocore.session.get_session().get_service_model("cloudformation")
    parsed = create_parser(model.metadata["protocol"]).parse(
        {"body": body, "headers": {}, "status_code": 200}, model.operation_model("DescribeStacks").output_shape)
    return list(parsed["Stacks"])


def stack_id(name: str) -> str:
    return f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name}/d0a825a0-e4cd-xmpl-b9fb-061c69e99204"


def expect_get_template(cf: Stubber, stack: str, body: str) -> None:
    """GetTemplate (TemplateStage=Original) of the stack's id answers with the body as a string, as AWS
    does (boto3 decodes JSON after the call): what deploy and diff read of every deployed stack."""
    cf.add_response("get_template", {"TemplateBody": body, "StagesAvailable": ["Original", "Processed"]},
                    {"StackName": stack, "TemplateStage": "Original"})


def expect_set_stack_policy(cf: Stubber, stack: str, body: str) -> None:
    """SetStackPolicy of the stack (its id) with this body; AWS answers it with an empty result."""
    cf.add_response("set_stack_policy", {}, {"StackName": stack, "StackPolicyBody": body})


def expect_findings(cf: Stubber, change_set: str | None = None, events: Sequence[dict] = (),
                    operation_id: str | None = None) -> None:
    """DescribeEvents, failed events only, of a change set (its ARN) or an operation: CloudFormation's
    validation findings, one page (OperationEvents shaped like AWS's; see `validation_event`)."""
    key = {"ChangeSetName": change_set} if change_set is not None else {"OperationId": operation_id}
    cf.add_response("describe_events", {"OperationEvents": list(events)}, {**key, "Filters": {"FailedEvents": True}})


def validation_event(name: str, logical: str, type_: str, reason: str, mode: str = "FAIL",
                     path: str = "") -> dict:
    """One pre-deployment validation finding as DescribeEvents returns it (an OperationEvent)."""
    return {"EventId": f"ev-{name}-{logical}", "StackId": stack_id("app-stub"), "OperationId": OPERATION_ID,
            "OperationType": "CREATE_CHANGESET", "OperationStatus": "FAILED", "EventType": "VALIDATION_ERROR",
            "LogicalResourceId": logical, "ResourceType": type_, "Timestamp": NOW,
            "DetailedStatus": "VALIDATION_FAILED", "ValidationFailureMode": mode, "ValidationName": name,
            "ValidationStatus": "FAILED", "ValidationStatusReason": reason,
            "ValidationPath": path or f"/Resources/{logical}"}


class Stubs:
    """One stubbed client per service; builder.stack.client.client and shared_client hand them out."""

    def __init__(self) -> None:
        self.clients: dict[str, object] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __getitem__(self, service: str) -> Stubber:
        if service not in self.stubbers:
            client = stubbed_client(service)
            self.clients[service] = client
            self.stubbers[service] = Stubber(client)
            self.stubbers[service].activate()
        return self.stubbers[service]

    def client(self, _session, service: str):
        self[service]
        return self.clients[service]

    def assert_done(self) -> None:
        for stubber in self.stubbers.values():
            stubber.assert_no_pending_responses()

    # ------------------------------------------------------------------ CloudFormation answers
    def stack(self, name: str, status: str = "UPDATE_COMPLETE", tags: dict[str, str] | None = None) -> None:
        """The stack as deploy left it: with the tags of its suffix's default config unless told others."""
        tags = config(suffix=name.removeprefix("app-")).stack_tags if tags is None else tags
        self["cloudformation"].add_response("describe_stacks", {"Stacks": [
            {"StackName": name, "StackId": stack_id(name), "CreationTime": NOW, "StackStatus": status,
             "Tags": [{"Key": key, "Value": value} for key, value in tags.items()]}]},
            {"StackName": name})

    def deployed_template(self, name: str, body: str) -> None:
        expect_get_template(self["cloudformation"], stack_id(name), body)

    def no_stack(self, name: str) -> None:
        self["cloudformation"].add_client_error("describe_stacks", "ValidationError",
                                                f"Stack with id {name} does not exist", 400,
                                                expected_params={"StackName": name})

    def drift(self, name: str, drifts: list[dict], resources: list[tuple[str, str]] = (),
              detection: str = "DETECTION_COMPLETE", reason: str = "") -> None:
        """DetectStackDrift, a finished detection, one page of drifts and one of resources."""
        cf = self["cloudformation"]
        cf.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION_ID}, {"StackName": name})
        status = {"StackId": stack_id(name), "StackDriftDetectionId": DETECTION_ID, "DetectionStatus": detection,
                  "StackDriftStatus": "DRIFTED" if any(d["StackResourceDriftStatus"] != "IN_SYNC" for d in drifts)
                  else "IN_SYNC", "DriftedStackResourceCount": len(drifts), "Timestamp": NOW,
                  **({"DetectionStatusReason": reason} if reason else {})}
        cf.add_response("describe_stack_drift_detection_status", status, {"StackDriftDetectionId": DETECTION_ID})
        cf.add_response("describe_stack_resource_drifts", {"StackResourceDrifts": drifts}, {
            "StackName": name, "StackResourceDriftStatusFilters": ["MODIFIED", "DELETED", "NOT_CHECKED", "IN_SYNC"]})
        cf.add_response("list_stack_resources", {"StackResourceSummaries": [
            {"LogicalResourceId": logical, "PhysicalResourceId": f"{logical}-physical", "ResourceType": type_,
             "LastUpdatedTimestamp": NOW, "ResourceStatus": "UPDATE_COMPLETE"} for logical, type_ in resources]},
            {"StackName": name})

    def no_changes(self, name: str, kind: str = "UPDATE", role_arn: str | None = None,
                   deployed_body: str | None = None, stack_policy: dict | None = None) -> None:
        """A change set that turns out empty (FAILED, "didn't contain changes"), then deleted. An UPDATE
        first reads the deployed template: `deployed_body`, by default what builder makes for the stack's
        suffix with no settings; then (diff --output markdown) GetStackPolicy answers `stack_policy`."""
        cf = self["cloudformation"]
        if kind == "UPDATE":
            suffix = name.removeprefix("app-")
            self.deployed_template(name, deployed_body or builder.synth.stacks_for(config(suffix=suffix))[-1]
                                   .template_body)
        if stack_policy is not None:
            cf.add_response("get_stack_policy", stack_policy, {"StackName": stack_id(name)})
        expected = {"StackName": name, "ChangeSetName": ANY, "ChangeSetType": kind, "Description": "builder deploy",
                    "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": ANY}
        if role_arn:
            expected["RoleARN"] = role_arn
        cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": stack_id(name)}, expected)
        cf.add_response("describe_change_set", {
            "Status": "FAILED", "ChangeSetId": CHANGE_SET_ID, "StackId": stack_id(name),
            "StatusReason": NO_CHANGES_REASON}, {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
        cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})

    def tags_update(self, name: str, role_arn: str | None = None) -> None:
        """UpdateStack with the deployed template and new tags (after a change set that came back empty
        while the stack's tags differ), then the stack settled with them."""
        cf = self["cloudformation"]
        cf.add_response("describe_stack_events", {"StackEvents": []}, {"StackName": stack_id(name)})
        cf.add_response("update_stack", {"StackId": stack_id(name)}, {
            "StackName": stack_id(name), "UsePreviousTemplate": True, "Parameters": ANY, "Tags": ANY,
            "Capabilities": ANY, **({"RoleARN": role_arn} if role_arn else {})})
        tags = config(suffix=name.removeprefix("app-")).stack_tags
        cf.add_response("describe_stacks", {"Stacks": [
            {"StackName": name, "StackId": stack_id(name), "CreationTime": NOW, "StackStatus": "UPDATE_COMPLETE",
             "Tags": [{"Key": key, "Value": value} for key, value in tags.items()],
             "Outputs": [{"OutputKey": "TableName", "OutputValue": f"{name}-data"}]}]},
            {"StackName": stack_id(name)})
        cf.add_response("describe_stack_events", {"StackEvents": [
            {"StackId": stack_id(name), "EventId": "e2", "StackName": name, "LogicalResourceId": name,
             "ResourceType": "AWS::CloudFormation::Stack", "Timestamp": NOW, "ResourceStatus": "UPDATE_COMPLETE"}]})


def table_drift(name: str, expected: int, actual: int) -> dict:
    """DataTable with ReadCapacityUnits raised by hand (shape: DescribeStackResourceDrifts example)."""
    props = {"TableName": f"{name}-data", "ProvisionedThroughput": {"ReadCapacityUnits": expected,
                                                                    "WriteCapacityUnits": 5}}
    actual_props = {**props, "ProvisionedThroughput": {"ReadCapacityUnits": actual, "WriteCapacityUnits": 5}}
    return {"StackId": stack_id(name), "LogicalResourceId": "DataTable", "PhysicalResourceId": f"{name}-data",
            "ResourceType": "AWS::DynamoDB::Table", "StackResourceDriftStatus": "MODIFIED", "Timestamp": NOW,
            "ExpectedProperties": json.dumps(props), "ActualProperties": json.dumps(actual_props),
            "PropertyDifferences": [{"PropertyPath": "/ProvisionedThroughput/ReadCapacityUnits",
                                     "ExpectedValue": str(expected), "ActualValue": str(actual),
                                     "DifferenceType": "NOT_EQUAL"}]}


def in_sync(name: str, logical: str = "DataTable", type_: str = "AWS::DynamoDB::Table") -> dict:
    return {"StackId": stack_id(name), "LogicalResourceId": logical, "PhysicalResourceId": f"{name}-data",
            "ResourceType": type_, "StackResourceDriftStatus": "IN_SYNC", "Timestamp": NOW}


def reordered_list_noise(name: str) -> dict:
    """A bucket whose lifecycle rules came back in another order: noise, not drift."""
    rules = [{"Id": "a", "Status": "Enabled"}, {"Id": "b", "Status": "Enabled"}]
    props = {"LifecycleConfiguration": {"Rules": rules}}
    actual = {"LifecycleConfiguration": {"Rules": rules[::-1]}}
    return {"StackId": stack_id(name), "LogicalResourceId": "DataBucket", "PhysicalResourceId": f"{name}-bucket",
            "ResourceType": "AWS::S3::Bucket", "StackResourceDriftStatus": "MODIFIED", "Timestamp": NOW,
            "ExpectedProperties": json.dumps(props), "ActualProperties": json.dumps(actual),
            "PropertyDifferences": [{"PropertyPath": "/LifecycleConfiguration/Rules/0/Id", "ExpectedValue": "a",
                                     "ActualValue": "b", "DifferenceType": "NOT_EQUAL"},
                                    {"PropertyPath": "/LifecycleConfiguration/Rules/1/Id", "ExpectedValue": "b",
                                     "ActualValue": "a", "DifferenceType": "NOT_EQUAL"}]}


class KnownGap(Exception):
    """What a strict xfail of an emulator gap expects (`raises=KnownGap`): raised only when the emulator shows
    exactly the behaviour the xfail's reason names, so a failure of any other kind fails the suite."""


def pin_gap(observed: object, on_aws: object, gap: object, what: str) -> None:
    """Assert AWS's behaviour (`on_aws`); raise KnownGap when the emulator shows the pinned `gap` instead."""
    if observed == gap and observed != on_aws:
        raise KnownGap(f"{what}: {observed!r} (AWS: {on_aws!r})")
    assert observed == on_aws, what
