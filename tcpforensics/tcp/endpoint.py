"""Per-direction state of a passively observed TCP connection.

One `EndpointState` per sender.  Two groups of fields live here:

* the Wireshark-compatible analysis state (raw 32-bit values, named after the fields
  of `tcp_analyze_seq_flow_info_t` in Wireshark's packet-tcp.c) that drives the
  `tcp.analysis.*` flags bit for bit;
* our own model: the RFC 9293 state, the relative (64-bit, unwrapped) sequence space,
  options negotiated on the SYN, RTT replica, SACK scoreboard, timestamps, counters.
"""

from __future__ import annotations

from array import array

from .rtt import RtoEstimator
from .sack import Scoreboard
from .seqspace import HALF, MASK
from .state import UNKNOWN
from .unacked import Unacked

N_FLAGS = 15  # number of model.Analysis bits
SIG_RING = 8  # recent data segments remembered per sender (duplicate detection)
# C-typed copies for the inline unwrapper (compiled, C globals)
_MASK = MASK
_HALF = HALF
_SPAN = 0x100000000  # 2**32


# The ring of recent data segments (EndpointState.last_sig) is one array('d') of SIG_RING
# records of SIG_FIELDS numbers (sequence numbers, IP ID and TSval are integers far below 2**53,
# exact as doubles): one object per sender instead of one per slot.  An empty slot has
# length 0; IP ID and TSval -1 mean none (as in Segment.raw_ip_id / raw_tsval).
SIG_FIELDS = 6
SIG_SEQ, SIG_LEN, SIG_ACK, SIG_IP_ID, SIG_TSVAL, SIG_TS = range(SIG_FIELDS)
_EMPTY_RING = array("d", (0.0, 0.0, 0.0, -1.0, -1.0, 0.0) * SIG_RING)


def new_sig_ring() -> array:
    """SIG_RING empty records (see SIG_FIELDS): a copy of a template (one memcpy; an
    array built from a tuple of numbers costs about 14,000 instructions)."""
    return _EMPTY_RING[:]


class EndpointState:
    """One sender's state.  The compiled build lays the fields out in the order of the
    .pxd: the ones read on every packet come first, so that a packet of one of many
    interleaved flows touches few cache lines of it."""

    __slots__ = (
        # --- Wireshark analysis state (raw 32-bit values) ---
        "base_set", "base_seq", "nextseq", "nextseq_time", "nextseq_frame", "lastack",
        "lastack_time", "maxseqtobeacked", "window", "win_scale", "is_first_ack",
        "dupacknum", "lastnondupack", "lastsegmentflags", "valid_bif", "sack_blocks",
        "unacked",
        # --- our model ---
        "rel_last", "state", "syn_seen", "synack_seen", "isn", "syn_ts", "fin_rel",
        "fin_acked", "fin_frame", "mss", "wscale_opt", "sack_perm", "ts_opt", "packets",
        "payload_bytes", "counters", "rst", "fin", "max_payload", "superframes", "una",
        "high_rel", "rto", "scoreboard", "dsack", "retrans_causes", "spurious_proven",
        "keepalive_ts", "max_window", "last_tsval", "ts_lap", "ts_hi", "pending_retx",
        "last_sig", "sig_next", "syn_count", "last_progress", "dup_since_progress",
        "sacked_since",
    )

    def __init__(self) -> None:
        self.base_set = False  # base_seq known (set_base): then rel() and peek() work
        self.base_seq = 0
        self.nextseq = 0
        self.nextseq_time = 0.0
        self.nextseq_frame = 0
        self.lastack = 0
        self.lastack_time = -1e18
        self.maxseqtobeacked = 0
        self.window = 0xFFFFFFFF
        self.win_scale = -1  # -1 unknown, -2 no scaling, >= 0 shift in use
        self.is_first_ack = False
        self.dupacknum = 0
        self.lastnondupack = 0
        self.lastsegmentflags = 0
        self.valid_bif = True
        self.sack_blocks: tuple = ()
        self.unacked = Unacked()  # the segments sent and not yet acknowledged

        # the sequence unwrapper, kept inline (one object less to reach per packet):
        # the last relative value rel() returned
        self.rel_last = 0
        self.state = UNKNOWN
        self.syn_seen = False
        self.synack_seen = False
        self.isn: int | None = None
        self.syn_ts: float | None = None
        self.fin_rel: int | None = None  # relative seq the FIN occupies
        self.fin_acked = False
        self.fin_frame = 0
        self.mss = -1  # the MSS option this endpoint sent; -1: none (a C number compiled)
        self.wscale_opt: int | None = None
        self.sack_perm = False
        self.ts_opt = False
        self.packets = 0
        self.payload_bytes = 0
        self.counters: list[int] | None = None  # per flag bit, created on the first flag
        self.rst = 0
        self.fin = 0
        self.max_payload = 0
        self.superframes = 0
        self.una = 0  # highest relative ack received from the peer for this sender's data
        self.high_rel = 0  # highest relative sequence sent (end of data)
        self.rto: RtoEstimator | None = None  # created on the first RTT sample
        self.scoreboard: Scoreboard | None = None
        self.dsack = 0  # D-SACK blocks this endpoint sent (it received duplicates)
        self.retrans_causes: dict[str, int] | None = None
        self.spurious_proven = 0  # retransmissions proven unneeded (D-SACK / timestamps)
        self.keepalive_ts: list[float] | None = None
        self.max_window = 0
        self.last_tsval = -1  # highest TSval sent so far; -1: none yet
        self.ts_lap = 0  # count of timestamp wraps seen (PAWS lap detection)
        self.ts_hi = 0  # highest unwrapped TSval
        self.pending_retx: list[list] | None = None  # [rel_seq, rel_end, tsval (-1: none), frame]
        self.last_sig: array | None = None  # ring of SIG_RING recent data segments (SIG_FIELDS)
        self.sig_next = 0  # the ring's slot to fill next
        self.syn_count = 0
        self.last_progress = 0.0  # time the peer last advanced its cumulative ACK
        self.dup_since_progress = 0
        self.sacked_since = 0

    def set_base(self, base: int) -> None:
        """Relative sequence numbers of this sender count from `base` (32-bit)."""
        self.base_seq = base
        self.base_set = True
        self.rel_last = 0

    def rel(self, value: int) -> int:
        """`value` (32-bit) on the sender's 64-bit relative line, placed nearest to the
        last value seen (base_set first)."""
        last = self.rel_last
        d = (value - self.base_seq - last) & _MASK
        if d >= _HALF:
            d -= _SPAN
        r = last + d
        # only track forward movement so one stray value cannot drag the reference
        if d > 0:
            self.rel_last = r
        return r

    def peek(self, value: int) -> int:
        """rel() without moving the reference."""
        d = (value - self.base_seq - self.rel_last) & _MASK
        if d >= _HALF:
            d -= _SPAN
        return self.rel_last + d
