"""Loaded through PYTHONPATH into every process the benchmarks time (ours and the AWS CLI alike).

It does nothing unless one of these is set:

BENCH_CALLS_FILE   append the name of every AWS API call the process makes to this file, one a
                   line: a botocore `before-call` handler registered on every botocore session, so
                   boto3 (ours) and the AWS CLI are counted by the same hook. Retries of one call
                   are not counted again.
BENCH_CLOCK_URL    a virtual clock shared with the stand-in server (benchmarks/standin.py):
                   time.monotonic() is the real one plus the server's offset, and time.sleep(s) does
                   not wait s. It registers its wake-up time (now + s) among the process's sleeping
                   threads and blocks until the clock reaches it. When no thread has started or ended
                   a sleep for BENCH_CLOCK_GRACE real seconds (default 0.01), the sleeper with the
                   earliest wake-up moves the clock there (POST `at <time>` to the server, which
                   answers its new offset). So sleeps that overlap in real time advance the clock to
                   the latest wake-up among them, each thread waking in turn at its own time, never
                   by the sum of the sleeps. Threads that do not sleep (an HTTP call in flight) run
                   in real time, and the clock can move on while they do, as it would.
BENCH_CPU_FILE     at exit, write to this file (JSON) where the process's CPU went: `calls` and
                   `call_cpu`, the AWS API calls and the CPU seconds their threads spent inside them
                   (botocore's whole call: parameters, endpoint, signing, the HTTP exchange, parsing;
                   from its first event, provide-client-params, to after-call or after-call-error,
                   by time.thread_time), per operation in `by_operation`; and `clock_cpu`, the CPU
                   seconds of the virtual clock's `sleeps` above (its calls to the stand-in), which a
                   real time.sleep does not spend.
"""

import os

_cpu = None  # BENCH_CPU_FILE: {"calls": n, "call_cpu": s, "clock_cpu": s, "sleeps": n, "by_operation": {name: [n, s]}}
if os.environ.get("BENCH_CPU_FILE"):
    import atexit
    import json
    import threading
    import time

    import botocore.session

    _cpu = {"calls": 0, "call_cpu": 0.0, "clock_cpu": 0.0, "sleeps": 0, "by_operation": {}}
    _cpu_lock = threading.Lock()
    _cpu_started = threading.local()
    _cpu_init = botocore.session.Session.__init__

    def _call_starts(**_):
        _cpu_started.at = time.thread_time()

    def _call_ends(model=None, **_):
        started = getattr(_cpu_started, "at", None)
        if started is None:
            return
        spent = time.thread_time() - started
        _cpu_started.at = None
        with _cpu_lock:
            _cpu["calls"] += 1
            _cpu["call_cpu"] += spent
            name = model.name if model is not None else "(no reply)"
            count, total = _cpu["by_operation"].get(name, (0, 0.0))
            _cpu["by_operation"][name] = (count + 1, total + spent)

    def _cpu_session_init(self, *args, **kwargs):
        _cpu_init(self, *args, **kwargs)
        self.register("provide-client-params", _call_starts, unique_id="bench-cpu-start")
        self.register("after-call", _call_ends, unique_id="bench-cpu-end")
        self.register("after-call-error", _call_ends, unique_id="bench-cpu-end-error")

    botocore.session.Session.__init__ = _cpu_session_init

    def _write_cpu():
        with open(os.environ["BENCH_CPU_FILE"], "w", encoding="utf-8") as out:
            json.dump(_cpu, out)

    atexit.register(_write_cpu)

if os.environ.get("BENCH_CALLS_FILE"):
    import threading

    import botocore.session

    _calls_path = os.environ["BENCH_CALLS_FILE"]
    _calls_lock = threading.Lock()
    _session_init = botocore.session.Session.__init__

    def _record(model, **_):
        with _calls_lock, open(_calls_path, "a", encoding="utf-8") as calls:
            calls.write(model.name + "\n")

    def _init(self, *args, **kwargs):
        _session_init(self, *args, **kwargs)
        self.register("before-call", _record, unique_id="bench-call-counter")

    botocore.session.Session.__init__ = _init

if os.environ.get("BENCH_CLOCK_URL"):
    import itertools
    import socket
    import threading
    import time
    import urllib.parse

    _clock_url = urllib.parse.urlsplit(os.environ["BENCH_CLOCK_URL"])
    _grace = float(os.environ.get("BENCH_CLOCK_GRACE", "0.01"))
    _connection = threading.local()  # one kept-alive connection to the stand-in per thread: the clock's
    # calls are the benchmark's, not the tool's, and a new connection per sleep cost about a millisecond of CPU
    _real_monotonic = time.monotonic
    _offset = [0.0]  # the server's offset as last answered: virtual = real + offset
    _sleepers = []  # (wake-up, sequence) of every thread in time.sleep
    _order = itertools.count()
    _cond = threading.Condition()
    _changed = [0.0]  # real time a sleep last started or ended

    def _now():
        return _real_monotonic() + _offset[0]

    def _post(body):
        """POST body to the clock's URL on this thread's kept-alive connection; the reply's body. Plain socket
        I/O, not http.client, whose reply parsing (headers through the email package) is most of a sleep's
        CPU, which is counted in the process's."""
        request = (f"POST {_clock_url.path} HTTP/1.1\r\nHost: {_clock_url.netloc}\r\n"
                   f"Content-Length: {len(body)}\r\n\r\n").encode() + body
        for attempt in (1, 2):  # a kept-alive connection the server has closed meanwhile: once more on a new one
            connection = getattr(_connection, "socket", None)
            try:
                if connection is None:
                    connection = _connection.socket = socket.create_connection(
                        (_clock_url.hostname, _clock_url.port), timeout=10)
                connection.sendall(request)
                return _reply(connection)
            except (OSError, ValueError):
                if connection is not None:
                    connection.close()
                _connection.socket = None
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _reply(connection):
        """One HTTP/1.1 reply with a Content-Length, read whole: its body (ValueError unless 200)."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(4096)
            if not chunk:
                raise OSError("the clock's connection closed")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":", 1)[1]) for line in lines[1:] if line.lower().startswith(b"content-length:"))
        while len(body) < length:
            chunk = connection.recv(4096)
            if not chunk:
                raise OSError("the clock's connection closed")
            body += chunk
        if lines[0].split()[1] != b"200":
            raise ValueError(f"the clock answered {lines[0]!r}")
        return body[:length]

    def _advance_to(wake):
        offset = float(_post(f"at {wake!r}".encode()))
        # only once the server's clock has moved: another thread that reads the clock meanwhile must not
        # see time the server has not seen yet (its calls would arrive "too early" and be throttled)
        _offset[0] = max(_offset[0], offset)

    def _sleep(seconds):
        if _cpu is None:
            _virtual_sleep(seconds)
            return
        started = time.thread_time()
        try:
            _virtual_sleep(seconds)
        finally:
            spent = time.thread_time() - started
            with _cpu_lock:
                _cpu["clock_cpu"] += spent
                _cpu["sleeps"] += 1

    def _virtual_sleep(seconds):
        seconds = max(0.0, float(seconds))
        with _cond:
            entry = (_now() + seconds, next(_order))
            _sleepers.append(entry)
            _changed[0] = _real_monotonic()
            _cond.notify_all()
            try:
                while _now() < entry[0]:
                    quiet = _real_monotonic() - _changed[0]
                    if min(_sleepers) is entry and quiet >= _grace:
                        _advance_to(entry[0])
                        _cond.notify_all()
                    else:
                        _cond.wait(_grace - quiet if min(_sleepers) is entry else None)
            finally:
                _sleepers.remove(entry)
                _changed[0] = _real_monotonic()
                _cond.notify_all()

    time.sleep = _sleep
    time.monotonic = _now
