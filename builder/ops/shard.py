"""Split a fleet across N CI jobs: shard K of N owns the suffixes whose hash lands on K.

The shard of a suffix depends only on the suffix (SHA-256 of its UTF-8 bytes, not Python's salted
hash() and not its place on the command line), so N jobs given the same list, in any order, handle
every suffix exactly once.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    """Shard `index` (1-based) of `count`."""

    index: int
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"

    def owns(self, suffix: str) -> bool:
        return in_shard(suffix, self.index, self.count)


def shard_of(suffix: str, count: int) -> int:
    """The 1-based shard, of `count`, that owns the suffix."""
    digest = hashlib.sha256(suffix.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def in_shard(suffix: str, index: int, count: int) -> bool:
    """Does shard `index` of `count` own the suffix?"""
    return shard_of(suffix, count) == index


def parse_shard(text: str) -> Shard:
    """`K/N` with whole numbers 1 <= K <= N; ValueError says what is wrong."""
    match = re.fullmatch(r"([0-9]+)/([0-9]+)", text.strip())
    if match is None:
        raise ValueError(f"must be K/N with whole numbers, e.g. 1/3 (got {text!r})")
    index, count = int(match[1]), int(match[2])
    if count < 1 or not 1 <= index <= count:
        raise ValueError(f"must be K/N with 1 <= K <= N, e.g. 1/3 (got {text!r})")
    return Shard(index, count)
