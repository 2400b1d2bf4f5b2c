"""Run only by tests/emulator/test_aws_lane.py, in a pytest subprocess in the AWS lane (named on its
command line, so pytest collects it although its name does not start with test_): what a test sees there."""

from __future__ import annotations

import os


def test_lane_probe(aws_endpoint):
    assert aws_endpoint is None
    assert [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")] == []
    assert os.environ["AWS_ACCESS_KEY_ID"] == "x"  # the caller's credential chain, not the emulator's dummies
