"""The local AWS emulator: LocalStack on 127.0.0.1, no Docker, the same for users and tests.

LocalStack lives in its own venv (Python >= 3.12, pinned dependencies) made by ``install.sh``
beside this file, which also installs the ``dynamodb:moto`` provider plugin
(``localstack_dynamodb_moto/``): without it LocalStack's DynamoDB needs a Java download and a
stack with a table fails. Both ship as package data, so an installed builder needs no clone.

For a user (``python -m builder emulator [--port N] [--background] [--stop]``)::

    endpoint = start(4566, background=True, pidfile=DEFAULT_PIDFILE)
    print("\\n".join(export_lines(endpoint)))
    stop(DEFAULT_PIDFILE)

For the tests (a free port, a throw-away state dir, stopped on exit)::

    with localstack() as endpoint_url:       # "http://127.0.0.1:<port>"
        ...

Which interpreter: ``BUILDER_EMULATOR_PYTHON``, else
``${BUILDER_EMULATOR_VENV:-~/.cache/builder/localstack-venv}/bin/python``.
Set ``BUILDER_EMULATOR_LOG=<file>`` to keep the tests' emulator log after it stops.

Only the standard library is used here (no boto3), so this imports from any venv.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shlex
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
from dataclasses import dataclass
from pathlib import Path

from builder.errors import Interrupted, OperationError, UsageError

__all__ = [
    "DEFAULT_PIDFILE",
    "DEFAULT_PORT",
    "DEFAULT_SERVICES",
    "EmulatorError",
    "EmulatorNotInstalled",
    "Endpoint",
    "emulator_python",
    "export_lines",
    "install",
    "localstack",
    "main",
    "run_until_interrupted",
    "start",
    "stop",
]

HERE = Path(__file__).resolve().parent
INSTALL_SCRIPT = HERE / "install.sh"
STATE_DIR = Path.home() / ".cache" / "builder"
DEFAULT_VENV = STATE_DIR / "localstack-venv"
DEFAULT_PIDFILE = STATE_DIR / "emulator.pid"
DEFAULT_PORT = 4566
DEFAULT_SERVICES = "cloudformation,s3,dynamodb,sns,cloudwatch,iam,sts,kms"
LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
STATE_ROOT_PREFIX = "builder-localstack-"  # each start's state folder (tempfile.mkdtemp): stop removes only such
LAUNCH_MODULE = "localstack.runtime.main"  # what _launch runs: an emulator of builder's has it in its command line
RECORD_KEYS = {"pid", "port", "url", "root", "log"}  # what start writes into the pid file, nothing else
LOG_HEADER = "# python -m builder emulator: LocalStack's log of the emulator the pid file beside names\n"
INSTALL_HINT = "install it with: python -m builder emulator --install (once; needs Python >= 3.12)"

# Inherited variables that must not reach the emulator: real credentials or
# endpoints, and any LocalStack configuration from the caller's shell.
_SCRUB_PREFIXES = ("AWS_", "LOCALSTACK_", "PROVIDER_OVERRIDE_", "GATEWAY_")
_SCRUB_NAMES = {
    "SERVICES", "EAGER_SERVICE_LOADING", "PERSISTENCE", "DEBUG", "LS_LOG",
    "DNS_ADDRESS", "FILESYSTEM_ROOT", "HOSTNAME_EXTERNAL", "EDGE_PORT",
    "EDGE_BIND_HOST", "USE_SSL", "DISABLE_EVENTS", "SKIP_SSL_CERT_DOWNLOAD",
}
_NO_PYTHON_EXIT = 2  # install.sh: no Python >= 3.12 to build the venv from


class EmulatorError(OperationError):
    """The emulator could not be installed, started or stopped (exit 1)."""

    def __init__(self, message: str) -> None:
        super().__init__("emulator", message)


class EmulatorNotInstalled(EmulatorError):
    """No emulator interpreter where it was looked for."""


class EmulatorUsageError(UsageError):
    """The emulator cannot start as asked: port taken, already running, no Python >= 3.12 (exit 2)."""

    def __init__(self, message: str) -> None:
        super().__init__("emulator", message)


@dataclass(frozen=True)
class Endpoint:
    """A running emulator: where it listens and which process group to stop."""

    url: str
    port: int
    pid: int


# --------------------------------------------------------------------------- install


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
        raise EmulatorNotInstalled(f"LocalStack python not found at {path} (from {origin}); {INSTALL_HINT}")
    return path


def install() -> Path:
    """Install LocalStack and the DynamoDB plugin into the emulator venv unless already there
    (well under a second then); return the venv's python. Progress goes to stderr."""
    if os.environ.get("BUILDER_EMULATOR_PYTHON"):
        return emulator_python()  # the caller chose an interpreter: use it as it is
    bash = shutil.which("bash")
    if bash is None:
        raise EmulatorError("installing needs bash on PATH")
    done = subprocess.run([bash, str(INSTALL_SCRIPT)], stdout=subprocess.PIPE, text=True, check=False)
    if done.returncode == _NO_PYTHON_EXIT:
        raise EmulatorUsageError(
            "no Python >= 3.12 found to build the LocalStack venv from; install one "
            "(e.g. pyenv install 3.13) or set BUILDER_EMULATOR_BASE_PYTHON"
        )
    if done.returncode != 0:
        raise EmulatorError(f"installing LocalStack failed (exit {done.returncode}; its output is above)")
    return Path(done.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------- process


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        port: int = s.getsockname()[1]
        return port


def _port_taken(port: int) -> bool:
    """Is something listening on the port? With SO_REUSEADDR, as LocalStack's server binds: connections
    of an emulator just stopped that linger in TIME-WAIT (about 60 s) do not count, so `--stop` then
    `--background` works at once; a listener still does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((LOOPBACK, port))
        except OSError:
            return True
    return False


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
            "PROVIDER_OVERRIDE_DYNAMODB": "moto",  # localstack_dynamodb_moto/ beside this file
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
            "AWS_DEFAULT_REGION": REGION,
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


def _get_json(url: str) -> dict[str, object] | None:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with opener.open(url, timeout=2) as resp:
            if resp.status == 200:
                body = json.loads(resp.read() or b"{}")
                return body if isinstance(body, dict) else None
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


def _exited(pid: int) -> bool:
    """Has the process exited? A child of ours is NOT reaped, so its PID (= process group id)
    stays reserved; for another process (a --background emulator) a zombie counts as exited."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:  # not our child (or already reaped)
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    with contextlib.suppress(OSError):  # Linux: a zombie still answers kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z"
    return False


def _idle_connections(port: int, n: int = 2) -> list[socket.socket]:
    conns = []
    for _ in range(n):
        with contextlib.suppress(OSError):
            conns.append(socket.create_connection((LOOPBACK, port), timeout=1))
    return conns


_POKE = b"GET /_localstack/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def _stop_group(pid: int, port: int | None = None, grace: float = 10.0) -> None:
    """SIGTERM the emulator's process group, SIGKILL it after ``grace`` seconds, reap a child.

    LocalStack 2026.3.0 (hypercorn gateway) stops by calling ``loop.stop()`` from
    another thread without waking its event loop: about 1 SIGTERM in 7 then
    hangs in select() until some I/O arrives (seen here: 3 of 20 stops needed
    SIGKILL). So connections are opened *before* SIGTERM (the listener closes
    during shutdown) and written to *after* it, which wakes the loop; with that,
    25 of 25 stops were clean in < 1.1 s. SIGKILL stays as the last resort.
    """
    held = _idle_connections(port) if port and not _exited(pid) else []
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)  # start_new_session=True made it a group leader
    start = time.monotonic()
    next_poke = start + 0.3
    try:
        while not _exited(pid) and time.monotonic() - start < grace:
            if held and time.monotonic() >= next_poke:
                for conn in held:
                    with contextlib.suppress(OSError):
                        conn.sendall(_POKE)
                next_poke = time.monotonic() + 0.5
            time.sleep(0.05)
    finally:
        for conn in held:
            conn.close()
    # A child leader is a zombie (or alive) but not yet reaped, so pgid cannot have been
    # reused: safe to SIGKILL whatever is left in the group, including stray children.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def _launch(
    python: Path, port: int, root: Path, log_path: Path, services: str,
    extra_env: Mapping[str, str] | None, *, die_with_parent: bool,
) -> subprocess.Popen[bytes]:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [str(python), "-m", "localstack.runtime.main"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=root,
            env=_child_env(port, root, services, extra_env),
            start_new_session=True,  # own process group: _stop_group() kills all of it
            # one prctl() call, no locks taken: safe between fork and exec despite threads
            preexec_fn=_die_with_parent if die_with_parent and sys.platform.startswith("linux") else None,  # noqa: PLW1509
        )


def _wait_ready(proc: subprocess.Popen[bytes], port: int, timeout: float) -> str | None:
    """Wait until LocalStack is ready: None, or what went wrong. Stops it on Ctrl-C."""
    url = f"http://{LOOPBACK}:{port}"
    deadline = time.monotonic() + timeout
    try:
        while True:
            if _exited(proc.pid):
                return f"exited with code {proc.wait()} during start-up"
            if _ready(url):
                return None
            if time.monotonic() > deadline:
                return f"not ready after {timeout:.0f} s"
            time.sleep(0.1)
    except BaseException:  # e.g. KeyboardInterrupt while waiting
        _stop_group(proc.pid, port)
        raise


# --------------------------------------------------------------------------- tests


@contextlib.contextmanager
def localstack(
    python: str | os.PathLike[str] | None = None,
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
    root = Path(tempfile.mkdtemp(prefix=STATE_ROOT_PREFIX))
    keep_log = os.environ.get("BUILDER_EMULATOR_LOG")
    log_path = Path(keep_log) if keep_log else root / "localstack.log"
    proc: subprocess.Popen[bytes] | None = None
    port = 0
    try:
        for attempt in (1, 2):  # a second try only for a lost race on the free port
            t0 = time.monotonic()
            port = _free_port()
            proc = _launch(python, port, root, log_path, services, extra_env, die_with_parent=True)
            problem = _wait_ready(proc, port, timeout)
            if problem is None:
                break
            _stop_group(proc.pid, port)
            proc.wait()
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
            _stop_group(proc.pid, port)
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


# --------------------------------------------------------------------------- users

_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}  # started in the foreground by this process


def _read_pidfile(pidfile: Path) -> dict[str, object] | None:
    """The running emulator the pid file names, or None (a stale or empty one is removed). A file that is no
    emulator's record (a mistyped --pidfile naming the user's own file, or another tool's JSON with a pid) is
    refused and left alone. A live process is builder's emulator only when it is what start launched
    (_ours); a pid that now belongs to another process is never signalled: the record is stale."""
    try:
        text = pidfile.read_text()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise EmulatorUsageError(f"--pidfile {pidfile}: cannot be read ({getattr(exc, 'strerror', None) or exc}); "
                                 f"give the file --background wrote, or a new path") from None
    try:
        state = json.loads(text)
        pid = int(state["pid"])
        if not set(state) <= RECORD_KEYS or pid <= 0:
            raise ValueError(pid)
    except (ValueError, KeyError, TypeError):
        if text.strip():
            raise EmulatorUsageError(f"--pidfile {pidfile}: holds no emulator's record (JSON with its pid), so it "
                                     f"is left alone; give the file --background wrote, or a new path") from None
        pidfile.unlink(missing_ok=True)  # empty: a start that died before writing it
        return None
    if _exited(pid) or not _ours(pid, state):
        _forget(pidfile, state)
        return None
    return dict(state)


def _ours(pid: int, state: Mapping[str, object]) -> bool:
    """Is the live process `pid` the emulator this record names: LocalStack as _launch runs it, the leader of
    its own process group (start_new_session: what _stop_group signals), working in the record's state folder?
    Where /proc cannot tell (not Linux), the command line and group are what can be checked."""
    if LAUNCH_MODULE not in _cmdline(pid):
        return False
    try:
        if os.getpgid(pid) != pid:
            return False
    except OSError:
        return False
    root = state.get("root")
    try:
        cwd = os.readlink(f"/proc/{pid}/cwd")
    except OSError:
        return True
    return isinstance(root, str) and Path(cwd) == Path(root)


def _cmdline(pid: int) -> str:
    """The process's command line (Linux /proc), or LAUNCH_MODULE where it cannot be read."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return "" if Path("/proc/self").exists() else LAUNCH_MODULE
    except OSError:
        return LAUNCH_MODULE


def _forget(pidfile: Path, state: Mapping[str, object]) -> None:
    """Remove the pid file, and the state folder it names when that is one start made (builder-localstack-*):
    a record naming any other folder never has it deleted."""
    pidfile.unlink(missing_ok=True)
    root = state.get("root")
    if isinstance(root, str) and Path(root).name.startswith(STATE_ROOT_PREFIX) and not Path(root).is_symlink():
        shutil.rmtree(root, ignore_errors=True)


def _log_for(pidfile: Path) -> Path:
    """The log beside the pid file (its name with the suffix .log), once it is sure to be the emulator's: a
    path that is the pid file itself, or an existing file that no emulator start wrote (its first line is not
    LOG_HEADER) outside builder's own folder, is refused (exit 2) rather than overwritten."""
    log_path = pidfile.with_suffix(".log")
    if log_path == pidfile:
        raise EmulatorUsageError(f"--pidfile {pidfile}: its log would be the pid file itself ({log_path}); give a "
                                 f"pid file whose name does not end in .log, such as emulator.pid")
    if log_path.parent.resolve() == STATE_DIR.resolve() or not (log_path.exists() or log_path.is_symlink()):
        return log_path
    try:
        with open(log_path, encoding="utf-8", errors="replace") as existing:
            first = existing.readline()
    except OSError:
        first = ""
    if not log_path.is_file() or log_path.is_symlink() or first != LOG_HEADER:
        raise EmulatorUsageError(f"--pidfile {pidfile}: the emulator's log would overwrite {log_path}, which no "
                                 f"emulator start wrote; it is left alone: give a pid file in a folder of its own")
    return log_path


def start(
    port: int = DEFAULT_PORT,
    background: bool = False,
    pidfile: Path = DEFAULT_PIDFILE,
    *,
    timeout: float = 90.0,
) -> Endpoint:
    """Install the emulator if needed and start it on 127.0.0.1:``port``; return once it is ready.

    Writes ``pidfile`` (pid, port, url, state dir, log) so ``stop(pidfile)`` finds it; LocalStack's
    log goes to ``pidfile`` with the suffix ``.log`` (never over a file no start wrote: _log_for). In the
    background it outlives this process;
    in the foreground it dies with it (Linux), and the caller stops it with ``stop(pidfile)``.
    """
    running = _read_pidfile(pidfile)
    if running is not None:
        raise EmulatorUsageError(
            f"already running at {running.get('url')} (pid {running['pid']}, {pidfile}); "
            f"stop it with: {stop_command(pidfile)}"
        )
    if not 0 < port < 65536:
        raise EmulatorUsageError(f"--port {port}: a port number 1-65535 is right")
    if _port_taken(port):
        raise EmulatorUsageError(f"port {port} on {LOOPBACK} is in use; pick another with --port N")
    log_path = _log_for(pidfile)
    python = install()
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text(LOG_HEADER)
    root = Path(tempfile.mkdtemp(prefix=STATE_ROOT_PREFIX))
    proc = _launch(python, port, root, log_path, DEFAULT_SERVICES, None, die_with_parent=not background)
    try:
        problem = _wait_ready(proc, port, timeout)
        if problem is not None:
            tail = _log_tail(log_path, lines=5).replace("\n", " | ")
            raise EmulatorError(f"LocalStack {problem} (log {log_path}: ... {tail})")
        endpoint = Endpoint(url=f"http://{LOOPBACK}:{port}", port=port, pid=proc.pid)
        state = {"pid": proc.pid, "port": port, "url": endpoint.url, "root": str(root), "log": str(log_path)}
        pidfile.write_text(json.dumps(state, indent=1) + "\n")
    except BaseException:  # not ready, or Ctrl-C: leave nothing running
        _stop_group(proc.pid, port)
        proc.wait()
        shutil.rmtree(root, ignore_errors=True)
        raise
    if background:
        proc.returncode = 0  # not ours to reap: it outlives us (keeps Popen from warning about it)
    else:
        _CHILDREN[proc.pid] = proc
    return endpoint


def stop_command(pidfile: Path) -> str:
    """The command that stops the emulator `pidfile` records: --stop alone reads only the default one."""
    given = "" if pidfile == DEFAULT_PIDFILE else f" --pidfile {shlex.quote(str(pidfile))}"
    return f"python -m builder emulator --stop{given}"


def stop(pidfile: Path = DEFAULT_PIDFILE) -> bool:
    """Stop the emulator ``pidfile`` names and remove the file; False if none was running."""
    state = _read_pidfile(pidfile)
    if state is not None:
        port = state.get("port")
        _stop_group(int(str(state["pid"])), port if isinstance(port, int) else None)
        _forget(pidfile, state)
    for pid in [pid for pid in _CHILDREN if _exited(pid)]:
        _CHILDREN.pop(pid).wait()  # a foreground emulator of ours: reaped, so Popen knows
    return state is not None


def run_until_interrupted(endpoint: Endpoint, pidfile: Path = DEFAULT_PIDFILE) -> None:
    """Block until Ctrl-C (or a `stop(pidfile)` from elsewhere), then stop the emulator ``start``
    began in the foreground. Ctrl-C is how a foreground emulator is meant to end: not an error."""
    try:
        while not _exited(endpoint.pid):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop(pidfile)


def write_env_file(path: Path, lines: list[str]) -> None:
    """The export lines into `path`, atomically: a temporary file beside it, renamed over it. Called only
    once the emulator is ready, so a failed start leaves the file as it was (a shell's `> emulator.env`
    empties it before builder even runs). Raises OSError."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _env_file_problem(path: Path) -> str | None:
    """Why `path` cannot take the export lines, checked before anything starts; None when it can."""
    if path.is_dir():
        return "is a folder"
    if not path.parent.is_dir():
        return f"its folder {path.parent} does not exist"
    if not os.access(path.parent, os.W_OK):
        return f"its folder {path.parent} is not writable"
    return None


def export_lines(endpoint: Endpoint) -> list[str]:
    """Shell lines that point boto3, the AWS CLI and builder at the emulator with dummy credentials."""
    values = {
        "AWS_ENDPOINT_URL": endpoint.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
    }
    return [f"export {name}={shlex.quote(value)}" for name, value in values.items()]


def _start_ready(port: int, background: bool, pidfile: Path, env_file: Path | None) -> tuple[Endpoint, list[str]]:
    """Start the emulator and write `env_file` once it is ready; whatever fails or is interrupted on the
    way leaves no emulator running."""
    try:
        endpoint = start(port, background, pidfile)
        lines = export_lines(endpoint)
        if env_file is not None:
            try:
                write_env_file(env_file, lines)
            except OSError as exc:
                stop(pidfile)
                raise EmulatorError(f"cannot write {env_file} ({exc.strerror or exc}); the emulator was "
                                    f"stopped") from None
    except KeyboardInterrupt:  # start() stops what it began if not ready; this stops it if it was
        stop(pidfile)
        raise Interrupted("emulator", "interrupted; no emulator left running") from None
    return endpoint, lines


def run(port: int, pidfile: Path, *, background: bool = False, stop_it: bool = False,
        install_only: bool = False, env_file: Path | None = None) -> None:
    """`python -m builder emulator`: install, start (foreground or background) or stop. Raises BuilderError.

    The export lines go to stdout, and to `env_file` (written atomically once the emulator is ready, so a
    failed start leaves it as it was); what happens, to stderr.
    """
    if env_file is not None and (install_only or stop_it):
        raise EmulatorUsageError(f"--env-file goes with a start; --{'install' if install_only else 'stop'} "
                                 f"writes no export lines")
    if install_only:
        try:
            print(install())
        except KeyboardInterrupt:
            raise Interrupted("emulator", "install interrupted; run it again to finish it") from None
        return
    if stop_it:
        stopped = stop(pidfile)
        print("emulator stopped" if stopped else f"emulator: not running (no live process in {pidfile})",
              file=sys.stderr)
        return
    problem = _env_file_problem(env_file) if env_file is not None else None
    if problem:
        raise EmulatorUsageError(f"--env-file {env_file}: {problem}; nothing was started")
    endpoint, lines = _start_ready(port, background, pidfile, env_file)
    if background:
        print("\n".join(lines), flush=True)
        print(f"emulator running in the background (pid {endpoint.pid}); stop it with: {stop_command(pidfile)}",
              file=sys.stderr)
        return
    try:  # from the first export line on, Ctrl-C is how a foreground emulator ends: not an error
        print("\n".join(lines), flush=True)
        print("emulator running; Ctrl-C stops it", file=sys.stderr, flush=True)
        run_until_interrupted(endpoint, pidfile)
    except KeyboardInterrupt:
        stop(pidfile)
    print("emulator stopped", file=sys.stderr)
