"""Shared fixtures. The emulator: one LocalStack server per test session, on 127.0.0.1 only."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest

from emulator import EmulatorError, install_hint, localstack

_SUFFIXES = itertools.count(1)
_RUN = uuid.uuid4().hex[:4]


@pytest.fixture(scope="session")
def aws_endpoint():
    """The URL of a LocalStack server started for this session (it fails, not skips, when missing)."""
    try:
        with localstack() as url:
            yield url
    except EmulatorError as exc:
        pytest.fail(f"{exc}\n{install_hint()}", pytrace=False)


@pytest.fixture
def aws_env(aws_endpoint, monkeypatch, tmp_path):
    """Dummy credentials, the emulator endpoint, no real profile, the working directory in tmp_path."""
    for name in list(os.environ):
        if name.startswith("AWS_") or name == "ENVIRONMENT_SUFFIX":
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_endpoint)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.chdir(tmp_path)
    return aws_endpoint


@pytest.fixture
def suffix():
    """A suffix no other test of this session uses, so tests share one server without colliding."""
    return f"t{_RUN}{next(_SUFFIXES)}"


class Aws:
    """boto3 clients on the emulator and the CLI entry point, for the deploy tests."""

    def __init__(self, endpoint: str, capsys) -> None:
        self.endpoint = endpoint
        self._capsys = capsys

    def client(self, service: str, region: str = "us-east-1"):
        import boto3

        return boto3.session.Session(region_name=region).client(service, endpoint_url=self.endpoint)

    def stack(self, name: str, region: str = "us-east-1") -> dict | None:
        """The stack's description, or None when it does not exist."""
        import botocore.exceptions

        try:
            return self.client("cloudformation", region).describe_stacks(StackName=name)["Stacks"][0]
        except botocore.exceptions.ClientError as exc:
            if "does not exist" in str(exc):
                return None
            raise

    def parameters(self, name: str, region: str = "us-east-1") -> dict[str, str]:
        return {p["ParameterKey"]: p["ParameterValue"] for p in self.stack(name, region)["Parameters"]}

    def run(self, *argv: str) -> tuple[int, str, str]:
        """`python -m builder ARGV` in-process: (exit code, stdout, stderr)."""
        from builder.cli import main

        self._capsys.readouterr()
        code = main(list(argv))
        captured = self._capsys.readouterr()
        return code, captured.out, captured.err


@pytest.fixture
def aws(aws_env, capsys):
    return Aws(aws_env, capsys)
