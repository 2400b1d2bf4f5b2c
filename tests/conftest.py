"""Shared fixtures.

Two lanes. By default (BUILDER_TEST_TARGET unset or `emulator`) everything below. With
BUILDER_TEST_TARGET=aws (`tox -e aws`; tests/aws_lane.py) no emulator is started: ``aws_endpoint`` removes
any endpoint URL and keeps the real credential and region chain, tests marked ``emulator_only`` are
skipped with their reason, and when the session ends every stack, bucket and table whose name holds a
suffix ``suffix`` handed out is deleted, whether the tests passed or not.

The emulator: ``aws_endpoint`` starts one LocalStack server per test session on a free 127.0.0.1 port
(builder/emulator, the same code `python -m builder emulator` runs), points every AWS SDK and CLI of this
process and its children at it with dummy credentials, and stops it at the end. If the emulator is not
installed the fixture FAILS (it does not skip) and says how to install it (python -m builder emulator
--install). ``aws_env``/``aws`` add a working directory of the test's own; ``suffix`` gives each test
environment names no other test uses; ``own_account`` gives a test an emulator account no other test uses.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from builder import emulator
from builder.stack import client as stack_client
from tests import aws_lane
from tests.factories import Stubs, run_cli

_SUFFIXES = itertools.count(1)
_ACCOUNTS = itertools.count(100000000001)  # LocalStack's own is 000000000000
_RUN = uuid.uuid4().hex[:4]
_HANDED_OUT: list[str] = []  # every suffix the `suffix` fixture gave: the AWS lane's teardown deletes their stacks


def pytest_configure(config):
    if aws_lane.TARGET not in aws_lane.TARGETS:
        raise pytest.UsageError(f"BUILDER_TEST_TARGET must be one of {', '.join(aws_lane.TARGETS)} "
                                f"(got {aws_lane.TARGET!r})")


def pytest_collection_modifyitems(config, items):
    """In the AWS lane, skip what only holds for the emulator, saying why."""
    if not aws_lane.ON_AWS:
        return
    for item in items:
        marker = item.get_closest_marker("emulator_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"emulator only: {marker.args[0]}"))


# Environment the tests see while the emulator runs. Values of None are removed.
# AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE point nowhere so that a
# developer's ~/.aws (profiles, SSO, endpoints) cannot leak into the tests.
_AWS_ENV_CLEAR = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN",
    "AWS_REGION", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CA_BUNDLE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def _emulator_env(endpoint_url: str) -> dict[str, str | None]:
    no_proxy = ",".join(
        x for x in (os.environ.get("NO_PROXY") or os.environ.get("no_proxy"), "127.0.0.1", "localhost") if x
    )
    env: dict[str, str | None] = {name: None for name in _AWS_ENV_CLEAR}
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ENDPOINT_URL": endpoint_url,  # honoured by boto3/botocore >= 1.31 and awscli >= 1.29
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",  # never probe the instance metadata service
            "AWS_PAGER": "",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }
    )
    return env


def _real_aws() -> Iterator[None]:
    """The AWS lane: the real endpoints and credential chain; at the end, delete what the run made."""
    with pytest.MonkeyPatch.context() as mp:
        for name in [n for n in os.environ if n == "AWS_ENDPOINT_URL" or n.startswith("AWS_ENDPOINT_URL_")]:
            mp.delenv(name)
        mp.setenv("AWS_PAGER", "")
        try:
            yield
        finally:
            deleted, failed = aws_lane.tear_down(_HANDED_OUT, {aws_lane.lane_region(), aws_lane.REPLICA_REGION})
            print(f"\nAWS lane teardown: deleted {len(deleted)}: {', '.join(deleted) or 'nothing'}")
            if failed:
                pytest.fail("AWS lane teardown left these behind (delete them by hand): " + "; ".join(failed),
                            pytrace=False)


# what the caller's shell may hold that builder reads: the suffix, the region and the profile
_CALLER_SETTINGS = ("ENVIRONMENT_SUFFIX", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_DEFAULT_PROFILE")


@pytest.fixture
def clean_env(monkeypatch, tmp_path) -> Path:
    """No suffix, region or profile from the caller's shell, not the ~/.aws/config of whoever runs the
    tests, and tmp_path as the working directory (returned). A module that wants it for every test says
    `pytestmark = pytest.mark.usefixtures("clean_env")`."""
    for name in _CALLER_SETTINGS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def stubs(clean_env, monkeypatch) -> Iterator[Stubs]:
    """Stubbed clients (tests/factories.py) behind builder's client factory, in a clean environment.
    The answers never say "in progress", so nothing polls; every answer queued must have been asked for."""
    found = Stubs()
    monkeypatch.setattr(stack_client, "client", found.client)
    monkeypatch.setattr(stack_client, "shared_client", lambda region, service: found.client(None, service))
    monkeypatch.setattr(stack_client, "session", lambda region: boto3.session.Session(
        region_name=region, aws_access_key_id="x", aws_secret_access_key="x"))
    yield found
    found.assert_done()


@pytest.fixture
def cf(stubs):
    """The Stubber of the CloudFormation client builder's client factories hand out (`stubs`); its
    `.client` is that client, for a test that passes it on itself."""
    return stubs["cloudformation"]


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str | None]:
    """Endpoint URL of a LocalStack started for this test session (dummy credentials set); None in the
    AWS lane, where boto3 and the AWS CLI use their real endpoints."""
    if aws_lane.ON_AWS:
        yield from _real_aws()
        return
    try:
        python = emulator.emulator_python()
    except emulator.EmulatorNotInstalled as e:
        pytest.fail(f"AWS emulator not installed: {e}", pytrace=False)

    try:
        # SQS too: the walk-through family of tests/families/test_new_family.py makes a queue
        with emulator.localstack(python, services=f"{emulator.DEFAULT_SERVICES},sqs") as endpoint_url, \
                pytest.MonkeyPatch.context() as mp:
            for name, value in _emulator_env(endpoint_url).items():
                if value is None:
                    mp.delenv(name, raising=False)
                else:
                    mp.setenv(name, value)
            yield endpoint_url
    except emulator.EmulatorError as e:
        pytest.fail(f"AWS emulator failed to start: {e}", pytrace=False)


@pytest.fixture
def aws_env(aws_endpoint, monkeypatch, tmp_path):
    """The emulator, a working directory of the test's own, and no default region: builder must pass
    the region to boto3 itself (the botocore here reads AWS_DEFAULT_REGION, not AWS_REGION)."""
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("ENVIRONMENT_SUFFIX", raising=False)
    monkeypatch.chdir(tmp_path)
    return aws_endpoint


@pytest.fixture
def own_account(aws_env, monkeypatch) -> str:
    """The emulator as an AWS account no other test uses, for a test that looks at or acts on every stack
    in it (the docs' `reap --yes` and `status --all`): LocalStack takes a 12-digit access key id as the
    account id and keeps each account's stacks, buckets, tables and topics apart, so the test starts from
    none, and what it lists and deletes is its own whatever ran before or beside it. Returns the account id
    (ARNs and builder's bucket names hold it)."""
    if aws_env is None:  # the AWS lane: a real account cannot be made up; such a test is emulator_only
        pytest.fail("own_account needs the emulator; mark the test emulator_only", pytrace=False)
    account = f"{next(_ACCOUNTS):012d}"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", account)
    return account


@pytest.fixture
def suffix():
    """A suffix no other test of this session uses, so tests share one server without colliding."""
    value = f"t{_RUN}{next(_SUFFIXES)}"
    _HANDED_OUT.append(value)
    return value


class Aws:
    """boto3 clients on the emulator and the CLI entry point, for the deploy tests."""

    def __init__(self, endpoint: str, capsys) -> None:
        self.endpoint = endpoint
        self._capsys = capsys

    def client(self, service: str, region: str | None = None):
        region = region or aws_lane.lane_region()
        return boto3.session.Session(region_name=region).client(service, endpoint_url=self.endpoint)

    @property
    def account(self) -> str:
        """The account the stacks are in: LocalStack's 000000000000, or the real one in the AWS lane."""
        return str(self.client("sts").get_caller_identity()["Account"])

    def stack(self, name: str, region: str | None = None) -> dict | None:
        """The stack's description, or None when it does not exist."""
        import botocore.exceptions

        try:
            return self.client("cloudformation", region).describe_stacks(StackName=name)["Stacks"][0]
        except botocore.exceptions.ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise

    def parameters(self, name: str, region: str | None = None) -> dict[str, str]:
        return {p["ParameterKey"]: p["ParameterValue"] for p in self.stack(name, region)["Parameters"]}

    def run(self, *argv: str) -> tuple[int, str, str]:
        """`python -m builder ARGV` in-process: (exit code, stdout, stderr)."""
        return run_cli(self._capsys, *argv)


@pytest.fixture
def aws(aws_env, capsys):
    return Aws(aws_env, capsys)
