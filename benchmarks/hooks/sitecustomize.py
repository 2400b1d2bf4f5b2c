"""Loaded through PYTHONPATH into every process the benchmarks time (ours and the AWS CLI alike).

It does nothing unless one of these is set:

BENCH_CALLS_FILE   append the name of every AWS API call the process makes to this file, one a
                   line: a botocore `before-call` handler registered on every botocore session, so
                   boto3 (ours) and the AWS CLI are counted by the same hook. Retries of one call
                   are not counted again.
BENCH_CLOCK_URL    time.sleep does not sleep: it POSTs its seconds to the stand-in server, which
                   adds them to its clock, and adds them to this process's time.monotonic. A
                   300-second wait takes no real time, yet the server and the process both see it.
"""

import os

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
    import time
    import urllib.request

    _clock_url = os.environ["BENCH_CLOCK_URL"]
    _opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    _real_monotonic = time.monotonic
    _slept = [0.0]

    def _sleep(seconds):
        seconds = max(0.0, float(seconds))
        request = urllib.request.Request(_clock_url, data=repr(seconds).encode(), method="POST")
        _opener.open(request, timeout=10).read()
        # only once the server's clock has moved: another thread that reads the clock meanwhile must not
        # see time the server has not seen yet (its calls would arrive "too early" and be throttled)
        _slept[0] += seconds

    time.sleep = _sleep
    time.monotonic = lambda: _real_monotonic() + _slept[0]
