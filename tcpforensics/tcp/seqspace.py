"""32-bit TCP sequence-space arithmetic and unwrapping into a 64-bit relative space.

Comparisons follow RFC 9293 (and Wireshark's LT_SEQ/GT_SEQ macros): `a` is before `b`
when the signed 32-bit difference a - b is negative.  The helpers are plain functions
on ints so the per-packet path stays cheap.
"""

from __future__ import annotations

MASK = 0xFFFFFFFF
HALF = 0x80000000
# C-typed copies for the unwrapper (compiled, the public names stay importable)
_MASK = MASK
_HALF = HALF
_SPAN = 0x100000000  # 2**32


def seq_lt(a: int, b: int) -> bool:
    """a < b in sequence space."""
    return ((a - b) & MASK) >= HALF


def seq_gt(a: int, b: int) -> bool:
    """a > b in sequence space."""
    return ((b - a) & MASK) >= HALF


def seq_le(a: int, b: int) -> bool:
    d = (a - b) & MASK
    return d == 0 or d >= HALF


def seq_ge(a: int, b: int) -> bool:
    d = (b - a) & MASK
    return d == 0 or d >= HALF


def seq_diff(a: int, b: int) -> int:
    """Signed distance a - b (in [-2**31, 2**31))."""
    d = (a - b) & MASK
    return d - 0x100000000 if d >= HALF else d


class Unwrapper:
    """Maps absolute 32-bit sequence numbers onto a 64-bit line relative to a base.

    Each new value is placed at the point of the 64-bit line nearest to the previous
    one, so wraparound (and moderate reordering across the wrap) is handled.  The
    result is relative to `base` (0 = base), may be negative for data before it.
    """

    __slots__ = ("base", "last")

    def __init__(self, base: int) -> None:
        self.base = base & _MASK
        self.last = 0  # last relative value returned

    def rel(self, value: int) -> int:
        last = self.last
        d = (value - self.base - last) & _MASK
        if d >= _HALF:
            d -= _SPAN
        r = last + d
        # only track forward movement so one stray value cannot drag the reference
        if d > 0:
            self.last = r
        return r

    def peek(self, value: int) -> int:
        """Relative value without moving the reference."""
        d = (value - self.base - self.last) & _MASK
        if d >= _HALF:
            d -= _SPAN
        return self.last + d
