"""`python -m builder emulator`: the emulator a user starts is the one the tests use (builder/emulator).

One LocalStack start in the background on a free port (its own pid file under tmp_path), used
through the printed export lines from a shell, then stopped; the error cases start nothing.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from builder import emulator

EMULATOR = [sys.executable, "-m", "builder", "emulator"]

# What the shell runs after the export lines: S3 and DynamoDB (served by the dynamodb:moto plugin,
# without which CreateTable fails) answer with the exported endpoint and dummy credentials alone.
CLIENT = """
import os, boto3
assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
s3 = boto3.client("s3")
s3.create_bucket(Bucket="emu-cmd")
print("buckets", [b["Name"] for b in s3.list_buckets()["Buckets"]])
ddb = boto3.client("dynamodb")
ddb.create_table(TableName="emu-cmd", BillingMode="PAY_PER_REQUEST",
                 AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                 KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
ddb.put_item(TableName="emu-cmd", Item={"pk": {"S": "a"}, "v": {"S": "1"}})
print("item", ddb.get_item(TableName="emu-cmd", Key={"pk": {"S": "a"}})["Item"]["v"]["S"])
"""


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*EMULATOR, *args], check=False, capture_output=True, text=True, timeout=300,
                          env=env if env is not None else os.environ.copy())


def _gone(pid: int) -> bool:
    """No such process, or only a zombie left for a parent that does not reap it."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _shell_env() -> dict[str, str]:
    """The caller's environment without any AWS setting (the export lines must be enough)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true", NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return env


@pytest.mark.emulator
@pytest.mark.emulator_only("starts the emulator itself")
def test_background_start_exports_and_stop(tmp_path):
    pidfile = tmp_path / "emulator.pid"
    port = _free_port()
    started = _run("--background", "--port", str(port), "--pidfile", str(pidfile))
    assert started.returncode == 0, started.stderr
    try:  # --stop alone would look in the default pidfile, not this one
        assert started.stderr.endswith(f"stop it with: python -m builder emulator --stop --pidfile {pidfile}\n")
        lines = started.stdout.splitlines()
        assert lines == emulator.export_lines(emulator.Endpoint(f"http://127.0.0.1:{port}", port, 0))
        state = json.loads(pidfile.read_text())
        pid = state["pid"]
        assert (state["port"], state["url"]) == (port, f"http://127.0.0.1:{port}")
        assert not _gone(pid)

        used = subprocess.run(["bash", "-c", "\n".join([*lines, f'exec "{sys.executable}" -c "$CLIENT"'])],
                              check=False, capture_output=True, text=True, timeout=120,
                              env={**_shell_env(), "CLIENT": CLIENT})
        assert used.returncode == 0, used.stderr
        assert used.stdout.splitlines() == ["buckets ['emu-cmd']", "item 1"]

        again = _run("--background", "--port", str(_free_port()), "--pidfile", str(pidfile))
        assert again.returncode == 2
        assert again.stderr == (f"error: emulator: already running at http://127.0.0.1:{port} (pid {pid}, "
                                f"{pidfile}); stop it with: python -m builder emulator --stop --pidfile {pidfile}\n")
    finally:
        stopped = _run("--stop", "--pidfile", str(pidfile))
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.stderr == "emulator stopped\n"
    assert _gone(pid)
    assert not pidfile.exists()
    assert not Path(state["root"]).exists()

    nothing = _run("--stop", "--pidfile", str(pidfile))
    assert (nothing.returncode, nothing.stderr) == (0, f"emulator: not running (no live process in {pidfile})\n")


@pytest.mark.emulator
@pytest.mark.emulator_only("starts the emulator itself")
def test_foreground_runs_until_ctrl_c_then_stops_it(tmp_path):
    pidfile = tmp_path / "emulator.pid"
    port = _free_port()
    # SIGINT as a terminal's Ctrl-C delivers it (a non-interactive parent may have it ignored)
    fg = subprocess.Popen([*EMULATOR, "--port", str(port), "--pidfile", str(pidfile)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # noqa: PLW1509
    try:
        assert fg.stdout is not None
        assert fg.stdout.readline() == f"export AWS_ENDPOINT_URL=http://127.0.0.1:{port}\n"
        pid = json.loads(pidfile.read_text())["pid"]
        assert fg.poll() is None and not _gone(pid)
    finally:
        fg.send_signal(signal.SIGINT)
        _, err = fg.communicate(timeout=60)
    assert fg.returncode == 0, err
    assert err.endswith("emulator stopped\n")
    assert _gone(pid)
    assert not pidfile.exists()


@pytest.mark.emulator
@pytest.mark.emulator_only("starts the emulator itself")
def test_stop_then_background_at_once_on_the_same_port_and_the_env_file(tmp_path):
    """The stop leaves the port's connections in TIME-WAIT (the emulator closes them first); a start right
    after must not take that for a port in use. The env file is written only by a start that succeeded."""
    pidfile, env_file = tmp_path / "emulator.pid", tmp_path / "emulator.env"
    port = _free_port()
    first = _run("--background", "--port", str(port), "--pidfile", str(pidfile), "--env-file", str(env_file))
    assert first.returncode == 0, first.stderr
    assert env_file.read_text() == first.stdout
    assert _run("--stop", "--pidfile", str(pidfile)).returncode == 0
    try:
        again = _run("--background", "--port", str(port), "--pidfile", str(pidfile), "--env-file", str(env_file))
        assert (again.returncode, again.stdout) == (0, first.stdout), again.stderr
        env_file.write_text("export KEPT=1\n")
        refused = _run("--background", "--port", str(port), "--pidfile", str(pidfile), "--env-file", str(env_file))
        assert refused.returncode == 2  # already running
        assert env_file.read_text() == "export KEPT=1\n"
    finally:
        assert _run("--stop", "--pidfile", str(pidfile)).returncode == 0


def test_a_port_whose_connections_linger_in_time_wait_is_free():
    """What a stopped emulator leaves behind: a server-side socket in TIME-WAIT on its port, no listener.
    Its server binds with SO_REUSEADDR (asyncio's default on Unix), which the TIME-WAIT socket keeps."""
    with socket.socket() as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = server.accept()
        accepted.close()  # the server side closes first: it is the side left in TIME-WAIT
        client.recv(1)
        client.close()
    assert not emulator._port_taken(port)
    with socket.socket() as listener:  # and a server listening there again: taken
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert emulator._port_taken(port)


@pytest.mark.parametrize("make_file, problem", [
    (lambda tmp: tmp / "missing" / "emulator.env", "its folder {tmp}/missing does not exist"),
    (lambda tmp: tmp, "is a folder"),
])
def test_an_env_file_that_cannot_be_written_is_refused_before_anything_starts(tmp_path, make_file, problem):
    env_file = make_file(tmp_path)
    done = _run("--background", "--port", str(_free_port()), "--pidfile", str(tmp_path / "emulator.pid"),
                "--env-file", str(env_file))
    assert done.returncode == 2
    assert done.stderr == (f"error: emulator: --env-file {env_file}: {problem.format(tmp=tmp_path)}; nothing was "
                           f"started\n")
    assert not (tmp_path / "emulator.pid").exists()


def test_port_in_use_is_refused_before_anything_starts(tmp_path):
    pidfile, env_file = tmp_path / "emulator.pid", tmp_path / "emulator.env"
    env_file.write_text("export AWS_ENDPOINT_URL=http://127.0.0.1:4566\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _run("--background", "--port", str(port), "--pidfile", str(pidfile), "--env-file", str(env_file))
    assert done.returncode == 2
    assert done.stderr == f"error: emulator: port {port} on 127.0.0.1 is in use; pick another with --port N\n"
    assert done.stdout == ""
    assert not pidfile.exists()
    assert env_file.read_text() == "export AWS_ENDPOINT_URL=http://127.0.0.1:4566\n"  # a failed start left it


def test_no_python_for_the_emulator_venv(tmp_path):
    """A fresh venv location and no usable base Python: exit 2 and what to do, nothing left running."""
    env = {**os.environ, "BUILDER_EMULATOR_VENV": str(tmp_path / "venv"),
           "BUILDER_EMULATOR_BASE_PYTHON": str(tmp_path / "no-such-python")}
    env.pop("BUILDER_EMULATOR_PYTHON", None)
    done = _run("--background", "--port", str(_free_port()), "--pidfile", str(tmp_path / "emulator.pid"), env=env)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == (
        "error: emulator: no Python >= 3.12 found to build the LocalStack venv from; install one "
        "(e.g. pyenv install 3.13) or set BUILDER_EMULATOR_BASE_PYTHON"
    )
    assert not (tmp_path / "emulator.pid").exists()


def test_stale_pid_file_is_not_a_running_emulator(tmp_path):
    """A pid file left by a crash (its process gone) neither blocks a start nor breaks --stop."""
    pidfile = tmp_path / "emulator.pid"
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    root = tmp_path / f"{emulator.STATE_ROOT_PREFIX}crashed"
    pidfile.write_text(json.dumps({"pid": dead.pid, "port": 1, "root": str(root)}))
    root.mkdir()
    done = _run("--stop", "--pidfile", str(pidfile))
    assert (done.returncode, done.stderr) == (0, f"emulator: not running (no live process in {pidfile})\n")
    assert not pidfile.exists()
    assert not root.exists()


def test_a_record_never_deletes_a_folder_no_start_made(tmp_path):
    """A stale record whose root names any other folder (a hand-edited or another tool's file) used to have
    that folder removed with everything in it by --stop."""
    pidfile, mine = tmp_path / "emulator.pid", tmp_path / "work"
    (mine / "sub").mkdir(parents=True)
    (mine / "sub" / "notes.txt").write_text("precious\n")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    pidfile.write_text(json.dumps({"pid": dead.pid, "port": 1, "root": str(mine)}))
    done = _run("--stop", "--pidfile", str(pidfile))
    assert done.returncode == 0, done.stderr
    assert (mine / "sub" / "notes.txt").read_text() == "precious\n"


def test_a_live_process_that_is_not_the_emulator_is_never_signalled(tmp_path):
    """The pid of a record may now be another process's (the emulator died, the pid was reused; or another
    LocalStack of another run). It is left running and the record is dropped as stale."""
    pidfile = tmp_path / "emulator.pid"
    elsewhere = tmp_path / f"{emulator.STATE_ROOT_PREFIX}other"
    elsewhere.mkdir()
    # its command line and process group look like an emulator's; its state folder is another's
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", emulator.LAUNCH_MODULE],
                                 start_new_session=True, cwd=elsewhere)
    try:
        pidfile.write_text(json.dumps({"pid": bystander.pid, "port": 1,
                                       "root": str(tmp_path / f"{emulator.STATE_ROOT_PREFIX}mine")}))
        done = _run("--stop", "--pidfile", str(pidfile))
        assert (done.returncode, done.stderr) == (0, f"emulator: not running (no live process in {pidfile})\n")
        assert bystander.poll() is None  # still running: not signalled
        assert not pidfile.exists() and elsewhere.is_dir()
    finally:
        bystander.kill()
        bystander.wait()


def test_another_tools_json_with_a_pid_is_left_alone(tmp_path):
    pidfile = tmp_path / "server.json"
    pidfile.write_text(json.dumps({"pid": 999999, "name": "my server"}))
    done = _run("--stop", "--pidfile", str(pidfile))
    assert done.returncode == 2
    assert "holds no emulator's record" in done.stderr
    assert pidfile.exists()


@pytest.mark.parametrize("pidfile, log", [("notes.txt", "notes.log"), ("app.log", "app.log")])
def test_the_log_never_overwrites_a_file_no_start_wrote(tmp_path, pidfile, log):
    """The log is the pid file's name with .log: `--pidfile notes.txt` truncated the user's notes.log, and
    `--pidfile app.log` made the log and the record one file. Refused before anything starts (exit 2)."""
    (tmp_path / log).write_text("precious\n")
    done = _run("--background", "--port", str(_free_port()), "--pidfile", str(tmp_path / pidfile))
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: emulator: --pidfile {tmp_path / pidfile}: ")
    assert (tmp_path / log).read_text() == "precious\n"
