"""botocore Stubbers behind builder's client factory, for command-level tests of paths LocalStack cannot
produce (drift detection, IMPORT change sets). Responses are shaped like AWS's own (API reference
examples); the Stubber checks every request and response against the service model."""

from __future__ import annotations

import datetime
import json

import boto3
import pytest
from botocore.stub import ANY, Stubber

from builder.stack import client as aws

NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
ACCOUNT = "123456789012"
CHANGE_SET_ID = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:changeSet/builder-1/1a2345b6-0000-00a0-a123-00abc0abc000"
DETECTION_ID = "1a229160-e4d9-xmpl-ab67-0a4f93df83d4"


def stack_id(name: str) -> str:
    return f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/{name}/d0a825a0-e4cd-xmpl-b9fb-061c69e99204"


class Stubs:
    """One stubbed client per service; builder.stack.client.client hands them out."""

    def __init__(self) -> None:
        self.clients: dict[str, object] = {}
        self.stubbers: dict[str, Stubber] = {}

    def __getitem__(self, service: str) -> Stubber:
        if service not in self.stubbers:
            session = boto3.session.Session(region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
            client = session.client(service)
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
    def stack(self, name: str, status: str = "UPDATE_COMPLETE") -> None:
        self["cloudformation"].add_response("describe_stacks", {"Stacks": [
            {"StackName": name, "StackId": stack_id(name), "CreationTime": NOW, "StackStatus": status}]},
            {"StackName": name})

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

    def no_changes(self, name: str, kind: str = "UPDATE", role_arn: str | None = None) -> None:
        """A change set that turns out empty (FAILED, "didn't contain changes"), then deleted."""
        cf = self["cloudformation"]
        expected = {"StackName": name, "ChangeSetName": ANY, "ChangeSetType": kind, "Description": "builder deploy",
                    "Parameters": ANY, "Tags": ANY, "Capabilities": ANY, "TemplateBody": ANY}
        if role_arn:
            expected["RoleARN"] = role_arn
        cf.add_response("create_change_set", {"Id": CHANGE_SET_ID, "StackId": stack_id(name)}, expected)
        cf.add_response("describe_change_set", {
            "Status": "FAILED", "ChangeSetId": CHANGE_SET_ID, "StackId": stack_id(name),
            "StatusReason": "The submitted information didn't contain changes. Submit different information to "
                            "create a change set."}, {"ChangeSetName": CHANGE_SET_ID, "IncludePropertyValues": True})
        cf.add_response("delete_change_set", {}, {"ChangeSetName": CHANGE_SET_ID})


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


@pytest.fixture
def stubs(monkeypatch, tmp_path):
    """Stubbed clients behind aws.client and a working directory of the test's own. The answers never
    say "in progress", so nothing polls."""
    found = Stubs()
    monkeypatch.setattr(aws, "client", found.client)
    monkeypatch.setattr(aws, "session", lambda region: boto3.session.Session(
        region_name=region, aws_access_key_id="x", aws_secret_access_key="x"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ENVIRONMENT_SUFFIX", raising=False)
    monkeypatch.delenv("AWS_REGION", raising=False)
    yield found
    found.assert_done()
