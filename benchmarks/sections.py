"""The benchmark's sections: one table that benchmarks/run.py, README.md, BENCHMARKS.md and the tests share.

A section's heading in BENCHMARKS.md is `## <number>. <title>`; README's benchmark table names it
`<number>. <title>` with its key in backticks; `run.py --only` takes the key or the number.
"""

from __future__ import annotations

from typing import NamedTuple


class Part(NamedTuple):
    number: int
    key: str  # what --only takes
    title: str


SECTIONS = (
    Part(1, "synth", "Synth start-up"),
    Part(2, "suffixes", "Many suffixes"),
    Part(3, "lint", "Lint gate"),
    Part(4, "deploy", "Deploy overhead against LocalStack"),
    Part(5, "polling", "Polling: settle-to-exit delay and poll counts"),
    Part(6, "fleet", "Fleet against one stack"),
    Part(7, "pollfleet", "Fleet: one shared poller under an API budget"),
    Part(8, "reap", "Reap: listing and deleting"),
    Part(9, "peer", "Peer: builder against Sceptre"),
)
BY_KEY = {p.key: p for p in SECTIONS}


def heading(key: str) -> str:
    """The section's heading without the `## `: `<number>. <title>`."""
    part = BY_KEY[key]
    return f"{part.number}. {part.title}"


def chosen(only: str) -> list[Part]:
    """The parts `--only` names (keys or numbers, comma-separated), in table order; ValueError names the unknown."""
    wanted = [w.strip() for w in only.split(",") if w.strip()]
    unknown = [w for w in wanted if w not in BY_KEY and not any(str(p.number) == w for p in SECTIONS)]
    if unknown:
        raise ValueError(f"unknown {', '.join(unknown)}; choose from "
                         f"{', '.join(f'{p.number}/{p.key}' for p in SECTIONS)}")
    return [p for p in SECTIONS if p.key in wanted or str(p.number) in wanted]
