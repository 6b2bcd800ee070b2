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
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from ..model import ACK, FIN, RST, SYN, Analysis, FlowResult, Segment, SegmentVerdict, Stall

KINDS = ("nagle_delayed_ack", "rto", "zero_window", "receive_window", "app_limited",
         "handshake")

#: Stalls kept per flow (the largest); totals in result.tcp["stall_totals"] stay exact.
MAX_STALLS = 1000
#: Slow-start-restart events kept per flow.
MAX_SSR = 50

# Delayed-ACK timers in the wild: Linux 40 ms minimum (it may grow towards 200 ms),
# macOS about 100 ms, Windows 200 ms.  An extra wait outside this band is not Nagle.
DELACK_MIN = 0.020
DELACK_MAX = 0.500

# Linux never lets its retransmission timer fire sooner than 200 ms (TCP_RTO_MIN); a
# "timeout" after a shorter silence is a tail-loss probe or a repair the capture could
# not tie to its trigger, and is no RTO stall.  (Slack for where the capture sits.)
RTO_MIN_SILENCE = 0.18
RTO_MAX_SILENCE = 130.0  # Linux caps one timeout at 120 s (TCP_RTO_MAX)

RATE_BLOCK = 16  # segments per delivery-rate sample

# A sender idle for longer than this (and longer than a few RTTs) was application
# limited.  Short pauses inside a busy transfer are not worth a stall.
APP_GAP_MIN = 0.050

_RETRANS = int(Analysis.RETRANSMISSION)
_FAST = int(Analysis.FAST_RETRANSMISSION)
_SPURIOUS = int(Analysis.SPURIOUS_RETRANSMISSION)
_KEEPALIVE = int(Analysis.KEEP_ALIVE)
_ZWP = int(Analysis.ZERO_WINDOW_PROBE)
_NOT_NEW = _RETRANS | _FAST | _SPURIOUS | _KEEPALIVE | _ZWP


class StallObserver:
    """Streaming stall detector for one flow (see module docstring)."""

    __slots__ = (
        "nxt", "una", "redge", "mss", "maxlen", "timer_ts", "last_data_ts", "data_bytes",
        "zw_start", "zw_probes", "zw_pending", "rw_start", "rto_start", "rto_first",
        "rto_last", "rto_seq", "rto_n", "rto_rexmits", "sm_ts", "sm_end", "sm_ack_ts",
        "sm_ack_pure", "sm_peer_data", "syn_ts", "syn_seq", "syn_n", "syn_last",
        "synack_ts", "synack_seq", "synack_n", "synack_last", "hs_ack_ts", "rst_to_syn",
        "min_rtt_dir", "max_gap", "first_ts", "last_ts", "ssr_t0",
        "ssr_bytes", "ssr_prev", "ssr_events", "max_win", "stalls", "totals", "errors",
        "nagle_candidates", "first_data_ts", "last_new_ts", "keepalive_ts", "block_ts",
        "bucket_start", "bucket_bytes", "maxbucket", "mss_eff", "fin_first", "resets",
        "syn_mss", "edge_hist", "rw_segs", "rw_pending", "nonsyn", "rtt", "blk_ts",
        "blk_bytes", "blk_n", "rate_hist", "rex_last", "rex_episodes", "hole_ts",
        "late_fills",
    )

    def __init__(self, flow: Any = None) -> None:
        self.nxt = [0, 0]  # highest relative sequence end of data sent, per direction
        self.una = [0, 0]  # highest cumulative ACK received for that direction's data
        self.redge = [-1, -1]  # right edge of the window the peer offers (-1 unknown)
        self.mss = [0, 0]  # segment size the peer allows this direction (0 unknown)
        self.maxlen = [0, 0]  # largest payload seen from this direction
        self.timer_ts = [None, None]  # when the sender's retransmission timer was armed
        self.last_data_ts = [None, None]  # last new data sent
        self.first_data_ts = [None, None]
        self.last_new_ts = [None, None]
        self.data_bytes = [0, 0]
        self.zw_start = [None, None]  # peer advertised a zero window to this direction
        self.zw_probes = [0, 0]
        self.zw_pending: list[Any] = [None, None]  # closed episode awaiting proof of waiting
        self.rw_start = [None, None]  # sender filled the peer's window
        self.rw_segs = [0, 0]
        self.rw_pending: list[Any] = [None, None]  # (start, end, refills) being extended
        self.rto_start = [None, None]
        self.rto_first = [0.0, 0.0]
        self.rto_last = [0.0, 0.0]
        self.rto_seq = [0, 0]
        self.rto_n = [0, 0]  # timeouts of the same segment (1 + backoffs)
        self.rto_rexmits = [0, 0]
        self.sm_ts = [None, None]  # last sub-MSS segment sent (Nagle candidate)
        self.sm_end = [0, 0]
        self.sm_ack_ts = [None, None]  # when the peer acknowledged it
        self.sm_ack_pure = [False, False]
        self.sm_peer_data = [False, False]  # peer sent data since the small segment
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
        self.min_rtt_dir = [None, None]  # min ack_rtt measured on ACKs sent by direction
        self.max_gap = 0.0
        self.first_ts = None
        self.last_ts = None
        self.ssr_t0 = [None, None]
        self.ssr_bytes = [0, 0]
        self.ssr_prev = [0, 0]
        self.ssr_events: list[dict] = []
        self.max_win = [0, 0]  # largest window advertised BY this direction
        self.stalls: list[tuple] = []  # (kind, direction, start, duration, detail)
        self.totals: dict[str, list] = {}
        self.errors = 0
        self.nagle_candidates = [0, 0]
        self.keepalive_ts: list[list[float]] = [[], []]
        self.block_ts = [None, None]  # last retransmission / zero-window event per sender
        self.bucket_start = [None, None]  # bytes sent per round trip (a cwnd proxy that
        self.bucket_bytes = [0, 0]  # reads the same from either end of the path)
        self.maxbucket = [0, 0]
        # recent window edges (ts, edge) offered to each direction; bounded, it only
        # needs to reach one RTT back
        self.edge_hist = (deque(maxlen=1024), deque(maxlen=1024))
        self.rtt: float | None = None  # path_rtt(), kept current (read per segment)
        # delivery rate over blocks of RATE_BLOCK new segments, as a histogram of
        # quarter-octave bins: bursts move at the bottleneck rate, so a high percentile
        # estimates what the path can carry
        self.blk_ts = [0.0, 0.0]
        self.blk_bytes = [0, 0]
        self.blk_n = [0, 0]
        self.rate_hist: list[dict[int, int]] = [{}, {}]
        self.hole_ts = [None, None]  # when a gap in this direction's data was seen
        self.late_fills = [0, 0]  # gaps filled late: repairs seen without their original
        self.rex_last = [None, None]
        self.rex_episodes = [0, 0]
        self.nonsyn = [0, 0]  # segments without SYN per direction
        self.fin_first = None  # direction that sent the first FIN (the active closer)
        self.resets: list[dict] = []
        self.syn_mss = [None, None]  # did each side's SYN carry an MSS option
        self.mss_eff = [0, 0]  # payload of a full segment (MSS less the timestamp option)

    # --- derived values -------------------------------------------------------------
    def path_rtt(self) -> float | None:
        """One full round trip, measured the same way from any vantage point."""
        if self.syn_last is not None and self.hs_ack_ts is not None and self.synack_n == 0:
            rtt = self.hs_ack_ts - self.syn_last
            if rtt > 0:
                return rtt
        a, b = self.min_rtt_dir
        if a is not None and b is not None:
            # data one way is ACKed late as seen near its receiver; the sum of the two
            # directions' minima spans one round trip from anywhere on the path.
            return a + b
        return a if a is not None else b

    # --- per segment ----------------------------------------------------------------
    def observe(self, seg: Segment, v: SegmentVerdict) -> None:
        try:
            self._observe(seg, v)
        except Exception:  # a passive observer never raises on odd traffic
            self.errors += 1

    def _add(self, kind: str, d: int, start: float, duration: float, detail: dict) -> None:
        if duration <= 0:
            return
        tot = self.totals.get(kind)
        if tot is None:
            tot = self.totals[kind] = [0, 0.0, 0.0]
        tot[0] += 1
        tot[1] += duration
        if duration > tot[2]:
            tot[2] = duration
        stalls = self.stalls
        stalls.append((kind, d, start, duration, detail))
        if len(stalls) >= 2 * MAX_STALLS:
            stalls.sort(key=lambda s: -s[3])
            del stalls[MAX_STALLS:]

    def _observe(self, seg: Segment, v: SegmentVerdict) -> None:
        ts = seg.ts
        d = v.direction
        p = 1 - d
        flags = seg.flags
        length = seg.length
        bits = v.analysis
        if self.last_ts is not None:
            gap = ts - self.last_ts
            if gap > self.max_gap:
                self.max_gap = gap
        else:
            self.first_ts = ts
        self.last_ts = ts

        if flags & SYN:
            self._syn(seg, d, ts, flags)
            return
        self.nonsyn[d] += 1
        if flags & RST:
            self._rst(v, d, p, ts)
            return
        if flags & FIN and self.fin_first is None:
            self.fin_first = d
        if (self.hs_ack_ts is None and self.synack_ts is not None and d == 0
                and flags & ACK):
            self.hs_ack_ts = ts
            self.rtt = self.path_rtt()

        if bits & (_ZWP | _KEEPALIVE):
            # Linux probes a zero window with a keep-alive-shaped segment (seq - 1)
            if self.zw_start[d] is not None:
                self.zw_probes[d] += 1
                self.block_ts[d] = ts
            elif bits & _KEEPALIVE and len(self.keepalive_ts[d]) < 1000:
                self.keepalive_ts[d].append(ts)

        ack_rtt = v.ack_rtt
        if ack_rtt is not None and ack_rtt > 0:
            m = self.min_rtt_dir[d]
            if m is None or ack_rtt < m:
                self.min_rtt_dir[d] = ack_rtt
                self.rtt = self.path_rtt()

        # ---- what this segment's ACK and window tell about the peer's (p) sending ----
        if flags & ACK:
            self._ack(seg, v, d, p, ts, length)

        # ---- this segment's data -----------------------------------------------------
        if length > 0:
            self._data(seg, v, d, p, ts, length, bits)
        elif flags & FIN:
            self.nxt[d] = max(self.nxt[d], v.rel_seq)

    def _rst(self, v: SegmentVerdict, d: int, p: int, ts: float) -> None:
        to_syn = self.synack_ts is None and self.syn_ts is not None and self.hs_ack_ts is None
        if to_syn:
            self.rst_to_syn = True
        if len(self.resets) >= 20:
            return
        seq = v.rel_seq
        edge = self.redge[d]
        # acceptable to the receiver if it lands on the next expected byte or inside the
        # window the receiver offered
        in_window = seq == self.nxt[d] or (edge > 0 and self.nxt[d] <= seq <= edge)
        self.resets.append({
            "ts": ts, "direction": d, "in_window": bool(in_window or to_syn),
            "answer_to_syn": to_syn,
            "after_data": bool(self.data_bytes[0] or self.data_bytes[1]),
            "unacked_bytes": max(0, self.nxt[p] - self.una[p]),
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
        self.syn_mss[d] = seg.mss
        if seg.mss:
            # the MSS a side announces bounds what the *other* side may send
            self.mss[1 - d] = seg.mss
        if seg.win > self.max_win[d]:
            self.max_win[d] = seg.win  # SYN windows are never scaled
        if self.redge[1 - d] < 0:
            self.redge[1 - d] = 1 + seg.win  # first byte after the SYN is relative 1

    def _ack(self, seg: Segment, v: SegmentVerdict, d: int, p: int, ts: float,
             length: int) -> None:
        ack = v.rel_ack
        win = v.win_scaled
        if win > self.max_win[d]:
            self.max_win[d] = win
        advanced = ack > self.una[p]
        if advanced:
            self.una[p] = ack
            if ack >= self.nxt[p]:
                self.hole_ts[p] = None  # every gap in the peer's data is filled
            # timer re-armed while data stays outstanding
            self.timer_ts[p] = ts if ack < self.nxt[p] else None
            if self.rto_start[p] is not None and ack > self.rto_seq[p]:
                self._close_rto(p, ts)
            # Nagle: first ACK that covers the peer's last small segment
            if self.sm_ts[p] is not None and self.sm_ack_ts[p] is None \
                    and ack >= self.sm_end[p]:
                self.sm_ack_ts[p] = ts
                self.sm_ack_pure[p] = length == 0 and not seg.flags & FIN
        new_edge = ack + win
        if new_edge > self.redge[p] or ack >= self.una[p]:
            self.redge[p] = new_edge
            self.edge_hist[p].append((ts, new_edge))
        # zero window offered to the peer
        if win == 0 and not seg.flags & FIN:
            if self.zw_start[p] is None:
                self.zw_start[p] = ts
                self.zw_probes[p] = 0
        elif self.zw_start[p] is not None:
            self.block_ts[p] = ts
            start = self.zw_start[p]
            self.zw_start[p] = None
            episode = (start, ts - start, self.zw_probes[p], d)
            if self.zw_probes[p] > 0:
                self._zw_stall(p, episode)
            else:
                self.zw_pending[p] = episode  # confirmed if the peer sends data soon

    def _zw_stall(self, p: int, episode: tuple) -> None:
        start, duration, probes, receiver = episode
        self._add("zero_window", p, start, duration, {"probes": probes})

    def _data(self, seg: Segment, v: SegmentVerdict, d: int, p: int, ts: float, length: int,
              bits: int) -> None:
        seq = v.rel_seq
        end = seq + length
        if length > self.maxlen[d]:
            self.maxlen[d] = length
        if bits & (_ZWP | _KEEPALIVE):
            return
        if self.sm_ts[p] is not None:
            self.sm_peer_data[p] = True  # the peer answered: turn-taking, not Nagle
        if bits & (_RETRANS | _FAST | _SPURIOUS) or end <= self.nxt[d]:
            hole = self.hole_ts[d]
            if (hole is not None and not bits & (_RETRANS | _FAST | _SPURIOUS)
                    and ts - hole >= 0.5 * (self.rtt or 0.0) > 0):
                # near the receiver a repair fills a gap a while after it opened; mere
                # reordering fills it at once
                self.late_fills[d] += 1
                self._retransmission(v, d, ts, seq, bits, late_fill=True)
                return
            self._retransmission(v, d, ts, seq, bits)
            return
        if seq > self.nxt[d] > 0 and self.hole_ts[d] is None:
            self.hole_ts[d] = ts  # a gap opened: something before seq is missing
        # ---- new data ------------------------------------------------------------------
        mss = self.mss_eff[d]
        if not mss:
            mss = self.mss[d]
            if mss and seg.tsval is not None:
                mss -= 12  # the timestamp option takes 12 bytes of every segment
            self.mss_eff[d] = mss
            mss = mss or self.maxlen[d]
        prev_ts = self.last_data_ts[d]
        outstanding_before = self.nxt[d] > self.una[d]
        if self.zw_pending[d] is not None:
            ep = self.zw_pending[d]
            self.zw_pending[d] = None
            # data right after the window reopened: it had been waiting
            rtt = self.rtt or 0.0
            if ts - (ep[0] + ep[1]) <= max(2 * rtt, 0.01):
                self._zw_stall(d, ep)
        if self.first_data_ts[d] is None:
            self.first_data_ts[d] = ts
        self.data_bytes[d] += end - max(seq, self.nxt[d])

        nagle = self._nagle(d, p, ts, seq, length, mss)
        if prev_ts is not None and not nagle:
            self._idle(d, p, ts, prev_ts, outstanding_before, mss)
        self._ssr_progress(d, ts, length, mss)
        self._bucket(d, ts, length)
        n = self.blk_n[d]
        if n == 0:
            self.blk_ts[d] = ts
            self.blk_bytes[d] = 0
        else:
            self.blk_bytes[d] += length  # bytes sent after the block's first segment
        if n + 1 >= RATE_BLOCK:
            self.blk_n[d] = 0
            span = ts - self.blk_ts[d]
            if span > 0:
                b = int(4 * math.log2(self.blk_bytes[d] / span))
                h = self.rate_hist[d]
                h[b] = h.get(b, 0) + 1
        else:
            self.blk_n[d] = n + 1

        if not outstanding_before:
            self.timer_ts[d] = ts
        self.nxt[d] = end
        self.last_data_ts[d] = ts
        edge = self._sender_edge(d, p, ts)
        # (no room left for another segment of this size: the window, not the sender,
        # decides when the next one goes)
        # windows mean nothing without both SYNs: the scale factor is unknown
        full = (edge > 0 and mss and self.zw_start[d] is None and self.hs_ack_ts is not None
                and edge - end < min(mss, length))
        start = self.rw_start[d]
        if start is None:
            if full:
                self.rw_start[d] = ts
                self.rw_segs[d] = 1
        elif full:
            # released by a sliver of window and full again at once: one long episode
            self.rw_segs[d] += 1
        else:
            self.rw_start[d] = None
            self._rw_close(d, start, ts)

    def _rw_close(self, d: int, start: float, end: float) -> None:
        """Window-bound intervals only a moment apart form one episode."""
        pend = self.rw_pending[d]
        refills = self.rw_segs[d]
        if pend is not None:
            rtt = self.rtt or 0.0
            if start - pend[1] <= max(0.25 * rtt, 0.001):
                self.rw_pending[d] = (pend[0], end, pend[2] + refills)
                return
            self._rw_flush(d)
        self.rw_pending[d] = (start, end, refills)

    def _rw_flush(self, d: int) -> None:
        pend = self.rw_pending[d]
        if pend is not None:
            self.rw_pending[d] = None
            self._add("receive_window", d, pend[0], pend[1] - pend[0], {"refills": pend[2]})

    def _sender_edge(self, d: int, p: int, ts: float) -> int:
        """The window edge the sender of d knew when it sent what we see now.

        Near the sender that is the latest edge advertised.  Further along the path the
        data we see left the sender a while ago, on the strength of an older ACK: the lag
        is one RTT less the ACK delay seen here for d's data (about zero near the
        sender, a full RTT near the receiver).
        """
        rtt = self.rtt
        seen = self.min_rtt_dir[p]
        hist = self.edge_hist[d]
        if not rtt or seen is None or rtt - seen < 0.1 * rtt:
            return self.redge[d]
        t = ts - (rtt - seen)
        while len(hist) >= 2 and hist[1][0] <= t:
            hist.popleft()
        if hist and hist[0][0] <= t:
            return hist[0][1]
        return -1

    def _retransmission(self, v: SegmentVerdict, d: int, ts: float, seq: int,
                        bits: int, late_fill: bool = False) -> None:
        cause = v.retrans_cause
        if late_fill and cause in (None, "reordering"):
            cause = None  # a repair after all; its timing decides whether a timeout
        # repairs more than one RTT apart belong to separate recovery episodes; each
        # episode costs the sender about one round trip
        last = self.rex_last[d]
        if cause not in ("reordering", "network_duplicate", "unneeded") and (
                last is None or ts - last > (self.rtt or 0.0)):
            self.rex_episodes[d] += 1
        self.rex_last[d] = ts
        if cause is None:
            # no cause from the core: a retransmission after a silence longer than any
            # fast-retransmit round is taken for a timeout
            armed = self.timer_ts[d]
            rtt = self.rtt or 0.0
            if bits & _FAST or armed is None or ts - armed < max(0.2, 1.5 * rtt):
                return
            cause = "rto"
        if cause != "rto":
            return
        self.block_ts[d] = ts
        if self.rto_start[d] is None:
            start = self.timer_ts[d]
            if start is None:
                start = self.last_data_ts[d] if self.last_data_ts[d] is not None else ts
            self.rto_start[d] = start
            self.rto_first[d] = ts
            self.rto_seq[d] = seq
            self.rto_n[d] = 1
            self.rto_rexmits[d] = 1
        else:
            self.rto_rexmits[d] += 1
            if seq == self.rto_seq[d]:
                self.rto_n[d] += 1
        self.rto_last[d] = ts

    def _close_rto(self, d: int, end: float) -> None:
        start = self.rto_start[d]
        self.rto_start[d] = None
        silence = self.rto_first[d] - start
        if silence < RTO_MIN_SILENCE or silence > RTO_MAX_SILENCE:
            # too quick for a retransmission timer (a probe or a late repair), or longer
            # than any timer runs (a spliced or broken capture)
            return
        n = self.rto_n[d]
        self._add("rto", d, start, end - start, {
            "timeouts": n, "backoff": n - 1, "first_timeout": self.rto_first[d] - start,
            "retransmissions": self.rto_rexmits[d]})

    def _bucket(self, d: int, ts: float, length: int) -> None:
        start = self.bucket_start[d]
        rtt = self.rtt
        if start is None or rtt is None or ts >= start + rtt:
            if self.bucket_bytes[d] > self.maxbucket[d]:
                self.maxbucket[d] = self.bucket_bytes[d]
            self.bucket_start[d] = ts
            self.bucket_bytes[d] = 0
        self.bucket_bytes[d] += length

    def _nagle(self, d: int, p: int, ts: float, seq: int, length: int, mss: int) -> bool:
        found = False
        sm_ts = self.sm_ts[d]
        if sm_ts is not None and seq == self.sm_end[d] and length < mss:
            ack_ts = self.sm_ack_ts[d]
            if ack_ts is not None and self.sm_ack_pure[d] and not self.sm_peer_data[d]:
                self.nagle_candidates[d] += 1
                rtt = self.rtt or 0.0
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
            self.sm_ts[d] = ts
            self.sm_end[d] = seq + length
            self.sm_ack_ts[d] = None
            self.sm_ack_pure[d] = False
            self.sm_peer_data[d] = False
        else:
            self.sm_ts[d] = None
        return found

    def _idle(self, d: int, p: int, ts: float, prev_ts: float, outstanding: bool,
              mss: int) -> None:
        gap = ts - prev_ts
        rtt = self.rtt or 0.0
        if gap < max(APP_GAP_MIN, 2 * rtt) or outstanding:
            return
        peer_last = self.last_data_ts[p]
        if peer_last is not None and peer_last > prev_ts:
            return  # the peer spoke in between: turn-taking, not an idle sender
        if self.zw_start[d] is not None:
            return
        blocked = self.block_ts[d]
        if blocked is not None and blocked > prev_ts:
            return  # a timeout or a closed window explains the silence
        self._add("app_limited", d, prev_ts, gap, {})
        # slow-start restart: judge the first flight after a pause longer than an RTO
        rto_floor = max(0.2, rtt) + rtt
        if gap >= rto_floor and rtt > 0 and mss:
            self.ssr_t0[d] = ts
            self.ssr_bytes[d] = 0
            self.ssr_prev[d] = max(self.maxbucket[d], self.bucket_bytes[d])
            self.maxbucket[d] = 0
            self.bucket_bytes[d] = 0
            self.bucket_start[d] = None

    def _ssr_progress(self, d: int, ts: float, length: int, mss: int) -> None:
        t0 = self.ssr_t0[d]
        if t0 is None:
            return
        rtt = self.rtt or 0.0
        if ts < t0 + 0.75 * rtt:
            self.ssr_bytes[d] += length
            return
        # the sender still had data one round trip after resuming: was it held back?
        self.ssr_t0[d] = None
        first, prev = self.ssr_bytes[d], self.ssr_prev[d]
        if prev >= 20 * mss and first <= 14 * mss and first * 2 <= prev \
                and len(self.ssr_events) < MAX_SSR:
            self.ssr_events.append({"direction": d, "ts": t0, "first_flight": first,
                                    "flight_before": prev, "mss": mss})

    # --- end of flow --------------------------------------------------------------------
    def finish(self, result: FlowResult) -> None:
        try:
            self._finish(result)
        except Exception:  # never break the analysis over one flow
            self.errors += 1

    def _finish(self, result: FlowResult) -> None:
        end = self.last_ts if self.last_ts is not None else result.end
        for d in (0, 1):
            if self.rto_start[d] is not None:
                self._close_rto(d, max(self.rto_last[d], end))
            if self.zw_start[d] is not None and self.zw_probes[d] > 0:
                start = self.zw_start[d]
                self._add("zero_window", d, start, end - start,
                          {"probes": self.zw_probes[d], "open_at_end": True})
            self.rw_start[d] = None  # a window still full at the end held nothing back
            self._rw_flush(d)
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
        names = (result.client, result.server)
        stalls = self.stalls
        if len(stalls) > MAX_STALLS:
            stalls.sort(key=lambda s: -s[3])
            del stalls[MAX_STALLS:]
        stalls = sorted(stalls, key=lambda s: s[2])
        result.stalls.extend(
            Stall(kind=k, endpoint=names[d], start=start, duration=dur, detail=detail)
            for k, d, start, dur, detail in stalls)
        result.tcp["stall_totals"] = {
            k: {"count": t[0], "seconds": t[1], "max": t[2]} for k, t in self.totals.items()}
        result.tcp["stall_facts"] = self.facts(result)

    def facts(self, result: FlowResult) -> dict:
        """Per-flow facts the findings rules use (JSON-friendly)."""
        return {
            "path_rtt": self.path_rtt(),
            "max_idle_gap": self.max_gap,
            "syn_seen": self.syn_ts is not None,
            "synack_seen": self.synack_ts is not None,
            "handshake_ack_seen": self.hs_ack_ts is not None,
            "syn_retransmissions": self.syn_n,
            "synack_retransmissions": self.synack_n,
            "rst_to_syn": self.rst_to_syn,
            "segments_after_syn": list(self.nonsyn),
            "loss_episodes": list(self.rex_episodes),
            "late_fills": list(self.late_fills),
            "first_syn_ts": self.syn_ts,
            "last_syn_ts": self.syn_last,
            "data_bytes": list(self.data_bytes),
            "first_data_ts": list(self.first_data_ts),
            "last_data_ts": list(self.last_data_ts),
            "max_window_advertised": list(self.max_win),
            "mss": [self.mss[d] or self.maxlen[d] for d in (0, 1)],
            "max_payload": list(self.maxlen),
            "nagle_candidates": list(self.nagle_candidates),
            "keepalive_ts": [list(x) for x in self.keepalive_ts],
            "ssr_events": list(self.ssr_events),
            "fin_first": self.fin_first,
            "resets": list(self.resets),
            "syn_mss": list(self.syn_mss),
            "burst_rate_p90": [_percentile(self.rate_hist[d], 0.9) for d in (0, 1)],
            "max_bytes_per_rtt": [max(self.maxbucket[d], self.bucket_bytes[d]) for d in (0, 1)],
            "observer_errors": self.errors,
        }


def _percentile(hist: dict[int, int], q: float) -> float | None:
    """Bytes/s at quantile q of a quarter-octave histogram (bin centre)."""
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
