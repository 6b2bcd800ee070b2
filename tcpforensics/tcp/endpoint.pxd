# C types for the compiled build of endpoint.py (Cython pure-Python mode).
cimport cython
from cpython.array cimport array

from tcpforensics.tcp.rtt cimport RtoEstimator
from tcpforensics.tcp.sack cimport Scoreboard
from tcpforensics.tcp.unacked cimport Unacked


cdef long long _MASK, _HALF, _SPAN
cdef array _EMPTY_RING

cpdef array new_sig_ring()


# Fields in order of use: the struct follows this order, and with many flows interleaved
# every cache line of it that a packet touches is a miss.  First what both directions
# read on every packet (this sender as `fwd` and as `rev`), then what only the sender's
# own segments touch, then what the handshake, the close and the rare paths use.
@cython.final
@cython.no_gc  # nothing it holds refers back to it (see Connection)
cdef class EndpointState:
    # read as the peer of the segment's sender (wireshark_flags, ACK processing) and as
    # its sender
    cdef public bint base_set
    cdef public bint valid_bif
    cdef public bint is_first_ack
    cdef public long long win_scale
    cdef public long long window
    cdef public long long lastack
    cdef public double lastack_time
    cdef public long long maxseqtobeacked
    cdef public long long nextseq
    cdef public long long dupacknum
    cdef public long long lastsegmentflags
    cdef public long long base_seq
    cdef public long long rel_last
    cdef public Unacked unacked
    cdef public long long una
    cdef public double last_progress
    cdef public long long dup_since_progress
    cdef public RtoEstimator rto
    cdef public long long mss
    cdef public object pending_retx
    cdef public Scoreboard scoreboard
    # the sender's own segments
    cdef public double nextseq_time
    cdef public long long nextseq_frame
    cdef public long long lastnondupack
    cdef public tuple sack_blocks
    cdef public str state  # a constant of state.py (str: equality tests stay in C)
    cdef public long long packets
    cdef public long long payload_bytes
    cdef public long long max_payload
    cdef public long long superframes
    cdef public long long high_rel
    cdef public long long max_window
    cdef public long long last_tsval
    cdef public array last_sig
    cdef public long long sig_next
    cdef public object counters
    # handshake, close, rare paths
    cdef public bint syn_seen
    cdef public bint synack_seen
    cdef public bint fin_acked
    cdef public bint sack_perm
    cdef public bint ts_opt
    cdef public object isn
    cdef public object syn_ts
    cdef public object fin_rel
    cdef public long long fin_frame
    cdef public object wscale_opt
    cdef public long long rst
    cdef public long long fin
    cdef public long long dsack
    cdef public object retrans_causes
    cdef public long long spurious_proven
    cdef public object keepalive_ts
    cdef public long long ts_lap
    cdef public long long ts_hi
    cdef public long long syn_count
    cdef public long long sacked_since

    cpdef void set_base(self, long long base)
    # integer arithmetic on C fields: noexcept (no error test after each call, 2-3 a packet)
    @cython.locals(last="long long", d="long long", r="long long")
    cpdef long long rel(self, long long value) noexcept
    @cython.locals(d="long long")
    cpdef long long peek(self, long long value) noexcept
