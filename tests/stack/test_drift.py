"""builder.stack.drift against botocore's Stubber.

Why Stubber and not the emulator: LocalStack 2026.3 answers DetectStackDrift,
DescribeStackDriftDetectionStatus and DescribeStackResourceDrifts with 501 InternalFailure ("The API
for service cloudformation is either not included in your current license plan or has not yet been
emulated by LocalStack."), pinned in tests/stack/test_drift_emulator.py. The responses here copy the
shapes and values of AWS's own examples (AWS CLI examples for detect-stack-drift,
describe-stack-drift-detection-status, describe-stack-resource-drifts and list-stack-resources);
the Stubber also checks every request and response against the CloudFormation service model.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from builder.cli.views import drift as view
from builder.errors import OperationError
from builder.families import storage
from builder.stack import drift
from builder.stack.poller import Budget, Poller
from tests.factories import DETECTION_ID, FakeClock

STACK = "my-stack"
STACK_ID = "arn:aws:cloudformation:us-west-2:123456789012:stack/my-stack/d0a825a0-e4cd-xmpl-b9fb-061c69e99204"
WHEN = datetime(2019, 10, 2, 5, 54, 44, tzinfo=UTC)
ALL_STATUSES = ["MODIFIED", "DELETED", "NOT_CHECKED", "IN_SYNC"]

# the Lambda function of the describe-stack-resource-drifts example, MemorySize and Timeout changed
FUNCTION_EXPECTED = {"Description": "Write a file to S3.", "Handler": "index.handler", "MemorySize": 128,
                     "Runtime": "nodejs10.x", "Tags": [{"Key": "lambda:createdBy", "Value": "SAM"}],
                     "Timeout": 900, "TracingConfig": {"Mode": "Active"}}
FUNCTION_ACTUAL = {**FUNCTION_EXPECTED, "MemorySize": 256, "Timeout": 22}


def started(cf) -> None:
    cf.add_response("detect_stack_drift", {"StackDriftDetectionId": DETECTION_ID}, {"StackName": STACK})


def detection(cf, status: str, stack_status: str | None = None, count: int | None = None, reason: str | None = None):
    answer = {"StackId": STACK_ID, "StackDriftDetectionId": DETECTION_ID, "DetectionStatus": status, "Timestamp": WHEN}
    if stack_status:
        answer["StackDriftStatus"] = stack_status
    if count is not None:
        answer["DriftedStackResourceCount"] = count
    if reason:
        answer["DetectionStatusReason"] = reason
    cf.add_response("describe_stack_drift_detection_status", answer, {"StackDriftDetectionId": DETECTION_ID})


def resource_drift(logical_id: str, status: str, type_: str = "AWS::Lambda::Function", *, expected=None,
                   actual=None, differences=()) -> dict:
    item = {"StackId": STACK_ID, "LogicalResourceId": logical_id, "PhysicalResourceId": f"{logical_id}-SEZV4XMPL4S5",
            "ResourceType": type_, "StackResourceDriftStatus": status, "Timestamp": WHEN}
    if expected is not None:
        item["ExpectedProperties"] = json.dumps(expected, separators=(",", ":"))
    if actual is not None:
        item["ActualProperties"] = json.dumps(actual, separators=(",", ":"))
    if status == "MODIFIED":
        item["PropertyDifferences"] = [{"PropertyPath": p, "ExpectedValue": e, "ActualValue": a, "DifferenceType": k}
                                       for p, e, a, k in differences]
    return item


def drifts(cf, *pages: list[dict]) -> None:
    for n, page in enumerate(pages):
        answer: dict = {"StackResourceDrifts": page}
        params = {"StackName": STACK, "StackResourceDriftStatusFilters": ALL_STATUSES}
        if n + 1 < len(pages):
            answer["NextToken"] = f"token-{n + 1}"
        if n:
            params["NextToken"] = f"token-{n}"
        cf.add_response("describe_stack_resource_drifts", answer, params)


def resources(cf, *entries: tuple[str, str], next_token: str | None = None) -> None:
    summaries = [{"LogicalResourceId": logical_id, "PhysicalResourceId": f"{logical_id}-SEZV4XMPL4S5",
                  "ResourceType": type_, "LastUpdatedTimestamp": WHEN, "ResourceStatus": "CREATE_COMPLETE",
                  "DriftInformation": {"StackResourceDriftStatus": "IN_SYNC"}} for logical_id, type_ in entries]
    cf.add_response("list_stack_resources", {"StackResourceSummaries": summaries}, {"StackName": STACK})


def run(cf, clock: FakeClock | None = None, **kwargs) -> drift.DriftReport:
    clock = clock or FakeClock()
    return drift.detect(cf.client, STACK, sleep=clock.sleep, clock=clock, **kwargs)


def test_in_sync(cf):
    started(cf)
    detection(cf, "DETECTION_COMPLETE", "IN_SYNC", 0)
    drifts(cf, [resource_drift("bucket", "IN_SYNC", "AWS::S3::Bucket")])
    resources(cf, ("bucket", "AWS::S3::Bucket"))
    report = run(cf)
    assert (report.status, report.detection_status, report.drifted, report.not_checked, report.noise) == (
        "IN_SYNC", "DETECTION_COMPLETE", (), (), ())
    assert report.checked == ("bucket",) and not report.has_drift
    assert view.text_lines(report) == ["my-stack: IN_SYNC"]
    assert "No drift." in view.markdown(report)


def test_drifted_with_modified_added_and_removed_properties(cf):
    started(cf)
    detection(cf, "DETECTION_COMPLETE", "DRIFTED", 1)
    actual = {**FUNCTION_ACTUAL, "Tags": [*FUNCTION_EXPECTED["Tags"], {"Key": "team", "Value": "ops"}]}
    del actual["TracingConfig"]
    drifts(cf, [resource_drift("function", "MODIFIED", expected=FUNCTION_EXPECTED, actual=actual, differences=[
        ("/MemorySize", "128", "256", "NOT_EQUAL"),
        ("/Timeout", "900", "22", "NOT_EQUAL"),
        ("/Tags/1", "null", '{"Key":"team","Value":"ops"}', "ADD"),
        ("/TracingConfig", '{"Mode":"Active"}', "null", "REMOVE"),
    ])])
    resources(cf, ("function", "AWS::Lambda::Function"))
    report = run(cf)
    assert report.status == "DRIFTED" and report.has_drift
    (function,) = report.drifted
    assert (function.logical_id, function.physical_id, function.type, function.status) == (
        "function", "function-SEZV4XMPL4S5", "AWS::Lambda::Function", "MODIFIED")
    assert [(d.path, d.expected, d.actual, d.kind, d.noise_reason) for d in function.differences] == [
        ("/MemorySize", "128", "256", "MODIFIED", None),
        ("/Tags/1", "null", '{"Key":"team","Value":"ops"}', "ADDED", None),
        ("/Timeout", "900", "22", "MODIFIED", None),
        ("/TracingConfig", '{"Mode":"Active"}', "null", "REMOVED", None),
    ]
    lines = view.text_lines(report)
    assert lines[0] == "my-stack: DRIFTED (1 resource drifted)"
    assert lines[1].split() == ["Stack", "Resource", "Property", "Expected", "Actual", "Kind"]
    assert lines[2].split() == ["my-stack", "function", "/MemorySize", "128", "256", "MODIFIED"]
    assert lines[5].split() == ["my-stack", "function", "/TracingConfig", '{"Mode":"Active"}', "null", "REMOVED"]
    as_json = json.loads(json.dumps(view.to_dict(report)))
    assert as_json["drifted"][0]["differences"][1] == {
        "path": "/Tags/1", "expected": "null", "actual": '{"Key":"team","Value":"ops"}', "kind": "ADDED"}
    md = view.markdown(report)
    assert md.startswith("### my-stack: DRIFTED\n")
    assert "| function | /Timeout | 900 | 22 | MODIFIED |" in md


def test_deleted_resource_is_drift(cf):
    started(cf)
    detection(cf, "DETECTION_COMPLETE", "DRIFTED", 1)
    drifts(cf, [resource_drift("bucket", "DELETED", "AWS::S3::Bucket", expected={"BucketName": "b"})])
    resources(cf, ("bucket", "AWS::S3::Bucket"))
    report = run(cf)
    assert report.status == "DRIFTED" and report.drifted[0].status == "DELETED"
    assert view.text_lines(report)[2].split() == ["my-stack", "bucket", "-", "-", "-", "DELETED"]


def test_not_checked_resources_are_listed_apart(cf):
    """NOT_CHECKED answers, and resources the drift results leave out (unsupported types)."""
    started(cf)
    detection(cf, "DETECTION_COMPLETE", "IN_SYNC", 0)
    drifts(cf, [resource_drift("bucket", "IN_SYNC", "AWS::S3::Bucket"),
                resource_drift("alarm", "NOT_CHECKED", "AWS::CloudWatch::Alarm")])
    resources(cf, ("alarm", "AWS::CloudWatch::Alarm"), ("bucket", "AWS::S3::Bucket"),
              ("subscription", "AWS::SNS::Subscription"))
    report = run(cf)
    assert report.status == "IN_SYNC" and report.checked == ("bucket",)
    assert [(r.logical_id, r.type, r.status) for r in report.not_checked] == [
        ("alarm", "AWS::CloudWatch::Alarm", "NOT_CHECKED"), ("subscription", "AWS::SNS::Subscription", "NOT_CHECKED")]
    assert view.text_lines(report)[1] == ("  not checked (drift detection does not cover them): "
                                          "alarm (AWS::CloudWatch::Alarm), subscription (AWS::SNS::Subscription)")
    assert ("Not checked: `alarm` (AWS::CloudWatch::Alarm), `subscription` (AWS::SNS::Subscription)"
            in view.markdown(report))


def test_detection_failed_keeps_partial_results_and_the_reason(cf):
    reason = "Failed to detect drift on resource [function]: Internal Failure"
    started(cf)
    detection(cf, "DETECTION_FAILED", "DRIFTED", reason=reason)
    drifts(cf, [resource_drift("bucket", "MODIFIED", "AWS::S3::Bucket",
                               expected={"VersioningConfiguration": {"Status": "Enabled"}},
                               actual={"VersioningConfiguration": {"Status": "Suspended"}},
                               differences=[("/VersioningConfiguration/Status", "Enabled", "Suspended", "NOT_EQUAL")])])
    resources(cf, ("bucket", "AWS::S3::Bucket"), ("function", "AWS::Lambda::Function"))
    report = run(cf)
    assert (report.status, report.detection_status, report.reason) == ("DRIFTED", "DETECTION_FAILED", reason)
    assert report.drifted[0].differences[0].actual == "Suspended"
    assert [r.logical_id for r in report.not_checked] == ["function"]
    assert view.text_lines(report)[0] == (f"my-stack: DRIFTED (1 resource drifted); detection failed: {reason}; "
                                           "checked: bucket")
    assert view.to_dict(report)["reason"] == reason


def test_detection_failed_without_drift_is_unknown_not_in_sync(cf):
    started(cf)
    detection(cf, "DETECTION_FAILED", reason="Internal Failure")
    drifts(cf, [])
    resources(cf, ("bucket", "AWS::S3::Bucket"))
    report = run(cf)
    assert report.status == "UNKNOWN" and not report.has_drift
    assert view.text_lines(report)[0] == "my-stack: UNKNOWN; detection failed: Internal Failure; checked: nothing"


def test_every_page_is_read(cf):
    started(cf)
    detection(cf, "DETECTION_COMPLETE", "DRIFTED", 1)
    drifts(cf, [resource_drift(f"queue{n}", "IN_SYNC", "AWS::SQS::Queue") for n in range(100)],
           [resource_drift(f"queue{n}", "IN_SYNC", "AWS::SQS::Queue") for n in range(100, 200)],
           [resource_drift("function", "MODIFIED", expected=FUNCTION_EXPECTED, actual=FUNCTION_ACTUAL,
                           differences=[("/MemorySize", "128", "256", "NOT_EQUAL")])])
    resources(cf)
    report = run(cf)
    assert len(report.checked) == 201 and [r.logical_id for r in report.drifted] == ["function"]


def test_polls_fast_first_then_doubles_to_the_ceiling(cf):
    started(cf)
    for _ in range(6):
        detection(cf, "DETECTION_IN_PROGRESS")
    detection(cf, "DETECTION_COMPLETE", "IN_SYNC", 0)
    drifts(cf, [])
    resources(cf)
    clock = FakeClock()
    assert run(cf, clock).status == "IN_SYNC"
    assert clock.sleeps == [0.2, 0.4, 0.8, 1.6, 2.0, 2.0]


def test_throttling_while_polling_slows_the_budget_and_the_poll_goes_on(cf):
    started(cf)
    detection(cf, "DETECTION_IN_PROGRESS")
    cf.add_client_error("describe_stack_drift_detection_status", "Throttling", "Rate exceeded", 400)
    cf.add_client_error("describe_stack_drift_detection_status", "Throttling", "Rate exceeded", 400)
    detection(cf, "DETECTION_COMPLETE", "IN_SYNC", 0)
    drifts(cf, [])
    resources(cf)
    clock = FakeClock()
    budget = Budget(4.0, clock, clock.sleep)
    assert run(cf, clock, read=Poller(cf.client, budget, clock, clock.sleep).read).status == "IN_SYNC"
    assert budget.cuts == 2 and budget.rate < 1.1  # each Throttling a second or more apart: halved twice
    assert clock.sleeps[0] == 0.2  # the poll's own pause, then the budget's waits after each Throttling
    assert sum(clock.sleeps) > 2.0


def test_timeout_names_the_stack_the_limit_and_the_option(cf):
    started(cf)
    for _ in range(9):  # polls at 0, 0.2, 0.6, 1.4, 3, 5, 7, 9 and 11 s
        detection(cf, "DETECTION_IN_PROGRESS")
    clock = FakeClock()
    with pytest.raises(OperationError) as caught:
        run(cf, clock, timeout_s=10)
    assert caught.value.lines() == [(f"error: my-stack: drift detection {DETECTION_ID} did not finish in 10 s; "
                                     "allow more with --timeout SECONDS")]
    assert clock.now == 11  # the first poll past the limit stops it


def test_a_failing_call_is_one_line(cf):
    cf.add_client_error("detect_stack_drift", "ValidationError", "Stack with id my-stack does not exist", 400)
    with pytest.raises(OperationError) as caught:
        run(cf)
    assert caught.value.lines() == [
        "error: my-stack: DetectStackDrift failed: ValidationError: Stack with id my-stack does not exist"]


def test_the_emulators_gap_is_one_line_naming_it(cf):
    message = ("The API for service cloudformation is either not included in your current license plan or has not "
               "yet been emulated by LocalStack.")
    cf.add_client_error("detect_stack_drift", "InternalFailure", message, 501)
    with pytest.raises(OperationError) as caught:
        run(cf)
    assert caught.value.lines() == [(f"error: my-stack: this endpoint does not implement drift detection "
                                     f"(InternalFailure: {message}); run drift against AWS itself")]


def test_noise_is_classified_and_is_not_drift(cf):
    """A reordered tag list and the S3 default encryption reported missing: noise only, so IN_SYNC."""
    tags = [{"Key": "app", "Value": "builder"}, {"Key": "env", "Value": "pr1"}]
    sse_s3 = {"ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
    expected = {"BucketName": "b", "Tags": tags, "BucketEncryption": sse_s3}
    actual = {"BucketName": "b", "Tags": tags[::-1]}
    started(cf)
    detection(cf, "DETECTION_COMPLETE", "DRIFTED", 1)
    drifts(cf, [resource_drift("bucket", "MODIFIED", "AWS::S3::Bucket", expected=expected, actual=actual, differences=[
        ("/Tags/0/Key", "app", "env", "NOT_EQUAL"),
        ("/Tags/0/Value", "builder", "pr1", "NOT_EQUAL"),
        ("/Tags/1/Key", "env", "app", "NOT_EQUAL"),
        ("/Tags/1/Value", "pr1", "builder", "NOT_EQUAL"),
        ("/BucketEncryption", json.dumps(sse_s3, separators=(",", ":")), "null", "NOT_EQUAL"),
    ])])
    resources(cf, ("bucket", "AWS::S3::Bucket"))
    report = run(cf)
    assert (report.status, report.drifted, report.has_drift) == ("IN_SYNC", (), False)
    (bucket,) = report.noise
    reasons = {d.path: d.noise_reason for d in bucket.differences}
    assert reasons["/Tags/0/Key"] == reasons["/Tags/1/Value"] == drift.LIST_ORDER.reason
    assert reasons["/BucketEncryption"] == storage.DEFAULT_ENCRYPTION_NOISE.reason  # the storage family's rule
    text = "\n".join(view.text_lines(report))
    assert "noise (known false positives, not drift):" in text and "cloudformation-coverage-roadmap#2554" in text
    assert view.to_dict(report)["noise"][0]["differences"][0]["noise_reason"]


def test_noise_and_drift_on_one_resource_are_split(cf):
    expected = {"Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}], "MemorySize": 128}
    actual = {"Tags": [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "1"}], "MemorySize": 256}
    started(cf)
    detection(cf, "DETECTION_COMPLETE", "DRIFTED", 1)
    drifts(cf, [resource_drift("function", "MODIFIED", expected=expected, actual=actual, differences=[
        ("/MemorySize", "128", "256", "NOT_EQUAL"),
        ("/Tags/0/Key", "a", "b", "NOT_EQUAL"),
    ])])
    resources(cf, ("function", "AWS::Lambda::Function"))
    report = run(cf)
    assert report.status == "DRIFTED"
    assert [d.path for d in report.drifted[0].differences] == ["/MemorySize"]
    assert [d.path for d in report.noise[0].differences] == ["/Tags/0/Key"]


@pytest.mark.parametrize("path, expected, actual, kind, noise", [
    # a changed item inside a reordered list is drift, not noise
    ("/Tags/0/Value", [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
     [{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "9"}], "MODIFIED", False),
    # the whole list reported at once, only reordered
    ("/Names", ["x", "y"], ["y", "x"], "MODIFIED", True),
    # a duplicate is not a reordering (multisets, not sets)
    ("/Names", ["x", "x", "y"], ["x", "y", "y"], "MODIFIED", False),
])
def test_list_order_rule(path, expected, actual, kind, noise):
    key = path.split("/")[1]
    diff = drift.PropertyDifference(path, json.dumps(expected if path == "/Names" else "1"),
                                    json.dumps(actual if path == "/Names" else "9"), kind)
    reason = drift.noise_reason("AWS::Lambda::Function", diff, {key: expected}, {key: actual})
    assert (reason is not None) == noise


@pytest.mark.parametrize("declared, actual, kind, noise", [
    ([{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}], "null", "MODIFIED", True),
    ([{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}], "", "REMOVED", True),
    # a KMS key reported missing may really have been replaced by SSE-S3: drift
    ([{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "k"}}], "null", "MODIFIED",
     False),
    # SSE-S3 declared, KMS found: drift
    ([{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}],
     '{"ServerSideEncryptionConfiguration":[{"ServerSideEncryptionByDefault":{"SSEAlgorithm":"aws:kms"}}]}',
     "MODIFIED", False),
])
def test_s3_default_encryption_rule(declared, actual, kind, noise):
    expected = {"BucketEncryption": {"ServerSideEncryptionConfiguration": declared}}
    diff = drift.PropertyDifference("/BucketEncryption", json.dumps(expected["BucketEncryption"]), actual, kind)
    assert (drift.noise_reason("AWS::S3::Bucket", diff, expected, {}) is not None) == noise
    assert drift.noise_reason("AWS::Lambda::Function", diff, expected, {}) is None


def test_markdown_escapes_pipes_and_lists_noise_with_its_reason():
    report = drift.DriftReport(
        "app-x", "DRIFTED", "DETECTION_COMPLETE", "",
        drifted=(drift.ResourceDrift("Fn", "fn-1", "AWS::Lambda::Function", "MODIFIED",
                                     (drift.PropertyDifference("/Description", "a|b", "c", "MODIFIED"),)),),
        not_checked=(),
        noise=(drift.ResourceDrift("Bucket", "b", "AWS::S3::Bucket", "MODIFIED",
                                   (drift.PropertyDifference("/Tags/0/Key", "a", "b", "MODIFIED", "order only"),)),))
    md = view.markdown(report)
    assert "| Fn | /Description | a\\|b | c | MODIFIED |" in md
    assert "| Bucket | /Tags/0/Key | a | b | MODIFIED | order only |" in md
    assert view.markdown(report) == md  # deterministic
