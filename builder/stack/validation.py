"""CloudFormation's pre-deployment validation findings of one change set or stack operation.

CloudFormation validates a change set (and a stack operation) before it provisions anything: property
syntax, resource names that already exist, a bucket that is not empty before its deletion, service
quotas, ... Its findings are not in DescribeChangeSet's StatusReason alone: they are operation events,
read with DescribeEvents (Filters={"FailedEvents": True}) by change set (its ARN) or by operation id.
A finding whose ValidationFailureMode is FAIL fails the change set; WARN lets it be created, so builder
reads them after every change set with changes (one read, from the run's read budget) and after a
failed stack operation.

An endpoint without DescribeEvents (LocalStack 2026.3 answers 501) or a role not allowed to call it
gives `Findings(unavailable=...)`: the caller says so once per run and goes on.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import botocore.exceptions

from builder.errors import OperationError
from builder.report import Reporter
from builder.stack.client import error_code, error_message

Read = Callable[..., dict[str, Any]]  # read(operation, **kwargs): a CloudFormation read through the run's budget

FAIL, WARN = "FAIL", "WARN"
MAX_PAGES = 20  # a change set's failed events fit in one page; this only stops an endpoint that never ends


@dataclass(frozen=True)
class ValidationFinding:
    """One failed (or skipped) validation of a change set or operation, as DescribeEvents returns it."""

    validation: str  # ValidationName, e.g. PropertySyntaxValidation, ResourceNameConflict
    status: str  # ValidationStatus: FAILED or SKIPPED
    mode: str  # ValidationFailureMode: FAIL (stops the change set) or WARN (shown, the change set is made)
    resource: str  # LogicalResourceId ("" when the finding is about the whole template)
    resource_type: str
    path: str  # ValidationPath: where in the template, e.g. /Resources/DataBucket/Properties/BucketName
    reason: str  # ValidationStatusReason

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> ValidationFinding:
        def text(key: str) -> str:
            return str(event.get(key) or "")

        return cls(text("ValidationName") or text("EventType"), text("ValidationStatus") or text("ResourceStatus"),
                   text("ValidationFailureMode") or FAIL, text("LogicalResourceId"), text("ResourceType"),
                   text("ValidationPath"), text("ValidationStatusReason") or text("ResourceStatusReason"))

    @property
    def warning(self) -> bool:
        return self.mode == WARN

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


class Unreadable(enum.Enum):
    """Why DescribeEvents gave no findings."""

    NOT_IMPLEMENTED = "not implemented"  # the endpoint has no DescribeEvents (LocalStack 2026.3: 501)
    REFUSED = "refused"  # an error answer (a role not allowed to call it, ...)
    UNREACHABLE = "unreachable"  # no answer at all (a connection or HTTP failure)


@dataclass(frozen=True)
class Unavailable:
    """Why the findings could not be read, with the error code and message of the answer (UNREACHABLE: the code
    is the exception's type); the CLI words it."""

    cause: Unreadable
    code: str
    message: str = ""


@dataclass(frozen=True)
class Findings:
    """What DescribeEvents said of one change set or operation; `unavailable` is why it could not be read."""

    findings: tuple[ValidationFinding, ...] = ()
    unavailable: Unavailable | None = None

    @property
    def warnings(self) -> tuple[ValidationFinding, ...]:
        return tuple(f for f in self.findings if f.warning)

    @property
    def failures(self) -> tuple[ValidationFinding, ...]:
        return tuple(f for f in self.findings if not f.warning)


NO_FINDINGS = Findings()


def is_finding(event: Mapping[str, Any]) -> bool:
    """A pre-deployment validation event (not a provisioning or hook failure)."""
    return bool(event.get("ValidationName")) or event.get("EventType") == "VALIDATION_ERROR"


def from_events(events: Iterable[Mapping[str, Any]]) -> tuple[ValidationFinding, ...]:
    """The validation findings among failed events, oldest first, repeats dropped."""
    return tuple(dict.fromkeys(ValidationFinding.from_event(e) for e in events if is_finding(e)))


def read_findings(read: Read, *, change_set: str | None = None, operation_id: str | None = None) -> Findings:
    """The findings of a change set (its ARN) or of a stack operation (its id): DescribeEvents, failed
    events only, every page. Never raises for an endpoint or role that cannot answer: `unavailable` says why."""
    if (change_set is None) == (operation_id is None):
        raise ValueError("read_findings: give change_set or operation_id")
    key = {"ChangeSetName": change_set} if change_set is not None else {"OperationId": operation_id}
    events: list[Mapping[str, Any]] = []
    token: str | None = None
    try:
        for _ in range(MAX_PAGES):
            page = read("describe_events", **key, Filters={"FailedEvents": True}, **({"NextToken": token} if token
                                                                                    else {}))
            events += page.get("OperationEvents", [])
            token = page.get("NextToken")
            if not token:
                break
    except botocore.exceptions.ClientError as exc:
        return Findings(unavailable=unavailable(exc))
    except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
        # the failure being explained must not be replaced by a failure to explain it
        return Findings(unavailable=Unavailable(Unreadable.UNREACHABLE, type(exc).__name__))
    return Findings(from_events(events))


def unavailable(exc: botocore.exceptions.ClientError) -> Unavailable:
    """Why DescribeEvents gave no findings: the endpoint does not implement it, or it refused."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code, message = error_code(exc), error_message(exc)
    gap = status == 501 or "not yet been emulated" in message or code in ("InvalidAction", "NotImplemented")
    return Unavailable(Unreadable.NOT_IMPLEMENTED if gap else Unreadable.REFUSED, code, message)


def operation_id(events: Iterable[Mapping[str, Any]]) -> str | None:
    """The operation the watched events belong to (StackEvent.OperationId; AWS sets it, LocalStack does not)."""
    return next((str(e["OperationId"]) for e in events if e.get("OperationId")), None)


def report(reporter: Reporter, stack: str, found: Findings, *, warnings_only: bool = False) -> None:
    """Each finding as a `validation:` line (only the WARN ones for a change set that was made); in JSON one
    `validation` record. An endpoint that cannot answer is said once per run, not per stack."""
    if found.unavailable:
        reporter.show_once("validation unavailable", {"unavailable": found.unavailable})
        return
    shown = found.warnings if warnings_only else found.findings
    if not shown:
        return
    reporter.show("validation", tuple(shown), stack)


class ValidationFailed(OperationError):
    """A change set or stack operation failed; `findings` are CloudFormation's validation findings of it
    (printed before the error), which diff keeps for its markdown block."""

    def __init__(self, where: str, message: str, findings: Findings) -> None:
        super().__init__(where, message)
        self.findings = findings


def failure_note(found: Findings) -> str:
    """What an error line adds about the findings printed above it."""
    if found.findings:
        return f"; {len(found.findings)} validation finding(s) listed above"
    return ""
