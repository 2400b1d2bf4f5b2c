"""A loopback stand-in for CloudFormation whose stacks take a known time to settle.

Answers, in CloudFormation's query/XML protocol on 127.0.0.1, just what a create through a change
set needs: DescribeStacks, CreateChangeSet, DescribeChangeSet, DescribeEvents (the change set's validation
findings: none), DeleteChangeSet, ExecuteChangeSet, DescribeStackEvents, GetTemplateSummary, GetTemplate (an
empty template: no idle cost), a drift detection that finds every stack IN_SYNC, and ListStacks
(StackStatusFilter, 100 a page) and
DescribeStacks without StackName (100 a page) for many stacks at once. A change set is CREATE_PENDING for
CHANGE_SET_SECONDS, then CREATE_COMPLETE. After ExecuteChangeSet the stack is CREATE_IN_PROGRESS for `settle_seconds`,
then CREATE_COMPLETE; its resources report CREATE_IN_PROGRESS just after the start and
CREATE_COMPLETE spread evenly over the wait, as real resources do.

Its clock is virtual: time.monotonic() plus an offset that only grows. A client's time.sleep (replaced by
hooks/sitecustomize.py) ends in POST /__advance with `at <virtual wake-up time>`: the clock moves to that
time if it is not there yet, and the answer is the offset, which the client adopts. Sleeps that overlap
in real time so move the clock to the latest wake-up among them, not by their sum. A 300-second settle
costs only the real time of the calls made while waiting. Every call is logged with its virtual time.

Besides CloudFormation, what deploy asks before creating a stack (is retained data there?): STS
GetCallerIdentity, and "no" to S3 HeadBucket and DynamoDB DescribeTable.

Many stacks: start(name, settle_seconds) puts a stack straight into CREATE_IN_PROGRESS (no change
set), and settle_by_name gives stacks deployed through change sets their own settle times. Read calls
(Describe*, List*, Get*) of the whole account share one token bucket of `read_rate` calls a second
(None: no limit; Throttle below), as CloudFormation throttles an account: above it they answer Throttling,
which is counted in `throttled`. `last_call` holds the virtual time of the latest call naming each stack,
`last_read` of the latest read call (Describe*, List*, Get*) naming it, and
`seen_settled` the virtual time of the first reply that showed the stack settled: a DescribeStacks (of it
or of every stack) or a ListStacks page with its settled status, a DescribeStackEvents with the stack's own
final event, or the last page of a ListStacks filtered to statuses it no longer has whose pages, from the
first (no NextToken) to that one, never listed it: a stack missing from every page of such a listing is
known to the caller to have settled.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

CHANGE_SET_SECONDS = 1.0
RESOURCES = ("DataBucket", "DataTable", "AlertTopic", "AlertEmailSubscription", "TopicPolicy",
             "BucketPolicy", "TableReadThrottleAlarm", "TableWriteThrottleAlarm")
NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
EPOCH = datetime(2030, 1, 1, tzinfo=UTC)  # virtual time 0 as a wall-clock timestamp


class Throttle:
    """An account's read throttle: a bucket of one second's worth of calls (`rate` tokens), full at the start and
    refilled at `rate` a second; a call that finds no token is refused. So it refuses a call only when the calls
    that reached it within some window [a, b] outnumber rate * (1 + b - a): the windows it checks."""

    def __init__(self, rate: float, now: float) -> None:
        self.rate, self.tokens, self.at = rate, rate, now

    def refuses(self, now: float) -> bool:
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens < 1:
            return True
        self.tokens -= 1
        return False


@dataclass
class FakeStack:
    name: str
    id: str
    change_set_id: str = ""
    change_set_at: float = 0.0
    executed_at: float | None = None
    settle_seconds: float = 0.0
    events: list[tuple[float, str, str, str]] = field(default_factory=list)  # (time, logical id, type, status)
    tags: dict[str, str] = field(default_factory=dict)  # as the change set (or start()) gave them

    def status(self, now: float) -> str:
        if self.executed_at is None:
            return "REVIEW_IN_PROGRESS"
        return "CREATE_COMPLETE" if now >= self.executed_at + self.settle_seconds else "CREATE_IN_PROGRESS"


class StandIn:
    """The server; `with StandIn() as s:` starts it on a free 127.0.0.1 port."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.offset = 0.0
        self.settle_seconds = 10.0
        self.stacks: dict[str, FakeStack] = {}
        self.by_name: dict[str, FakeStack] = {}
        self.settle_by_name: dict[str, float] = {}
        self.calls: list[tuple[float, str]] = []
        self.throttled: list[tuple[float, str]] = []
        self.last_call: dict[str, float] = {}
        self.seen_settled: dict[str, float] = {}
        self.last_read: dict[str, float] = {}
        self._listed: set[str] = set()  # stacks listed by the filtered ListStacks being paged through
        self.read_rate: float | None = None
        self.throttle: Throttle | None = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    def now(self) -> float:
        return time.monotonic() + self.offset

    def reset(self, settle_seconds: float, read_rate: float | None = None) -> None:
        with self.lock:
            self.settle_seconds = settle_seconds
            self.calls, self.throttled, self.last_call, self.seen_settled, self.last_read = [], [], {}, {}, {}
            self._listed = set()
            self.read_rate = read_rate
            self.throttle = None if read_rate is None else Throttle(read_rate, self.now())

    def stack(self, name: str) -> FakeStack | None:
        return self.stacks.get(name) or self.by_name.get(name)

    def _add(self, stack: FakeStack) -> None:
        self.stacks[stack.id] = self.by_name[stack.name] = stack

    def start(self, name: str, settle_seconds: float, tags: dict[str, str] | None = None) -> FakeStack:
        """A stack whose create starts now and settles after settle_seconds (no change set)."""
        with self.lock:
            stack = FakeStack(name, _stack_id(name), tags=dict(tags or {}))
            self._add(stack)
            stack.change_set_at = self.now()
            self._execute(stack, stack.change_set_at, settle_seconds)
            return stack

    def _throttle(self, action: str, now: float) -> bool:
        """Is this read call over the account's rate?"""
        if self.throttle is None or action == "GetCallerIdentity" or not action.startswith(("Describe", "List",
                                                                                          "Get")):
            return False
        return self.throttle.refuses(now)

    # ------------------------------------------------------------------ protocol
    def answer(self, action: str, params: dict[str, str]) -> tuple[int, str]:
        now = self.now()
        if self._throttle(action, now):
            self.throttled.append((now, action))
            return _error("Throttling", "Rate exceeded")
        self.calls.append((now, action))
        if params.get("StackName"):
            stack = self.stack(params["StackName"])
            if stack is not None:
                self.last_call[stack.name] = now
                if action.startswith(("Describe", "List", "Get")):
                    self.last_read[stack.name] = now
        handler = getattr(self, f"_{action}", None)
        if handler is None:
            return _error("InvalidAction", f"the stand-in does not answer {action}")
        return handler(params, now)

    def _seen(self, stack: FakeStack, status: str, now: float) -> None:
        """A reply shows this status of the stack: the first that shows it settled is when it was noticed."""
        if not status.endswith("_IN_PROGRESS"):
            self.seen_settled.setdefault(stack.name, now)

    def _DescribeStacks(self, p, now):
        if not p.get("StackName"):  # every stack, 100 a page
            page, token = _page(list(self.stacks.values()), p)
            for s in page:
                self._seen(s, s.status(now), now)
            return _ok("DescribeStacks", f"<Stacks>{''.join(self._described(s, now) for s in page)}</Stacks>{token}")
        stack = self.stack(p.get("StackName", ""))
        if stack is None:
            return _error("ValidationError", f"Stack with id {p.get('StackName')} does not exist")
        self._seen(stack, stack.status(now), now)
        return _ok("DescribeStacks", f"<Stacks>{self._described(stack, now)}</Stacks>")

    @staticmethod
    def _described(stack: FakeStack, now: float) -> str:
        status = stack.status(now)
        # a settled stack has its outputs, as CloudFormation returns them (builder reads them to write out/)
        outputs = ("<Outputs><member><OutputKey>TableName</OutputKey><OutputValue>stand-in</OutputValue></member>"
                   "</Outputs>" if status.endswith("_COMPLETE") else "<Outputs/>")
        tags = "".join(f"<member><Key>{escape(k)}</Key><Value>{escape(v)}</Value></member>"
                       for k, v in stack.tags.items())
        return (f"<member><StackName>{stack.name}</StackName><StackId>{stack.id}</StackId>"
                f"<CreationTime>{_stamp(stack.change_set_at)}</CreationTime>"
                f"<StackStatus>{status}</StackStatus>{outputs}<Tags>{tags}</Tags></member>")

    def _ListStacks(self, p, now):
        wanted = {v for k, v in p.items() if k.startswith("StackStatusFilter.member.")}
        matching = [s for s in self.stacks.values() if not wanted or s.status(now) in wanted]
        page, token = _page(matching, p)
        for s in page:
            self._seen(s, s.status(now), now)
        if wanted:  # a filtered listing: who is missing from every page of it no longer has those statuses
            if not p.get("NextToken"):
                self._listed = set()
            self._listed.update(s.name for s in page)
            if not token:
                for s in self.stacks.values():
                    if s.name not in self._listed:
                        self._seen(s, s.status(now), now)
        members = "".join(f"<member><StackId>{s.id}</StackId><StackName>{s.name}</StackName>"
                          f"<CreationTime>{_stamp(s.change_set_at)}</CreationTime>"
                          f"<StackStatus>{s.status(now)}</StackStatus></member>" for s in page)
        return _ok("ListStacks", f"<StackSummaries>{members}</StackSummaries>{token}")

    def _GetCallerIdentity(self, p, now):  # STS: deploy resolves the account in bucket names it checks
        return _ok("GetCallerIdentity", "<Arn>arn:aws:iam::000000000000:user/bench</Arn><UserId>AIDABENCH</UserId>"
                   "<Account>000000000000</Account>")

    def _GetTemplate(self, p, now):  # reap and status --all price each stack from its template
        if self.stack(p.get("StackName", "")) is None:
            return _error("ValidationError", f"Stack with id {p.get('StackName')} does not exist")
        return _ok("GetTemplate", "<TemplateBody>{&quot;Resources&quot;: {}}</TemplateBody>")

    def _DetectStackDrift(self, p, now):  # drift: every stack in sync
        if self.stack(p.get("StackName", "")) is None:
            return _error("ValidationError", f"Stack with id {p.get('StackName')} does not exist")
        return _ok("DetectStackDrift", f"<StackDriftDetectionId>{uuid.uuid4()}</StackDriftDetectionId>")

    def _DescribeStackDriftDetectionStatus(self, p, now):
        stack = next(iter(self.stacks.values()))
        return _ok("DescribeStackDriftDetectionStatus",
                   f"<StackId>{stack.id}</StackId><StackDriftDetectionId>{p.get('StackDriftDetectionId')}"
                   f"</StackDriftDetectionId><StackDriftStatus>IN_SYNC</StackDriftStatus><DetectionStatus>"
                   f"DETECTION_COMPLETE</DetectionStatus><DriftedStackResourceCount>0</DriftedStackResourceCount>"
                   f"<Timestamp>{_stamp(now)}</Timestamp>")

    def _DescribeStackResourceDrifts(self, p, now):
        return _ok("DescribeStackResourceDrifts", "<StackResourceDrifts/>")

    def _ListStackResources(self, p, now):
        return _ok("ListStackResources", "<StackResourceSummaries/>")

    def _GetTemplateSummary(self, p, now):
        return _ok("GetTemplateSummary", "<Parameters/>")

    def _CreateChangeSet(self, p, now):
        name = p["StackName"]
        stack = self.stack(name) or FakeStack(name, _stack_id(name))
        self._add(stack)
        stack.tags.update({p[k]: p.get(k.replace(".Key", ".Value"), "") for k in p
                           if k.startswith("Tags.member.") and k.endswith(".Key")})
        stack.change_set_id = f"arn:aws:cloudformation:us-east-1:000000000000:changeSet/{p['ChangeSetName']}/" \
                              f"{uuid.uuid4()}"
        stack.change_set_at = now
        return _ok("CreateChangeSet", f"<Id>{stack.change_set_id}</Id><StackId>{stack.id}</StackId>")

    def _change_set_stack(self, p) -> FakeStack | None:
        wanted = p.get("ChangeSetName", "")
        return next((s for s in self.stacks.values() if s.change_set_id and wanted in (s.change_set_id,
                     s.change_set_id.split("/")[1])), None)

    def _DescribeChangeSet(self, p, now):
        stack = self._change_set_stack(p)
        if stack is None:
            return _error("ChangeSetNotFound", f"ChangeSet [{p.get('ChangeSetName')}] does not exist")
        ready = now >= stack.change_set_at + CHANGE_SET_SECONDS
        changes = "".join(
            f"<member><Type>Resource</Type><ResourceChange><Action>Add</Action><LogicalResourceId>{r}"
            f"</LogicalResourceId><ResourceType>AWS::CloudFormation::WaitConditionHandle</ResourceType>"
            f"</ResourceChange></member>" for r in RESOURCES) if ready else ""
        return _ok("DescribeChangeSet", f"<ChangeSetName>{stack.change_set_id.split('/')[1]}</ChangeSetName>"
                   f"<ChangeSetId>{stack.change_set_id}</ChangeSetId><StackId>{stack.id}</StackId>"
                   f"<StackName>{stack.name}</StackName><Status>{'CREATE_COMPLETE' if ready else 'CREATE_PENDING'}"
                   f"</Status><ExecutionStatus>{'AVAILABLE' if ready else 'UNAVAILABLE'}</ExecutionStatus>"
                   f"<Changes>{changes}</Changes>")

    def _DescribeEvents(self, p, now):  # a change set's validation findings: builder's template has none
        return _ok("DescribeEvents", "<OperationEvents></OperationEvents>")

    def _DeleteChangeSet(self, p, now):
        return _ok("DeleteChangeSet", "")

    def _SetStackPolicy(self, p, now):
        return _ok("SetStackPolicy", "")

    def _GetStackPolicy(self, p, now):
        return _ok("GetStackPolicy", "")

    def _ExecuteChangeSet(self, p, now):
        stack = self._change_set_stack(p)
        if stack is None:
            return _error("ChangeSetNotFound", f"ChangeSet [{p.get('ChangeSetName')}] does not exist")
        self._execute(stack, now, self.settle_by_name.get(stack.name, self.settle_seconds))
        return _ok("ExecuteChangeSet", "")

    @staticmethod
    def _execute(stack: FakeStack, now: float, settle_seconds: float) -> None:
        stack.executed_at, stack.settle_seconds = now, settle_seconds
        n, kind = len(RESOURCES), "AWS::CloudFormation::WaitConditionHandle"
        stack.events = [(now, stack.name, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS")]
        stack.events += [(now + 0.5, r, kind, "CREATE_IN_PROGRESS") for r in RESOURCES]
        stack.events += [(now + settle_seconds * (i + 1) / (n + 1), r, kind, "CREATE_COMPLETE")
                         for i, r in enumerate(RESOURCES)]
        stack.events.append((now + settle_seconds, stack.name, "AWS::CloudFormation::Stack", "CREATE_COMPLETE"))

    def _DescribeStackEvents(self, p, now):
        stack = self.stack(p.get("StackName", ""))
        if stack is None:
            return _error("ValidationError", f"Stack [{p.get('StackName')}] does not exist")
        happened = sorted((e for e in stack.events if e[0] <= now), key=lambda e: e[0], reverse=True)
        if any(logical == stack.name and status == stack.status(now) for _, logical, _, status in happened):
            self._seen(stack, stack.status(now), now)  # its own final event is listed
        members = "".join(
            f"<member><EventId>{stack.name}-{at:.6f}-{logical}-{status}</EventId><StackId>{stack.id}</StackId>"
            f"<StackName>{stack.name}</StackName><LogicalResourceId>{logical}</LogicalResourceId>"
            f"<PhysicalResourceId>{escape(logical)}</PhysicalResourceId><ResourceType>{kind}</ResourceType>"
            f"<Timestamp>{_stamp(at)}</Timestamp><ResourceStatus>{status}</ResourceStatus></member>"
            for at, logical, kind, status in happened)
        return _ok("DescribeStackEvents", f"<StackEvents>{members}</StackEvents>")

    def _handler(self):
        standin = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body are two writes: see benchmarks/proxy.py

            def log_message(self, *args):  # quiet
                pass

            def do_HEAD(self):  # S3 HeadBucket: deploy looks for retained data first; there is none
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                if self.headers.get("X-Amz-Target", "").startswith("DynamoDB"):  # DescribeTable: no such table
                    data = b'{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",' \
                           b'"message":"Requested resource not found"}'
                    self.send_response(400)
                    self.send_header("Content-Type", "application/x-amz-json-1.0")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                if self.path == "/__advance":
                    with standin.lock:  # "at <virtual time>": move the clock there, never back
                        standin.offset = max(standin.offset, float(body.removeprefix("at ")) - time.monotonic())
                        code, text = 200, repr(standin.offset)
                else:
                    params = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}
                    with standin.lock:
                        code, text = standin.answer(params.get("Action", ""), params)
                data = text.encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


def _stack_id(name: str) -> str:
    return f"arn:aws:cloudformation:us-east-1:000000000000:stack/{name}/{uuid.uuid4()}"


def _page(items: list, p: dict[str, str], size: int = 100) -> tuple[list, str]:
    """One page of items from NextToken (an offset here), and the NextToken element of the next page."""
    start = int(p.get("NextToken") or 0)
    more = start + size < len(items)
    return items[start:start + size], (f"<NextToken>{start + size}</NextToken>" if more else "")


def _stamp(virtual: float) -> str:
    return (EPOCH + timedelta(seconds=virtual)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ok(action: str, inner: str) -> tuple[int, str]:
    return 200, (f'<{action}Response xmlns="{NS}"><{action}Result>{inner}</{action}Result>'
                 f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata></{action}Response>")


def _error(code: str, message: str) -> tuple[int, str]:
    return 400, (f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
                 f"<Message>{escape(message)}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
