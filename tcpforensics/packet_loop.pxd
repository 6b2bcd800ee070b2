# C types for the compiled build of packet_loop.py (Cython pure-Python mode).
cimport cython

from tcpforensics.flows cimport Flow, FlowTable, shard_of
from tcpforensics.io.decode cimport decode
from tcpforensics.io.reader cimport Capture
from tcpforensics.model cimport Segment, SegmentObserver, SegmentVerdict

cdef long long PROGRESS_EVERY


cdef class SegmentSink:
    cdef void take(self, Segment seg, Flow flow, SegmentVerdict verdict) except *


@cython.final
cdef class PacketLoop:
    cdef public FlowTable table
    cdef public object skipped
    cdef public object finish
    cdef public object progress
    cdef public object ending
    cdef public bint seen
    cdef public double first_ts
    cdef public double last_ts
    cdef public Segment seg
    cdef public Flow flow
    cdef public SegmentVerdict verdict
    cdef public long long shard
    cdef public long long shards
    cdef public dict shard_cache
    cdef public bint release_finished

    cpdef void set_shard(self, long long shard, long long shards)
    @cython.locals(key=tuple)
    cdef bint _in_shard(self, Segment seg)

    cpdef bint feed(self, object raw)
    @cython.locals(result=object, seg=Segment, ts=double, table=FlowTable, verdict=SegmentVerdict,
                   flow=Flow, known=SegmentObserver)
    cpdef bint feed_decoded(self, object result, long long frame)
    @cython.locals(table=FlowTable, finished=list, flow=Flow)
    cpdef void end_packet(self)
    cpdef void run(self, Capture capture, object sink=*)
    @cython.locals(result=object, direct=SegmentSink)
    cpdef void feed_all(self, Capture capture, object sink=*)
    @cython.locals(flow=Flow, flows=list)
    cpdef void flush(self)
