"""A recording proxy on 127.0.0.1 between one tool and LocalStack: counts the calls from outside the process.

    with RecordingProxy(endpoint) as proxy:   # proxy.url is the endpoint the tool is given
        proxy.reset()
        ...run the tool...
        proxy.calls                           # [Call(time.time(), service, action, HTTP status)], in arrival order

Every request is forwarded as it came (same method, path, headers and body) and its answer returned as it
came, so the tool sees LocalStack; the action is read from the request the way each AWS protocol names it:
`Action=` in a query-protocol body (CloudFormation, STS), the `X-Amz-Target` header (DynamoDB), and for S3's
REST calls the method and the sub-resource (HEAD of a bucket is HeadBucket); the service from the credential
scope of the request's signature (`Credential=<key>/<date>/<region>/<service>/aws4_request`). A reply whose body names
Throttling is recorded in `throttled` as well. Nothing here knows either tool: both are counted the same way.
"""

from __future__ import annotations

import http.client
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple, Self
from urllib.parse import parse_qs, urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade"}
S3_SUBRESOURCES = {"versions": "ListObjectVersions", "delete": "DeleteObjects", "tagging": "Tagging",
                   "policy": "Policy", "location": "GetBucketLocation"}


class Call(NamedTuple):
    at: float  # time.time() when the request arrived
    service: str  # cloudformation, s3, dynamodb, sts, ...
    action: str
    status: int


def service_of(headers: dict[str, str]) -> str:
    """The signing service of a SigV4 request (lower-case header names), or "?" if it is not signed."""
    auth = headers.get("authorization", "")
    if "Credential=" not in auth:
        return "?"
    scope = auth.split("Credential=", 1)[1].split(",", 1)[0].split("/")
    return scope[3] if len(scope) >= 5 else "?"


def action_of(method: str, path: str, headers: dict[str, str], body: bytes) -> str:
    """The AWS API action a request calls, from the request alone."""
    target = headers.get("x-amz-target", "")
    if target:
        return target.rsplit(".", 1)[-1]
    if method == "POST" and (body.startswith(b"Action=") or b"&Action=" in body):
        return parse_qs(body.decode("utf-8", "replace")).get("Action", ["?"])[0]
    split = urlsplit(path)
    query = parse_qs(split.query, keep_blank_values=True)
    parts = [p for p in split.path.split("/") if p]
    for key, name in S3_SUBRESOURCES.items():
        if key in query:
            return name if name.startswith(("List", "Delete", "Get")) else f"{method.title()}Bucket{name}"
    if method == "HEAD":
        return "HeadBucket" if len(parts) <= 1 else "HeadObject"
    kind = "Bucket" if len(parts) <= 1 else "Object"
    return {"GET": f"Get{kind}" if kind == "Object" else "ListObjects", "PUT": f"Put{kind}" if kind == "Object"
            else "CreateBucket", "DELETE": f"Delete{kind}"}.get(method, f"S3 {method}")


class RecordingProxy:
    """A threading HTTP server on a free 127.0.0.1 port forwarding to `upstream` (http://host:port)."""

    def __init__(self, upstream: str) -> None:
        split = urlsplit(upstream)
        self.upstream_host, self.upstream_port = split.hostname or "127.0.0.1", split.port or 80
        self.lock = threading.Lock()
        self.calls: list[Call] = []
        self.throttled: list[tuple[float, str]] = []
        self._local = threading.local()
        self._conns: list[http.client.HTTPConnection] = []  # every upstream connection, closed on exit
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        with self.lock:
            for conn in self._conns:
                conn.close()

    def reset(self) -> None:
        with self.lock:
            self.calls, self.throttled = [], []

    def _upstream(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=300)
            with self.lock:
                self._conns.append(conn)
        return conn

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, list, bytes]:
        for attempt in (1, 2):  # a kept-alive upstream connection LocalStack closed meanwhile: open a new one
            conn = self._upstream()
            try:
                conn.request(method, path, body=body if body or method in ("POST", "PUT") else None, headers=headers)
                reply = conn.getresponse()
                data = reply.read() if method != "HEAD" else b""
                return reply.status, reply.getheaders(), data
            except (http.client.HTTPException, ConnectionError):
                conn.close()
                self._local.conn = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # the reply goes out in two writes (headers, then body): with Nagle's algorithm on, the body waits for
            # the client's delayed ACK of the headers, about 40 ms on Linux, so each call through the proxy cost
            # up to 40 ms more than without it, and the tool making more calls paid it more often
            disable_nagle_algorithm = True

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                lower = {k.lower(): v for k, v in headers.items()}
                action, service = action_of(self.command, self.path, lower, body), service_of(lower)
                arrived = time.time()
                status, reply_headers, data = proxy.forward(self.command, self.path, headers, body)
                with proxy.lock:
                    proxy.calls.append(Call(arrived, service, action, status))
                    if status >= 400 and b"Throttl" in data:
                        proxy.throttled.append((arrived, action))
                self.send_response(status)
                for key, value in reply_headers:
                    if key.lower() not in HOP_BY_HOP and (key.lower() != "content-length" or self.command == "HEAD"):
                        self.send_header(key, value)
                if self.command != "HEAD":
                    self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _any

        return Handler
