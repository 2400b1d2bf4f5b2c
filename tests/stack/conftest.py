"""The stubbed CloudFormation client of the stack tests that LocalStack cannot serve (drift, IMPORT)."""

from __future__ import annotations

import pytest
from botocore.stub import Stubber

from tests.factories import stubbed_client


@pytest.fixture
def cf():
    """A CloudFormation client (us-east-1) whose answers its `stubber` attribute queues; every answer
    queued must have been asked for."""
    client = stubbed_client("cloudformation")
    with Stubber(client) as stubber:
        client.stubber = stubber
        yield client
        stubber.assert_no_pending_responses()
