"""Per-flow stall detector: every interval where one side's data was waiting, and why.

The driver creates one `StallObserver` per flow, feeds it every segment with the TCP
core's verdict, and calls `finish(result)` when the flow ends.  The observer keeps a
few numbers per direction (no per-segment history), so memory stays flat however long
the flow runs; the stall list itself is capped (the largest are kept, totals are exact).

Stall kinds (DESIGN.md): nagle_delayed_ack, rto, zero_window, receive_window,
app_limited, handshake.  A stall's `endpoint` is the side whose data waited.

Timing is read from one vantage point (sender side, receiver side or in between).  The
rules below are written so they hold from any vantage: e.g. the Nagle pattern is
judged from the span between two of the sender's segments, which is the same wherever
the capture was taken, and the path RTT is measured as SYN -> handshake ACK, which
spans one full round trip wherever the capture was taken.

The compiled build types this module with stalls.pxd (Cython pure-Python mode): the
per-direction state is a C struct, so times not known yet are `UNSET` (-inf) rather
than None, and RTTs not measured yet are 0.0 (a measured RTT is always positive).
"""

from __future__ import annotations

import math
from array import array
from typing import Any

import cython

from ..arrays import Ring
from ..model import (
    ACK,
    FIN,
    RST,
    SYN,
    Analysis,
    FlowResult,
    Segment,
    SegmentObserver,
    SegmentVerdict,
    Stall,
)

if cython.compiled:  # math.log2 is the C library's log2: call that directly
    from cython.cimports.libc.math import log2
else:
    from math import log2

KINDS = ("nagle_delayed_ack", "rto", "zero_window", "receive_window", "app_limited",
         "handshake")

#: Stalls kept per flow (the largest); totals in result.tcp["stall_totals"] stay exact.
MAX_STALLS = 1000
# A stall found is a record of _STALL doubles in StallObserver.stalls, an array('d'): its
# kind's index in KINDS, the direction, start, duration and the index of its detail in
# StallObserver.details (-1: no detail).  A record is 40 bytes; a tuple, two floats and a
# dict took about 230, which adds up with many flows live.
_STALL = 5
_KIND_CODE = {kind: code for code, kind in enumerate(KINDS)}
#: Slow-start-restart events kept per flow.
MAX_SSR = 50

#: A time (or time span) not known yet.  No real value equals it, and it keeps those
#: fields C doubles in the compiled build.
UNSET = -math.inf

# Delayed-ACK timers in the wild: Linux 40 ms minimum (it may grow towards 200 ms),
# macOS about 100 ms, Windows 200 ms.  An extra wait outside this band is not Nagle.
DELACK_MIN = 0.020
DELACK_MAX = 0.500

# Linux sets its retransmission timer to the smoothed RTT plus at least 200 ms
# (TCP_RTO_MIN); a "timeout" after a shorter silence is a tail-loss probe or a repair
# the capture could not tie to its trigger, and is no RTO stall.  (Slack for where the
# capture sits.)
RTO_MIN_SILENCE = 0.18
RTO_MAX_SILENCE = 130.0  # Linux caps one timeout at 120 s (TCP_RTO_MAX)
RTO_IDLE_MIN = 0.1  # a timeout retransmission follows at least this much sender silence

RATE_BLOCK = 16  # segments per delivery-rate sample

# Window edges remembered per sender: they only need to reach one RTT back.  The room
# of the ring that holds them: at least EDGE_HIST_MIN once used, at most EDGE_HIST_MAX
# (powers of two).  Trimmed as edges come (EDGE_KEEP_RTTS), a flow's ring holds a few;
# with less room than 16 it was halved and doubled again and again (3% more
# instructions on the interleaved capture, at 4).
EDGE_HIST_MIN = 16
EDGE_HIST_MAX = 1024
# A lookup reads the edge in force one RTT back at most (less the ACK delay seen at the
# capture): edges older than EDGE_KEEP_RTTS path RTTs go as new ones come.  Else a side
# that never sends data, whose edges no lookup reads, held EDGE_HIST_MAX of them (16 KB
# a bulk flow).  Four, not one: with no handshake the path RTT can still grow when the
# second direction's first sample comes.
EDGE_KEEP_RTTS = 4.0

# A sender idle for longer than this (and longer than a few RTTs) was application
# limited.  Short pauses inside a busy transfer are not worth a stall.
APP_GAP_MIN = 0.050

_RETRANS = int(Analysis.RETRANSMISSION)
_FAST = int(Analysis.FAST_RETRANSMISSION)
_SPURIOUS = int(Analysis.SPURIOUS_RETRANSMISSION)
_KEEPALIVE = int(Analysis.KEEP_ALIVE)
_ZWP = int(Analysis.ZERO_WINDOW_PROBE)
_REPEATED = _RETRANS | _FAST | _SPURIOUS  # data the sender sends again
_PROBE = _ZWP | _KEEPALIVE  # probes carry no new data


class _Side:
    """What the stall observer tracks about one direction (one sender) of a flow."""

    __slots__ = (
        "nxt", "una", "redge", "mss", "maxlen", "timer_ts", "last_data_ts", "first_data_ts",
        "data_bytes", "zw_start", "zw_probes", "zw_pending", "rw_start", "rw_segs", "rw_pending",
        "rto_start", "rto_first", "rto_last", "rto_seq", "rto_n", "rto_rexmits", "sm_ts", "sm_end",
        "sm_ack_ts", "sm_ack_pure", "sm_peer_data", "min_rtt_dir", "ssr_t0", "ssr_bytes",
        "ssr_prev", "max_win", "nagle_candidates", "keepalive_ts", "block_ts", "bucket_start",
        "bucket_bytes", "maxbucket", "mss_eff", "syn_mss", "edge_hist", "nonsyn", "blk_ts",
        "blk_bytes", "blk_n", "rate_hist", "rex_last", "rex_episodes", "hole_ts", "late_fills",
        "last_tx", "rx_rto", "prev_gap", "last_len",
    )

    def __init__(self) -> None:
        self.nxt = 0  # highest relative sequence end of data sent
        self.una = 0  # highest cumulative ACK the peer sent for this data
        self.redge = -1  # right edge of the window the peer offers (-1 unknown)
        self.mss = 0  # segment size the peer allows this direction (0 unknown)
        self.maxlen = 0  # largest payload seen from this direction
        self.timer_ts = UNSET  # when the sender's retransmission timer was armed
        self.last_data_ts = UNSET  # last new data sent
        self.first_data_ts = UNSET
        self.data_bytes = 0
        self.zw_start = UNSET  # when the peer advertised a zero window to this sender
        self.zw_probes = 0
        self.zw_pending = None  # closed episode awaiting proof of waiting
        self.rw_start = UNSET  # sender filled the peer's window
        self.rw_segs = 0
        self.rw_pending = None  # (start, end, refills) being extended
        self.rto_start = UNSET
        self.rto_first = 0.0
        self.rto_last = 0.0
        self.rto_seq = 0
        self.rto_n = 0  # timeouts of the same segment (1 + backoffs)
        self.rto_rexmits = 0
        self.sm_ts = UNSET  # last sub-MSS segment sent (Nagle candidate)
        self.sm_end = 0
        self.sm_ack_ts = UNSET  # when the peer acknowledged it
        self.sm_ack_pure = False
        self.sm_peer_data = False  # peer sent data since the small segment
        self.min_rtt_dir = 0.0  # min ack_rtt measured on ACKs this side sent (0 none yet)
        self.ssr_t0 = UNSET
        self.ssr_bytes = 0
        self.ssr_prev = 0
        self.max_win = 0  # largest window advertised BY this direction
        self.nagle_candidates = 0
        self.keepalive_ts = None  # list of probe times, made on demand
        self.block_ts = UNSET  # last retransmission / zero-window event
        self.bucket_start = UNSET  # bytes sent per round trip (a cwnd proxy that
        self.bucket_bytes = 0  # reads the same from either end of the path)
        self.maxbucket = 0
        # recent window edges offered to this sender, only kept away from the sender
        # (an _EdgeHistory, made on demand)
        self.edge_hist = None
        # delivery rate over blocks of RATE_BLOCK new segments, as a histogram of
        # quarter-octave bins (dict, made on demand): bursts move at the bottleneck rate,
        # so a high percentile estimates what the path can carry
        self.blk_ts = 0.0
        self.blk_bytes = 0
        self.blk_n = 0
        self.rate_hist = None
        self.hole_ts = UNSET  # when a gap in this direction's data was seen
        self.late_fills = 0  # gaps filled late: repairs seen without their original
        self.rex_last = UNSET
        self.last_tx = UNSET  # last data segment of any kind (new or repeated)
        self.rx_rto = None  # (last before, first after) a silence that may be a timeout
        self.prev_gap = UNSET  # time between the last two new segments
        self.last_len = 0  # length of the last new segment
        self.rex_episodes = 0
        self.nonsyn = 0  # segments without SYN
        self.syn_mss = None  # MSS option of this side's SYN (None: absent)
        self.mss_eff = 0  # payload of a full segment (MSS less the timestamp option)


class _EdgeHistory(Ring):
    """Recent (time, window edge) pairs offered to one sender, oldest first.

    Records of two doubles, time and edge side by side, in a Ring of at most
    EDGE_HIST_MAX (the oldest drop out): an append or a lookup touches one cache line of
    it (with many flows interleaved each is a cache miss), and the room follows what is
    held.  Edges are byte counts, exact as doubles below 2**53; the compiled build reads
    and writes the array without boxing.
    """

    __slots__ = ()

    def __init__(self) -> None:
        self.setup(2, EDGE_HIST_MIN, EDGE_HIST_MAX)

    def append(self, ts: float, edge: int) -> None:
        i = self.push()
        self.put(i, ts)
        self.put(i + 1, edge)

    def forget(self, t: float) -> int:
        """Drop what no lookup at time t or later reads: the edges older than the one in
        force at t."""
        while self.n >= 2:
            if self.get(self.second()) > t:
                break
            self.pop_first()
        return 0

    def edge_at(self, t: float) -> int:
        """The edge in force at time t (-1 if none is that old); older ones are forgotten."""
        self.forget(t)
        if self.n:
            i = self.first()
            if self.get(i) <= t:
                return int(self.get(i + 1))
        return -1


def _new_edge_history() -> _EdgeHistory:
    """_EdgeHistory(): compiled, a C allocation and a C call, no Python call."""
    hist = _EdgeHistory.__new__(_EdgeHistory)
    hist.setup(2, EDGE_HIST_MIN, EDGE_HIST_MAX)
    return hist


def _known(t: float) -> float | None:
    """A time for the facts: None when not known."""
    return None if t == UNSET else t


class StallObserver(SegmentObserver):
    """Streaming stall detector for one flow (see module docstring)."""

    __slots__ = (
        "syn_ts", "syn_seq", "syn_n", "syn_last", "synack_ts", "synack_seq", "synack_n",
        "synack_last", "hs_ack_ts", "rst_to_syn", "max_gap", "last_ts", "ssr_events",
        "stalls", "totals", "errors", "fin_first", "resets", "rtt", "s", "s0", "s1",
    )

    def __init__(self, flow: Any = None) -> None:
        # per direction: 0 client->server, 1 server->client; also by name, so that a
        # segment reaches its sides without the tuple
        self.s0 = _Side()
        self.s1 = _Side()
        self.s = (self.s0, self.s1)
        self.syn_ts = None
        self.syn_seq = None
        self.syn_n = 0
        self.syn_last = None
        self.synack_ts = None
        self.synack_seq = None
        self.synack_n = 0
        self.synack_last = None
        self.hs_ack_ts = None
        self.rst_to_syn = False
        self.max_gap = 0.0
        self.last_ts = UNSET
        # made on demand: most flows of a scan or a flood never need them
        self.ssr_events: list[dict] | None = None
        self.stalls: array | None = None  # records of _STALL doubles (see _STALL)
        self.details: list[dict] | None = None  # the stalls' details that are not empty
        self.totals: dict[str, list] | None = None
        self.errors = 0
        self.rtt = 0.0  # path_rtt() (0.0 while unknown), kept current (read per segment)
        self.fin_first = None  # direction that sent the first FIN (the active closer)
        self.resets: list[dict] | None = None

    # --- derived values -------------------------------------------------------------
    def path_rtt(self) -> float | None:
        """One full round trip, measured the same way from any vantage point."""
        if self.syn_last is not None and self.hs_ack_ts is not None and self.synack_n == 0:
            rtt = self.hs_ack_ts - self.syn_last
            if rtt > 0:
                return rtt
        a = self.s0.min_rtt_dir
        b = self.s1.min_rtt_dir
        if a and b:
            # data one way is ACKed late as seen near its receiver; the sum of the two
            # directions' minima spans one round trip from anywhere on the path.
            return a + b
        if a:
            return a
        if b:
            return b
        return None

    def _update_rtt(self) -> None:
        rtt = self.path_rtt()
        self.rtt = 0.0 if rtt is None else rtt

    # --- per segment ----------------------------------------------------------------
    def _add(self, kind: str, d: int, start: float, duration: float, detail: dict) -> None:
        if duration <= 0:
            return
        totals = self.totals
        if totals is None:
            totals = self.totals = {}
        tot = totals.get(kind)
        if tot is None:
            tot = totals[kind] = [0, 0.0, 0.0]
        tot[0] += 1
        tot[1] += duration
        if duration > tot[2]:
            tot[2] = duration
        self._record(kind, d, start, duration, detail)
        if len(self.stalls) >= 2 * MAX_STALLS * _STALL:
            self._keep(self._longest())

    def _record(self, kind: str, d: int, start: float, duration: float, detail: dict) -> None:
        """Keep a stall found (after the others)."""
        stalls = self.stalls
        if stalls is None:
            stalls = self.stalls = array("d")
            self.details = []
        index = -1
        if detail:
            index = len(self.details)
            self.details.append(detail)
        stalls.extend((_KIND_CODE[kind], d, start, duration, index))

    def _found(self) -> list[tuple]:
        """The stalls found, in that order: (kind, direction, start, duration, detail)."""
        stalls = self.stalls
        if stalls is None:
            return []
        details = self.details
        return [(KINDS[int(stalls[i])], int(stalls[i + 1]), stalls[i + 2], stalls[i + 3],
                 details[int(stalls[i + 4])] if stalls[i + 4] >= 0 else {})
                for i in range(0, len(stalls), _STALL)]

    def _longest(self) -> list[tuple]:
        """The MAX_STALLS longest stalls found (the first found of equal ones first)."""
        found = self._found()
        found.sort(key=lambda s: -s[3])
        del found[MAX_STALLS:]
        return found

    def _keep(self, found: list[tuple]) -> None:
        """Only these stalls (as _found() gives them) are kept, in this order."""
        self.stalls = None
        self.details = None
        for kind, d, start, duration, detail in found:
            self._record(kind, d, start, duration, detail)

    @cython.nonecheck(True)  # compiled: reading seg or v when None raises, as in Python
    def observe(self, seg: Segment, v: SegmentVerdict) -> None:
        try:
            ts = seg.ts
            d = v.direction
            p = 1 - d
            if d == 0:
                sd = self.s0
                sp = self.s1
            elif d == 1:
                sd = self.s1
                sp = self.s0
            else:
                raise IndexError(d)  # no such direction: counted in `errors` below
            flags = seg.flags
            length = seg.length
            last = self.last_ts
            if last != UNSET:
                gap = ts - last
                if gap > self.max_gap:
                    self.max_gap = gap
            self.last_ts = ts

            if flags & SYN:
                self._syn(seg, d, ts, flags)
                return
            sd.nonsyn += 1
            if flags & RST:
                self._rst(v, d, p, ts)
                return
            if flags & FIN and self.fin_first is None:
                self.fin_first = d
            if (self.hs_ack_ts is None and self.synack_ts is not None and d == 0
                    and flags & ACK):
                self.hs_ack_ts = ts
                self._update_rtt()

            bits = v.analysis
            if bits & _PROBE:
                # Linux probes a zero window with a keep-alive-shaped segment (seq - 1)
                if sd.zw_start != UNSET:
                    sd.zw_probes += 1
                    sd.block_ts = ts
                elif bits & _KEEPALIVE:
                    kts = sd.keepalive_ts
                    if kts is None:
                        kts = sd.keepalive_ts = []
                    if len(kts) < 1000:
                        kts.append(ts)

            ack_rtt = v.raw_ack_rtt
            if ack_rtt >= 0.0:
                sample = ack_rtt
                if sample > 0 and (not sd.min_rtt_dir or sample < sd.min_rtt_dir):
                    sd.min_rtt_dir = sample
                    self._update_rtt()

            # ---- what this segment's ACK and window tell about the peer's (p) sending
            if flags & ACK:
                self._ack(v, sd, sp, d, ts, length, flags)

            # ---- this segment's data -------------------------------------------------
            if length > 0:
                self._data(seg, v, sd, sp, d, ts, length, bits)
            elif flags & FIN:
                sd.nxt = max(sd.nxt, v.rel_seq)
        except Exception:  # a passive observer never raises on odd traffic
            self.errors += 1

    def _rst(self, v: SegmentVerdict, d: int, p: int, ts: float) -> None:
        to_syn = self.synack_ts is None and self.syn_ts is not None and self.hs_ack_ts is None
        if to_syn:
            self.rst_to_syn = True
        resets = self.resets
        if resets is None:
            resets = self.resets = []
        if len(resets) >= 20:
            return
        seq = v.rel_seq
        edge = self.s[d].redge
        # acceptable to the receiver if it lands on the next expected byte or inside the
        # window the receiver offered
        in_window = seq == self.s[d].nxt or (edge > 0 and self.s[d].nxt <= seq <= edge)
        resets.append({
            "ts": ts, "direction": d, "in_window": bool(in_window or to_syn),
            "answer_to_syn": to_syn,
            "after_data": bool(self.s[0].data_bytes or self.s[1].data_bytes),
            "unacked_bytes": max(0, self.s[p].nxt - self.s[p].una),
        })

    def _syn(self, seg: Segment, d: int, ts: float, flags: int) -> None:
        if flags & ACK:  # SYN-ACK
            if self.synack_seq is None:
                self.synack_seq, self.synack_ts = seg.seq, ts
            elif seg.seq == self.synack_seq:
                self.synack_n += 1
            self.synack_last = ts
        else:
            if self.syn_seq is None:
                self.syn_seq, self.syn_ts = seg.seq, ts
            elif seg.seq == self.syn_seq:
                self.syn_n += 1
            self.syn_last = ts
        if d == 0:  # the sides by name (compiled: typed, no tuple lookup)
            sd = self.s0
            sp = self.s1
        else:
            sd = self.s1
            sp = self.s0
        sd.syn_mss = seg.mss
        if seg.mss:
            # the MSS a side announces bounds what the *other* side may send
            sp.mss = seg.mss
        if seg.win > sd.max_win:
            sd.max_win = seg.win  # SYN windows are never scaled
        if sp.redge < 0:
            sp.redge = 1 + seg.win  # first byte after the SYN is relative 1

    def _ack(self, v: SegmentVerdict, sd: _Side, sp: _Side, d: int, ts: float, length: int,
             flags: int) -> None:
        """What an ACK from d tells about the peer's sending (sp) and its window."""
        ack = v.rel_ack
        win = v.win_scaled
        if win > sd.max_win:
            sd.max_win = win
        if ack > sp.una:
            sp.una = ack
            if ack >= sp.nxt:
                sp.hole_ts = UNSET  # every gap in the peer's data is filled
            # timer re-armed while data stays outstanding
            sp.timer_ts = ts if ack < sp.nxt else UNSET
            if sp.rto_start != UNSET and ack > sp.rto_seq:
                self._close_rto(sp, 1 - d, ts)
            # Nagle: first ACK that covers the peer's last small segment
            if sp.sm_ts != UNSET and sp.sm_ack_ts == UNSET and ack >= sp.sm_end:
                sp.sm_ack_ts = ts
                sp.sm_ack_pure = length == 0 and not flags & FIN
        new_edge = ack + win
        if new_edge > sp.redge or ack >= sp.una:
            sp.redge = new_edge
            # history is only needed away from the sender (see the end of _data)
            rtt = self.rtt
            seen = sd.min_rtt_dir
            if rtt and seen and rtt - seen < 0.1 * rtt:
                sp.edge_hist = None
            else:
                hist = sp.edge_hist
                if hist is None:
                    hist = sp.edge_hist = _new_edge_history()
                elif rtt:
                    hist.forget(ts - EDGE_KEEP_RTTS * rtt)
                hist.append(ts, new_edge)
        # zero window offered to the peer
        if win == 0 and not flags & FIN:
            if sp.zw_start == UNSET:
                sp.zw_start = ts
                sp.zw_probes = 0
        elif sp.zw_start != UNSET:
            sp.block_ts = ts
            start = sp.zw_start
            sp.zw_start = UNSET
            episode = (start, ts - start, sp.zw_probes, d)
            if sp.zw_probes > 0:
                self._zw_stall(1 - d, episode)
            else:
                sp.zw_pending = episode  # confirmed if the peer sends data soon

    def _zw_stall(self, p: int, episode: tuple) -> None:
        start, duration, probes, receiver = episode
        self._add("zero_window", p, start, duration, {"probes": probes})

    def _data(self, seg: Segment, v: SegmentVerdict, sd: _Side, sp: _Side, d: int, ts: float,
              length: int, bits: int) -> None:
        """A segment with payload from d (sd); sp is the receiving side."""
        seq = v.rel_seq
        end = seq + length
        if length > sd.maxlen:
            sd.maxlen = length
        if bits & _PROBE:
            return
        if sp.sm_ts != UNSET:
            sp.sm_peer_data = True  # the peer answered: turn-taking, not Nagle
        last_tx = sd.last_tx
        sd.last_tx = ts
        rtt = self.rtt
        if bits & _REPEATED or end <= sd.nxt:
            hole = sd.hole_ts
            late = (hole != UNSET and not bits & _REPEATED and ts - hole >= 0.5 * rtt > 0)
            if late:
                # near the receiver a repair fills a gap a while after it opened; mere
                # reordering fills it at once
                sd.late_fills += 1
            self._retransmission(v, sd, d, ts, seq, bits, late, last_tx)
            return
        if seq > sd.nxt > 0 and sd.hole_ts == UNSET:
            sd.hole_ts = ts  # a gap opened: something before seq is missing
        # ---- new data ------------------------------------------------------------------
        mss = sd.mss_eff
        if not mss:
            mss = sd.mss
            if mss and seg.raw_tsval >= 0:
                mss -= 12  # the timestamp option takes 12 bytes of every segment
            sd.mss_eff = mss
            if not mss:
                mss = sd.maxlen
        prev_ts = sd.last_data_ts
        outstanding_before = sd.nxt > sd.una
        if sd.zw_pending is not None:
            ep = sd.zw_pending
            sd.zw_pending = None
            # data right after the window reopened: it had been waiting
            if ts - (ep[0] + ep[1]) <= max(2 * rtt, 0.01):
                self._zw_stall(d, ep)
        if sd.first_data_ts == UNSET:
            sd.first_data_ts = ts
        sd.data_bytes += end - max(seq, sd.nxt)

        nagle = False
        if length < mss or sd.sm_ts != UNSET:  # a small segment, or the one after one
            nagle = self._nagle(sd, d, ts, seq, length, mss)
        if sd.rx_rto is not None:
            self._rx_rto_confirm(sd, d, ts)
        if prev_ts != UNSET and not nagle:
            gap = ts - prev_ts
            if (rtt and gap >= RTO_MIN_SILENCE + 0.9 * rtt and sd.prev_gap != UNSET
                    and sd.prev_gap <= max(0.25 * rtt, 0.002) and mss and sd.last_len >= mss
                    and length >= mss and sd.zw_start == UNSET and self._near_receiver(sp)):
                # a busy sender fell silent and came back with a full segment: seen next
                # to the receiver, a timeout looks like this (the original and any
                # earlier retries were lost before they got here); it is one if the
                # segment comes alone, as the first flight after a timeout does
                sd.rx_rto = (prev_ts, ts)
            elif gap >= max(APP_GAP_MIN, 2 * rtt) and not outstanding_before:
                self._idle(sd, sp, d, ts, prev_ts, gap, mss)
            sd.prev_gap = gap
        sd.last_len = length
        if sd.ssr_t0 != UNSET:
            self._ssr_progress(sd, d, ts, length, mss)
        # bytes sent per round trip
        start = sd.bucket_start
        if start == UNSET or not rtt or ts >= start + rtt:
            if sd.bucket_bytes > sd.maxbucket:
                sd.maxbucket = sd.bucket_bytes
            sd.bucket_start = ts
            sd.bucket_bytes = 0
        sd.bucket_bytes += length
        # delivery rate over blocks of RATE_BLOCK segments
        n = sd.blk_n
        if n == 0:
            sd.blk_ts = ts
            sd.blk_bytes = 0
        else:
            sd.blk_bytes += length  # bytes sent after the block's first segment
        if n + 1 >= RATE_BLOCK:
            sd.blk_n = 0
            span = ts - sd.blk_ts
            if span > 0:
                self._rate_sample(sd, sd.blk_bytes / span)
        else:
            sd.blk_n = n + 1

        if not outstanding_before:
            sd.timer_ts = ts
        sd.nxt = end
        sd.last_data_ts = ts
        # the window edge the sender knew when it sent this: near the sender the latest
        # one advertised; further along the path the data left the sender a while ago, on
        # the strength of an older ACK (the lag is one RTT less the ACK delay seen here for
        # the sender's data: about zero near the sender, a full RTT near the receiver)
        edge = sd.redge
        hist = sd.edge_hist
        if hist is not None:
            seen = sp.min_rtt_dir
            if rtt and seen and rtt - seen >= 0.1 * rtt:
                edge = hist.edge_at(ts - (rtt - seen))
        # (no room left for another segment of this size: the window, not the sender,
        # decides when the next one goes)
        # windows mean nothing without both SYNs: the scale factor is unknown
        full = (edge > 0 and mss and sd.zw_start == UNSET and self.hs_ack_ts is not None
                and edge - end < min(mss, length))
        start = sd.rw_start
        if start == UNSET:
            if full:
                sd.rw_start = ts
                sd.rw_segs = 1
        elif full:
            # released by a sliver of window and full again at once: one long episode
            sd.rw_segs += 1
        else:
            sd.rw_start = UNSET
            self._rw_close(sd, d, start, ts)

    def _rate_sample(self, sd: _Side, rate: float) -> None:
        b = int(4 * log2(rate))
        h = sd.rate_hist
        if h is None:
            h = sd.rate_hist = {}
        h[b] = h.get(b, 0) + 1

    def _rw_close(self, sd: _Side, d: int, start: float, end: float) -> None:
        """Window-bound intervals only a moment apart form one episode."""
        pend = sd.rw_pending
        refills = sd.rw_segs
        if pend is not None:
            if start - pend[1] <= max(0.25 * self.rtt, 0.001):
                sd.rw_pending = (pend[0], end, pend[2] + refills)
                return
            self._rw_flush(sd, d)
        sd.rw_pending = (start, end, refills)

    def _rw_flush(self, sd: _Side, d: int) -> None:
        pend = sd.rw_pending
        if pend is not None:
            sd.rw_pending = None
            self._add("receive_window", d, pend[0], pend[1] - pend[0], {"refills": pend[2]})

    def _retransmission(self, v: SegmentVerdict, sd: _Side, d: int, ts: float, seq: int,
                        bits: int, late_fill: bool, last_tx: float) -> None:
        cause = v.retrans_cause
        if late_fill and cause in (None, "reordering"):
            cause = None  # a repair after all; its timing decides whether a timeout
        rtt = self.rtt
        # repairs more than one RTT apart belong to separate recovery episodes; each
        # episode costs the sender about one round trip
        last = sd.rex_last
        if cause not in ("reordering", "network_duplicate", "unneeded") and (
                last == UNSET or ts - last > rtt):
            sd.rex_episodes += 1
        sd.rex_last = ts
        if cause is None:
            # no cause from the core: a retransmission after a silence longer than any
            # fast-retransmit round is taken for a timeout
            armed = sd.timer_ts
            if bits & _FAST or armed == UNSET or ts - armed < RTO_MIN_SILENCE + 0.9 * rtt:
                return
            cause = "rto"
        if cause != "rto":
            return
        sd.block_ts = ts
        if sd.rto_start == UNSET:
            if last_tx != UNSET and ts - last_tx < RTO_IDLE_MIN:
                # the sender was still transmitting: a timer that fires has had the
                # sender waiting, silent, for most of the timeout
                return
            start = sd.timer_ts
            if start == UNSET:
                start = sd.last_data_ts if sd.last_data_ts != UNSET else ts
            sd.rto_start = start
            sd.rto_first = ts
            sd.rto_seq = seq
            sd.rto_n = 1
            sd.rto_rexmits = 1
        else:
            sd.rto_rexmits += 1
            if seq == sd.rto_seq:
                sd.rto_n += 1
        sd.rto_last = ts

    def _close_rto(self, sd: _Side, d: int, end: float) -> None:
        start = sd.rto_start
        sd.rto_start = UNSET
        silence = sd.rto_first - start
        # the timer is the smoothed RTT plus a margin of at least 200 ms on Linux, and the
        # smoothed RTT is no smaller than the path's minimum
        if silence < RTO_MIN_SILENCE + 0.9 * self.rtt or silence > RTO_MAX_SILENCE:
            # too quick for a retransmission timer (a probe or a late repair), or longer
            # than any timer runs (a spliced or broken capture)
            return
        n = sd.rto_n
        self._add("rto", d, start, end - start, {
            "timeouts": n, "backoff": n - 1, "first_timeout": sd.rto_first - start,
            "retransmissions": sd.rto_rexmits})

    def _near_receiver(self, sp: _Side) -> bool:
        """Is the capture closer to the receiver (sp) of the data than to its sender?"""
        rtt = self.rtt
        seen = sp.min_rtt_dir
        return rtt != 0 and seen != 0 and seen < 0.5 * rtt

    def _rx_rto_confirm(self, sd: _Side, d: int, ts: float) -> None:
        last, first = sd.rx_rto
        sd.rx_rto = None
        rtt = self.rtt
        silence = first - last
        if ts - first >= 0.5 * rtt and silence <= RTO_MAX_SILENCE:
            # cumulative wait of k doubling timeouts is base x (2^k - 1)
            base = RTO_MIN_SILENCE + 0.9 * rtt + 0.02
            k = max(1, round(math.log2(silence / base + 1)))
            self._add("rto", d, last, silence, {
                "timeouts": k, "backoff": k - 1, "first_timeout": None,
                "retransmissions": 1, "seen_at": "receiver"})
            sd.block_ts = first
        else:
            self._add("app_limited", d, last, silence, {})

    def _nagle(self, sd: _Side, d: int, ts: float, seq: int, length: int, mss: int) -> bool:
        found = False
        sm_ts = sd.sm_ts
        if sm_ts != UNSET and seq == sd.sm_end and length < mss:
            ack_ts = sd.sm_ack_ts
            if ack_ts != UNSET and sd.sm_ack_pure and not sd.sm_peer_data:
                sd.nagle_candidates += 1
                rtt = self.rtt
                wait = ts - sm_ts
                delay = wait - rtt
                resume = ts - ack_ts
                # released by the ACK: sent as soon as it arrived (sender side) or one
                # round trip after it left (receiver side)
                slack = max(0.005, 0.25 * rtt)
                if DELACK_MIN <= delay <= DELACK_MAX and resume <= rtt + slack:
                    self._add("nagle_delayed_ack", d, sm_ts, wait, {
                        "ack_delay": round(delay, 6), "rtt": round(rtt, 6),
                        "held_bytes": length})
                    found = True
        if length < mss:
            sd.sm_ts = ts
            sd.sm_end = seq + length
            sd.sm_ack_ts = UNSET
            sd.sm_ack_pure = False
            sd.sm_peer_data = False
        else:
            sd.sm_ts = UNSET
        return found

    def _idle(self, sd: _Side, sp: _Side, d: int, ts: float, prev_ts: float, gap: float,
              mss: int) -> None:
        """A silence of `gap` before this new data, long enough to be worth a stall."""
        peer_last = sp.last_data_ts
        if peer_last != UNSET and peer_last > prev_ts:
            return  # the peer spoke in between: turn-taking, not an idle sender
        if sd.zw_start != UNSET:
            return
        blocked = sd.block_ts
        if blocked != UNSET and blocked > prev_ts:
            return  # a timeout or a closed window explains the silence
        self._add("app_limited", d, prev_ts, gap, {})
        # slow-start restart: judge the first flight after a pause longer than an RTO
        rtt = self.rtt
        rto_floor = max(0.2, rtt) + rtt
        if gap >= rto_floor and rtt > 0 and mss:
            sd.ssr_t0 = ts
            sd.ssr_bytes = 0
            sd.ssr_prev = max(sd.maxbucket, sd.bucket_bytes)
            sd.maxbucket = 0
            sd.bucket_bytes = 0
            sd.bucket_start = UNSET

    def _ssr_progress(self, sd: _Side, d: int, ts: float, length: int, mss: int) -> None:
        t0 = sd.ssr_t0
        if ts < t0 + 0.75 * self.rtt:
            sd.ssr_bytes += length
            return
        # the sender still had data one round trip after resuming: was it held back?
        sd.ssr_t0 = UNSET
        first = sd.ssr_bytes
        prev = sd.ssr_prev
        if prev >= 20 * mss and first <= 14 * mss and first * 2 <= prev:
            events = self.ssr_events
            if events is None:
                events = self.ssr_events = []
            if len(events) < MAX_SSR:
                events.append({"direction": d, "ts": t0, "first_flight": first,
                               "flight_before": prev, "mss": mss})

    # --- end of flow --------------------------------------------------------------------
    def finish(self, result: FlowResult) -> None:
        try:
            self._finish(result)
        except Exception:  # never break the analysis over one flow
            self.errors += 1

    def _finish(self, result: FlowResult) -> None:
        end = self.last_ts if self.last_ts != UNSET else result.end
        for d in (0, 1):
            sd = self.s[d]
            if sd.rto_start != UNSET:
                self._close_rto(sd, d, max(sd.rto_last, end))
            if sd.zw_start != UNSET and sd.zw_probes > 0:
                start = sd.zw_start
                self._add("zero_window", d, start, end - start,
                          {"probes": sd.zw_probes, "open_at_end": True})
            sd.rw_start = UNSET  # a window still full at the end held nothing back
            self._rw_flush(sd, d)
        if self.syn_n:
            done = self.synack_ts if self.synack_ts is not None else self.syn_last
            self._add("handshake", 0, self.syn_ts, max(done, self.syn_last) - self.syn_ts,
                      {"retransmissions": self.syn_n, "segment": "SYN",
                       "completed": self.synack_ts is not None})
        if self.synack_n:
            done = self.hs_ack_ts if self.hs_ack_ts is not None else self.synack_last
            self._add("handshake", 1, self.synack_ts, done - self.synack_ts,
                      {"retransmissions": self.synack_n, "segment": "SYN-ACK",
                       "completed": self.hs_ack_ts is not None})
        if self.stalls:
            names = (result.client, result.server)
            stalls = self._found() if len(self.stalls) <= MAX_STALLS * _STALL \
                else self._longest()
            stalls.sort(key=lambda s: s[2])
            result.stalls.extend(
                Stall(kind=k, endpoint=names[d], start=start, duration=dur, detail=detail)
                for k, d, start, dur, detail in stalls)
        result.tcp["stall_totals"] = {
            k: {"count": t[0], "seconds": t[1], "max": t[2]}
            for k, t in (self.totals or {}).items()}
        result.tcp["stall_facts"] = self.facts(result)

    def facts(self, result: FlowResult) -> dict:
        """Per-flow facts the findings rules use (JSON-friendly)."""
        a, b = self.s
        return {
            "path_rtt": self.path_rtt(),
            "max_idle_gap": self.max_gap,
            "syn_seen": self.syn_ts is not None,
            "synack_seen": self.synack_ts is not None,
            "handshake_ack_seen": self.hs_ack_ts is not None,
            "syn_retransmissions": self.syn_n,
            "synack_retransmissions": self.synack_n,
            "rst_to_syn": self.rst_to_syn,
            "segments_after_syn": [a.nonsyn, b.nonsyn],
            "loss_episodes": [a.rex_episodes, b.rex_episodes],
            "late_fills": [a.late_fills, b.late_fills],
            "first_syn_ts": self.syn_ts,
            "last_syn_ts": self.syn_last,
            "data_bytes": [a.data_bytes, b.data_bytes],
            "first_data_ts": [_known(a.first_data_ts), _known(b.first_data_ts)],
            "last_data_ts": [_known(a.last_data_ts), _known(b.last_data_ts)],
            "max_window_advertised": [a.max_win, b.max_win],
            "mss": [a.mss or a.maxlen, b.mss or b.maxlen],
            "max_payload": [a.maxlen, b.maxlen],
            "nagle_candidates": [a.nagle_candidates, b.nagle_candidates],
            "keepalive_ts": [list(a.keepalive_ts or ()), list(b.keepalive_ts or ())],
            "ssr_events": list(self.ssr_events or ()),
            "fin_first": self.fin_first,
            "resets": list(self.resets or ()),
            "syn_mss": [a.syn_mss, b.syn_mss],
            "burst_rate_p90": [_percentile(a.rate_hist, 0.9), _percentile(b.rate_hist, 0.9)],
            "max_bytes_per_rtt": [max(a.maxbucket, a.bucket_bytes),
                                  max(b.maxbucket, b.bucket_bytes)],
            "observer_errors": self.errors,
        }


def _percentile(hist: dict[int, int] | None, q: float) -> float | None:
    """Bytes/s at quantile q of a quarter-octave histogram (bin centre)."""
    if not hist:
        return None
    total = sum(hist.values())
    if total < 5:
        return None
    need = q * total
    seen = 0
    for b in sorted(hist):
        seen += hist[b]
        if seen >= need:
            return 2 ** ((b + 0.5) / 4)
    return None


def make_observer(flow: Any = None) -> StallObserver:
    """Factory the driver calls once per new flow."""
    return StallObserver(flow)
