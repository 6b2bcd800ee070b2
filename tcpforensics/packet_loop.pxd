# C types for the compiled build of packet_loop.py (Cython pure-Python mode).
cimport cython

from tcpforensics.flows cimport Flow, FlowTable
from tcpforensics.io.decode cimport decode
from tcpforensics.model cimport Segment, SegmentObserver, SegmentVerdict

cdef long long PROGRESS_EVERY


@cython.final
cdef class PacketLoop:
    cdef public FlowTable table
    cdef public object skipped
    cdef public object finish
    cdef public object progress
    cdef public bint seen
    cdef public double first_ts
    cdef public double last_ts
    cdef public Segment seg
    cdef public Flow flow
    cdef public SegmentVerdict verdict

    @cython.locals(result=object, seg=Segment, ts=double, table=FlowTable, verdict=SegmentVerdict,
                   flow=Flow, known=SegmentObserver)
    cpdef bint feed(self, object raw)
    @cython.locals(finished=list)
    cpdef void end_packet(self)
    cpdef void run(self, object capture, object sink=*)
    cpdef void flush(self)
