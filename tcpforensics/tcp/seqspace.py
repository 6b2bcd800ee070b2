"""32-bit TCP sequence-space arithmetic (the unwrapping onto a 64-bit relative line is
EndpointState.rel/peek in endpoint.py, kept inline with the sender's state).

Comparisons follow RFC 9293 (and Wireshark's LT_SEQ/GT_SEQ macros): `a` is before `b`
when the signed 32-bit difference a - b is negative.  The helpers are plain functions
on ints so the per-packet path stays cheap.
"""

from __future__ import annotations

MASK = 0xFFFFFFFF
HALF = 0x80000000


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
