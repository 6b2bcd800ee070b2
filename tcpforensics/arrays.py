"""Appending one number to an `array.array`, at C speed in the compiled build.

`array.append` is a Python method call, several hundred instructions; compiled, these
helpers store into the array's buffer, grown the way `array.append` grows it.  They serve
the per-packet and per-round paths: RTT reservoirs, cwnd series, the report's columns.
The pure build binds them to `array.append` itself.
"""

from __future__ import annotations

from array import array

import cython

if cython.compiled:
    from cython.cimports.cpython.array import resize_smart


def push_d(a: array, x: float) -> int:
    """Append a double to an array('d')."""
    if cython.compiled:
        n = len(a)
        resize_smart(a, n + 1)
        a.data.as_doubles[n] = x
    else:
        a.append(x)
    return 0  # compiled: not -1, no error


def push_q(a: array, x: int) -> int:
    """Append a 64-bit integer to an array('q')."""
    if cython.compiled:
        n = len(a)
        resize_smart(a, n + 1)
        a.data.as_longlongs[n] = x
    else:
        a.append(x)
    return 0


def push_u(a: array, x: int) -> int:
    """Append an unsigned 32-bit integer to an array('I')."""
    if cython.compiled:
        n = len(a)
        resize_smart(a, n + 1)
        a.data.as_uints[n] = x
    else:
        a.append(x)
    return 0


if not cython.compiled:
    # the pure build calls array.append directly: no helper call per value
    push_d = push_q = push_u = array.append  # noqa: F811
