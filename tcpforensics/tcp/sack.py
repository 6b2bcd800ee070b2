"""SACK scoreboard (bounded) and D-SACK recognition (RFC 2018, RFC 2883, RFC 6675).

Ranges are in the data sender's 64-bit relative sequence space.
"""

from __future__ import annotations

MAX_RANGES = 64


class Scoreboard:
    """Disjoint SACKed ranges above the cumulative ACK, capped at MAX_RANGES."""

    __slots__ = ("ranges", "sacked")

    def __init__(self) -> None:
        self.ranges: list[list[int]] = []  # sorted [left, right) pairs
        self.sacked = 0  # bytes covered

    def advance(self, una: int) -> None:
        """Drop everything the cumulative ACK covers."""
        rs = self.ranges
        if not rs or rs[0][0] >= una:
            return
        keep = []
        total = 0
        for left, right in rs:
            if right <= una:
                continue
            if left < una:
                left = una
            keep.append([left, right])
            total += right - left
        self.ranges = keep
        self.sacked = total

    def add(self, left: int, right: int, una: int) -> int:
        """Merge one block; returns the number of newly covered bytes."""
        if left < una:
            left = una
        if right <= left:
            return 0
        rs = self.ranges
        before = self.sacked
        # the usual cases first, in place: SACK blocks mostly grow the highest range or
        # open a new one above it (the general merge below rebuilds the whole list)
        n = len(rs)
        if n == 0 or left > rs[n - 1][1]:
            if n >= MAX_RANGES:
                return 0  # it would be the highest range, and the cap drops that one
            rs.append([left, right])
            self.sacked = before + (right - left)
            return right - left
        last = rs[n - 1]
        if last[0] <= right and (n == 1 or rs[n - 2][1] < left):
            a = last[0]
            b = last[1]
            if left < a:
                a = left
            if right > b:
                b = right
            grown = (b - a) - (last[1] - last[0])
            last[0] = a
            last[1] = b
            self.sacked = before + grown
            return grown
        merged = []
        placed = False
        for a, b in rs:
            if b < left or a > right:
                if not placed and a > right:
                    merged.append([left, right])
                    placed = True
                merged.append([a, b])
            else:
                left = min(left, a)
                right = max(right, b)
        if not placed:
            merged.append([left, right])
            merged.sort()
        if len(merged) > MAX_RANGES:
            merged = merged[:MAX_RANGES]  # keep the lowest: they matter for recovery
        self.ranges = merged
        total = 0
        for a, b in merged:
            total += b - a
        self.sacked = total
        return max(0, total - before)

    def sacked_above(self, seq: int) -> int:
        """Bytes SACKed above `seq` (RFC 6675 IsLost uses this against DupThresh*SMSS)."""
        return sum(b - max(a, seq) for a, b in self.ranges if b > seq)


def is_dsack(blocks: tuple[tuple[int, int], ...], ack: int) -> bool:
    """RFC 2883: the first block reports a duplicate when it lies at or below the
    cumulative ACK, or inside the second block.  Values are in one consistent space."""
    if not blocks:
        return False
    left, right = blocks[0]
    if right <= ack:
        return True
    if len(blocks) > 1:
        l2, r2 = blocks[1]
        if l2 <= left and right <= r2:
            return True
    return False
