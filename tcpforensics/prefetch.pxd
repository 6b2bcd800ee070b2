# The compiled build's prefetch of a flow's objects (no module: inline C only).
#
# With thousands of flows interleaved, a packet of a flow other than the last packet's
# finds that flow's objects out of the cache: some twenty objects (the connection, its
# endpoints and their unacknowledged segments, the observers and their per-direction
# state), each a cache miss the packet waited for in turn, as the code reached it.
# Asked for all at once after the flow lookup, level by level (an object's address is
# read from the object before it), the misses overlap.  A prefetch never faults and
# changes nothing but timing.  The objects are handled as bare pointers: taking a
# reference would write each object's count, and so wait for it, one after another.
# Measured (benchmarks/ab_loop.py, alternating runs of the loop): 20,000 live flows
# 13-15% less time, 2,000 about 10%, 200 interleaved flows about 6%, for about 100
# instructions a flow switch.  One more level (the records' buffers, where the next ACK
# reads) gained nothing.
cimport cython

from tcpforensics.cwnd.estimator cimport CwndObserver, SenderEstimator
from tcpforensics.diagnose.stalls cimport StallObserver, _Side
from tcpforensics.tcp.connection cimport Connection
from tcpforensics.tcp.endpoint cimport EndpointState
from tcpforensics.tcp.unacked cimport Unacked


cdef extern from *:
    void __builtin_prefetch(const void *addr) nogil
    void *_type_of "Py_TYPE"(void *o) nogil


cdef inline void _line(void *p) noexcept nogil:
    """The cache line an object starts with (its most read fields: see the pxd files)."""
    __builtin_prefetch(p)


cdef inline void _lines(void *p) noexcept nogil:
    """An object's first two cache lines (for the larger ones)."""
    __builtin_prefetch(p)
    __builtin_prefetch(<char *>p + 64)


@cython.boundscheck(False)
@cython.wraparound(False)
cdef inline void prefetch_flow(Connection conn, tuple observers) noexcept:
    """Start loading the objects a packet of this flow reads (see the top)."""
    cdef Py_ssize_t i
    cdef void *o
    cdef void *none = <void *>None
    cdef void *stall = NULL
    cdef void *cwnd = NULL
    cdef void *a = <void *>conn.ep_client
    cdef void *b = <void *>conn.ep_server
    cdef void *s0
    cdef void *s1
    cdef void *tx0 = none
    cdef void *tx1 = none
    # the connection, the observers, then what each holds, a level at a time
    _lines(<void *>conn)
    _line(<void *>observers)
    for i in range(len(observers)):
        o = <void *>observers[i]
        _line(o)
        if _type_of(o) == <void *>StallObserver:
            stall = o
        elif _type_of(o) == <void *>CwndObserver:
            cwnd = o
    _lines(a)
    _lines(b)
    if stall != NULL:
        s0 = <void *>(<StallObserver>stall).s0
        s1 = <void *>(<StallObserver>stall).s1
        _lines(s0)
        _lines(s1)
    if cwnd != NULL:
        tx0 = <void *>(<CwndObserver>cwnd).sender0
        tx1 = <void *>(<CwndObserver>cwnd).sender1
        _lines(tx0)
        _lines(tx1)
    cdef void *u0 = <void *>(<EndpointState>a).unacked if a != none else none
    cdef void *u1 = <void *>(<EndpointState>b).unacked if b != none else none
    _lines(u0)
    _lines(u1)
    # (a field read through None would read whatever follows None in memory)
    if stall != NULL:
        if s0 != none:
            _line(<void *>(<_Side>s0).edge_hist)
        if s1 != none:
            _line(<void *>(<_Side>s1).edge_hist)
    if tx0 != none:
        _line(<void *>(<SenderEstimator>tx0).tsq)
    if tx1 != none:
        _line(<void *>(<SenderEstimator>tx1).tsq)
    if u0 != none:
        _line(<void *>(<Unacked>u0).tiled)
    if u1 != none:
        _line(<void *>(<Unacked>u1).tiled)
