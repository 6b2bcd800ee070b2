"""Appending to (and reading) an `array.array` at C speed in the compiled build, and
round(x, 6).

`array.append` is a Python method call, several hundred instructions; compiled, these
helpers store into the array's buffer.  They serve the per-packet and per-round paths:
RTT reservoirs, cwnd series, the report's columns.  The pure build binds push_d/q/u to
`array.append` itself.
"""

from __future__ import annotations

from array import array

import cython

if cython.compiled:
    from cython.cimports.cpython.array import resize, resize_smart
    from cython.cimports.libc.math import fabs, fma
    from cython.cimports.libc.math import round as nearest


# array.append grows a full buffer by half, so an array is copied about twice its final
# size on the way; `_make_room` doubles it instead (the report fills thousands of columns
# at once on a many-flow capture, and the copies were a third of its filing cost).
def _make_room(a: array, n: int) -> int:
    """Before item `n` goes into `a`: double a full buffer of 16 items or more (then
    resize_smart only sets the size)."""
    if cython.compiled:
        head = cython.cast(cython.pointer(ArrayHead), cython.cast(cython.p_void, a))  # noqa: F821
        if n >= 16 and n + 1 >= head.allocated:
            resize(a, 2 * n)
        resize_smart(a, n + 1)
    return 0


def push_d(a: array, x: float) -> int:
    """Append a double to an array('d')."""
    if cython.compiled:
        n = len(a)
        _make_room(a, n)
        a.data.as_doubles[n] = x
    else:
        a.append(x)
    return 0  # compiled: not -1, no error


def push_q(a: array, x: int) -> int:
    """Append a 64-bit integer to an array('q')."""
    if cython.compiled:
        n = len(a)
        _make_room(a, n)
        a.data.as_longlongs[n] = x
    else:
        a.append(x)
    return 0


def push_u(a: array, x: int) -> int:
    """Append an unsigned 32-bit integer to an array('I')."""
    if cython.compiled:
        n = len(a)
        _make_room(a, n)
        a.data.as_uints[n] = x
    else:
        a.append(x)
    return 0


def extend_d(a: array, k: int) -> int:
    """Add k items (zeros in the pure build, unset compiled) to an array('d') and return
    the index of the first: the caller stores them with set_d."""
    n = len(a)
    if cython.compiled:
        _make_room(a, n + k - 1)
    else:
        a.frombytes(bytes(8 * k))
    return n


def push4(a: array, w: int, x: int, y: int, z: int) -> int:
    """Append four 64-bit integers (one record) to an array('q')."""
    if cython.compiled:
        n = len(a)
        _make_room(a, n + 3)
        p = a.data.as_longlongs
        p[n] = w
        p[n + 1] = x
        p[n + 2] = y
        p[n + 3] = z
    else:
        a.extend((w, x, y, z))
    return 0


def round6(x: float) -> float:
    """round(x, 6), bit for bit.

    Python's round() writes x out in decimal and reads the rounded digits back, about
    7,000 instructions.  Compiled: let s = x * 1e6 rounded to a double and r the integer
    nearest s.  Unless s is exactly halfway, |s - r| is at most 0.5 less one unit of
    s's last place, and the product was off by at most half of one, so r is also the
    integer nearest the exact x * 10**6: the correctly rounded decimal.  Halfway, the
    product's exact error (an fma) tells the side; an exact tie takes round() itself
    (halves to even).  r / 1e6, one correctly rounded division of exact numbers, is the
    double nearest r * 10**-6, which is what round() returns.  |x| below 1e-6 (signed
    zeros), huge and non-finite values take round() too.
    """
    if cython.compiled:
        scaled = x * 1e6
        if 1.0 <= fabs(scaled) < 4503599627370496.0:  # 2**52: exact integers and halves
            r = nearest(scaled)
            if fabs(scaled - r) == 0.5:
                err = fma(x, 1e6, -scaled)  # x * 10**6 - scaled, exactly
                if err == 0.0:
                    return round(x, 6)
                if (err > 0.0) == (scaled > r):
                    r = 2.0 * scaled - r  # the exact product is past the half
            return r / 1e6
    return round(x, 6)


def rounded6(a: array) -> array:
    """array('d', [round(x, 6) for x in a]) (times kept to the microsecond)."""
    out = array("d", a)
    if cython.compiled:
        for i in range(len(out)):
            out.data.as_doubles[i] = round6(out.data.as_doubles[i])
    else:
        for i in range(len(out)):
            out[i] = round(out[i], 6)
    return out


if not cython.compiled:
    # the pure build calls array.append directly: no helper call per value
    push_d = push_q = push_u = array.append  # noqa: F811
    # get_d/get_q and set_d/set_q are C inline functions in arrays.pxd (compiled: a load
    # or a store); in the pure build the array's own item access
    get_d = get_q = array.__getitem__
    set_d = set_q = array.__setitem__
