"""Wait for a fleet of stacks through builder's shared poller, as deploy will once it is wired in.

    python benchmarks/fleet_driver.py --api-rate 2 STACK...

One thread per stack (concurrency = fleet), each registering its stack with the poller of the region
and waiting for it, printing each stack's events through a callback. Run by benchmarks/run.py with
hooks/sitecustomize.py loaded, so its time.sleep and time.monotonic follow the stand-in's virtual
clock, and timed as a whole process (its CPU time is builder's CPU time for the fleet). Prints one
JSON object: the final status and the number of events seen, per stack.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections import Counter
from typing import Any

from builder.stack.poller import Pollers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--api-rate", type=float, default=None, help="a hard cap (default: builder's adaptive rate)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("stacks", nargs="+")
    args = parser.parse_args(argv)
    pollers = Pollers(args.api_rate)
    poller = pollers.poller(args.region)
    events: Counter[str] = Counter()
    finals: dict[str, Any] = {}

    def watch(name: str) -> None:
        watched = poller.register(name, lambda event: events.update([name]))
        try:
            finals[name] = poller.wait(watched)["StackStatus"]
        except Exception as exc:  # noqa: BLE001 - reported in the output
            finals[name] = f"error: {exc}"

    threads = [threading.Thread(target=watch, args=(name,)) for name in args.stacks]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pollers.close()
    json.dump({name: {"status": finals.get(name), "events": events[name]} for name in args.stacks}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
