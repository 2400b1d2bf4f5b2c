"""Start and stop a local AWS emulator (LocalStack, on the host, no Docker).

LocalStack lives in its own venv (installed by ``.ci/install-emulator``); this
module only launches ``<emulator python> -m localstack.runtime.main`` as a
child process bound to a free port on 127.0.0.1, waits for its health
endpoint, and tears the whole process group down afterwards::

    with localstack() as endpoint_url:       # "http://127.0.0.1:<port>"
        boto3.client("s3", endpoint_url=endpoint_url, ...)

Which interpreter: ``BUILDER_EMULATOR_PYTHON``, else
``${BUILDER_EMULATOR_VENV:-~/.cache/builder/localstack-venv}/bin/python``.
Set ``BUILDER_EMULATOR_LOG=<file>`` to keep the emulator's log after it stops.

Only the Python standard library is used here (no boto3), so the module is
importable from any venv.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

__all__ = [
    "DEFAULT_SERVICES",
    "EmulatorError",
    "EmulatorNotInstalled",
    "emulator_python",
    "install_hint",
    "localstack",
]

REPO_ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = REPO_ROOT / ".ci" / "install-emulator"
DEFAULT_VENV = Path.home() / ".cache" / "builder" / "localstack-venv"
DEFAULT_SERVICES = "cloudformation,s3,dynamodb,sns,cloudwatch,iam,sts,kms"
LOOPBACK = "127.0.0.1"

# Inherited variables that must not reach the emulator: real credentials or
# endpoints, and any LocalStack configuration from the caller's shell.
_SCRUB_PREFIXES = ("AWS_", "LOCALSTACK_", "PROVIDER_OVERRIDE_", "GATEWAY_")
_SCRUB_NAMES = {
    "SERVICES", "EAGER_SERVICE_LOADING", "PERSISTENCE", "DEBUG", "LS_LOG",
    "DNS_ADDRESS", "FILESYSTEM_ROOT", "HOSTNAME_EXTERNAL", "EDGE_PORT",
    "EDGE_BIND_HOST", "USE_SSL", "DISABLE_EVENTS", "SKIP_SSL_CERT_DOWNLOAD",
}


class EmulatorError(RuntimeError):
    """The emulator could not be started (message includes its log tail)."""


class EmulatorNotInstalled(EmulatorError):
    """No emulator interpreter: run .ci/install-emulator."""


def install_hint() -> str:
    return (
        f"install it with:  {INSTALL_SCRIPT.relative_to(REPO_ROOT)}   (~1.5 min, needs Python >= 3.12)\n"
        f'then, if you used a non-default venv:  export BUILDER_EMULATOR_PYTHON="$(.ci/install-emulator | tail -n1)"'
    )


def emulator_python() -> Path:
    """The LocalStack venv's interpreter; raises EmulatorNotInstalled if absent."""
    explicit = os.environ.get("BUILDER_EMULATOR_PYTHON")
    if explicit:
        path, origin = Path(explicit), "BUILDER_EMULATOR_PYTHON"
    else:
        venv = os.environ.get("BUILDER_EMULATOR_VENV")
        path = Path(venv or DEFAULT_VENV) / "bin" / "python"
        origin = "BUILDER_EMULATOR_VENV" if venv else "the default venv"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise EmulatorNotInstalled(
            f"LocalStack emulator python not found at {path} (from {origin});\n{install_hint()}"
        )
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


def _child_env(port: int, root: Path, services: str, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_SCRUB_PREFIXES) and k not in _SCRUB_NAMES
    }
    env.update(
        {
            # loopback only: LocalStack's default is 0.0.0.0:4566
            "GATEWAY_LISTEN": f"{LOOPBACK}:{port}",
            # host name baked into returned URLs (default localhost.localstack.cloud, a public DNS name)
            "LOCALSTACK_HOST": f"{LOOPBACK}:{port}",
            "GATEWAY_SERVER": "hypercorn",
            "SERVICES": services,
            "PROVIDER_OVERRIDE_DYNAMODB": "moto",  # tests/emulator/localstack_dynamodb_moto
            "DNS_ADDRESS": "0",  # no DNS server
            "DISABLE_EVENTS": "1",  # no analytics
            "SKIP_SSL_CERT_DOWNLOAD": "1",
            "FILESYSTEM_ROOT": str(root),
            "PERSISTENCE": "0",
            # LocalStack's clients to itself: no retries. Otherwise a CloudWatch alarm
            # evaluated during shutdown retries for ~5 s against the stopping gateway
            # (and the alarm scheduler's shutdown joins it for up to 10 s).
            "DISABLE_BOTO_RETRIES": "1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            # LocalStack's own boto clients talk to itself with these
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if extra:
        env.update(extra)
    return env


def _die_with_parent() -> None:  # runs in the child between fork and exec
    # Best effort: SIGTERM the emulator if the process that started it dies
    # (e.g. pytest killed with SIGKILL). Linux only; ignored elsewhere.
    # Note: fires when the *thread* that forked exits, so start from a long-lived thread.
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _log_tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"(no log: {e})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def _get_json(url: str) -> dict | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(url, timeout=2) as resp:
            if resp.status == 200:
                return json.loads(resp.read() or b"{}")
    except (OSError, ValueError, urllib.error.URLError):
        pass
    return None


def _ready(url: str) -> bool:
    """Health answers AND the runtime finished start-up (its READY stage ran).

    Health alone is not enough: it answers a little before the runtime is
    ready, and a SIGTERM in that window can leave LocalStack hanging.
    """
    if _get_json(f"{url}/_localstack/health") is None:
        return False
    stage = _get_json(f"{url}/_localstack/init/ready")
    return bool(stage and stage.get("completed"))


def _exited(proc: subprocess.Popen) -> bool:
    """Has the child exited? Does NOT reap it, so its PID (= process group id) stays reserved."""
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:  # already reaped
        return True
    return info is not None


def _idle_connections(port: int, n: int = 2) -> list[socket.socket]:
    conns = []
    for _ in range(n):
        with contextlib.suppress(OSError):
            conns.append(socket.create_connection((LOOPBACK, port), timeout=1))
    return conns


_POKE = b"GET /_localstack/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def _stop(proc: subprocess.Popen, port: int | None = None, grace: float = 10.0) -> None:
    """SIGTERM the emulator's process group, SIGKILL it after ``grace`` seconds, then reap.

    LocalStack 2026.3.0 (hypercorn gateway) stops by calling ``loop.stop()`` from
    another thread without waking its event loop: about 1 SIGTERM in 7 then
    hangs in select() until some I/O arrives (seen here: 3 of 20 stops needed
    SIGKILL). So connections are opened *before* SIGTERM (the listener closes
    during shutdown) and written to *after* it, which wakes the loop; with that,
    25 of 25 stops were clean in < 1.1 s. SIGKILL stays as the last resort.
    """
    pgid = proc.pid  # start_new_session=True made the child a group leader
    held = _idle_connections(port) if port and not _exited(proc) else []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    start = time.monotonic()
    next_poke = start + 0.3
    try:
        while not _exited(proc) and time.monotonic() - start < grace:
            if held and time.monotonic() >= next_poke:
                for conn in held:
                    with contextlib.suppress(OSError):
                        conn.sendall(_POKE)
                next_poke = time.monotonic() + 0.5
            time.sleep(0.05)
    finally:
        for conn in held:
            conn.close()
    # The leader is a zombie (or alive) but not yet reaped, so pgid cannot have been
    # reused: safe to SIGKILL whatever is left in the group, including stray children.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    proc.wait()


def _start_once(
    python: Path, root: Path, log_path: Path, services: str, timeout: float,
    extra_env: Mapping[str, str] | None,
) -> tuple[subprocess.Popen, int, str | None]:
    """Launch LocalStack and wait until ready: (process, port, problem or None)."""
    port = _free_port()
    url = f"http://{LOOPBACK}:{port}"
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(python), "-m", "localstack.runtime.main"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            env=_child_env(port, root, services, extra_env),
            start_new_session=True,  # own process group: _stop() kills all of it
            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
        )
    deadline = time.monotonic() + timeout
    try:
        while True:
            if _exited(proc):
                return proc, port, f"exited with code {proc.wait()} during start-up"
            if _ready(url):
                return proc, port, None
            if time.monotonic() > deadline:
                return proc, port, f"not ready after {timeout:.0f} s"
            time.sleep(0.1)
    except BaseException:  # e.g. KeyboardInterrupt while waiting
        _stop(proc, port)
        raise


@contextlib.contextmanager
def localstack(
    python: str | os.PathLike | None = None,
    *,
    services: str = DEFAULT_SERVICES,
    timeout: float = 60.0,
    extra_env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """Run LocalStack on a free 127.0.0.1 port; yield its endpoint URL; stop it on exit.

    Raises EmulatorNotInstalled if there is no emulator python, EmulatorError
    (with the tail of LocalStack's log) if it exits or is not ready in ``timeout``.
    """
    python = Path(python) if python else emulator_python()
    root = Path(tempfile.mkdtemp(prefix="builder-localstack-"))
    keep_log = os.environ.get("BUILDER_EMULATOR_LOG")
    log_path = Path(keep_log) if keep_log else root / "localstack.log"
    proc = port = None
    try:
        for attempt in (1, 2):  # a second try only for a lost race on the free port
            t0 = time.monotonic()
            proc, port, problem = _start_once(python, root, log_path, services, timeout, extra_env)
            if problem is None:
                break
            _stop(proc, port)
            proc = None
            tail = _log_tail(log_path)
            if attempt == 1 and "address already in use" in tail.lower():
                continue
            where = log_path if keep_log else "its log (set BUILDER_EMULATOR_LOG=<file> to keep it)"
            raise EmulatorError(f"LocalStack ({python}) {problem}; last lines of {where}:\n{tail}")
        url = f"http://{LOOPBACK}:{port}"
        with open(log_path, "a") as log:
            log.write(f"[builder tests] ready at {url} after {time.monotonic() - t0:.2f} s\n")
        yield url
    finally:
        if proc is not None:
            _stop(proc, port)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":  # manual check: python tests/emulator.py
    t = time.monotonic()
    with localstack() as endpoint:
        print(f"LocalStack ready at {endpoint} after {time.monotonic() - t:.2f} s")
        print(json.dumps(_get_json(f"{endpoint}/_localstack/health")))
        t = time.monotonic()
    print(f"stopped after {time.monotonic() - t:.2f} s")
