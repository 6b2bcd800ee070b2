# C types for the compiled build of stalls.py (Cython pure-Python mode).
# Per-packet state is typed: times are doubles (UNSET = not known yet), sequence numbers
# and byte counts long long; anything that may be None, or is made on demand, stays object.
# The module constants typed here are C globals in the compiled build (not attributes).
cimport cython
from cpython.array cimport array

from tcpforensics.arrays cimport Ring
from tcpforensics.model cimport Segment, SegmentObserver, SegmentVerdict

cdef double UNSET
cdef double DELACK_MIN, DELACK_MAX, RTO_MIN_SILENCE, RTO_MAX_SILENCE, RTO_IDLE_MIN
cdef double APP_GAP_MIN
cdef long long RATE_BLOCK, EDGE_HIST_MIN, EDGE_HIST_MAX
cdef double EDGE_KEEP_RTTS
cdef Py_ssize_t _STALL
cdef dict _KIND_CODE
cdef int ACK, FIN, RST, SYN
cdef int _RETRANS, _FAST, _SPURIOUS, _KEEPALIVE, _ZWP, _REPEATED, _PROBE


# Fields in order of use (the struct follows it): with many flows interleaved every cache
# line a packet touches is a miss.  First what an ACK reads of both sides, then what a
# data segment reads of its sender, then the rare paths.
@cython.final
cdef class _Side:
    cdef public long long nonsyn
    cdef public long long max_win
    cdef public double min_rtt_dir
    cdef public double zw_start
    cdef public long long una
    cdef public long long nxt
    cdef public long long redge
    cdef public _EdgeHistory edge_hist
    cdef public double hole_ts
    cdef public double timer_ts
    cdef public double rto_start
    cdef public double sm_ts
    cdef public double sm_ack_ts
    # a data segment of this side
    cdef public long long maxlen
    cdef public double last_tx
    cdef public long long mss_eff
    cdef public double last_data_ts
    cdef public object zw_pending
    cdef public double first_data_ts
    cdef public long long data_bytes
    cdef public object rx_rto
    cdef public double prev_gap
    cdef public long long last_len
    cdef public double ssr_t0
    cdef public double bucket_start
    cdef public long long bucket_bytes
    cdef public long long maxbucket
    cdef public long long blk_n
    cdef public double blk_ts
    cdef public long long blk_bytes
    cdef public double rw_start
    cdef public long long rw_segs
    cdef public long long mss
    # retransmissions, probes, Nagle, slow-start restart, the facts
    cdef public long long zw_probes
    cdef public object rw_pending
    cdef public double rto_first
    cdef public double rto_last
    cdef public long long rto_seq
    cdef public long long rto_n
    cdef public long long rto_rexmits
    cdef public long long sm_end
    cdef public bint sm_ack_pure
    cdef public bint sm_peer_data
    cdef public long long ssr_bytes
    cdef public long long ssr_prev
    cdef public long long nagle_candidates
    cdef public object keepalive_ts
    cdef public double block_ts
    cdef public object syn_mss
    cdef public object rate_hist
    cdef public double rex_last
    cdef public long long rex_episodes
    cdef public long long late_fills


@cython.final
cdef class _EdgeHistory(Ring):
    @cython.locals(i=Py_ssize_t)
    cpdef append(self, double ts, long long edge)
    cdef int forget(self, double t) except -1
    @cython.locals(i=Py_ssize_t)
    cpdef long long edge_at(self, double t)


@cython.locals(hist=_EdgeHistory)
cdef _EdgeHistory _new_edge_history()
cdef object _known(double t)
cdef object _percentile(dict hist, double q)


cdef class StallObserver(SegmentObserver):
    # what every segment reads first (the struct follows this order)
    cdef public _Side s0, s1
    cdef public double last_ts, max_gap, rtt
    cdef public object hs_ack_ts, synack_ts, fin_first
    cdef public long long errors
    cdef public tuple s
    cdef public object syn_ts, syn_seq, syn_last
    cdef public long long syn_n
    cdef public object synack_seq, synack_last
    cdef public long long synack_n
    cdef public bint rst_to_syn
    cdef public object ssr_events, stalls, details, totals, resets

    @cython.locals(a=double, b=double)
    cpdef object path_rtt(self)
    cdef object _update_rtt(self)
    @cython.locals(tot=list)
    cdef object _add(self, str kind, int d, double start, double duration, dict detail)
    @cython.locals(stalls=array, index=Py_ssize_t)
    cdef object _record(self, str kind, int d, double start, double duration, dict detail)
    @cython.locals(stalls=array, details=list, i=Py_ssize_t)
    cdef list _found(self)
    @cython.locals(found=list)
    cdef list _longest(self)
    cdef object _keep(self, list found)
    @cython.locals(ts=double, d=int, p=int, sd=_Side, sp=_Side, flags=int, length="long long",
                   last=double, gap=double, bits=int, sample=double, ack_rtt=double)
    cpdef observe(self, Segment seg, SegmentVerdict v)
    @cython.locals(seq="long long", edge="long long", to_syn=bint, in_window=bint)
    cdef object _rst(self, SegmentVerdict v, int d, int p, double ts)
    @cython.locals(sd=_Side, sp=_Side)
    cdef object _syn(self, Segment seg, int d, double ts, int flags)
    @cython.locals(ack="long long", win="long long", new_edge="long long", rtt=double,
                   seen=double, start=double, episode=tuple, hist=_EdgeHistory)
    cdef object _ack(self, SegmentVerdict v, _Side sd, _Side sp, int d, double ts, long long length,
                     int flags)
    cdef object _zw_stall(self, int p, tuple episode)
    @cython.locals(seq="long long", end="long long", last_tx=double, rtt=double, hole=double,
                   late=bint, mss="long long", prev_ts=double, outstanding_before=bint,
                   nagle=bint, gap=double, start=double, n="long long", span=double,
                   edge="long long", full=bint, hist=_EdgeHistory, seen=double)
    cdef object _data(self, Segment seg, SegmentVerdict v, _Side sd, _Side sp, int d, double ts, long long length,
                      int bits)
    @cython.locals(b=long, h=dict)
    cdef object _rate_sample(self, _Side sd, double rate)
    cdef object _rw_close(self, _Side sd, int d, double start, double end)
    cdef object _rw_flush(self, _Side sd, int d)
    @cython.locals(rtt=double, last=double, armed=double, start=double)
    cdef object _retransmission(self, SegmentVerdict v, _Side sd, int d, double ts, long long seq, int bits,
                                bint late_fill, double last_tx)
    @cython.locals(start=double, silence=double, n="long long")
    cdef object _close_rto(self, _Side sd, int d, double end)
    @cython.locals(rtt=double, seen=double)
    cdef bint _near_receiver(self, _Side sp)
    @cython.locals(last=double, first=double, rtt=double, silence=double, base=double)
    cdef object _rx_rto_confirm(self, _Side sd, int d, double ts)
    @cython.locals(found=bint, sm_ts=double, ack_ts=double, rtt=double, wait=double,
                   delay=double, resume=double, slack=double)
    cdef bint _nagle(self, _Side sd, int d, double ts, long long seq, long long length,
                     long long mss) except -1
    @cython.locals(peer_last=double, blocked=double, rtt=double, rto_floor=double)
    cdef object _idle(self, _Side sd, _Side sp, int d, double ts, double prev_ts, double gap,
                      long long mss)
    @cython.locals(t0=double, first="long long", prev="long long")
    cdef object _ssr_progress(self, _Side sd, int d, double ts, long long length,
                              long long mss)
    cpdef finish(self, object result)
    @cython.locals(d=int, sd=_Side)
    cdef object _finish(self, result)
    @cython.locals(a=_Side, b=_Side)
    cpdef dict facts(self, result)
