# C types for the compiled build of columns.py (Cython pure-Python mode).  The column
# arrays stay Python objects (array.array); segment and verdict fields are C reads.
cimport cython
from cpython.array cimport array, resize
from tcpforensics.arrays cimport push_d, push_q, push_u, round6
from tcpforensics.flows cimport Flow
from tcpforensics.io.reader cimport Capture
from tcpforensics.model cimport Segment, SegmentVerdict
from tcpforensics.packet_loop cimport SegmentSink

# module constants as C ints (imported from model.py and marks.py)
cdef int ACK, FIN, RST, SYN
cdef int ACK_MARKS, DATA_MARKS, MARK_FIN, MARK_RST, MARK_SYN
cdef long long _SEQ_MOD, _HALF


@cython.final
cdef class Columns:
    cdef public array d_t, d_seq, d_end, d_mark, d_len
    cdef public array a_t, a_ack, a_win, a_mark, a_acked
    cdef public array s_t, s_l, s_r, r_t, r_v, f_t, f_v


cdef int _DATA, _FLIGHT, _ACK, _SACKS, _RTT, _DIR1, _LOG_MARKS


@cython.final
cdef class SegmentLog:
    cdef public array rec, times
    cdef public Py_ssize_t rec_used, times_used

    @cython.locals(flags=int, length="long long", extra=int, span="long long", bits=int,
                   kinds=int, inflight="long long", sacks=tuple, rtt=double, rec=array,
                   times=array, size=Py_ssize_t, i=Py_ssize_t, j=Py_ssize_t, rel_ack="long long",
                   ack="long long")
    cdef void add(self, long long slot, Segment seg, SegmentVerdict v, double t0) except *

    @cython.locals(rec=array, times=array, n=Py_ssize_t, wanted=Py_ssize_t, i=Py_ssize_t,
                   j=Py_ssize_t, head="long long", slot="long long", bits="long long",
                   kinds="long long", t=double, dirs=tuple, own=Columns, peer=Columns,
                   rel_seq="long long", length="long long", span="long long",
                   rel_ack="long long", count="long long")
    cpdef void unpack(self, list dirs_of) except *

    @cython.locals(rec=array, n=Py_ssize_t, i=Py_ssize_t, head="long long", slot="long long",
                   kinds="long long", seen=set, out=list)
    cpdef list slots(self)


@cython.locals(delta="long long")
cpdef long long rel_seq_near(long long ack_abs, long long rel_ack, long long value)


cdef class ColumnStore:
    cdef public double t0
    cdef public dict flows
    cdef public dict slot_of
    cdef public SegmentLog log

    @cython.locals(ports=set, local=dict, late="long long", seg=Segment, ts=double,
                   sp="long long", dp="long long", reader=Capture, bitmap=bytearray,
                   wanted_ports=bytes, port="long long", other=bint)
    cpdef file_wanted(self, object capture, dict starts, double until, long long late_run,
                      object table=*, object ended=*)


cdef class FirstPassTap(SegmentSink):
    cdef public double t0
    cdef public SegmentLog log
    cdef public long long max_segments
    cdef public long long max_flows
    cdef public long long segments
    cdef public bint active

    @cython.locals(fid="long long")
    cdef void take(self, Segment seg, Flow flow, SegmentVerdict v) except *


# reading and writing column items (C reads of the array's buffer; no bounds check: the
# callers index within len())
@cython.locals(n=Py_ssize_t)
cdef Py_ssize_t _body_words(array rec, Py_ssize_t i, int kinds) noexcept
cdef double get_d(array a, Py_ssize_t i) noexcept
cdef long long get_q(array a, Py_ssize_t i) noexcept
cdef unsigned int get_u(array a, Py_ssize_t i) noexcept
cdef int set_q(array a, Py_ssize_t i, long long x) noexcept
cdef int set_d(array a, Py_ssize_t i, double x) noexcept
@cython.locals(size=Py_ssize_t)
cdef int _grow(array a, Py_ssize_t need) except -1
cdef bint typecode_is(array a, str code) except -1
cdef double value_at(array a, bint is_double, Py_ssize_t i) noexcept
cdef long long _rint(double x)

# downsampling kernels
@cython.locals(n=Py_ssize_t, lo_double=bint, hi_double=bint, buckets=Py_ssize_t,
               k=Py_ssize_t, b=Py_ssize_t, start=Py_ssize_t, stop=Py_ssize_t, low=Py_ssize_t,
               high=Py_ssize_t, vlow=double, vhigh=double, i=Py_ssize_t, x=double, keep=list)
cpdef list keep_indices(array lo, array hi, array marks, Py_ssize_t budget,
                        Py_ssize_t mark_budget)
@cython.locals(n=Py_ssize_t, count=Py_ssize_t, ranks=list, step=double, j=Py_ssize_t,
               out=list, rank=Py_ssize_t, p=Py_ssize_t, i=Py_ssize_t)
cpdef list marked_indices(array marks, Py_ssize_t limit)
@cython.locals(segments="long long", payload="long long", marked="long long",
               i=Py_ssize_t, n="long long")
cpdef tuple data_totals(array lengths, array marks, unsigned int control)
@cython.locals(i=Py_ssize_t)
cpdef list pick(array a, list idx)
@cython.locals(i=Py_ssize_t)
cpdef list pick_rounded(array a, list idx, double scale, int digits)
@cython.locals(i=Py_ssize_t)
cpdef list pick_times(array a, list idx)
@cython.locals(lo=double, hi=double, seen=Py_ssize_t, i=Py_ssize_t, x=double)
cpdef tuple time_span(array t, array w)
@cython.locals(nbins=Py_ssize_t, bounds=array, sums=array, first=double, last=double,
               width=double, i=Py_ssize_t, weight="long long", x=double, j=Py_ssize_t)
cpdef list histogram(array t, array w, list edges, bint positive_only)

# chart numbers as JSON
cdef double _INF
@cython.locals(a=double, n="long long", whole="long long", frac="long long", text=str)
cpdef str float_json(double x)
@cython.locals(pos=int, whole="long long", frac="long long", digits=int)
cdef str _decimal_text(bint negative, long long n)
@cython.locals(parts=list, prev_text=str, value=double)
cpdef object numbers_json(list values)
