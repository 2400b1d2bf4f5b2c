"""Throttling on the wire: a server on 127.0.0.1 that answers CloudFormation's Throttling error (the
query/XML shape AWS sends) to the first reads, then a real DescribeStacks answer. The emulator never
throttles, so this small server stands in for an account over its rate.

The budget is the one thing that reacts: botocore sends a throttled read once (no retry of its own), the
run's budget halves, and Poller.read asks again when the slower budget allows it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.exceptions
import pytest

from builder.stack import client as aws
from builder.stack.poller import Pollers

NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
THROTTLING = (f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>Throttling</Code>'
              f"<Message>Rate exceeded</Message></Error><RequestId>r-1</RequestId></ErrorResponse>")
NO_STACKS = (f'<DescribeStacksResponse xmlns="{NS}"><DescribeStacksResult><Stacks/></DescribeStacksResult>'
             f"<ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></DescribeStacksResponse>")


class Throttler:
    """Answers Throttling to the first `throttle` requests, then an empty DescribeStacks; counts requests."""

    def __init__(self, throttle: int) -> None:
        self.left, self.requests = throttle, 0
        lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with lock:
                    outer.requests += 1
                    throttled = outer.left > 0
                    outer.left -= 1
                body = (THROTTLING if throttled else NO_STACKS).encode()
                self.send_response(400 if throttled else 200)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def throttler(monkeypatch: pytest.MonkeyPatch) -> Iterator[Throttler]:
    server = Throttler(throttle=2)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_ENDPOINT_URL", server.url)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_a_throttled_read_is_sent_once_and_the_budget_halves(throttler: Throttler) -> None:
    with Pollers(4.0) as pollers:
        poller = pollers.poller("us-east-1")
        with pytest.raises(botocore.exceptions.ClientError, match="Throttling"):
            poller.cf.describe_stacks()  # straight on the client: botocore did not retry it
        assert throttler.requests == 1
        assert (poller.budget.rate, poller.budget.cuts) == (2.0, 1)


def test_a_read_through_the_budget_waits_for_it_and_asks_again(throttler: Throttler) -> None:
    with Pollers(4.0) as pollers:
        poller = pollers.poller("us-east-1")
        assert poller.read("describe_stacks")["Stacks"] == []
        assert throttler.requests == 3  # two Throttling replies, one answer: each sent once
        assert poller.budget.cuts >= 1 and poller.budget.rate < 4.0


def test_without_the_run_botocore_keeps_its_own_retries(throttler: Throttler) -> None:
    """Outside a run (the hook unhooked when the run ends) the client is botocore's standard one again."""
    with Pollers(4.0) as pollers:
        pollers.poller("us-east-1")
    cf = aws.shared_client("us-east-1", "cloudformation")
    assert cf.describe_stacks()["Stacks"] == []
    assert throttler.requests == 3  # botocore retried the two Throttling replies itself
