# C types for the compiled build of estimator.py (Cython pure-Python mode).
#
# The per-packet path is CwndObserver.observe -> _feed -> SenderEstimator.on_data /
# on_peer_ack and what they call; those are cdef/cpdef with typed locals.  Relative
# sequence numbers are long long (_UNSET stands for "not known"), times double.  The
# per-round and per-flow code (rounds, loss epochs, features) keeps Python objects where
# a value can be None or its type shows in the output.
cimport cython
from cpython.array cimport array

from tcpforensics.arrays cimport Ring, extend_d, get_d, get_q, rounded6, set_d, set_q
from tcpforensics.cwnd.replicas.base cimport Replica
from tcpforensics.model cimport Segment, SegmentObserver, SegmentVerdict

cdef int _LOSS, _RTO, _RWND, _IDLE
cdef int _TSQ_MAX
cdef long long _DEFAULT_MSS
cdef double _INF
cdef long long _UNSET
cdef long long _TS_MASK, _TS_HALF
cdef int _SYN, _ACK, _SYN_RST
cdef int _TX, _RX_TS, _RX_TIME
cdef int _ROUND, _LOSS_START, _RECOVERY_END, _KIND, _FLAG, _SCORED, _SHOWN
cdef long long _MSS_UNIT
cdef Py_ssize_t _EVENT, _EVENTS_LOW, _EVENTS_MAX, _BATCH, _WIN_COUNTED
cdef long long _MIN_SEGMENTS, _MIN_ROUNDS


@cython.final
cdef class _Regression:
    cdef public long long n
    cdef public double sx, sy, sxx, sxy, syy
    cpdef reset(self)
    cpdef add(self, double x, double y)


@cython.final
cdef class _RoundSeries:
    cdef public array rounds           # _ROUND_FIELDS doubles a round
    cdef public array model_rows       # len(CCA_NAMES) doubles a round
    cdef public list limited

    @cython.locals(rounds=array, i=Py_ssize_t)
    cdef void add(self, double t, long long cwnd, long long inflight, long long delivered,
                  str limited) except *
    @cython.locals(rows=array, i=Py_ssize_t, k=Py_ssize_t, rep=Replica, target="long long")
    cdef void add_models(self, tuple replicas, long long mss) except *
    cpdef halve(self)
    cpdef tuple columns(self)


cdef Py_ssize_t _ROUND_FIELDS
@cython.locals(n=Py_ssize_t, j=Py_ssize_t, r=Py_ssize_t, k=Py_ssize_t, out=array)
cdef array _every_other(array records, Py_ssize_t width)
@cython.locals(n=Py_ssize_t, r=Py_ssize_t, out=array)
cdef array _column(array records, Py_ssize_t width, Py_ssize_t k)


cdef Py_ssize_t _MARK, _MARKS_LOW
cdef Py_ssize_t _EPOCH_FIELDS
cdef int _HAS_RTO, _HAS_SLOW_START, _HAS_CWND_AFTER, _HAS_BETA, _HAS_BETA_SMOOTH, _HAS_GROWTH


@cython.final
cdef class _MarkQueue(Ring):
    @cython.locals(i=Py_ssize_t)
    cdef void add(self, long long tsval, double t, long long ack, long long win) except *
    # noexcept: C loads and stores that cannot fail (no error test after each call)
    cdef inline long long tsval(self, Py_ssize_t i) noexcept
    cdef inline double time(self, Py_ssize_t i) noexcept
    cdef inline long long ack(self, Py_ssize_t i) noexcept
    cdef inline long long win(self, Py_ssize_t i) noexcept
    cdef inline bint is_open(self, Py_ssize_t i) noexcept
    cdef inline void set_ack(self, Py_ssize_t i, long long ack) noexcept
    cdef inline void set_win(self, Py_ssize_t i, long long win) noexcept
    cdef inline void close(self, Py_ssize_t i) noexcept


@cython.locals(q=_MarkQueue)
cdef _MarkQueue _mark_queue()


# Fields in order of use (the struct follows it): with many flows interleaved every cache
# line a segment touches is a miss.  First what on_data / on_peer_ack read every time,
# then what a round reads (_close_round, every 3 or 4 segments of a busy flow), then the
# rest.
@cython.final
cdef class SenderEstimator:
    cdef public int mode
    cdef public int r_flags
    cdef public bint in_recovery
    cdef public bint rwnd_known
    cdef public long long data_segs
    cdef public long long mss, mss_cap
    cdef public long long snd_nxt, una, rwnd
    cdef public long long round_end
    cdef public double round_start
    cdef public double last_data_ts, last_ack_ts
    cdef public _MarkQueue tsq
    cdef public double rtt_min, srtt, r_rtt
    cdef public long long r_inflight, r_delivered, r_sent
    cdef public long long data_bytes
    cdef public long long new_segs, ack_clocked
    cdef public long long recovery_point
    # a round
    cdef public long long rounds_total, round_index, rounds_since_rto, rounds_cwnd
    cdef public long long rep_n, skip, last_cwnd
    cdef public bint keep_series
    cdef public int clean_i, clean_n, prev_flags, recent_i
    cdef public Ring model_events      # the events the replicas are not told yet
    cdef public dict await_after       # the epoch whose window after is being measured
    cdef public _Regression ca_reg, run
    cdef public array win_counts
    cdef public object dip_exit
    cdef public object dip
    cdef long long clean[3]
    cdef double recent[8]
    # loss epochs, replicas, the report's series, the rest
    cdef public _MarkQueue ackq
    cdef public double rtt_base
    cdef public int direction
    cdef public object vantage
    cdef public double first_ts
    cdef public dict epoch             # the current / last loss epoch, None before any
    cdef public array epoch_log        # earlier loss epochs as numbers (_log_epoch)
    cdef public long long rounds_rwnd, rounds_app
    cdef public _RoundSeries series    # None before the first round kept
    cdef public long long stride
    cdef public tuple replicas         # of Replica, None until needed
    cdef public array rep_err
    cdef public dict win_hist
    cdef public long long n_epochs
    cdef public list dips
    cdef public object best_run
    cdef public long long retrans, holes

    @cython.locals(events=Ring, k=Py_ssize_t)
    cdef tuple _models(self)
    @cython.locals(events=Ring, i=Py_ssize_t)
    cdef _to_models(self, int kind, double now, double a, double b, double c, double d,
                    int bits, long long mss)
    @cython.locals(code="long long", kind=int, now=double, a=double, c=double, rep=Replica,
                   j=Py_ssize_t, pred=double, err=array)
    cdef _apply(self, tuple reps, Ring events, Py_ssize_t i)
    cpdef settle(self)
    cpdef bint judged(self)
    @cython.locals(n=int, k=int)
    cdef list _clean_rounds(self)
    # arithmetic on C doubles only: noexcept (no error test after each call)
    cdef void _rtt_sample(self, double rtt) noexcept
    cdef bint _timeout_gap(self, double gap) noexcept
    cdef double _rtt(self) noexcept

    @cython.locals(now=double, length="long long", seq="long long", end="long long",
                   gap=double, snd_nxt="long long", mode=int, base=double, thresh=double,
                   inflight="long long", sack_aware="long long", rwnd="long long",
                   tsval="long long", bif="long long")
    cpdef on_data(self, Segment seg, SegmentVerdict v)
    cdef _on_retransmission(self, object cause, double now, double gap, long long snd_nxt)
    @cython.locals(q=_MarkQueue)
    cdef _tx_ts(self, long long tsval, double now)
    @cython.locals(echo="long long", head=Py_ssize_t, ack="long long", q=_MarkQueue)
    cdef _rx_echoed_ack(self, long long tsecr, double now, double gap)
    @cython.locals(horizon=double, head=Py_ssize_t, ack="long long", q=_MarkQueue)
    cdef _rx_past_ack(self, double now)
    @cython.locals(now=double, ack="long long", win="long long", last=Py_ssize_t,
                   ack_rtt=double, tsecr="long long", tsval="long long", q=_MarkQueue)
    cpdef on_peer_ack(self, Segment seg, SegmentVerdict v)
    @cython.locals(last=Py_ssize_t, q=_MarkQueue)
    cdef _remember_ack(self, long long tsval, double now, long long ack, long long win)
    @cython.locals(tsval="long long", q=_MarkQueue)
    cdef int _tx_forget(self, long long tsecr) except -1
    @cython.locals(head=Py_ssize_t, q=_MarkQueue)
    cdef _tx_echo(self, long long tsecr, double now)
    cdef _advance(self, long long ack, double now)

    @cython.locals(rep=Replica)
    cdef _loss_start(self, double now, double gap, bint hole, bint rto=*)
    cdef _settle(self, dict epoch)
    cdef _log_epoch(self, dict epoch)
    @cython.locals(log=array, i=Py_ssize_t, has=int, out=list, e=dict)
    cpdef list all_epochs(self)
    @cython.locals(rep=Replica)
    cdef _loss_end(self, double now)
    @cython.locals(duration=double, flags=int, mss="long long", inflight="long long",
                   cwnd_pkts=double, clean=bint, cwnd_limited=bint, delivered_pkts=double,
                   rtt=double, rate=double, rep=Replica, i=Py_ssize_t, pred=double,
                   s=_RoundSeries, window="long long", pkts="long long", key="long long",
                   bits=int, shown=bint, counts=array)
    cdef _close_round(self, double now)
    cdef _track_plateau(self, bint clean, double cwnd_pkts, int flags)
    cdef _end_run(self)
    @cython.locals(high=double, pkts=double)
    cdef _track_dip(self, double now, double cwnd_pkts, int flags, object limited)
    cpdef object cwnd_estimate(self)


# not final: it overrides SegmentObserver's cpdef methods (the packet loop calls observe
# through the base's vtable)
cdef class CwndObserver(SegmentObserver):
    cdef public bint decided           # read by every segment, with the senders
    cdef public SenderEstimator sender0, sender1
    cdef public object flow_id
    cdef public object syn_t, synack_t, ack_t
    cdef public object side
    cdef public list pending
    cdef public long probed
    cdef public bint ts_ok
    cdef public long long mss_opt0, mss_opt1
    cdef public bint series

    @cython.locals(flags=int, d=int)
    cdef _handshake(self, Segment seg, SegmentVerdict v)
    cdef _probe(self, Segment seg, SegmentVerdict v)
    cdef _guess_side(self)
    cdef _decide(self)
    cdef str _vantage(self, int direction)
    cdef SenderEstimator _new_sender(self, int direction)
    cpdef observe(self, Segment seg, SegmentVerdict verdict)
    @cython.locals(flags=int, d=int, est=SenderEstimator, peer=SenderEstimator)
    cdef _feed(self, Segment seg, SegmentVerdict v)
    @cython.locals(est=SenderEstimator)
    cpdef object cwnd_estimate(self, int direction)
    @cython.locals(direction=int, est=SenderEstimator)
    cpdef finish(self, object result)
