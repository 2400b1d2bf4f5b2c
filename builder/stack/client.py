"""boto3 plumbing shared by deploy, diff, destroy and status: clients, error translation, polling.

Every client gets its region explicitly (the botocore installed here reads AWS_DEFAULT_REGION, not
AWS_REGION) and takes its endpoint from boto3's standard configuration, so AWS_ENDPOINT_URL points
it at an emulator. Every botocore failure becomes one OperationError line naming what to fix.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
import botocore
import botocore.exceptions
import botocore.session
from botocore.config import Config

from builder.errors import OperationError

T = TypeVar("T")

USER_AGENT = "builder-deploy"


def client_config() -> Config:
    """Standard mode retries throttling and transient errors with backoff; the attempt count follows
    AWS_MAX_ATTEMPTS / the config file (default 3). Polls also back off on throttling by themselves.

    A new Config per client: botocore writes AWS_MAX_ATTEMPTS into the `retries` dict it is given,
    so a shared one would keep the first client's attempt count for every later client.
    """
    return Config(retries={"mode": "standard"}, user_agent_extra=USER_AGENT, connect_timeout=10, read_timeout=60)


ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
BAD_CREDENTIALS = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
                   "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "AuthFailure"}
THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
             "SlowDown"}


def session(region: str) -> boto3.session.Session:
    """A fresh session per stack operation: sessions are not thread-safe, clients are."""
    return boto3.session.Session(region_name=region)


def client(sess: boto3.session.Session, service: str) -> Any:
    with translate(f"{service} client", sess.region_name):
        return sess.client(service, region_name=sess.region_name, config=client_config())


def error_code(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def error_message(exc: BaseException) -> str:
    if isinstance(exc, botocore.exceptions.ClientError):
        return str(exc.response.get("Error", {}).get("Message", "")) or str(exc)
    return str(exc)


def is_missing_stack(exc: BaseException) -> bool:
    return error_code(exc) == "ValidationError" and "does not exist" in error_message(exc)


@functools.cache
def known_regions() -> tuple[str, ...]:
    """Every region of every partition in which the installed botocore knows a CloudFormation endpoint."""
    sess = botocore.session.get_session()
    return tuple(sorted({region for partition in sess.get_available_partitions()
                         for region in sess.get_available_regions("cloudformation", partition)}))


def unknown_region_problem(region: str) -> str | None:
    """None for a region botocore knows; else one line naming the closest known one (the region check of
    every command that talks to AWS: resolve_configs(region_check=...))."""
    known = known_regions()
    if region in known:
        return None
    closest = difflib.get_close_matches(region, known, n=1, cutoff=0)[0]
    return (f"{region!r} is not an AWS region botocore {botocore.__version__} knows; did you mean {closest!r}? "
            f"(a region newer than botocore needs a newer boto3)")


def describe_failure(exc: BaseException, region: str | None) -> str:
    """One line that says what went wrong talking to AWS and what would fix it."""
    if isinstance(exc, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
        return ("no AWS credentials found; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, "
                "or run `aws configure`")
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
                        botocore.exceptions.ConnectionClosedError)):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "") or str(exc)
        if region and region not in known_regions():
            return f"cannot reach {url}: is {region!r} a real AWS region? (check --region / AWS_REGION)"
        return f"cannot reach {url}; check the network, AWS_ENDPOINT_URL and the region"
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        return f"no answer from {getattr(exc, 'kwargs', {}).get('endpoint_url', 'AWS')} in time; try again"
    if isinstance(exc, botocore.exceptions.ClientError):
        code, message = error_code(exc), error_message(exc)
        operation = getattr(exc, "operation_name", "request")
        if code in ACCESS_DENIED:
            return f"access denied to {operation}: {message}; the credentials in use need that permission"
        if code in BAD_CREDENTIALS:
            return f"the AWS credentials were rejected ({code}): {message}"
        if code in THROTTLED:
            return f"{operation} throttled even after retries ({message}); lower --concurrency or try again"
        return f"{operation} failed: {code}: {message}"
    if isinstance(exc, botocore.exceptions.NoRegionError):
        return "no region; pass --region"
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def translate(where: str, region: str | None = None) -> Iterator[None]:
    """Turn any botocore failure inside the block into one OperationError line."""
    try:
        yield
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise OperationError(where, describe_failure(exc, region)) from exc


class Backoff:
    """Poll intervals: fast at first, doubling to a ceiling; reset() after progress is seen."""

    def __init__(self, first: float = 0.2, ceiling: float = 2.0, after_progress: float = 1.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.first, self.ceiling, self.after_progress = first, ceiling, after_progress
        self.interval = first
        self._sleep = sleep

    def wait(self) -> None:
        self._sleep(self.interval)
        self.interval = min(self.interval * 2, self.ceiling)

    def progressed(self) -> None:
        self.interval = min(self.interval, self.after_progress)

    def throttled(self) -> None:
        self.interval = self.ceiling


def poll(call: Callable[[], T], backoff: Backoff) -> T:
    """Make one polling call; throttling only slows the poll down instead of failing the operation."""
    while True:
        try:
            return call()
        except botocore.exceptions.ClientError as exc:
            if error_code(exc) not in THROTTLED:
                raise
            backoff.throttled()
            backoff.wait()
