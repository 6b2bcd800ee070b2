# C types for the compiled build of flows.py (Cython pure-Python mode).
cimport cython

from tcpforensics.model cimport Segment, SegmentVerdict
from tcpforensics.tcp.connection cimport Connection, new_connection
from tcpforensics.tcp.endpoint cimport EndpointState

cdef long long ACK, SYN, GRAVEYARD, FLOW_CACHE, FLOW_CACHE_MAX, STALE_SWEEP
cdef double _NEVER
cdef object _KEY4, _KEY16, _PORTS


cpdef tuple flow_key(Segment seg)
@cython.locals(size=Py_ssize_t)
cpdef bytes grave_key(tuple key)
cpdef long long cache_slot(object src, long long sport, object dst, long long dport,
                           long long mask)
cpdef long long shard_of(object src, long long sport, object dst, long long dport,
                        long long shards)


@cython.final
cdef class Flow:
    # what every segment reads first (the struct follows this order)
    cdef public Connection conn
    cdef public bint done
    cdef public double last_ts
    cdef public tuple observers
    cdef public long long id
    cdef public tuple key
    cdef public long long _entries

    cdef void _start(self, long long fid, tuple key, Connection conn, double ts)
    cpdef void release(self)


@cython.final
cdef class FlowTable:
    cdef public double idle_timeout
    cdef public double closed_linger
    cdef public long long max_flows
    cdef public long long max_lingering
    cdef public long long closed_early
    cdef public long long lingering
    cdef public object _closed_order  # a deque
    cdef public tuple observer_makers
    cdef public long long evicted
    cdef public long long created
    cdef public dict _live
    cdef public object _grave  # an OrderedDict
    cdef public list _heap
    cdef public double _due
    cdef public long long _stale
    cdef public list _finished
    cdef public double _now
    cdef public Flow current
    cdef public list _cache
    cdef public long long _cache_mask

    cpdef tuple feed(self, Segment seg)
    @cython.locals(flow=Flow, conn=Connection, fwd=EndpointState, ts=double, was_closed=bint,
                   slot="long long")
    cpdef SegmentVerdict feed_verdict(self, Segment seg)
    @cython.locals(key=tuple, reused=bint, buried="long long", side="long long",
                   base="long long")
    cdef Flow _start(self, Segment seg)
    @cython.locals(fid="long long", flow=Flow)
    cdef Flow _new(self, tuple key, Segment seg, bint reused)
    @cython.locals(heap=list)
    cdef void _sweep(self)
    cdef void _push(self, Flow flow, double deadline)
    @cython.locals(mask="long long", cache=list, key=tuple, flow=Flow)
    cdef void _grow_cache(self)
    @cython.locals(oldest=Flow)
    cdef void _linger(self, Flow flow)
    @cython.locals(key=tuple, slot="long long")
    cdef void _end(self, Flow flow, bint remember=*)
    @cython.locals(conn=Connection, c=EndpointState, key=tuple, side="long long")
    cdef void _bury(self, Flow flow)
    cdef double _deadline(self, Flow flow)
    @cython.locals(heap=list, flow=Flow, real=double)
    cdef void _evict_one(self, Flow keep)
    cpdef void advance(self, double ts)
    @cython.locals(heap=list, flow=Flow, real=double, now=double, out=list)
    cpdef list pop_finished(self)
