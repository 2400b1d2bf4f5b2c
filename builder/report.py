"""What deploy, diff, destroy and status print: plain lines, a live terminal line, or JSON lines.

One Reporter per command run, shared by the worker threads (a lock keeps lines whole). Lines carry
a `stack: ` prefix when the run touches more than one stack. On a terminal, resource events update
one progress line (settled / total, elapsed) instead of printing a line each; failures still print.

An operation hands data to `show(kind, item)`; the CLI gives the Reporter a view for each kind
(builder.cli.views), which turns the item into text lines and JSON records. So builder.ops and
builder.stack never format a table or a record for a person: they say what they have, the CLI says how.
"""

from __future__ import annotations

import datetime
import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO

SETTLED_SUFFIXES = ("_COMPLETE", "_FAILED", "_SKIPPED")


@dataclass(frozen=True)
class Shown:
    """What a view makes of an item: the lines text mode prints, the objects JSON mode writes (one a line)."""

    lines: Sequence[str] = ()
    records: Sequence[Mapping[str, Any]] = ()


View = Callable[[Any, str | None], Shown]  # (the item, the stack it is about) -> what to print


def grid(rows: Sequence[Sequence[str]], header: Sequence[str], indent: str = "  ",
         right_after_first: bool = False) -> list[str]:
    """Text columns two spaces apart, header first: left-aligned, or (right_after_first) every column
    but the first right-aligned, as numbers read best."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def cell(index: int, value: str, width: int) -> str:
        return value.rjust(width) if right_after_first and index else value.ljust(width)

    return [indent + "  ".join(cell(i, str(c), w) for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip()
            for row in [header, *rows]]


def md_cell(text: str) -> str:
    """Text as it may stand in a markdown table cell: pipes and backslashes escaped, one line."""
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """The lines of a GitHub markdown table, every cell escaped."""
    return ["| " + " | ".join(md_cell(c) for c in header) + " |", "|" + "---|" * len(header),
            *("| " + " | ".join(md_cell(c) for c in row) + " |" for row in rows)]


@dataclass
class _Progress:
    total: int
    started: float
    settled: set[str] = field(default_factory=set)
    seen: set[str] = field(default_factory=set)
    status: str = ""


class Reporter:
    def __init__(self, stream: TextIO | None = None, mode: str = "auto", prefix: bool = False,
                 tty: bool | None = None, clock: Callable[[], float] = time.monotonic,
                 views: Mapping[str, View] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.views = dict(views or {})
        self.json = mode == "json"
        if tty is None:
            tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.live = tty and not self.json
        self.prefix = prefix
        self._clock = clock
        self._lock = threading.Lock()
        self._progress: dict[str, _Progress] = {}
        self._line_shown = False
        self._said: set[str] = set()

    # ------------------------------------------------------------------ low level
    def _write(self, text: str) -> None:
        if self._line_shown:
            self.stream.write("\r\x1b[2K")
            self._line_shown = False
        self.stream.write(text + "\n")
        self._redraw()
        self.stream.flush()

    def _redraw(self) -> None:
        if not self.live or not self._progress:
            return
        now = self._clock()
        parts = [f"{name} {len(p.settled)}/{p.total or '?'} settled, {now - p.started:.0f} s"
                 for name, p in self._progress.items()]
        self.stream.write("\r\x1b[2K" + " | ".join(parts))
        self._line_shown = True

    def _label(self, stack: str | None) -> str:
        return f"{stack}: " if (self.prefix and stack) else ""

    def line(self, text: str, stack: str | None = None, **data: Any) -> None:
        """A human line; in JSON mode an object {"stack", "message", **data} instead."""
        with self._lock:
            if self.json:
                self._write(json.dumps({"event": "message", "stack": stack, "message": text, **data}, default=str))
            else:
                self._write(self._label(stack) + text)

    def lines(self, texts: Iterable[str], stack: str | None = None) -> None:
        if self.json:
            return
        with self._lock:
            for text in texts:
                self._write(self._label(stack) + text)

    def show(self, kind: str, item: object, stack: str | None = None) -> None:
        """Data an operation hands over for a person: the view of `kind` renders it (text lines, with the
        stack's prefix; or JSON records). A kind without a view is a programming error (LookupError)."""
        view = self.views.get(kind)
        if view is None:
            raise LookupError(f"no view for {kind!r}: the CLI gives the Reporter a view for every kind shown")
        shown = view(item, stack)
        if self.json:
            with self._lock:
                for record in shown.records:
                    self._write(json.dumps(record, default=str))
        else:
            self.lines(shown.lines, stack)

    def show_once(self, kind: str, item: Mapping[str, Any], stack: str | None = None) -> None:
        """show(), at most once per run for the same kind and data (an endpoint's gap, met by every stack)."""
        key = kind + json.dumps(item, sort_keys=True, default=str)
        with self._lock:
            if key in self._said:
                return
            self._said.add(key)
        self.show(kind, item, stack)

    def record(self, kind: str, **data: Any) -> None:
        """A machine record (JSON mode only)."""
        if self.json:
            with self._lock:
                self._write(json.dumps({"event": kind, **data}, default=str))

    # ------------------------------------------------------------------ stack operations
    def begin(self, stack: str, total: int) -> None:
        with self._lock:
            self._progress[stack] = _Progress(total=total, started=self._clock())
            self._redraw()

    def event(self, stack: str, event: Mapping[str, Any]) -> None:
        """One CloudFormation stack event."""
        logical, status = event.get("LogicalResourceId", ""), event.get("ResourceStatus", "")
        reason = event.get("ResourceStatusReason") or ""
        is_stack = event.get("ResourceType") == "AWS::CloudFormation::Stack"
        with self._lock:
            progress = self._progress.get(stack)
            if progress is not None and not is_stack:
                progress.seen.add(logical)
                if status.endswith(SETTLED_SUFFIXES):
                    progress.settled.add(logical)
                else:
                    progress.settled.discard(logical)
                progress.total = max(progress.total, len(progress.seen))
            if self.json:
                self._write(json.dumps({
                    "event": "resource", "stack": stack, "logical_id": logical,
                    "type": event.get("ResourceType"), "status": status, "reason": reason,
                    "physical_id": event.get("PhysicalResourceId"), "time": event.get("Timestamp"),
                }, default=str))
                return
            if self.live and not status.endswith("_FAILED"):
                self._redraw()
                self.stream.flush()
                return
            stamp = event.get("Timestamp")
            clock = stamp.strftime("%H:%M:%S") if isinstance(stamp, datetime.datetime) else ""
            text = f"{clock} {status:<20} {event.get('ResourceType', ''):<28} {logical}"
            self._write(self._label(stack) + (f"{text}  {reason}" if reason else text).strip())

    def tick(self) -> None:
        """Redraw the progress line (its elapsed time) on a poll that brought no event."""
        if self.live:
            with self._lock:
                self._redraw()
                self.stream.flush()

    def end(self, stack: str) -> None:
        with self._lock:
            self._progress.pop(stack, None)
            if self._line_shown:
                self.stream.write("\r\x1b[2K")
                self._line_shown = False
            self._redraw()
            self.stream.flush()
