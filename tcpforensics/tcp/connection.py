"""One passively observed TCP connection: the sans-IO core.

`Connection.process(seg)` takes one decoded segment (with its capture timestamp) and
returns a `SegmentVerdict`; `Connection.result()` summarizes the flow as a `FlowResult`.
No I/O, no clock, no logging; odd traffic is recorded, never raised on.

Semantics chosen here (documented because other stages rely on them):

* client/server: the sender of a SYN without ACK is the client; the receiver of a
  SYN+ACK is the client; otherwise the endpoint with the lower port is the server
  (ties: the first sender is the client).
* `verdict.analysis`: Wireshark 4.0's `tcp.analysis.*` bits, exactly (see analysis.py).
* `verdict.ack_rtt`: Wireshark's ack_rtt (time from the segment whose end equals this
  ACK to the ACK) but with Karn's rule: None when the acknowledged bytes were
  retransmitted (ambiguous sample).  The same samples feed `rtt` and the RTO replica.
* `verdict.win_scaled`: the window shifted by the sender's scale when both SYNs carried
  the option; the raw field when the handshake was not seen (scale unknown, like
  Wireshark's default "unknown" preference) or scaling is off.  `tcp["window_scaling"]`
  tells which; `tcp["window_scale_known"]` is False in the unknown case.
* `verdict.bytes_in_flight`: Wireshark's payload-based value (unacknowledged data seen
  from this sender, less the peer's last SACK blocks).
* `verdict.retrans_cause` for every segment carrying data (or SYN/FIN) that does not
  advance the sequence: network_duplicate (an exact copy: same SEQ, length, ACK and IP
  ID or TSval), unneeded (all of it was already acknowledged), reordering (bytes never
  seen before filling a hole soon after, or new data captured after the ACK that
  covers it), fast (>= 2 duplicate ACKs or SACK evidence of
  loss: >= 3 segments SACKed above it), otherwise rto (the replica's RTO backs off).
* Connection state (`FlowResult.state`): "RESET" when an acceptable RST ended it,
  "CLOSED" when both FINs were acknowledged, otherwise the client endpoint's RFC 9293
  state ("ESTABLISHED", "FIN_WAIT_2", "SYN_SENT", "UNKNOWN" for mid-stream ...).
  Per-endpoint transitions are in `FlowResult.states`.  An endpoint still in SYN_SENT
  when the flow ends (its SYN was never answered) is reported CLOSED, as the opener
  gives up; a receiver is only known to LISTEN once it answers.

`FlowResult.tcp` facts (endpoint keys are "ip:port"):
  close_initiator ("client"|"server"|None), time_wait (addr ending in TIME_WAIT or None),
  resets [{ts, endpoint, in_window, answer_to_syn, after_data, frame}],
  syn_retransmissions, synack_retransmissions, retrans_causes {addr: {cause: n}},
  rto_final {addr: {srtt, rttvar, rto}}, max_payload {addr}, superframes {addr: segments
  longer than the peer's MSS (TSO/GSO in sender-side captures)}, keepalive_ts {addr: [ts]}
  (<= 1000), max_window {addr: largest scaled window advertised}, window_scaling (bool),
  window_scale_known (bool), sack (bool), timestamps (bool), dsack {addr: D-SACK blocks
  sent}, spurious_proven {addr: retransmissions proven unneeded by D-SACK or timestamps},
  capture_loss (lost_segment/ack_lost_segment gaps never filled by a retransmission),
  handshake_times {syn, synack, ack}, data_bytes {addr: highest relative seq sent},
  mss {addr}, ts_laps {addr: TSval wraps}, zero_window_time {addr: seconds advertised 0},
  rtt_by_sender {addr: {min, median, max, samples}} (ack_rtt samples of the data each
  endpoint sent: at an endpoint's own vantage the peer's direction only measures local
  ACK turnaround, mid-path the two directions add up to the round trip),
  capture_reordered (segments captured after the ACK covering them: capture order differs
  from wire order; Wireshark calls them spurious retransmissions), first_frame, last_frame.
"""

from __future__ import annotations

import math

import cython

from ..model import (
    ACK,
    ANALYSIS_NAMES,
    FIN,
    RST,
    SYN,
    Analysis,
    Endpoint,
    FlowResult,
    Segment,
    SegmentVerdict,
    StateChange,
)
from .analysis import bytes_in_flight, set_bases, wireshark_flags
from .endpoint import (
    N_FLAGS,
    SIG_ACK,
    SIG_FIELDS,
    SIG_IP_ID,
    SIG_LEN,
    SIG_RING,
    SIG_SEQ,
    SIG_TS,
    SIG_TSVAL,
    EndpointState,
    new_sig_ring,
)
from .rtt import RtoEstimator, RttSummary, new_rto, new_summary
from .sack import Scoreboard, is_dsack
from .seqspace import HALF, MASK
from .state import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    OPEN_FOR_CLOSE,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
    UNKNOWN,
)
from .unacked import Unacked

if cython.compiled:
    from cython.cimports.cpython.object import PyObject
    from cython.cimports.cpython.ref import _Py_REFCNT
    from cython.cimports.tcpforensics.arrays import get_d, set_d
else:
    from ..arrays import get_d, set_d

# Analysis bits as plain ints (model.Analysis is the one definition; C ints when compiled)
DUPLICATE_ACK = int(Analysis.DUPLICATE_ACK)
FAST_RETRANSMISSION = int(Analysis.FAST_RETRANSMISSION)
KEEP_ALIVE = int(Analysis.KEEP_ALIVE)
OUT_OF_ORDER = int(Analysis.OUT_OF_ORDER)
SPURIOUS_RETRANSMISSION = int(Analysis.SPURIOUS_RETRANSMISSION)
ZERO_WINDOW_PROBE = int(Analysis.ZERO_WINDOW_PROBE)
REUSED_PORTS = int(Analysis.REUSED_PORTS)
LOSS_FLAGS = int(Analysis.LOST_SEGMENT | Analysis.ACK_LOST_SEGMENT)
ANY_RETRANS = int(Analysis.RETRANSMISSION | Analysis.FAST_RETRANSMISSION
                  | Analysis.SPURIOUS_RETRANSMISSION | Analysis.OUT_OF_ORDER)

_FLAG_NAMES = tuple(name for _flag, name in ANALYSIS_NAMES)
_KEEPALIVE_CAP = 1000
_PENDING_CAP = 256
_RESET_CAP = 100
_NO_ZW = -math.inf  # Connection.zw_since of a direction whose window is open
_CAUSES = ("rto", "fast", "reordering", "network_duplicate", "unneeded")
# FlowResult.tcp's keys in order when the report's details are kept
_FACT_ORDER = (
    "close_initiator", "time_wait", "resets", "syn_retransmissions",
    "synack_retransmissions", "retrans_causes", "rto_final", "max_payload", "superframes",
    "keepalive_ts", "max_window", "window_scaling", "window_scale_known", "sack",
    "timestamps", "dsack", "spurious_proven", "capture_loss", "handshake_times",
    "data_bytes", "mss", "ts_laps", "zero_window_time", "capture_reordered",
    "rtt_by_sender", "first_frame", "last_frame",
)


_OCTETS = tuple(str(i) for i in range(256))  # decimal text of each byte value


def addr_text(addr: bytes, port: int) -> str:
    """'ip:port', IPv6 as '[addr]:port'."""
    if len(addr) == 4:  # formatted here: inet_ntop costs more than the whole f-string
        return (f"{_OCTETS[addr[0]]}.{_OCTETS[addr[1]]}.{_OCTETS[addr[2]]}."
                f"{_OCTETS[addr[3]]}:{port}")
    if len(addr) == 16:
        # imported here: the socket module costs about 14 M instructions to import, more
        # than analyzing a small capture, and only IPv6 text needs it
        import socket

        return f"[{socket.inet_ntop(socket.AF_INET6, addr)}]:{port}"
    return f"{addr.hex()}:{port}"


def _smss(fwd: EndpointState, rev: EndpointState) -> int:
    """The sender's maximum segment size as far as known."""
    mss = rev.mss if rev.mss > 0 else 0  # the peer's MSS option bounds what is sent
    smss = fwd.max_payload or mss or 536
    if mss:
        smss = min(smss, mss)
    return smss


# compiled: the SegmentVerdict Connection.process may fill again (see there)
_SPARE_VERDICT: SegmentVerdict | None = None


class Connection:
    """Both directions of one TCP connection; `eps[0]` is the client, `eps[1]` the server."""

    __slots__ = ("flow_id", "caddr", "cport", "saddr", "sport", "eps", "ep_client",
                 "ep_server", "closed", "reset", "last_ts", "first_ts", "first_frame", "last_frame",
                 "first_rtt", "_rtt_known", "mru_syn", "states", "rtt", "resets",
                 "close_initiator", "hs_syn", "hs_synack", "hs_ack", "lost_gaps",
                 "filled_gaps", "_pending", "zw_since", "zw_time", "_watch",
                 "capture_reordered", "rtt_client", "rtt_server")

    def __init__(self, flow_id: int, first: Segment, *, reused: bool = False) -> None:
        self._start(flow_id, first, reused)

    def _start(self, flow_id: int, first: Segment, reused: bool) -> None:
        self.flow_id = flow_id
        f = first.flags
        if f & SYN and not f & ACK:
            client_is_src = True
        elif f & SYN:
            client_is_src = False
        elif first.sport != first.dport:
            client_is_src = first.sport > first.dport
        else:
            client_is_src = True
        if client_is_src:
            self.caddr, self.cport, self.saddr, self.sport = (
                first.src, first.sport, first.dst, first.dport)
        else:
            self.caddr, self.cport, self.saddr, self.sport = (
                first.dst, first.dport, first.src, first.sport)
        # the endpoints, also by name: the per-packet path reaches them without the tuple
        self.ep_client = EndpointState()
        self.ep_server = EndpointState()
        self.eps = (self.ep_client, self.ep_server)
        self.closed = False
        self.reset = False
        self.last_ts = first.ts
        self.first_ts = first.ts
        self.first_frame = first.frame
        self.last_frame = first.frame
        self.first_rtt: float | None = None  # Wireshark's ts_first_rtt (0 = unset -> None)
        self._rtt_known = False  # first_rtt is set and not 0 (a C flag: no float to read)
        self.mru_syn: float | None = None
        self.states: list[StateChange] = []
        self.rtt: RttSummary | None = None
        # samples by the sender of the acknowledged data
        self.rtt_client: RttSummary | None = None
        self.rtt_server: RttSummary | None = None
        self.resets: list[dict] | None = None  # made by the first RST (most flows see none)
        self.close_initiator: int | None = None
        self.hs_syn: float | None = None
        self.hs_synack: float | None = None
        self.hs_ack: float | None = None
        self.lost_gaps = 0
        self.filled_gaps = 0
        self._pending = REUSED_PORTS if reused else 0  # flagged on the first segment
        self._watch = False
        self.capture_reordered = 0  # data captured after the ACK that covers it
        # per direction: when the zero window started (_NO_ZW: window open); seconds
        # advertised zero so far (compiled: C arrays of doubles)
        self.zw_since = [_NO_ZW, _NO_ZW]
        self.zw_time = [0.0, 0.0]
        if f & SYN and not f & ACK:
            self._set(0, CLOSED, first.ts)
        else:  # mid-stream (or SYN+ACK first): say so explicitly
            self.states.append(_change(first.ts, 0, UNKNOWN))
            self.states.append(_change(first.ts, 1, UNKNOWN))

    # -- helpers -------------------------------------------------------------------
    @cython.nonecheck(True)  # compiled: reading a None seg raises, as in Python
    def direction(self, seg: Segment) -> int:
        """0 for client->server, 1 for server->client."""
        return 0 if seg.sport == self.cport and seg.src == self.caddr else 1

    def owns(self, seg: Segment) -> bool:
        """Whether the segment belongs to this connection (either direction)."""
        return (seg.sport == self.cport and seg.dport == self.sport
                and seg.src == self.caddr and seg.dst == self.saddr) or (
                seg.sport == self.sport and seg.dport == self.cport
                and seg.src == self.saddr and seg.dst == self.caddr)

    def _set(self, idx: int, new: str, ts: float) -> None:
        ep = self.ep_client if idx == 0 else self.ep_server
        if ep.state != new:
            ep.state = new
            self.states.append(_change(ts, idx, new))

    # -- the per-segment path --------------------------------------------------------
    @cython.nonecheck(True)  # compiled: reading a None seg raises, as in Python
    def process(self, seg: Segment) -> SegmentVerdict:
        d = 0 if seg.sport == self.cport and seg.src == self.caddr else 1
        fwd = self.ep_client
        rev = self.ep_server
        if d:
            fwd, rev = rev, fwd
        flags = seg.flags
        seq = seg.seq
        ack = seg.ack
        seglen = seg.length
        ts = seg.ts
        frame = seg.frame
        win = seg.win
        self.last_ts = ts
        self.last_frame = frame

        ta = self._pending
        if ta:
            self._pending = 0
        if flags & SYN:
            ta = self._syn_pre(fwd, flags, seq, ta)

        if not fwd.base_set or (flags & ACK and not rev.base_set):
            set_bases(fwd, rev, seq, ack, flags)
        rel_seq = fwd.rel(seq)
        ta, not_adv = wireshark_flags(self, fwd, rev, frame, ts, seq, ack, seglen, flags, win, ta,
                                      rel_seq)

        rtt = -1.0  # the verdict's ack_rtt; -1: none
        unacked = rev.unacked
        if unacked.count and unacked.ack(rev.peek(ack)):
            sample = ts - unacked.acked_ts
            if not unacked.acked_retx and sample >= 0.0:  # Karn's rule
                self._rtt_sample(rev, 1 - d, sample)
                if sample != 0.0:  # like tshark, no ack_rtt below the clock's resolution
                    rtt = sample
        bif = bytes_in_flight(fwd, rev, seglen, flags)
        fwd.sack_blocks = seg.sacks

        # --- Wireshark's post-analysis bookkeeping (order as in dissect_tcp) ---
        if flags & SYN:
            if not flags & ACK:
                self.mru_syn = ts
            fwd.is_first_ack = True
        elif flags & ACK:
            if self.mru_syn is not None and not self._rtt_known:
                self.first_rtt = ts - self.mru_syn
                self._rtt_known = self.first_rtt != 0.0
            fwd.is_first_ack = False
        if seg.wscale is not None:
            fwd.win_scale = seg.wscale if seg.wscale <= 14 else 14
        if flags & SYN:
            if fwd.win_scale == -1:
                fwd.win_scale = -2
                rev.win_scale = -2
            elif flags & ACK and rev.win_scale == -2:
                fwd.win_scale = -2

        # --- our model ---
        fwd.packets += 1
        if seglen:
            fwd.payload_bytes += seglen
            if seglen > fwd.max_payload:
                fwd.max_payload = seglen
            if rev.mss > 0 and seglen > rev.mss:
                fwd.superframes += 1
        rel_ack = 0
        acked = 0
        if flags & ACK and rev.base_set:
            rel_ack = rev.peek(ack)
            if rel_ack > rev.una:
                acked = rel_ack - rev.una
                rev.una = rel_ack
                rev.last_progress = ts
                rev.dup_since_progress = 0
                if rev.scoreboard is not None:
                    rev.scoreboard.advance(rel_ack)
            elif ta & DUPLICATE_ACK:
                rev.dup_since_progress += 1
        end_rel = rel_seq + seglen + (1 if flags & (SYN | FIN) else 0)
        if end_rel > fwd.high_rel and not flags & RST:
            fwd.high_rel = end_rel
        shift = fwd.win_scale
        wscaled = win << shift if shift > 0 and not flags & SYN else win
        if wscaled > fwd.max_window:
            fwd.max_window = wscaled
        if win == 0 and not flags & (SYN | FIN | RST):
            if self.zw_since[d] == _NO_ZW:
                self.zw_since[d] = ts
        elif self.zw_since[d] != _NO_ZW:
            if ts > self.zw_since[d]:  # capture time may run backwards: never negative
                self.zw_time[d] += ts - self.zw_since[d]
            self.zw_since[d] = _NO_ZW

        sacked = 0
        dsack = False
        if seg.sacks and rev.base_set:
            sacked, dsack = self._sack(fwd, rev, seg.sacks, rel_ack)
        tsval = seg.raw_tsval
        if tsval >= 0:
            last = fwd.last_tsval
            if last >= 0 and (tsval < last or rev.pending_retx):
                self._timestamps(fwd, rev, seg, rel_ack)
            elif last < 0 or tsval > last:
                fwd.last_tsval = tsval

        cause = None
        if (not_adv or ta & ANY_RETRANS) and (seglen or flags & (SYN | FIN)):
            cause = self._retrans_cause(fwd, rev, seg, ta, rel_seq, end_rel, ts, not_adv)
        if ta & LOSS_FLAGS and self.lost_gaps < 1 << 30:
            self.lost_gaps += 1
        if seglen and not ta & ZERO_WINDOW_PROBE:
            # ring of recent data segments: exact copies of one are network duplicates
            ring = fwd.last_sig
            if ring is None:
                ring = fwd.last_sig = new_sig_ring()
            i = fwd.sig_next * SIG_FIELDS
            set_d(ring, i + SIG_SEQ, seq)
            set_d(ring, i + SIG_LEN, seglen)
            set_d(ring, i + SIG_ACK, ack)
            set_d(ring, i + SIG_IP_ID, seg.raw_ip_id)
            set_d(ring, i + SIG_TSVAL, seg.raw_tsval)
            set_d(ring, i + SIG_TS, ts)
            fwd.sig_next = (fwd.sig_next + 1) % SIG_RING

        if ta & KEEP_ALIVE:
            kl = fwd.keepalive_ts
            if kl is None:
                kl = fwd.keepalive_ts = []
            if len(kl) < _KEEPALIVE_CAP:
                kl.append(ts)

        if flags & (SYN | FIN | RST) or (self._watch and flags & ACK):
            self._states(d, fwd, rev, seg, flags, rel_seq, rel_ack, seglen, ts, frame)

        if ta:
            c = fwd.counters
            if c is None:
                c = fwd.counters = [0] * N_FLAGS
            bit = 0
            bits = ta
            while bits:
                if bits & 1:
                    c[bit] += 1
                bits >>= 1
                bit += 1

        # filled field by field: compiled, a C struct fill without an argument tuple, into
        # the verdict handed out last when nothing but this module holds it any more (as
        # decode reuses its Segment; every field is written below)
        global _SPARE_VERDICT
        if cython.compiled:
            v = _SPARE_VERDICT
            # (through a pointer: an object argument would count a reference more; the
            # local v holds one)
            if v is None or _Py_REFCNT(cython.cast(cython.pointer(PyObject), v)) != 2:
                v = _SPARE_VERDICT = SegmentVerdict.__new__(SegmentVerdict)
        else:
            v = SegmentVerdict.__new__(SegmentVerdict)
        v.direction = d
        v.rel_seq = rel_seq
        v.rel_ack = rel_ack
        v.win_scaled = wscaled
        v.analysis = ta
        v.raw_ack_rtt = rtt
        v.raw_bytes_in_flight = bif
        v.retrans_cause = cause
        v.state = fwd.state
        v.acked_bytes = acked
        v.sacked_bytes = sacked
        v.dsack = dsack
        return v

    # -- pieces of the slow path -------------------------------------------------------
    def _rtt_sample(self, sender: EndpointState, idx: int, rtt: float) -> None:
        """A Karn-valid RTT sample of `sender`'s data (endpoint index `idx`)."""
        est = sender.rto
        if est is None:
            est = sender.rto = new_rto()
        est.sample(rtt)
        summ = self.rtt
        if summ is None:
            summ = self.rtt = new_summary()
        summ.add(rtt)
        if idx == 0:
            summ = self.rtt_client
            if summ is None:
                summ = self.rtt_client = new_summary()
        else:
            summ = self.rtt_server
            if summ is None:
                summ = self.rtt_server = new_summary()
        summ.add(rtt)

    def _syn_pre(self, fwd: EndpointState, flags: int, seq: int, ta: int) -> int:
        """Wireshark: a SYN+ACK whose ISN differs from the one known for its sender is
        flagged reused_ports and re-bases that side's relative sequence numbers."""
        if flags & ACK and fwd.base_set and seq != fwd.base_seq:
            ta |= REUSED_PORTS
            fwd.set_base(seq)
            fwd.unacked = Unacked()
        return ta

    def _sack(self, fwd: EndpointState, rev: EndpointState, sacks, rel_ack: int):
        blocks = tuple([(rev.peek(left), rev.peek(right)) for left, right in sacks])
        dsack = is_dsack(blocks, rel_ack if rel_ack else rev.una)
        if dsack:
            fwd.dsack += 1
            left, right = blocks[0]
            pend = rev.pending_retx
            if pend:
                for i, e in enumerate(pend):
                    if e[0] < right and left < e[1]:
                        rev.spurious_proven += 1
                        del pend[i]
                        break
            blocks = blocks[1:]
        sb = rev.scoreboard
        if sb is None:
            sb = rev.scoreboard = Scoreboard()
        una = rev.una
        new = 0
        for left, right in blocks:
            new += sb.add(left, right, una)
        if new:
            rev.sacked_since += new
        return new, dsack

    def _timestamps(self, fwd: EndpointState, rev: EndpointState, seg: Segment,
                    rel_ack: int) -> None:
        tsval = seg.raw_tsval
        last = fwd.last_tsval
        if last >= 0:
            dd = (tsval - last) & MASK
            if dd < HALF and tsval < last:
                fwd.ts_lap += 1  # the 32-bit clock wrapped forward
        if last < 0 or (tsval - last) & MASK < HALF:
            fwd.last_tsval = tsval
        # Eifel (RFC 3522): an ACK covering a retransmission but echoing a TSval older than
        # the retransmission's was triggered by the original: the retransmission was unneeded
        pend = rev.pending_retx
        tsecr = seg.raw_tsecr
        if pend and seg.flags & ACK and tsecr >= 0:
            keep = []
            for e in pend:
                if e[1] <= rel_ack:
                    if e[2] >= 0 and ((tsecr - e[2]) & MASK) >= HALF:
                        rev.spurious_proven += 1
                else:
                    keep.append(e)
            rev.pending_retx = keep

    def _retrans_cause(self, fwd: EndpointState, rev: EndpointState, seg: Segment, ta: int,
                       rel_seq: int, end_rel: int, ts: float, not_adv: bool) -> str:
        seglen = seg.length
        cause = None
        ring = fwd.last_sig
        if ring is not None and seglen:
            ip_id = seg.raw_ip_id  # -1: none (IPv6); 0 is not an identification either
            tsval = seg.raw_tsval
            for i in range(0, SIG_RING * SIG_FIELDS, SIG_FIELDS):
                if get_d(ring, i + SIG_LEN) != seglen or get_d(ring, i + SIG_SEQ) != seg.seq \
                        or get_d(ring, i + SIG_ACK) != seg.ack:
                    continue
                if ip_id > 0 and get_d(ring, i + SIG_IP_ID) == ip_id or (
                        ip_id <= 0 and tsval >= 0 and get_d(ring, i + SIG_TSVAL) == tsval
                        and ts - get_d(ring, i + SIG_TS) < 0.001):
                    cause = "network_duplicate"
                    break
        if cause is None and ta & SPURIOUS_RETRANSMISSION and not not_adv \
                and not fwd.unacked.overlaps(rel_seq, end_rel, seg.frame):
            # new data the peer had already acknowledged: the ACK was captured before
            # the data it covers (capture order differs from wire order), not a resend
            cause = "reordering"
            self.capture_reordered += 1
        if cause is None:
            if ta & SPURIOUS_RETRANSMISSION or (seglen and end_rel <= rev.una):
                cause = "unneeded"
            elif ta & OUT_OF_ORDER and not fwd.unacked.overlaps(rel_seq, end_rel, seg.frame):
                cause = "reordering"
            elif ta & FAST_RETRANSMISSION or fwd.dup_since_progress >= 2 or (
                    fwd.scoreboard is not None and fwd.scoreboard.ranges
                    and fwd.scoreboard.sacked_above(rel_seq) > 2 * _smss(fwd, rev)):
                # RFC 6675 IsLost(): more than (DupThresh - 1) * SMSS SACKed above it
                cause = "fast"
            else:
                cause = "rto"
                if fwd.rto is None:
                    fwd.rto = new_rto()
                fwd.rto.backoff()
        rc = fwd.retrans_causes
        if rc is None:
            rc = fwd.retrans_causes = dict.fromkeys(_CAUSES, 0)
        rc[cause] += 1
        if cause not in ("network_duplicate", "unneeded") and seglen:
            if self.lost_gaps > self.filled_gaps:
                self.filled_gaps += 1
            pend = fwd.pending_retx
            if pend is None:
                pend = fwd.pending_retx = []
            if len(pend) >= _PENDING_CAP:
                del pend[0]
            pend.append([rel_seq, end_rel, seg.raw_tsval, seg.frame])  # tsval -1: none
        return cause

    def _states(self, d: int, fwd: EndpointState, rev: EndpointState, seg: Segment, flags: int,
                rel_seq: int, rel_ack: int, seglen: int, ts: float, frame: int) -> None:
        self._transitions(d, fwd, rev, seg, flags, rel_seq, rel_ack, seglen, ts, frame)
        self._update_watch()

    def _transitions(self, d: int, fwd: EndpointState, rev: EndpointState, seg: Segment,
                     flags: int, rel_seq: int, rel_ack: int, seglen: int, ts: float,
                     frame: int) -> None:
        r = 1 - d
        if flags & RST:
            self._rst(d, fwd, rev, seg, flags, rel_seq, rel_ack, ts, frame)
            return
        if flags & SYN:
            fwd.syn_count += 1
            if not flags & ACK:
                if not fwd.syn_seen:
                    fwd.syn_seen = True
                    fwd.isn = seg.seq
                    fwd.syn_ts = ts
                    if self.hs_syn is None:
                        self.hs_syn = ts
                self._options(fwd, seg)
                if fwd.state in (CLOSED, UNKNOWN, LISTEN):
                    self._set(d, SYN_SENT, ts)
                    if rev.syn_seen and not rev.synack_seen:
                        # the peer's SYN is already on the wire: simultaneous open
                        self._set(d, SYN_RECEIVED, ts)
                if rev.state == SYN_SENT:
                    self._set(r, SYN_RECEIVED, ts)  # simultaneous open
                # (a receiver is only known to LISTEN once it answers: a SYN into a
                # black hole says nothing about the peer)
            else:
                if not fwd.synack_seen:
                    fwd.synack_seen = True
                    fwd.isn = seg.seq
                    fwd.syn_ts = ts
                    if self.hs_synack is None:
                        self.hs_synack = ts
                self._options(fwd, seg)
                if fwd.state in (CLOSED, UNKNOWN):
                    self._set(d, LISTEN, ts)
                if fwd.state in (LISTEN, SYN_SENT):
                    self._set(d, SYN_RECEIVED, ts)
                if rev.state in (SYN_SENT, UNKNOWN, CLOSED, SYN_RECEIVED) \
                        and rel_ack >= 1:
                    self._set(r, ESTABLISHED, ts)
        elif flags & ACK:
            if fwd.state in (SYN_SENT, SYN_RECEIVED):
                self._set(d, ESTABLISHED, ts)
            if rev.state == SYN_RECEIVED and rel_ack >= 1:
                self._set(r, ESTABLISHED, ts)
                if self.hs_ack is None and self.hs_synack is not None:
                    self.hs_ack = ts
            elif self.hs_ack is None and self.hs_synack is not None and d == 0 \
                    and rel_ack >= 1 and rev.synack_seen:
                self.hs_ack = ts
        # the ACK field acknowledges the peer's FIN?
        if flags & ACK and rev.fin_rel is not None and not rev.fin_acked \
                and rel_ack >= rev.fin_rel + 1:
            rev.fin_acked = True
            st = rev.state
            if st == FIN_WAIT_1:
                self._set(r, FIN_WAIT_2, ts)
            elif st == CLOSING:
                self._set(r, TIME_WAIT, ts)
            elif st == LAST_ACK:
                self._set(r, CLOSED, ts)
            if fwd.fin_acked:
                self.closed = True
        if flags & FIN:
            fwd.fin += 1
            if fwd.fin_rel is None:
                fwd.fin_rel = rel_seq + seglen
                fwd.fin_frame = frame
                if self.close_initiator is None:
                    self.close_initiator = d
                st = fwd.state
                if st == CLOSE_WAIT and not (flags & ACK and rev.fin_rel is not None
                                               and rel_ack >= rev.fin_rel + 1):
                    # its FIN does not acknowledge the peer's: both FINs crossed on
                    # the wire (simultaneous close), so it closed from ESTABLISHED
                    self._set(d, FIN_WAIT_1, ts)
                    self._set(d, CLOSING, ts)
                elif st == CLOSE_WAIT:
                    self._set(d, LAST_ACK, ts)
                elif st in OPEN_FOR_CLOSE:
                    self._set(d, FIN_WAIT_1, ts)
                # the receiver learns of the FIN
                st = rev.state
                if st in (ESTABLISHED, UNKNOWN, SYN_RECEIVED, SYN_SENT):
                    self._set(r, CLOSE_WAIT, ts)
                elif st == FIN_WAIT_1:
                    self._set(r, CLOSING, ts)
                elif st == FIN_WAIT_2:
                    self._set(r, TIME_WAIT, ts)
                if rev.fin_acked and fwd.fin_acked:
                    self.closed = True

    def _update_watch(self) -> None:
        """Whether a bare ACK can still change a state (handshake or a FIN unacked)."""
        c = self.ep_client
        s = self.ep_server
        self._watch = (c.state == SYN_SENT or c.state == SYN_RECEIVED
                       or s.state == SYN_SENT or s.state == SYN_RECEIVED
                       or (c.fin_rel is not None and not c.fin_acked)
                       or (s.fin_rel is not None and not s.fin_acked))

    def _options(self, fwd: EndpointState, seg: Segment) -> None:
        if seg.mss is not None:
            fwd.mss = seg.mss
        if seg.wscale is not None:
            fwd.wscale_opt = seg.wscale
        if seg.sack_perm:
            fwd.sack_perm = True
        if seg.raw_tsval >= 0:
            fwd.ts_opt = True

    def _rst(self, d: int, fwd: EndpointState, rev: EndpointState, seg: Segment, flags: int,
             rel_seq: int, rel_ack: int, ts: float, frame: int) -> None:
        fwd.rst += 1
        r = 1 - d
        answer_to_syn = rev.state == SYN_SENT or (
            rev.syn_seen and not fwd.synack_seen and not fwd.syn_seen)
        if rev.state == SYN_SENT:
            # RFC 9293 3.10.7.3: acceptable in SYN-SENT if it acknowledges the SYN
            in_window = bool(flags & ACK) and rel_ack == 1
        else:
            # the receiver expects data from the RST's sender at rev's cumulative ACK
            expect = fwd.una if fwd.una else None
            hi = fwd.high_rel
            rwnd = rev.window if rev.window != 0xFFFFFFFF else 0
            if rev.win_scale > 0:
                rwnd <<= rev.win_scale
            if expect is None:
                in_window = True  # nothing known about the receiver: assume it accepts
            else:
                in_window = expect <= rel_seq <= max(expect + max(rwnd, 1), hi)
        after_data = fwd.payload_bytes > 0 or rev.payload_bytes > 0
        if self.resets is None:
            self.resets = []
        if len(self.resets) < _RESET_CAP:
            self.resets.append({"ts": ts, "frame": frame, "endpoint": d,
                                "in_window": in_window, "answer_to_syn": answer_to_syn,
                                "after_data": after_data})
        if fwd.state != CLOSED:
            self._set(d, CLOSED, ts)
        if in_window:
            if rev.state not in (CLOSED, TIME_WAIT):
                self._set(r, CLOSED, ts)
            self.reset = True
            self.closed = True

    # -- end of flow ------------------------------------------------------------------
    def result(self, details: bool = True) -> FlowResult:
        """The FlowResult for the flow so far.

        `details`: include the facts only the report lists (`REPORT_ONLY_FACTS` in
        analysis.py); without them `tcp` has the other keys, in the same order.  Called
        once per flow (floods and churn make millions): plain literals, positional calls,
        nothing built that is then dropped."""
        c = self.ep_client
        s = self.ep_server
        client = addr_text(self.caddr, self.cport)
        server = addr_text(self.saddr, self.sport)
        endpoints = [_endpoint(c, client, "client"), _endpoint(s, server, "server")]
        states = list(self.states)
        final_c = c.state
        final_s = s.state
        # an opener still in SYN_SENT at the end of the flow never got an answer: it gives
        # up (ETIMEDOUT); a passive observer can only see the silence
        if final_c == SYN_SENT:
            final_c = CLOSED
            states.append(_change(self.last_ts, 0, CLOSED))
        if final_s == SYN_SENT:
            final_s = CLOSED
            states.append(_change(self.last_ts, 1, CLOSED))
        state, handshake = self._outcome()
        syn_rtt = self.first_rtt if handshake != "none" else None
        if final_c == TIME_WAIT:
            time_wait = client
        elif final_s == TIME_WAIT:
            time_wait = server
        else:
            time_wait = None
        resets = self._resets(client, server)
        tcp = self._facts(c, s, client, server, time_wait, resets)
        if details:
            tcp = self._with_report_facts(tcp, c, s, client, server)
        # (id, client, server, start, end, state, handshake, syn_rtt, rtt, endpoints,
        #  states, stalls, findings, tcp)
        return FlowResult(self.flow_id, client, server, self.first_ts, self.last_ts, state,
                          handshake, syn_rtt, _rtt_summary(self.rtt), endpoints, states,
                          [], [], tcp)

    def _facts(self, c: EndpointState, s: EndpointState, client: str, server: str,
               time_wait: str | None, resets: list) -> dict:
        """FlowResult.tcp as the findings read it (see the module docstring)."""
        return {
            "close_initiator": (None if self.close_initiator is None
                                else ("client", "server")[self.close_initiator]),
            "time_wait": time_wait,
            "resets": resets,
            "syn_retransmissions": max(0, c.syn_count - 1) if c.syn_seen else 0,
            "synack_retransmissions": max(0, s.syn_count - 1) if s.synack_seen else 0,
            "retrans_causes": {client: _causes(c), server: _causes(s)},
            "max_payload": {client: c.max_payload, server: s.max_payload},
            "superframes": {client: c.superframes, server: s.superframes},
            "keepalive_ts": {client: _keepalives(c), server: _keepalives(s)},
            "max_window": {client: c.max_window, server: s.max_window},
            "window_scaling": c.win_scale >= 0 and s.win_scale >= 0,
            "sack": c.sack_perm and s.sack_perm,
            "timestamps": c.ts_opt and s.ts_opt,
            "capture_loss": max(0, self.lost_gaps - self.filled_gaps),
            "handshake_times": self._handshake_times(),
            "first_frame": self.first_frame,
        }

    def _with_report_facts(self, facts: dict, c: EndpointState, s: EndpointState,
                           client: str, server: str) -> dict:
        """`facts` plus the ones only the report lists (analysis.REPORT_ONLY_FACTS), in
        the order of _FACT_ORDER."""
        zw_c = self.zw_time[0]
        if self.zw_since[0] != _NO_ZW:
            zw_c += max(0.0, self.last_ts - self.zw_since[0])
        zw_s = self.zw_time[1]
        if self.zw_since[1] != _NO_ZW:
            zw_s += max(0.0, self.last_ts - self.zw_since[1])
        extra = {
            "rto_final": {client: _rto_final(c), server: _rto_final(s)},
            "window_scale_known": c.win_scale != -1 and s.win_scale != -1,
            "dsack": {client: c.dsack, server: s.dsack},
            "spurious_proven": {client: c.spurious_proven, server: s.spurious_proven},
            # relative 0 is the ISN (or the byte before the first one seen): data starts at 1
            "data_bytes": {client: max(0, c.high_rel - 1 - (c.fin_rel is not None)),
                           server: max(0, s.high_rel - 1 - (s.fin_rel is not None))},
            "mss": {client: _mss(c), server: _mss(s)},
            "ts_laps": {client: c.ts_lap, server: s.ts_lap},
            "zero_window_time": {client: zw_c, server: zw_s},
            "capture_reordered": self.capture_reordered,
            "rtt_by_sender": {client: _rtt_summary(self.rtt_client),
                              server: _rtt_summary(self.rtt_server)},
            "last_frame": self.last_frame,
        }
        return {key: facts[key] if key in facts else extra[key] for key in _FACT_ORDER}

    def _outcome(self) -> tuple[str, str]:
        """FlowResult.state and .handshake (see the module docstring)."""
        c, s = self.eps
        if self.reset:
            state = "RESET"
        elif c.fin_acked and s.fin_acked:
            state = CLOSED
        elif c.state == SYN_SENT:
            state = CLOSED  # the opener never got an answer: it gives up
        else:
            state = c.state
        if c.syn_seen and s.synack_seen and self.hs_ack is not None:
            handshake = "complete"
        elif c.syn_seen or s.synack_seen:
            handshake = "partial"
        else:
            handshake = "none"
        return state, handshake

    def _resets(self, client: str, server: str) -> list[dict]:
        names = (client, server)
        return [dict(r, endpoint=names[r["endpoint"]]) for r in self.resets or ()]

    def _handshake_times(self) -> dict:
        return {"syn": self.hs_syn, "synack": self.hs_synack, "ack": self.hs_ack}

    def carried_payload(self) -> bool:
        """Whether either endpoint sent payload (a flow without it may be folded)."""
        return self.ep_client.payload_bytes > 0 or self.ep_server.payload_bytes > 0

    def folded_result(self) -> FlowResult:
        """The part of result() that a flow only tallied, not listed, needs (the driver
        folds flows without payload past its bounds): addresses, state, handshake, the
        endpoints' counts and the handshake facts, as handshakes.count_attempt and the
        fold's tally by state read them.  A small part of result()'s cost, which a SYN
        flood would pay for every flow."""
        c, s = self.eps
        client = addr_text(self.caddr, self.cport)
        server = addr_text(self.saddr, self.sport)
        state, handshake = self._outcome()
        return FlowResult(
            id=self.flow_id, client=client, server=server, start=self.first_ts,
            end=self.last_ts, state=state, handshake=handshake, syn_rtt=None, rtt={},
            endpoints=[Endpoint(addr=client, role="client", packets=c.packets,
                                payload_bytes=c.payload_bytes),
                       Endpoint(addr=server, role="server", packets=s.packets,
                                payload_bytes=s.payload_bytes)],
            tcp={"handshake_times": self._handshake_times(),
                 "resets": self._resets(client, server)})


def new_connection(flow_id: int, first: Segment, reused: bool) -> Connection:
    """Connection(flow_id, first, reused=reused) for the flow table, which makes one per
    flow: compiled, a C call instead of a keyword call through the type."""
    conn = Connection.__new__(Connection)
    conn._start(flow_id, first, reused)
    return conn


# -- pieces of FlowResult ---------------------------------------------------------------
def _change(ts: float, endpoint: int, state: str) -> StateChange:
    """StateChange(ts, endpoint, state), its fields set one by one: compiled, that is a C
    call of the type's tp_new and three C stores, without the argument tuple and the
    parsing of __init__ (a flow makes ten or so).  (FlowResult keeps its constructor:
    without slots, setting its fields one by one costs about as much.)"""
    change = StateChange.__new__(StateChange)
    change.ts = ts
    change.endpoint = endpoint
    change.state = state
    return change


# Templates copied per flow (a dict copy is much cheaper than building one key by key)
_NO_COUNTERS = dict.fromkeys(_FLAG_NAMES + ("rst", "fin"), 0)
_NO_CAUSES = dict.fromkeys(_CAUSES, 0)
_NO_RTO = RtoEstimator().as_dict()
_NO_RTT = RttSummary().as_dict()


def _endpoint(ep: EndpointState, addr: str, role: str) -> Endpoint:
    counters = _NO_COUNTERS.copy()  # every count 0: only the others are written
    c = ep.counters
    if c is not None:
        for i in range(N_FLAGS):
            if c[i]:
                counters[_FLAG_NAMES[i]] = c[i]
    if ep.rst:
        counters["rst"] = ep.rst
    if ep.fin:
        counters["fin"] = ep.fin
    # field by field: compiled, a C call of the type's tp_new and C stores (see _change)
    e = Endpoint.__new__(Endpoint)
    e.addr = addr
    e.role = role
    e.packets = ep.packets
    e.payload_bytes = ep.payload_bytes
    e.mss = _mss(ep)
    e.wscale = ep.wscale_opt
    e.sack_permitted = ep.sack_perm
    e.timestamps = ep.ts_opt
    e.counters = counters
    e.cca = None
    return e


def _mss(ep: EndpointState) -> int | None:
    """The MSS option the endpoint sent, None when it sent none."""
    return ep.mss if ep.mss >= 0 else None


def _causes(ep: EndpointState) -> dict:
    if ep.retrans_causes is None:
        return _NO_CAUSES.copy()
    return dict(ep.retrans_causes)


def _keepalives(ep: EndpointState) -> list:
    if ep.keepalive_ts is None:
        return []
    return list(ep.keepalive_ts)


def _rto_final(ep: EndpointState) -> dict:
    if ep.rto is None:
        return _NO_RTO.copy()
    return ep.rto.as_dict()


def _rtt_summary(summ: RttSummary | None) -> dict:
    if summ is None:
        return _NO_RTT.copy()
    return summ.as_dict()
