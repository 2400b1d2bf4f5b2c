"""Faults during deploy, against the session's LocalStack: an endpoint that is down or goes away,
throttling, two deploys of one suffix at once, Ctrl-C, and destroy keeping what retain_data keeps.

The faults come from a small HTTP proxy on 127.0.0.1 in front of the emulator (`FaultProxy`): it
forwards every request, and on cue answers `Throttling`, holds requests unanswered, or goes away
(its listening socket and every open connection closed) and comes back on the same port. The cues
are API actions (`after="ExecuteChangeSet"`), never timers, so no test depends on timing.
"""

from __future__ import annotations

import http.client
import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

import builder.stack.client
from tests.factories import without_config_line

pytestmark = [pytest.mark.emulator,
              pytest.mark.emulator_only("the fault proxy forwards plain HTTP to the emulator")]

THROTTLING = (b'<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender'
              b'</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>'
              b'<RequestId>00000000-0000-0000-0000-000000000000</RequestId></ErrorResponse>')
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "content-length", "upgrade"}


def action_of(headers, body: bytes) -> str:
    """The API action of a request: the query protocol's Action=..., or the JSON protocols' X-Amz-Target."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    return parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]


class FaultProxy:
    """An HTTP/1.1 proxy on 127.0.0.1 in front of the emulator, with faults on cue.

    throttle(action, n): answer the next n requests for action with HTTP 400 Throttling.
    go_away(after=action): once a request for action has been answered, close the listening
    socket and every connection (clients then get "connection refused"); go_away() at once;
    come_back() listens again on the same port.
    hold(after=action): leave the one request that follows unanswered (``held`` is set when it
    arrives) until release(); the requests after it pass.
    ``log`` lists (action, status) for every request in order; status "throttled" for our replies.
    """

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.log: list[tuple[str, int]] = []
        self.throttles: Counter[str] = Counter()
        self.go_away_after: str | None = None
        self.hold_after: str | None = None
        self.hold_at: str | None = None  # hold the first request of this action itself
        self.holding = 0
        self.held = threading.Event()
        self.released = threading.Event()
        self.gone = threading.Event()
        self.port = 0
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ listening
    def start(self) -> FaultProxy:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                with proxy._lock:
                    proxy._conns.add(self.connection)

            def finish(self) -> None:
                with proxy._lock:
                    proxy._conns.discard(self.connection)
                super().finish()

            def log_message(self, *args) -> None:  # quiet
                pass

            def relay(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    proxy.answer(self, action_of(self.headers, body), body)
                except OSError:  # the client went away (Ctrl-C) or we did (go_away)
                    self.close_connection = True

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = relay

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.gone.clear()
        self._thread = threading.Thread(target=self._server.serve_forever, name="fault-proxy", daemon=True)
        self._thread.start()
        return self

    def _close_listener(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        with self._lock:
            for conn in list(self._conns):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
        self.gone.set()

    def go_away(self, after: str | None = None) -> None:
        if after:
            self.go_away_after = after
        else:
            self._close_listener()

    def come_back(self) -> None:
        """Listen again on the same port (SO_REUSEADDR, as http.server sets it)."""
        self.go_away_after = None
        self.start()

    def close(self) -> None:
        self.released.set()
        self._close_listener()

    # ------------------------------------------------------------------ faults
    def throttle(self, action: str, times: int) -> None:
        self.throttles[action] += times

    def hold(self, after: str) -> None:
        self.hold_after = after

    def release(self) -> None:
        """Forward the held request (its client may be gone by then)."""
        self.released.set()

    # ------------------------------------------------------------------ one request
    def answer(self, handler: http.server.BaseHTTPRequestHandler, action: str, body: bytes) -> None:
        if self.gone.is_set():
            handler.close_connection = True
            return
        with self._lock:
            throttled = self.throttles[action] > 0
            if throttled:
                self.throttles[action] -= 1
            held, self.holding = self.holding > 0, max(0, self.holding - 1)
            if action == self.hold_at:
                held, self.hold_at = True, None
        if held:
            self.held.set()
            self.released.wait()
            if self.gone.is_set():  # gone while held: the request is dropped, never forwarded
                handler.close_connection = True
                return
        if throttled:
            status, headers, payload = 400, [("Content-Type", "text/xml")], THROTTLING
        else:
            status, headers, payload = self._forward(handler, body)
        self.log.append((action, "throttled" if throttled else status))
        handler.send_response_only(status)
        for name, value in headers:
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)
        handler.wfile.flush()
        if action == self.hold_after:
            self.hold_after, self.holding = None, 1
        if action == self.go_away_after:  # before this connection can carry another request
            self._close_listener()

    def _forward(self, handler, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(*self.upstream, timeout=60)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            upstream.request(handler.command, handler.path, body=body, headers=headers)
            reply = upstream.getresponse()
            payload = reply.read()
            return reply.status, [(k, v) for k, v in reply.getheaders() if k.lower() not in HOP_BY_HOP], payload
        finally:
            upstream.close()

    def calls(self, action: str) -> list[int | str]:
        """The statuses answered to action, in order."""
        return [status for name, status in self.log if name == action]


@pytest.fixture
def proxy(aws, monkeypatch):
    """A FaultProxy in front of the session's emulator; builder (and its subprocesses) talk through it,
    while the test's own checks (aws.client, aws.stack) still go straight to the emulator."""
    fault_proxy = FaultProxy(aws.endpoint).start()
    monkeypatch.setenv("AWS_ENDPOINT_URL", fault_proxy.url)
    yield fault_proxy
    fault_proxy.close()


def builder_process(*argv: str, endpoint: str | None = None) -> subprocess.Popen:
    """`python -m builder ARGV` as a child process, in the test's environment and working directory
    (AWS_ENDPOINT_URL: the proxy fixture's, unless `endpoint` names another)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", **({"AWS_ENDPOINT_URL": endpoint} if endpoint else {}))
    return subprocess.Popen([sys.executable, "-m", "builder", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)



def interrupt_when_held(proxy, process: subprocess.Popen, what: str, drop: bool = False) -> tuple[str, str]:
    """Ctrl-C (SIGINT) to `process` once the proxy holds its request, then its stdout and stderr; the held
    request is then let go (or dropped, not forwarded) and the process killed if it is still running."""
    try:
        assert proxy.held.wait(60), f"the {what}"
        process.send_signal(signal.SIGINT)
        return process.communicate(timeout=60)
    finally:
        if drop:
            proxy.gone.set()  # the held request is dropped, not forwarded
        proxy.release()
        if process.poll() is None:
            process.kill()
            process.communicate()


def deploy_argv(suffix: str, days: int | None = None) -> list[str]:
    return ["deploy", "--suffix", suffix, *(["--set", f"bucket_lifecycle_days={days}"] if days else [])]


def assert_converged(aws, suffix: str, days: int, status: str) -> None:
    """The stack settled in `status` with the config's parameter, and its outputs file is written.

    Not compared with the stack's Outputs: LocalStack 2026.3 sets CREATE_COMPLETE a moment before it
    stores the outputs (localstack/services/cloudformation/v2/provider.py), so a poll in between
    reads a complete stack without Outputs. test_deploy_emulator compares them on a quiet server."""
    name = f"app-{suffix}"
    assert aws.stack(name)["StackStatus"] == status
    assert aws.parameters(name)["BucketLifecycleDays"] == str(days)
    assert isinstance(json.loads(Path(f"out/{name}.outputs.json").read_text()), dict)


# ---------------------------------------------------------------------- the endpoint goes away

def test_endpoint_down_then_back_creates_the_stack(aws, proxy, suffix):
    proxy.go_away()
    code, out, err = aws.run(*deploy_argv(suffix))
    assert code == 1
    assert err == (f"error: app-{suffix}: cannot reach {proxy.url}/; check the network, AWS_ENDPOINT_URL "
                   f"and the region\n")
    assert out == ""
    assert aws.stack(f"app-{suffix}") is None

    proxy.come_back()
    code, out, err = aws.run(*deploy_argv(suffix))
    assert (code, err) == (0, "")
    assert_converged(aws, suffix, 30, "CREATE_COMPLETE")


@pytest.mark.parametrize("after", ["CreateChangeSet", "ExecuteChangeSet"])
def test_endpoint_lost_mid_deploy_then_back_converges(aws, proxy, suffix, after):
    """The endpoint goes away right after answering `after`: with a change set made but not executed,
    or executed and being watched. One error line, exit 1; once it is back, deploy again converges."""
    assert aws.run(*deploy_argv(suffix))[0] == 0
    proxy.go_away(after=after)
    code, out, err = aws.run(*deploy_argv(suffix, days=45))
    assert code == 1
    assert err == (f"error: app-{suffix}: cannot reach {proxy.url}/; check the network, AWS_ENDPOINT_URL "
                   f"and the region\n")
    assert "Traceback" not in out
    assert proxy.log[-1] == (after, 200)  # the last request that reached the emulator

    proxy.come_back()
    code, out, err = aws.run(*deploy_argv(suffix, days=45))
    assert (code, err) == (0, "")
    if after == "ExecuteChangeSet":  # the emulator finished the update while builder could not watch
        assert "no changes" in out
    else:
        assert "UPDATE_COMPLETE" in out
    assert_converged(aws, suffix, 45, "UPDATE_COMPLETE")


# ---------------------------------------------------------------------- throttling

def test_throttled_calls_are_retried_and_the_deploy_succeeds(aws, proxy, suffix):
    """botocore's standard mode retries a throttled call (3 attempts); builder's polls outlast even a
    fourth Throttling by backing off themselves."""
    proxy.throttle("CreateChangeSet", 2)
    proxy.throttle("ExecuteChangeSet", 2)
    proxy.throttle("DescribeStacks", 4)
    code, _out, err = aws.run(*deploy_argv(suffix))
    assert (code, err) == (0, "")
    assert proxy.calls("CreateChangeSet") == ["throttled", "throttled", 200]
    assert proxy.calls("ExecuteChangeSet") == ["throttled", "throttled", 200]
    assert proxy.calls("DescribeStacks")[:5] == ["throttled"] * 4 + [400]  # then: the stack does not exist
    assert_converged(aws, suffix, 30, "CREATE_COMPLETE")


def test_one_clients_attempt_count_does_not_stick_to_the_next(monkeypatch):
    """botocore writes AWS_MAX_ATTEMPTS into the Config it is given; with one shared Config, a run
    with AWS_MAX_ATTEMPTS=1 left every later client of the process without throttling retries."""
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    assert builder.stack.client.client(builder.stack.client.session("us-east-1"),
                                       "cloudformation").meta.config.retries == {
        "mode": "standard", "total_max_attempts": 1}
    monkeypatch.delenv("AWS_MAX_ATTEMPTS")
    assert builder.stack.client.client(builder.stack.client.session("us-east-1"),
                                       "cloudformation").meta.config.retries == {
        "mode": "standard"}


# ---------------------------------------------------------------------- two deploys at once

def test_two_deploys_of_one_suffix_at_once_end_in_the_later_config(aws, proxy, suffix):
    """The first deploy (45 days) executes its change set and is held while it watches; the second
    (60 days) starts then and runs to the end; then the first one's watch goes on. Both exit 0 and
    the stack holds the later config. LocalStack settles an update before the second deploy can see
    it in progress, so "waiting for it" shows only when it does (test_deploy_stubbed covers it)."""
    assert aws.run(*deploy_argv(suffix))[0] == 0
    first_proxy = FaultProxy(aws.endpoint).start()
    try:
        first_proxy.hold(after="ExecuteChangeSet")
        first = builder_process(*deploy_argv(suffix, days=45), endpoint=first_proxy.url)
        assert first_proxy.held.wait(60), "the first deploy never executed its change set"
        second = builder_process(*deploy_argv(suffix, days=60))
        second_out, second_err = second.communicate(timeout=120)
        first_proxy.release()
        first_out, first_err = first.communicate(timeout=120)
    finally:
        first_proxy.close()
    assert (first.returncode, without_config_line(first_err)) == (0, ""), first_out
    assert (second.returncode, without_config_line(second_err)) == (0, ""), second_out
    for out in (first_out, second_out):
        if "another operation is running" in out:
            assert out.index("another operation is running") < out.index("the other operation settled")
    assert "UPDATE_COMPLETE" in first_out and "UPDATE_COMPLETE" in second_out
    assert_converged(aws, suffix, 60, "UPDATE_COMPLETE")


# ---------------------------------------------------------------------- Ctrl-C

def test_ctrl_c_while_waiting_says_where_the_stack_stands_and_the_next_deploy_recovers(aws, proxy, suffix):
    """SIGINT while builder waits on the executing stack (its first poll held unanswered): no
    traceback, one line naming the stack's state and how to resume, exit 130; the next deploy ends
    with the stack complete and its outputs written."""
    proxy.hold(after="ExecuteChangeSet")
    deploy = builder_process(*deploy_argv(suffix))
    out, err = interrupt_when_held(proxy, deploy, "deploy never executed its change set")
    err = without_config_line(err)
    assert deploy.returncode == 130
    assert "Traceback" not in out + err
    assert "10 change(s) planned (CREATE):" in out
    assert err.count("\n") == 1
    in_flight = (f"error: app-{suffix}: interrupted; the stack was left in CREATE_IN_PROGRESS (CloudFormation "
                 f"carries on without builder); run deploy again to resume\n")
    finished = (f"error: app-{suffix}: interrupted after the stack had settled in CREATE_COMPLETE: CloudFormation "
                f"had finished, nothing of it is still running\n")  # LocalStack may have finished the create
    assert err in (in_flight, finished), err

    code, out, err = aws.run(*deploy_argv(suffix))
    assert (code, err) == (0, "")
    assert_converged(aws, suffix, 30, "CREATE_COMPLETE")


def test_ctrl_c_before_the_change_set_ran_does_not_say_cloudformation_carries_on(aws, proxy, suffix):
    """SIGINT while ExecuteChangeSet is held: the new stack stays in REVIEW_IN_PROGRESS, its change set never
    executed, so nothing runs on it (the line said 'CloudFormation carries on without builder')."""
    proxy.hold_at = "ExecuteChangeSet"
    deploy = builder_process(*deploy_argv(suffix))
    out, err = interrupt_when_held(proxy, deploy, "deploy never executed its change set", drop=True)
    assert deploy.returncode == 130, out + err
    assert without_config_line(err).splitlines() == [
        (f"error: app-{suffix}: interrupted; the stack was left in REVIEW_IN_PROGRESS (nothing runs on it); run "
        f"deploy again to resume")]
    assert aws.stack(f"app-{suffix}")["StackStatus"] == "REVIEW_IN_PROGRESS"


def test_ctrl_c_while_diff_waits_for_its_change_set_leaves_no_change_set_behind(aws, proxy, suffix):
    """diff makes a change set, prints it and deletes it, 'also after Ctrl-C'; a Ctrl-C while it waited for the
    change set to be made (DescribeChangeSet held) left it on the stack."""
    assert aws.run(*deploy_argv(suffix))[0] == 0
    proxy.hold_at = "DescribeChangeSet"
    diff = builder_process("diff", "--suffix", suffix, "--set", "bucket_lifecycle_days=60")
    out, err = interrupt_when_held(proxy, diff, "diff never asked for its change set")
    assert diff.returncode == 130, out + err
    assert without_config_line(err).splitlines() == [f"error: app-{suffix}: interrupted"]
    assert aws.client("cloudformation").list_change_sets(StackName=f"app-{suffix}")["Summaries"] == []


def test_ctrl_c_after_a_create_settled_before_its_stack_policy_says_how_to_set_it(aws, proxy, suffix):
    """SIGINT while a new stack's SetStackPolicy is in flight: CloudFormation has finished, and a deploy
    again finds the stack unchanged and skips it, so it would never set the policy; the line gives the
    command that does (it said 'interrupted' and nothing more)."""
    proxy.hold_at = "SetStackPolicy"
    deploy = builder_process(*deploy_argv(suffix))
    out, err = interrupt_when_held(proxy, deploy, "deploy never set the stack policy")
    assert deploy.returncode == 130, out + err
    assert "Traceback" not in out + err
    [line] = without_config_line(err).splitlines()
    said, _, body = line.partition(" --stack-policy-body ")
    assert said == (f"error: app-{suffix}: interrupted after the stack had settled in CREATE_COMPLETE: CloudFormation "
                    f"had finished, but builder may not have set its stack policy yet, and a deploy again skips the "
                    f"unchanged stack; set it with: aws cloudformation set-stack-policy --stack-name app-{suffix} "
                    f"--region us-east-1")
    denied = [s for s in json.loads(body.strip("'"))["Statement"] if s["Effect"] == "Deny"]
    assert denied and all("Update:Delete" in s["Action"] for s in denied)


# ---------------------------------------------------------------------- destroy keeps retained data

def test_destroy_keeps_every_object_version_and_item_that_retain_data_keeps(aws, suffix):
    """retain_data on: destroy deletes the stack but not the bucket (every object version and delete
    marker in it) nor the table (its items), although today's config has retain_data off."""
    name = f"app-{suffix}"
    assert aws.run("deploy", "--suffix", suffix, "--set", "retain_data=true")[0] == 0
    s3, dynamodb = aws.client("s3"), aws.client("dynamodb")
    bucket, table = f"{name}-data-000000000000-us-east-1", f"{name}-data"
    for index in range(3):
        for body in (b"v1", b"v2"):
            s3.put_object(Bucket=bucket, Key=f"data/{index}.txt", Body=body)
    s3.delete_object(Bucket=bucket, Key="data/0.txt")
    versions = s3.list_object_versions(Bucket=bucket)
    before = sorted((v["Key"], v["VersionId"]) for v in versions["Versions"] + versions["DeleteMarkers"])
    assert len(before) == 7
    items = [{"pk": {"S": f"user#{index}"}, "sk": {"S": "profile"}, "n": {"N": str(index)}} for index in range(3)]
    for item in items:
        dynamodb.put_item(TableName=table, Item=item)

    code, out, err = aws.run("destroy", "--suffix", suffix, "--yes")
    assert (code, err) == (0, "")
    assert f"keeping bucket {bucket} and its data (DeletionPolicy Retain: retain_data)" in out
    assert aws.stack(name) is None
    versions = s3.list_object_versions(Bucket=bucket)
    assert sorted((v["Key"], v["VersionId"]) for v in versions["Versions"] + versions["DeleteMarkers"]) == before
    assert s3.get_object(Bucket=bucket, Key="data/2.txt")["Body"].read() == b"v2"
    kept = dynamodb.scan(TableName=table, ConsistentRead=True)["Items"]
    assert sorted(kept, key=lambda item: item["pk"]["S"]) == items
