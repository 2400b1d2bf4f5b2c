"""Watching one stack: describe it, wait for it to settle through the region's shared poller, and say
where it stands.

Every CloudFormation read goes through the poller of the stack's region (builder/stack/poller.py),
so all the stacks of a run share one API budget and one status sweep; the clients are the process's
shared ones. Ctrl-C stops builder, not CloudFormation: `interruptible()` turns it into a message that
says where the stack was left.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from builder.errors import Interrupted, OperationError, RefusedError
from builder.report import Reporter
from builder.stack import client as aws
from builder.stack.deployed import EXPRESS, DeployedStack
from builder.stack.poller import Poller, Pollers, Watched


class WritesShut(RefusedError):
    """A write was attempted on a stack before ownership.claim judged it (a bug in builder): refused, exit 3."""


def names_stack(stack_name: str, name: str) -> bool:
    """Does `stack_name` (a name or a stack id, arn:...:stack/<name>/<uuid>) name the stack `name`?"""
    parts = stack_name.split("/")
    return stack_name == name or (len(parts) == 3 and parts[0].endswith(":stack") and parts[1] == name)


class _OwnStack:
    """The writer of one watcher: a call whose StackName names another stack is refused before it is sent."""

    def __init__(self, writer: Any, name: str) -> None:
        self._writer, self._name = writer, name

    def __getattr__(self, operation: str) -> Any:
        call = getattr(self._writer, operation)
        if not callable(call):
            return call

        def checked(**kwargs: Any) -> Any:
            target = kwargs.get("StackName")
            if isinstance(target, str) and not names_stack(target, self._name):
                raise WritesShut(self._name, f"{operation} named another stack ({target}); nothing was changed")
            return call(**kwargs)

        return checked


def describe_stack(read: Callable[..., dict[str, Any]], name: str) -> DeployedStack | None:
    """The stack (a name or a stack id), or None when it does not exist; `read(operation, **kwargs)`
    makes the call (through a poller's budget)."""
    try:
        found = read("describe_stacks", StackName=name)
    except Exception as exc:
        if aws.is_missing_stack(exc):  # only the missing-stack error is an answer here
            return None
        raise
    stacks = found.get("Stacks", [])
    return DeployedStack.from_api(stacks[0]) if stacks else None


class Accounts:
    """The AWS account of the run's credentials, asked once per region and run (STS GetCallerIdentity), not
    once per stack: every stack of a run talks to AWS with the same credentials."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_region: dict[str, str] = {}

    def of(self, region: str) -> str:
        with self._lock:  # the stacks that start together wait for the one answer
            if region not in self._by_region:
                sts = aws.shared_client(region, "sts")
                self._by_region[region] = str(sts.get_caller_identity()["Account"])
            return self._by_region[region]


def _interrupted(name: str, status: str | None, command: str) -> Interrupted:
    """Ctrl-C before the operation settled: where the stack stands (`status`: None, no stack; "", unknown) and
    whether CloudFormation carries on."""
    if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        runs = " (CloudFormation carries on without builder)"
    else:  # REVIEW_IN_PROGRESS: a change set made, never executed; or a stack builder had not changed
        runs = " (nothing runs on it)" if status else ""
    state = "the stack does not exist" if status is None else \
        f"the stack was left in {status}{runs}" if status else "the stack's state is unknown"
    return Interrupted(name, f"interrupted; {state}; run {command} again to resume")


class StackWatcher:
    """CloudFormation calls about one stack (and its deletion), through its region's poller of the run."""

    def __init__(self, name: str, region: str, reporter: Reporter, poller: Poller,
                 sleep: Callable[[float], None] = time.sleep, accounts: Accounts | None = None) -> None:
        self.name, self.region, self.reporter = name, region, reporter
        self.poller = poller
        self.accounts = accounts or Accounts()  # the run's, shared by its watchers
        self._writes_for: str | None = None  # the stack whose writes ownership.claim opened; None: shut
        self._sleep = sleep
        self.watched: Watched | None = None  # the operation being watched, or last watched
        self.events: list[Mapping[str, Any]] = []  # events of the operation being watched, oldest first

    def allow_writes(self, stack_id: str | None) -> None:
        """Open this watcher's writes (`cf`, `client_for_writes`) for its stack. Only builder.ops.ownership.claim
        calls it, once it has judged the deployed stack (`stack_id`: the one it judged; None: none existed)."""
        self._writes_for = stack_id or self.name

    def _opened(self, client: Any) -> Any:
        """`client`, once ownership.claim has opened this watcher's writes; else WritesShut, nothing sent."""
        if self._writes_for is None:
            raise WritesShut(self.name, "no ownership check before a write; nothing was changed")
        return client

    @property
    def cf(self) -> Any:
        """CloudFormation write calls, drawn from the budget (reads go through read()): shut until
        ownership.claim has judged the stack, and only for this stack (a StackName naming another one is
        refused, nothing sent)."""
        return _OwnStack(self._opened(self.poller.writer), self.name)

    @property
    def cf_after_interrupt(self) -> Any:
        """The same gate as `cf` on the plain client, not the budget: for the one best-effort cleanup after a
        Ctrl-C, when the run's budget has stopped."""
        return _OwnStack(self._opened(self.poller.cf), self.name)

    @property
    def paced(self) -> Any:
        """Calls that change nothing but are not reads (DetectStackDrift), drawn from the budget; not for writes
        (tests/ops/test_write_gate.py holds that every write goes through `cf`)."""
        return self.poller.writer

    def client_for_writes(self, service: str) -> Any:
        """The shared client of another service for what changes data (emptying a bucket), after the claim."""
        return self._opened(aws.shared_client(self.region, service))

    def pause(self, seconds: float) -> None:
        self._sleep(seconds)

    def say(self, kind: str, **data: Any) -> None:
        """What happened to the stack, as a kind and its data; the CLI's view of that kind words it."""
        self.reporter.show(kind, data, self.name)

    def read(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """One CloudFormation read call, drawn from the region's budget (Throttling slows it and retries)."""
        return self.poller.read(operation, **kwargs)

    def client(self, service: str) -> Any:
        """The process's shared client of this region (s3, sts, dynamodb, ...): no session per stack."""
        return aws.shared_client(self.region, service)

    def account(self) -> str:
        """The account the run's credentials belong to (one STS call per region and run)."""
        return self.accounts.of(self.region)

    def describe(self, stack_id: str | None = None) -> DeployedStack | None:
        """The stack, or None when it does not exist."""
        return describe_stack(self.read, stack_id or self.name)

    def latest_event_id(self, stack_id: str) -> str | None:
        return self.poller.latest_event_id(stack_id)

    def with_outputs(self, final: DeployedStack, expected: bool, tries: int = 3) -> DeployedStack:
        """The settled stack, read again (briefly) if it declares outputs that are not readable yet.

        LocalStack reports a stack complete a moment before its outputs can be read; writing an
        empty outputs file then would mislead whoever reads it. Costs no call when outputs are there.
        """
        for _ in range(tries):
            if final.outputs or not expected:
                break
            self._sleep(0.2)
            final = self.describe(final.stack_id) or final
        return final

    def watch(self, stack_id: str, baseline: str | None, stream: bool = True,
              begins: Callable[[Mapping[str, Any]], bool] | None = None) -> DeployedStack:
        """Wait until the stack (its id: a stack that ends deleted is found by id only) settles, streaming
        its events after `baseline` (or from the one `begins` accepts); return its final description."""
        on_event = (lambda event: self.reporter.event(self.name, event)) if stream else None
        self.watched = self.poller.register(stack_id, on_event, baseline, stream, on_idle=self.reporter.tick,
                                            begins=begins)
        self.events = self.watched.events
        return DeployedStack.from_api(self.poller.wait(self.watched))

    def root_cause(self) -> str:
        """The first FAILED resource event of the watched operation, with its reason; else the reason the stack
        itself gives for rolling back (a rollback trigger's alarm fails no resource)."""
        for event in self.events:
            if event.get("ResourceStatus", "").endswith("_FAILED") and event.get("ResourceType") != \
                    "AWS::CloudFormation::Stack":
                return (f"{event['LogicalResourceId']} ({event.get('ResourceType')}) "
                        f"{event['ResourceStatus']}: {event.get('ResourceStatusReason') or 'no reason given'}")
        for event in self.events:
            if event.get("ResourceStatusReason") and event.get("ResourceStatus", "").endswith("_FAILED"):
                return f"{event['ResourceStatus']}: {event['ResourceStatusReason']}"
        for event in self.events:
            if event.get("ResourceStatusReason") and event.get("ResourceStatus", "").endswith("ROLLBACK_IN_PROGRESS"):
                return f"{event['ResourceStatus']}: {event['ResourceStatusReason']}"
        return "no FAILED event found; see the stack's events in the console"

    def wait_for_others(self, stack: DeployedStack, wait: bool) -> DeployedStack | None:
        """If another operation runs on the stack, wait for it to settle (or refuse); return the stack,
        or None when that operation deleted it."""
        if not stack.in_progress:
            return stack
        if not wait:
            raise OperationError(self.name, f"another operation is running ({stack.status}); wait for it, or "
                                            f"drop --no-wait-for-others to have builder wait")
        self.say("others running", status=stack.status)
        settled = self.watch(stack.stack_id, None, stream=False)
        self.say("others settled", status=settled.status)
        return settled if settled.exists else None

    def status_now(self) -> str | None:
        """The stack's status for a message after Ctrl-C: as the poller last saw it, else from one quick
        call (outside the stopped budget); None when the stack does not exist, "" when unknown. Never raises."""
        if self.watched is not None and self.watched.status:
            return self.watched.status
        try:
            stack = DeployedStack.from_api(self.poller.cf.describe_stacks(StackName=self.name)["Stacks"][0])
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - any failure, or a second Ctrl-C, ends the question
            return None if aws.is_missing_stack(exc) else ""
        return stack.status

    @contextlib.contextmanager
    def interruptible(self, command: str = "deploy") -> Iterator[None]:
        """Ctrl-C stops builder, not CloudFormation: say where the stack stands and how to resume; once the
        operation builder watched has settled, say that it finished."""
        try:
            yield
        except KeyboardInterrupt:
            status = self.status_now()
            if self.watched is not None and status and not status.endswith("_IN_PROGRESS"):  # settled
                raise Interrupted(self.name, f"interrupted after the stack had settled in {status}: CloudFormation "
                                             f"had finished, nothing of it is still running") from None
            raise _interrupted(self.name, status, command) from None

    def delete_and_wait(self, stack: DeployedStack, role_arn: str | None = None,
                        deletion_mode: str | None = None) -> DeployedStack:
        """Delete the stack (through `role_arn`, the role CloudFormation assumes, when given; with
        `deletion_mode` FORCE_DELETE_STACK for a stack in DELETE_FAILED) and wait. Its events: from the
        stack's DELETE_IN_PROGRESS on (a stack is deleted once, so that event starts this operation: no
        baseline read before the delete); a stack deleted before (DELETE_FAILED, forced now) has an
        earlier DELETE_IN_PROGRESS, so its events start after the latest one read before this delete. A
        stack deployed in express mode is deleted in express mode (express_delete)."""
        extra = {**({"RoleARN": role_arn} if role_arn else {}),
                 **({"DeletionMode": deletion_mode} if deletion_mode else {}), **express_delete(stack)}
        if deletion_mode:
            baseline = self.latest_event_id(stack.stack_id)
            self.cf.delete_stack(StackName=stack.stack_id, **extra)
            return self.watch(stack.stack_id, baseline)
        self.cf.delete_stack(StackName=stack.stack_id, **extra)
        return self.watch(stack.stack_id, None, begins=starts_delete)


def express_delete(stack: DeployedStack) -> dict[str, Any]:
    """DeploymentConfig for the delete of a stack deployed in express mode (what is deployed decides, not
    today's config); nothing for a standard one, so its request is as it always was."""
    return {"DeploymentConfig": {"Mode": EXPRESS}} if stack.express else {}


def starts_delete(event: Mapping[str, Any]) -> bool:
    """The stack's own DELETE_IN_PROGRESS event: the first of its deletion."""
    return event.get("ResourceType") == "AWS::CloudFormation::Stack" and event.get("ResourceStatus") == \
        "DELETE_IN_PROGRESS"


def starts_create(event: Mapping[str, Any]) -> bool:
    """The stack's own CREATE_IN_PROGRESS event: the first of its creation (before it, a stack made by a
    CREATE change set has only REVIEW_IN_PROGRESS)."""
    return event.get("ResourceType") == "AWS::CloudFormation::Stack" and event.get("ResourceStatus") == \
        "CREATE_IN_PROGRESS"


WatcherFactory = Callable[[str, str, Reporter], StackWatcher]  # (stack name, region, reporter) -> its watcher


def watchers(pollers: Pollers) -> WatcherFactory:
    """The watchers of one run: each stack waits through the run's poller of its region, and the run asks for
    its account once per region."""
    accounts = Accounts()
    return lambda name, region, reporter: StackWatcher(name, region, reporter, pollers.poller(region),
                                                       accounts=accounts)
