# C types for the compiled build of unacked.py (Cython pure-Python mode).
cimport cython
from cpython.array cimport array

from tcpforensics.arrays cimport extend_d, get_d, set_d

cdef long long MAX_UNACKED
cdef array _NO_SEGMENTS
cdef Py_ssize_t _COMPACT, _KEEP, _SEG, _START, _END, _TS, _FRAME, _RETX


@cython.final
@cython.no_gc
cdef class _Start:
    cdef public long long value
    cdef public long long count
    cdef public _Start parent


@cython.final
@cython.no_gc
@cython.freelist(64)
cdef class Sent:
    cdef public long long start
    cdef public long long end
    cdef public double ts
    cdef public long long frame
    cdef public bint retx
    cdef public _Start node


@cython.locals(sent=Sent)
cdef Sent _new_sent(long long start, long long end, double ts, long long frame, bint retx)


@cython.locals(root=_Start, up=_Start)
cdef _Start _root(_Start node)


@cython.final
@cython.no_gc  # its heaps hold Sent/_Start records, never anything that refers back
cdef class Unacked:
    # what add() and ack() read every time first (the struct follows this order)
    cdef public long long count
    cdef public Py_ssize_t head, n
    cdef public array tiled
    cdef public long long x_count
    cdef public double acked_ts
    cdef public bint acked_retx
    cdef public long long x_last
    cdef public long long tick
    cdef public list x_ends
    cdef public list x_starts

    # C loads that cannot fail: noexcept (no error test after each call)
    cdef inline long long _end(self, Py_ssize_t k) noexcept
    cdef inline long long _start(self, Py_ssize_t k) noexcept
    @cython.locals(tiled=array, i=Py_ssize_t)
    cdef void _tile(self, long long start, long long end, double ts, long long frame,
                    bint retx) except *
    @cython.locals(sent=Sent, node=_Start)
    cpdef void add(self, long long start, long long end, double ts, long long frame, bint retx)
    @cython.locals(found=bint, match_frame="long long", match_ts=double, retx=bint,
                   tiled=array, n=Py_ssize_t, i=Py_ssize_t, end="long long", e=Sent,
                   ends=list, root=_Start)
    cpdef bint ack(self, long long a)
    @cython.locals(starts=list, target=_Start, node=_Start)
    cdef void _clip(self, long long a)
    @cython.locals(starts=list, low="long long", start="long long")
    cpdef long long first(self)
    @cython.locals(high="long long")
    cpdef long long last(self)
    @cython.locals(lo=Py_ssize_t, hi=Py_ssize_t, mid=Py_ssize_t, e=Sent)
    cpdef bint overlaps(self, long long start, long long end, long long frame)
