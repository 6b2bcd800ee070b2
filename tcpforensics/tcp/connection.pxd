# C types for the compiled build of connection.py (Cython pure-Python mode).
cimport cython

from tcpforensics.model cimport Endpoint, Segment, SegmentVerdict, StateChange
from tcpforensics.tcp.analysis cimport bytes_in_flight, set_bases, wireshark_flags
from cpython.array cimport array

from tcpforensics.arrays cimport get_d, set_d
from tcpforensics.tcp.endpoint cimport EndpointState, new_sig_ring
from tcpforensics.tcp.rtt cimport RtoEstimator, RttSummary, new_rto, new_summary
from tcpforensics.tcp.sack cimport Scoreboard
from tcpforensics.tcp.unacked cimport Unacked

cdef long long ACK, FIN, RST, SYN, MASK, HALF, N_FLAGS, SIG_RING
cdef Py_ssize_t SIG_FIELDS, SIG_SEQ, SIG_LEN, SIG_ACK, SIG_IP_ID, SIG_TSVAL, SIG_TS
cdef long long DUPLICATE_ACK, FAST_RETRANSMISSION, KEEP_ALIVE, OUT_OF_ORDER
cdef long long SPURIOUS_RETRANSMISSION, ZERO_WINDOW_PROBE, REUSED_PORTS, LOSS_FLAGS, ANY_RETRANS
cdef long long _KEEPALIVE_CAP, _PENDING_CAP, _RESET_CAP
cdef double _NO_ZW
# connection states (interned strings of state.py: equality is mostly an identity test)
cdef str CLOSE_WAIT, CLOSED, CLOSING, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, LISTEN
cdef str SYN_RECEIVED, SYN_SENT, TIME_WAIT, UNKNOWN
cdef frozenset OPEN_FOR_CLOSE
cdef tuple _OCTETS
cdef tuple _FLAG_NAMES, _CAUSES
cdef SegmentVerdict _SPARE_VERDICT
cdef dict _NO_COUNTERS, _NO_CAUSES, _NO_RTO, _NO_RTT

cpdef str addr_text(bytes addr, long long port)

@cython.locals(mss="long long")
cdef object _smss(EndpointState fwd, EndpointState rev)
cdef object _mss(EndpointState ep)
@cython.locals(counters=dict, c=list, i=Py_ssize_t, e=Endpoint)
cdef Endpoint _endpoint(EndpointState ep, object addr, object role)
cdef dict _causes(EndpointState ep)
cdef list _keepalives(EndpointState ep)
cdef dict _rto_final(EndpointState ep)
cdef dict _rtt_summary(RttSummary summ)
@cython.locals(change=StateChange)
cdef StateChange _change(double ts, long long endpoint, str state)


# Fields in order of use (the struct follows it): what every packet reads first, so
# that a packet of one of many interleaved flows touches few cache lines.  No reference
# cycle can go through it (nothing it holds refers back): no_gc spares the collector's
# bookkeeping at each flow's start and end.
@cython.final
@cython.no_gc
cdef class Connection:
    cdef public long long cport
    cdef public bytes caddr            # bytes: equality is an identity or memcmp test
    cdef public long long sport
    cdef public bytes saddr
    cdef public EndpointState ep_client
    cdef public EndpointState ep_server
    cdef public long long _pending
    cdef public bint closed
    cdef public bint _watch
    cdef public bint _rtt_known
    cdef public double last_ts
    cdef public long long last_frame
    cdef public object mru_syn
    cdef double zw_since[2]
    cdef public long long lost_gaps
    cdef public RttSummary rtt
    cdef public RttSummary rtt_client
    cdef public RttSummary rtt_server
    # flow start, state changes, end of flow
    cdef public long long flow_id
    cdef public tuple eps
    cdef public object first_rtt
    cdef public bint reset
    cdef public double first_ts
    cdef public long long first_frame
    cdef public list states
    cdef public list resets
    cdef public object close_initiator
    cdef public object hs_syn
    cdef public object hs_synack
    cdef public object hs_ack
    cdef public long long filled_gaps
    cdef double zw_time[2]
    cdef public long long capture_reordered

    cpdef long long direction(self, Segment seg)
    cpdef bint owns(self, Segment seg)
    @cython.locals(ep=EndpointState)
    cdef void _start(self, long long flow_id, Segment first, bint reused)
    @cython.locals(ep=EndpointState)
    cdef void _set(self, long long idx, str new, double ts)
    @cython.locals(d="long long", fwd=EndpointState, rev=EndpointState, eps=tuple,
                   flags="long long", seq="long long", ack="long long", seglen="long long",
                   ts=double, frame="long long", win="long long", ta="long long",
                   not_adv=bint, rel_seq="long long", unacked=Unacked, sample=double,
                   rel_ack="long long", acked="long long", end_rel="long long",
                   shift="long long", wscaled="long long", sacked="long long", dsack=bint,
                   ring=array, i=Py_ssize_t, c=list, bit="long long", bits="long long",
                   v=SegmentVerdict, tsval="long long", last="long long",
                   rtt=double, bif="long long")
    cpdef SegmentVerdict process(self, Segment seg)
    @cython.locals(est=RtoEstimator, summ=RttSummary)
    cdef void _rtt_sample(self, EndpointState sender, long long idx, double rtt)
    cdef long long _syn_pre(self, EndpointState fwd, long long flags, long long seq,
                            long long ta)
    @cython.locals(sb=Scoreboard, una="long long", new="long long",
                   dsack=bint, left="long long", right="long long")
    cdef (long long, bint) _sack(self, EndpointState fwd, EndpointState rev, object sacks,
                                 long long rel_ack)
    @cython.locals(tsval="long long", last="long long", tsecr="long long", dd="long long")
    cdef void _timestamps(self, EndpointState fwd, EndpointState rev, Segment seg,
                          long long rel_ack)
    @cython.locals(seglen="long long", ring=array, i=Py_ssize_t, ip_id="long long",
                   tsval="long long")
    cdef object _retrans_cause(self, EndpointState fwd, EndpointState rev, Segment seg,
                               long long ta, long long rel_seq, long long end_rel, double ts,
                               bint not_adv)
    cdef void _states(self, long long d, EndpointState fwd, EndpointState rev, Segment seg,
                      long long flags, long long rel_seq, long long rel_ack,
                      long long seglen, double ts, long long frame)
    @cython.locals(r="long long")
    cdef void _transitions(self, long long d, EndpointState fwd, EndpointState rev,
                           Segment seg, long long flags, long long rel_seq,
                           long long rel_ack, long long seglen, double ts, long long frame)
    @cython.locals(c=EndpointState, s=EndpointState)
    cdef void _update_watch(self)
    @cython.locals(c=EndpointState, s=EndpointState, states=list, resets=list, tcp=dict)
    cpdef object result(self, bint details=*)
    cdef dict _facts(self, EndpointState c, EndpointState s, object client, object server,
                     object time_wait, list resets)
    @cython.locals(zw_c=double, zw_s=double, extra=dict)
    cdef dict _with_report_facts(self, dict facts, EndpointState c, EndpointState s,
                                 object client, object server)
    @cython.locals(c=EndpointState, s=EndpointState)
    cdef tuple _outcome(self)
    cdef list _resets(self, object client, object server)
    cdef dict _handshake_times(self)
    cdef void _options(self, EndpointState fwd, Segment seg)
    @cython.locals(r="long long", answer_to_syn=bint, in_window=bint, hi="long long",
                   rwnd="long long", after_data=bint)
    cdef void _rst(self, long long d, EndpointState fwd, EndpointState rev, Segment seg,
                   long long flags, long long rel_seq, long long rel_ack, double ts,
                   long long frame)


@cython.locals(conn=Connection)
cpdef Connection new_connection(long long flow_id, Segment first, bint reused)
