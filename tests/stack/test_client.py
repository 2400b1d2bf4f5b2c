"""Shared clients (builder/stack/client.py): one per region, service and AWS environment.

Making a client calls nothing, so no emulator is needed: the endpoints below are never reached.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from builder.stack import client as aws


@pytest.fixture
def dummy_aws(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_CLOUDFORMATION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return monkeypatch


def test_threads_share_one_client_per_region_and_service(dummy_aws: pytest.MonkeyPatch) -> None:
    dummy_aws.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    got: list[Any] = []
    threads = [threading.Thread(target=lambda: got.append(aws.shared_client("eu-west-1", "cloudformation")))
               for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(c) for c in got}) == 1
    assert aws.shared_client("eu-west-2", "cloudformation") is not got[0]
    assert aws.shared_client("eu-west-1", "s3") is not got[0]


def test_the_endpoint_is_part_of_the_key(dummy_aws: pytest.MonkeyPatch) -> None:
    dummy_aws.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    first = aws.shared_client("us-east-1", "cloudformation")
    dummy_aws.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:10")
    assert aws.endpoint_url("us-east-1", "cloudformation") == "http://127.0.0.1:10"
    dummy_aws.setenv("AWS_ENDPOINT_URL_CLOUDFORMATION", "http://127.0.0.1:11")
    assert aws.endpoint_url("us-east-1", "cloudformation") == "http://127.0.0.1:11"
    dummy_aws.delenv("AWS_ENDPOINT_URL_CLOUDFORMATION")
    dummy_aws.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    assert aws.shared_client("us-east-1", "cloudformation") is first


def test_each_shared_client_follows_aws_max_attempts(dummy_aws: pytest.MonkeyPatch) -> None:
    dummy_aws.setenv("AWS_MAX_ATTEMPTS", "2")
    two = aws.shared_client("us-east-1", "cloudformation")
    dummy_aws.setenv("AWS_MAX_ATTEMPTS", "7")
    seven = aws.shared_client("us-east-1", "cloudformation")
    assert two.meta.config.retries["total_max_attempts"] == 2
    assert seven.meta.config.retries["total_max_attempts"] == 7
