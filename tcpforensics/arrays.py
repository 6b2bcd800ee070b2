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
    from cython.cimports.cpython.array import clone, resize, resize_smart
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


class Ring:
    """A first-in first-out queue of records of `width` doubles, in one array('d') used as
    a ring: no object per record, and compiled, C loads and stores.

    A record is read and written by its offset in `data` (fields at off, off + 1, ...,
    with get() and put()): `first()`, `second()` and `last()` give the offsets of the
    oldest, the one after it and the newest, `at(k)` of the k-th oldest; `push()` makes
    a record after the others and returns its offset (the caller writes every field).
    An offset taken before a push or a pop may be stale after it.

    The room follows the length: it doubles from `low` slots when full, up to `high`
    slots (past it the oldest record drops out), and halves once three quarters empty,
    never below `low`.  So a flow's ring holds about what it needs now, not the most it
    ever held, and a short flow's few records take a small array.  A new ring takes no
    room until its first push (`data` is a shared empty array).  Compiled, get() and
    put() go through a pointer to the array's buffer kept in the ring (with many flows
    interleaved, one cache miss less per access).
    """

    __slots__ = ("data", "head", "n", "cap", "width", "low", "high")

    def __init__(self, width: int, low: int, high: int) -> None:
        self.setup(width, low, high)

    def setup(self, width: int, low: int, high: int) -> None:
        """Empty, with `width` doubles a record and between `low` and `high` slots of room
        (powers of two) once used.  (Compiled, `Cls.__new__(Cls)` and setup() make a ring
        without a Python call.)"""
        self.data = _NO_RECORDS
        if cython.compiled:
            self.p = self.data.data.as_doubles
        self.head = 0  # slot of the oldest record
        self.n = 0
        self.cap = 0  # slots of room: 0 until the first push, then low .. high
        self.width = width
        self.low = low
        self.high = high

    def __len__(self) -> int:
        return self.n

    if not cython.compiled:  # compiled: inline C functions in arrays.pxd
        def size(self) -> int:
            return self.n

        def first(self) -> int:
            return self.head * self.width

        def second(self) -> int:
            return ((self.head + 1) & (self.cap - 1)) * self.width

        def last(self) -> int:
            return ((self.head + self.n - 1) & (self.cap - 1)) * self.width

        def at(self, k: int) -> int:
            """The offset of the k-th oldest record (0: the oldest)."""
            return ((self.head + k) & (self.cap - 1)) * self.width

        def get(self, i: int) -> float:
            return self.data[i]

        def put(self, i: int, x: float) -> None:
            self.data[i] = x

        def clear(self) -> None:
            """Drop every record and keep the room (a ring emptied and filled again
            and again reuses its array)."""
            self.head = 0
            self.n = 0

    def push(self) -> int:
        """Room for a new record after the others (a full ring at `high` drops its
        oldest): its offset."""
        if self.n == self.cap:
            if self.cap < self.high:
                self._resize(2 * self.cap if self.cap else self.low)
            else:
                self.head = (self.head + 1) & (self.cap - 1)
                self.n -= 1
        k = (self.head + self.n) & (self.cap - 1)
        self.n += 1
        return k * self.width

    def pop_first(self) -> None:
        """Drop the oldest record."""
        self.head = (self.head + 1) & (self.cap - 1)
        self.n -= 1
        if self.n * 4 <= self.cap and self.cap > self.low:
            self._resize(self.cap // 2)

    def pop_last(self) -> None:
        """Drop the newest record."""
        self.n -= 1
        if self.n * 4 <= self.cap and self.cap > self.low:
            self._resize(self.cap // 2)

    def _resize(self, cap: int) -> None:
        """Room for exactly `cap` records (at least the n held)."""
        data = self.data
        width = self.width
        head = self.head
        if not self.cap:  # the first push: a new array (the empty one is shared)
            data = self.data = _new_records(cap * width)
        elif head + self.n <= min(cap, self.cap):
            # the records lie in order within the first `cap` slots: they keep their
            # slots and the array is resized where it is (no copy, compiled)
            _set_length(data, cap * width)
        else:  # they move to the front of a new array, in order
            start = head * width
            stop = start + self.n * width
            wrapped = stop - self.cap * width  # past the array's end: that many from its front
            data = data[start:stop] if wrapped <= 0 else data[start:] + data[:wrapped]
            _set_length(data, cap * width)
            self.data = data
            self.head = 0
        if cython.compiled:
            self.p = data.data.as_doubles  # resizing may have moved the buffer
        self.cap = cap


_NO_RECORDS = array("d")  # the data of a ring before its first push (shared, never written)


def _new_records(n: int) -> array:
    """A new array('d') of exactly n items (zeros in the pure build, unset compiled)."""
    if cython.compiled:
        return clone(_NO_RECORDS, n, False)
    return array("d", bytes(8 * n))


def _set_length(a: array, n: int) -> int:
    """Make array('d') `a` exactly n items long, with no spare room; new items are zeros
    in the pure build, unset compiled (written before they are read)."""
    if cython.compiled:
        resize(a, n)
    elif n >= len(a):
        a.frombytes(bytes(8 * (n - len(a))))
    else:
        del a[n:]
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
