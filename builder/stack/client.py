"""boto3 plumbing shared by deploy, diff, destroy and status: clients, error translation, polling.

Every client gets its region explicitly (the botocore installed here reads AWS_DEFAULT_REGION, not
AWS_REGION) and takes its endpoint from boto3's standard configuration, so AWS_ENDPOINT_URL points
it at an emulator. Every botocore failure becomes one OperationError line naming what to fix.
"""

from __future__ import annotations

import contextlib
import datetime
import difflib
import functools
import os
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NoReturn, TypeVar

import boto3
import botocore
import botocore.exceptions
import botocore.session
from botocore.config import Config
from botocore.utils import parse_timestamp
from dateutil.tz import tzutc

from builder.errors import OperationError, UsageError

T = TypeVar("T")

USER_AGENT = "builder-deploy"


def client_config() -> Config:
    """Standard mode retries transient errors with backoff; the attempt count follows AWS_MAX_ATTEMPTS /
    the config file (default 3). A throttled CloudFormation read is not retried by botocore but by the
    run's budget (builder/stack/poller.py: budget_reacts_to_throttling), which slows down first.

    A new Config per client: botocore writes AWS_MAX_ATTEMPTS into the `retries` dict it is given,
    so a shared one would keep the first client's attempt count for every later client.
    """
    return Config(retries={"mode": "standard"}, user_agent_extra=USER_AGENT, connect_timeout=10, read_timeout=60)


ACCESS_DENIED = {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AuthorizationError"}
BAD_CREDENTIALS = {"InvalidClientTokenId", "UnrecognizedClientException", "SignatureDoesNotMatch",
                   "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId", "AuthFailure"}
THROTTLED = {"Throttling", "ThrottlingException", "TooManyRequestsException", "RequestLimitExceeded",
             "SlowDown"}


_UTC = tzutc()


def aws_timestamp(value: object) -> datetime.datetime:
    """A timestamp of a response, as botocore's own parser returns it, in about a fiftieth of its time.

    AWS answers ISO 8601 in UTC (`2026-12-05T08:41:47.123Z`); datetime.fromisoformat reads that, and the
    result gets dateutil's tzutc, as botocore gives it. Anything else (an offset, an epoch number, a
    form fromisoformat does not take) goes to botocore's parser. A fleet's events carry thousands of
    timestamps: botocore's dateutil parse was a tenth of deploy's CPU at 100 stacks.
    """
    if isinstance(value, str) and value.endswith("Z"):
        try:
            parsed = datetime.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if parsed.utcoffset() == datetime.timedelta(0):
                return parsed.replace(tzinfo=_UTC)
    fallback: datetime.datetime = parse_timestamp(value)  # botocore's own
    return fallback


def new_session(region: str | None = None) -> boto3.session.Session:
    """A boto3 session whose clients parse timestamps with aws_timestamp (botocore's documented hook:
    ResponseParserFactory.set_parser_defaults)."""
    core = botocore.session.get_session()
    core.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=aws_timestamp)
    try:
        return boto3.session.Session(botocore_session=core, region_name=region)
    except botocore.exceptions.ProfileNotFound as exc:  # AWS_PROFILE=typo: bad input, not a failed call
        raise UsageError(*_missing_profile(core, exc)) from exc


def _missing_profile(core: botocore.session.Session, exc: botocore.exceptions.ProfileNotFound) -> tuple[str, str]:
    """Where the profile that is in no AWS config or credentials file was named, and what would be right."""
    variable = next((name for name in ("AWS_DEFAULT_PROFILE", "AWS_PROFILE") if os.environ.get(name)), "AWS_PROFILE")
    known = ", ".join(sorted(core.full_config.get("profiles", {}))) or "none"
    return variable, (f"profile {exc.kwargs.get('profile', os.environ.get(variable, ''))!r} is in neither the AWS "
                      f"config file nor the credentials file (profiles there: {known}); name one of them, or "
                      f"unset {variable}")


def _make_client(sess: boto3.session.Session, service: str, region: str | None) -> Any:
    """sess.client(service); a setting botocore cannot use is bad input naming its variable, before any call:
    an endpoint that is no URL (AWS_ENDPOINT_URL=garbage, a port past 65535, ftp://) or an AWS_MAX_ATTEMPTS
    that is no whole number of at least 1."""
    attempts = os.environ.get("AWS_MAX_ATTEMPTS")
    if attempts is not None and not (attempts.strip().isdigit() and int(attempts) >= 1):
        raise UsageError("AWS_MAX_ATTEMPTS", f"{attempts!r} is not a whole number of attempts of at least 1, such as 3")
    with translate(f"{service} client", region):
        try:
            made = sess.client(service, region_name=region, config=client_config())
        except ValueError as exc:  # botocore's "Invalid endpoint: ..." and urllib's IPv6 check
            raise UsageError(_endpoint_source(service), f"{exc}; give a URL such as http://127.0.0.1:4566") from exc
    problem = _endpoint_problem(str(made.meta.endpoint_url))
    if problem:
        raise UsageError(_endpoint_source(service), f"{problem}; give a URL such as http://127.0.0.1:4566")
    return made


def _endpoint_problem(url: str) -> str | None:
    """What makes an endpoint no http(s) URL botocore can call, or None."""
    parts = urllib.parse.urlsplit(url)
    try:
        parts.port  # noqa: B018 -- reading it is the check: a port past 65535 raises
    except ValueError as exc:
        return f"{exc} in {url!r}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r} is not an http:// or https:// URL"
    return None


def _endpoint_source(service: str) -> str:
    """Where botocore took a service's endpoint from: its own variable, AWS_ENDPOINT_URL, else the config file."""
    for name in (f"AWS_ENDPOINT_URL_{service.upper().replace('-', '_')}", "AWS_ENDPOINT_URL"):
        if os.environ.get(name):
            return name
    return "the AWS config file's endpoint_url"


def session(region: str) -> boto3.session.Session:
    """A fresh session of its own (sessions are not thread-safe); shared_client() is the cheaper way."""
    return new_session(region)


def client(sess: boto3.session.Session, service: str) -> Any:
    return _make_client(sess, service, sess.region_name)


_SHARED_LOCK = threading.RLock()  # re-entered by known_regions() from an error raised under it
_SHARED_SESSIONS: dict[tuple[tuple[str, str], ...], boto3.session.Session] = {}
_SHARED_CLIENTS: dict[tuple[str, str, tuple[tuple[str, str], ...]], Any] = {}


def _aws_environment() -> tuple[tuple[str, str], ...]:
    """Every AWS_* variable: the endpoint (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>), credentials,
    profile, config files and AWS_MAX_ATTEMPTS all come from there, so a change to any of them (as the
    tests make, switching AWS_ENDPOINT_URL between a proxy and the emulator) gets a new client."""
    return tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("AWS_")))


def shared_client(region: str, service: str) -> Any:
    """One client per (region, service, AWS environment), shared by every thread of the process.

    botocore clients are thread-safe, sessions are not: both are made under one lock. All clients of
    one environment come from one session, so the endpoint and service models load once per process
    instead of once per stack (about 0.1 s of CPU each). Each client still gets its own client_config().
    The endpoint is resolved by botocore itself (AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, then
    the config file of AWS_CONFIG_FILE / AWS_PROFILE), all of which the key covers: endpoint_url()
    reads the result back.
    """
    environment = _aws_environment()
    key = (region, service, environment)
    found = _SHARED_CLIENTS.get(key)
    if found is not None:
        return found
    with _SHARED_LOCK:
        found = _SHARED_CLIENTS.get(key)
        if found is None:
            sess = _shared_session(environment)
            found = _make_client(sess, service, region)
            _SHARED_CLIENTS[key] = found
        return found


def _shared_session(environment: tuple[tuple[str, str], ...]) -> boto3.session.Session:
    """The one session of an AWS environment (call holding _SHARED_LOCK)."""
    sess = _SHARED_SESSIONS.get(environment)
    if sess is None:
        sess = _SHARED_SESSIONS[environment] = new_session()
    return sess


def endpoint_url(region: str, service: str) -> str:
    """The endpoint a shared client of this region and service talks to, as botocore resolved it."""
    return str(shared_client(region, service).meta.endpoint_url)


def pages(read: Callable[..., Mapping[str, Any]], operation: str, key: str, **kwargs: Any) -> Iterator[Any]:
    """Every item under `key` of every page of one paged read (`read(operation, **kwargs)`, NextToken)."""
    token = None
    while True:
        page = read(operation, **kwargs, **({"NextToken": token} if token else {}))
        yield from page.get(key, [])
        token = page.get("NextToken")
        if not token:
            return


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
    with _SHARED_LOCK:  # the shared session's: its endpoint data is loaded once, for this and every client
        sess = _shared_session(_aws_environment())
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


def raise_failure(where: str, exc: BaseException, region: str | None) -> NoReturn:
    """Raise the one OperationError line that says what went wrong talking to AWS and what would fix it."""
    if isinstance(exc, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
        raise OperationError(where, "no AWS credentials found; set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                                    "AWS_SECRET_ACCESS_KEY, or run `aws configure`") from exc
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError,
                        botocore.exceptions.ConnectionClosedError)):
        url = getattr(exc, "kwargs", {}).get("endpoint_url", "") or str(exc)
        if region and region not in known_regions():
            raise OperationError(where, f"cannot reach {url}: is {region!r} a real AWS region? (check --region / "
                                        f"AWS_REGION)") from exc
        raise OperationError(where, f"cannot reach {url}; check the network, AWS_ENDPOINT_URL and the region") from exc
    if isinstance(exc, botocore.exceptions.ReadTimeoutError):
        raise OperationError(where, f"no answer from {getattr(exc, 'kwargs', {}).get('endpoint_url', 'AWS')} in "
                                    f"time; try again") from exc
    if isinstance(exc, botocore.exceptions.ClientError):
        _raise_client_error(where, exc)
    if isinstance(exc, botocore.exceptions.NoRegionError):
        raise OperationError(where, "no region; pass --region") from exc
    raise OperationError(where, f"{type(exc).__name__}: {exc}") from exc


def _raise_client_error(where: str, exc: botocore.exceptions.ClientError) -> NoReturn:
    code, message = error_code(exc), error_message(exc)
    operation = getattr(exc, "operation_name", "request")
    if code in ACCESS_DENIED:
        raise OperationError(where, f"access denied to {operation}: {message}; the credentials in use need that "
                                    f"permission") from exc
    if code in BAD_CREDENTIALS:
        raise OperationError(where, f"the AWS credentials were rejected ({code}): {message}") from exc
    if code in THROTTLED:
        raise OperationError(where, f"{operation} throttled even after retries ({message}); lower --concurrency "
                                    f"or try again") from exc
    raise OperationError(where, f"{operation} failed: {code}: {message}") from exc


@contextlib.contextmanager
def translate(where: str, region: str | None = None) -> Iterator[None]:
    """Turn any botocore failure inside the block into one OperationError line."""
    try:
        yield
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        raise_failure(where, exc, region)


def intervals(first: float = 0.2, ceiling: float = 2.0) -> Iterator[float]:
    """Pauses between the polls of one wait: fast at first, doubling to a ceiling (pacing only; every read
    is drawn from the budget, which alone reacts to Throttling)."""
    pause = first
    while True:
        yield pause
        pause = min(pause * 2, ceiling)
