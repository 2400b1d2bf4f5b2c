"""The files synth writes deploy with the real AWS CLI, against the same LocalStack server.

The command run is the one synth prints, word for word, so the README's instructions are tested too.
A changed config reaches the existing stack that way because every parameter is in the file (the
CLI would otherwise keep the previous value: UsePreviousValue).
"""

from __future__ import annotations

import os
import shlex
import subprocess

import pytest

from tests.factories import aws_cli

pytestmark = pytest.mark.emulator


@pytest.fixture
def quick_waiters(tmp_path_factory) -> str:
    """A PYTHONPATH folder whose sitecustomize caps the CLI's sleeps at 0.5 s.

    `aws cloudformation deploy` hard-codes its waiter delays (5 s for the change set, 30 s for the
    stack); only how long it sleeps between polls changes, not what it sends.
    """
    folder = tmp_path_factory.mktemp("quick-waiters")
    (folder / "sitecustomize.py").write_text(
        "import time\n_sleep = time.sleep\ntime.sleep = lambda seconds: _sleep(min(seconds, 0.5))\n")
    return str(folder)


def synth_and_deploy(aws, suffix: str, pythonpath: str, *sets: str) -> subprocess.CompletedProcess:
    code, out, _ = aws.run("synth", "--suffix", suffix, *sets)
    assert code == 0
    command = next(line.strip() for line in out.splitlines() if line.strip().startswith("aws cloudformation deploy"))
    argv = shlex.split(command)
    assert "--parameter-overrides" in argv and "--tags" in argv and "--capabilities" in argv
    result = subprocess.run([aws_cli(), *argv[1:]], capture_output=True, text=True, env={**os.environ,
                                                                                         "PYTHONPATH": pythonpath},
                            timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    return result


def test_synth_files_deploy_with_the_aws_cli_and_a_config_change_reaches_the_stack(aws, suffix, quick_waiters):
    name = f"app-{suffix}"
    synth_and_deploy(aws, suffix, quick_waiters)
    stack = aws.stack(name)
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    assert {t["Key"]: t["Value"] for t in stack["Tags"]} == {  # builder:managed-by: reap and destroy act on it
        "CostCenter": "engineering", "Environment": suffix, "builder:managed-by": "builder"}
    assert aws.parameters(name)["BucketLifecycleDays"] == "30"

    synth_and_deploy(aws, suffix, quick_waiters, "--set", "bucket_lifecycle_days=60", "--set",
                     "alarm_threshold_multiplier=1")
    assert aws.stack(name)["StackStatus"] == "UPDATE_COMPLETE"
    params = aws.parameters(name)
    assert params["BucketLifecycleDays"] == "60"
    assert params["ReadThrottleThreshold"] == "10"

    # and builder agrees that the stack matches that config
    code, out, _ = aws.run("diff", "--suffix", suffix, "--set", "bucket_lifecycle_days=60",
                           "--set", "alarm_threshold_multiplier=1", "--exit-code")
    assert (code, out.strip()) == (0, "no changes")
