"""Shared clients (builder/stack/client.py): one per region, service and AWS environment.

Making a client calls nothing, so no emulator is needed: the endpoints below are never reached.
"""

from __future__ import annotations

import datetime
import http.server
import threading
from typing import Any

import dateutil.parser
import hypothesis
import hypothesis.strategies as st
import pytest
from botocore.utils import parse_timestamp

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


# ---------------------------------------------------------------------- timestamps
@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(moment=st.datetimes(min_value=datetime.datetime(1970, 1, 2), max_value=datetime.datetime(9999, 1, 1)),
                  digits=st.sampled_from((0, 3, 6)))
def test_aws_timestamps_parse_as_botocore_parses_them(moment: datetime.datetime, digits: int) -> None:
    """AWS's ISO 8601 in UTC, with no, milli- or microseconds (CloudFormation answers the latter two)."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{moment.microsecond:06d}"[:digits + 1] if digits else "") + "Z"
    fast = aws.aws_timestamp(text)
    assert fast == parse_timestamp(text)
    assert fast.utcoffset() == datetime.timedelta(0)


@pytest.mark.parametrize("text", ["2030-01-01T00:00:00+02:00", "1700000000", "Thu, 01 Jan 2030 00:00:00 GMT",
                                  "2030-01-01T00:00:00.123456789Z"])
def test_other_timestamp_forms_go_to_botocore(text: str) -> None:
    assert aws.aws_timestamp(text) == parse_timestamp(text)


class _DescribeStacks(http.server.BaseHTTPRequestHandler):
    """DescribeStacks' answer (shape of the API reference's example) to any request."""

    BODY = (b'<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult>'
            b"<Stacks><member><StackName>app-x</StackName><StackId>arn:aws:cloudformation:us-east-1:123456789012:"
            b"stack/app-x/1</StackId><CreationTime>2026-12-05T08:41:47.123Z</CreationTime><StackStatus>"
            b"CREATE_COMPLETE</StackStatus></member></Stacks></DescribeStacksResult><ResponseMetadata><RequestId>"
            b"r</RequestId></ResponseMetadata></DescribeStacksResponse>")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY)

    def log_message(self, *args: Any) -> None:
        pass


def test_shared_clients_read_timestamps_without_dateutil(dummy_aws: pytest.MonkeyPatch) -> None:
    """botocore's own parser goes through dateutil.parser.parse; the shared clients' does not."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _DescribeStacks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        dummy_aws.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{server.server_address[1]}")
        dummy_aws.setattr(dateutil.parser, "parse", lambda *a, **k: pytest.fail("dateutil parsed a timestamp"))
        stack = aws.shared_client("us-east-1", "cloudformation").describe_stacks(StackName="app-x")["Stacks"][0]
    finally:
        server.shutdown()
        server.server_close()
    assert stack["CreationTime"] == datetime.datetime(2026, 12, 5, 8, 41, 47, 123000, tzinfo=datetime.UTC)
