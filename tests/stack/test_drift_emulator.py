"""Drift detection against the emulator: today a known gap, pinned.

LocalStack 2026.3 answers every drift call (DetectStackDrift, DescribeStackDriftDetectionStatus,
DescribeStackResourceDrifts, DetectStackResourceDrift) with HTTP 501 InternalFailure. The test of
the answer pins builder's one error line for it; the strict xfail turns into a failure the day an
upgrade adds drift detection, so the Stubber-only coverage in test_drift.py gets revisited.
"""

from __future__ import annotations

import json
import time

import pytest

from builder.errors import OperationError
from builder.stack import drift
from tests.factories import GAP_MESSAGE, KnownGap, pin_gap

pytestmark = [pytest.mark.emulator, pytest.mark.emulator_only("checks LocalStack's drift detection gaps")]



@pytest.fixture
def stack(aws, suffix):
    """A one-bucket stack, created directly: drift needs a stack, not builder's template."""
    cf, name = aws.client("cloudformation"), f"drift-{suffix}"
    template = {"Resources": {"Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": f"drift-{suffix}"}}}}
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template))
    deadline = time.monotonic() + 60
    while (status := aws.stack(name)["StackStatus"]).endswith("_IN_PROGRESS") and time.monotonic() < deadline:
        time.sleep(0.2)
    assert status == "CREATE_COMPLETE"
    yield name
    cf.delete_stack(StackName=name)


def test_the_emulator_rejects_drift_detection_with_one_clear_line(aws, stack):
    cf = aws.client("cloudformation")
    with pytest.raises(OperationError) as caught:
        drift.detect(cf, stack)
    assert caught.value.lines() == [(f"error: {stack}: this endpoint does not implement drift detection "
                                     f"(InternalFailure: {GAP_MESSAGE}); run drift against AWS itself")]


@pytest.mark.xfail(strict=True, raises=KnownGap,
                   reason="LocalStack 2026.3 does not emulate DetectStackDrift: it answers 501 InternalFailure "
                          "(not included in your license plan or not yet emulated)")
def test_gap_drift_detection(aws, stack):
    try:
        report = drift.detect(aws.client("cloudformation"), stack, timeout_s=60)
    except OperationError as error:
        pin_gap(GAP_MESSAGE in "\n".join(error.lines()), False, True, "\n".join(error.lines()))
        raise
    assert report.status == "IN_SYNC" and report.checked == ("Bucket",)
