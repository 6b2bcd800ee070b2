"""Streaming cwnd estimator: one per flow, one sender model per data direction.

The capture point decides what can be seen:

* sender-side vantage: the sender's window is the data it keeps in flight, the highest
  sequence sent minus the highest cumulative ACK it has received (SACK-aware when the TCP
  core supplies bytes_in_flight).
* receiver-side vantage: a data segment that echoes timestamp X was sent when the sender
  had just received our ACK carrying TSval X, so its end minus that ACK's number is what
  the sender had in flight.  Without timestamps, rounds are one handshake RTT long and the
  window is the data delivered per round.

Both reduce to one rule: inflight = end of data - the ACK the sender knew.  Rounds are
counted as BBR counts them (a round ends when data sent after the previous round ended is
acknowledged).  Everything heavier than a few comparisons happens once per round, so the
per-packet cost is small and memory stays bounded whatever the flow length.
"""

from __future__ import annotations

import math
from array import array
from typing import Any

import cython

from ..arrays import Ring
from ..model import ACK, RST, SYN, FlowResult, Segment, SegmentObserver, SegmentVerdict
from .classify import MIN_ROUNDS, MIN_SEGMENTS, classify
from .registry import CCA_NAMES, make_replicas
from .replicas.base import Replica

if cython.compiled:  # math.log is the C library's log: call that directly
    from cython.cimports.libc.math import log
    from cython.cimports.tcpforensics.arrays import (
        extend_d,
        get_d,
        get_q,
        rounded6,
        set_d,
        set_q,
    )
else:
    from math import log

    from ..arrays import extend_d, get_d, get_q, rounded6, set_d, set_q

# Round flags
_LOSS = 1  # a loss episode was active or began in the round
_RTO = 2  # the loss episode began with a retransmission timeout
_RWND = 4  # the sender filled the receive window
_IDLE = 8  # the sender had nothing outstanding and waited: application-limited

# Rounds kept per sender for the report's cwnd chart, decimated beyond.  Every finished
# flow keeps its series until the report is written, so they are compact: 512 rounds of
# doubles are about 30 KB a sender (a plain list of 2048 boxed numbers was ~550 KB, which
# made memory grow with the number of flows on long captures).
MAX_ROUNDS = 512
MAX_EPOCHS = 500
# A finished loss epoch in SenderEstimator.epoch_log: its _HAS_ bits, t, cwnd_before,
# cwnd_after, beta, beta_smooth, before_pkts, growth_prev (see _log_epoch)
_EPOCH_FIELDS = 8
_HAS_RTO, _HAS_SLOW_START, _HAS_CWND_AFTER, _HAS_BETA, _HAS_BETA_SMOOTH, _HAS_GROWTH = (
    1, 2, 4, 8, 16, 32)
MAX_DIPS = 200
_WIN_COUNTED = 1024  # windows (packets) counted in an array (SenderEstimator.win_counts)
VANTAGE_PROBE_SEGMENTS = 64  # segments buffered to guess the vantage without a handshake
_TSQ_MAX = 4096
_DEFAULT_MSS = 1448
_INF = float("inf")
_UNSET = -(1 << 62)  # a sequence number not known (relative numbers never get there)
# TCP timestamps are 32 bits and wrap: b is later than a when (a - b) & _TS_MASK >= _TS_HALF
_TS_MASK = 0xFFFFFFFF
_TS_HALF = 0x80000000
_SYN = SYN
_ACK = ACK
_SYN_RST = SYN | RST

# How the window is measured (see the module docstring): at the sender (tx), at the
# receiver from the echoed timestamps (rx-ts) or, without them, one RTT back (rx-time)
_TX = 0
_RX_TS = 1
_RX_TIME = 2
_MODES = ("tx", "rx-ts", "rx-time")

# What the replicas are told (SenderEstimator._to_models): a round ended, a loss epoch
# began, recovery ended.  An event is a record of _EVENT doubles in a Ring: its code (the
# kind and the bits below, the MSS above them: code + mss * _MSS_UNIT, exact as a double),
# now and its four numbers.  Fewer than MIN_SEGMENTS
# data segments give a few events each at most (a round needs new data acknowledged, a
# loss a resent segment), far below _EVENTS_MAX; past them the replicas are told every
# _BATCH events.
_ROUND = 0
_LOSS_START = 1
_RECOVERY_END = 2
_KIND = 3  # the kind's bits of a code
_FLAG = 4  # window-limited round / loss epoch begun by a timeout
_SCORED = 8  # the round adds each replica's error to its fit
_SHOWN = 16  # the round is kept in the report's series: the replicas' windows go there
_MSS_UNIT = 32  # the MSS's place in a code (above every bit above)
_EVENT = 6
_EVENTS_LOW = 4
_EVENTS_MAX = 1 << 16
_BATCH = 64  # events told at once: at most 3 KB a sender between two batches
# the classifier's thresholds as C numbers (compiled)
_MIN_SEGMENTS = MIN_SEGMENTS
_MIN_ROUNDS = MIN_ROUNDS



def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def _hist_median(counts: array, hist: dict[int, int] | None) -> float | None:
    """The median window of a histogram: `counts` of the windows below _WIN_COUNTED
    (indexed by window), `hist` of the larger ones (None: none)."""
    total = sum(counts) + (sum(hist.values()) if hist else 0)
    if not total:
        return None
    seen = 0
    for key, n in enumerate(counts):
        seen += n
        if n and 2 * seen >= total:
            return float(key)
    for key in sorted(hist or ()):
        seen += hist[key]
        if 2 * seen >= total:
            return float(key)
    return None


class _Regression:
    """Streaming least squares of y on x (slope with its standard error)."""

    __slots__ = ("n", "sx", "sy", "sxx", "sxy", "syy")

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every point (the object is reused: no allocation per run)."""
        self.n = 0
        self.sx = self.sy = self.sxx = self.sxy = self.syy = 0.0

    def add(self, x: float, y: float) -> None:
        self.n += 1
        self.sx += x
        self.sy += y
        self.sxx += x * x
        self.sxy += x * y
        self.syy += y * y

    def fit(self) -> tuple[float, float] | None:
        """(slope, standard error of the slope), None with too few points."""
        n = self.n
        if n < 3:
            return None
        vxx = self.sxx - self.sx * self.sx / n
        if vxx <= 0:
            return None
        vxy = self.sxy - self.sx * self.sy / n
        vyy = self.syy - self.sy * self.sy / n
        slope = vxy / vxx
        resid = max(vyy - slope * vxy, 0.0)
        se = math.sqrt(resid / (n - 2) / vxx) if n > 2 else float("inf")
        return slope, se


class _RoundSeries:
    """The rounds kept for the report's cwnd chart: each round a record of _ROUND_FIELDS
    doubles (time, window, in flight, delivered) in one array, `limited` as names, and
    per round the data each replica (in registry order, CCA_NAMES) would keep in flight,
    in bytes, a record of its own in another array (added when the replicas are told of
    the round, so these may lag the others until SenderEstimator._models).  A round
    costs one size check per array, not one a column; `columns()` splits the records
    into the columns the report reads, once, when the flow ends."""

    __slots__ = ("rounds", "model_rows", "limited")

    def __init__(self) -> None:
        self.rounds = array("d")
        self.model_rows = array("d")
        self.limited: list[str] = []

    def __len__(self) -> int:
        return len(self.limited)

    def add(self, t: float, cwnd: int, inflight: int, delivered: int, limited: str) -> None:
        rounds = self.rounds
        i = extend_d(rounds, _ROUND_FIELDS)
        set_d(rounds, i, t)
        set_d(rounds, i + 1, cwnd)
        set_d(rounds, i + 2, inflight)
        set_d(rounds, i + 3, delivered)
        self.limited.append(limited)

    def add_models(self, replicas: tuple[Replica, ...], mss: int) -> None:
        """The replicas' windows after a kept round (one for each of CCA_NAMES)."""
        rows = self.model_rows
        i = extend_d(rows, len(replicas))
        for k in range(len(replicas)):
            rep = replicas[k]
            target = int(rep.inflight_target() * mss)
            set_d(rows, i + k, target)

    def halve(self) -> None:
        """Drop every other round (the first is kept)."""
        self.rounds = _every_other(self.rounds, _ROUND_FIELDS)
        self.model_rows = _every_other(self.model_rows, len(CCA_NAMES))
        self.limited = self.limited[::2]

    def columns(self) -> tuple[array, array, array, array, list[array]]:
        """(t, cwnd, inflight, delivered, [each replica's windows, as CCA_NAMES])."""
        out = [_column(self.rounds, _ROUND_FIELDS, k) for k in range(_ROUND_FIELDS)]
        models = [_column(self.model_rows, len(CCA_NAMES), k) for k in range(len(CCA_NAMES))]
        return out[0], out[1], out[2], out[3], models


_ROUND_FIELDS = 4  # doubles a round in _RoundSeries.rounds


def _every_other(records: array, width: int) -> array:
    """The records (of `width` doubles) at even positions: the first, third, ..."""
    n = len(records) // width
    out = array("d", bytes(8 * width * ((n + 1) // 2)))
    j = 0
    for r in range(0, n, 2):
        for k in range(width):
            set_d(out, j + k, get_d(records, r * width + k))
        j += width
    return out


def _column(records: array, width: int, k: int) -> array:
    """Field k of every record (of `width` doubles)."""
    n = len(records) // width
    out = array("d", bytes(8 * n))
    for r in range(n):
        set_d(out, r, get_d(records, r * width + k))
    return out


_MARK = 5  # doubles per mark in a _MarkQueue: tsval, t, ack, win, open
_MARKS_LOW = 4  # a mark queue's least room (slots), once used


class _MarkQueue(Ring):
    """A first-in first-out queue of marks (tsq, ackq), at most _TSQ_MAX long.

    A mark is an ACK the sender may echo, or a timestamp it sent: its `tsval`, `t` (when
    first seen), `ack`, `win`, and whether it is still open (until it has given an RTT
    sample: one sample per echoed value).  The marks are records of _MARK doubles in a
    Ring, read and written by offset (`first()`, `second()`, `last()`): with many flows
    interleaved an object per mark was a cache miss per packet, and a full queue 300 KB
    of them.  The numbers are integers below 2**53 (exact as doubles) and times."""

    __slots__ = ()

    def add(self, tsval: int, t: float, ack: int, win: int) -> None:
        """A new open mark after the others (the oldest drops out of a full queue)."""
        i = self.push()
        self.put(i, tsval)
        self.put(i + 1, t)
        self.put(i + 2, ack)
        self.put(i + 3, win)
        self.put(i + 4, 1.0)

    # the fields of the mark at offset i
    def tsval(self, i: int) -> int:
        return int(self.get(i))

    def time(self, i: int) -> float:
        return self.get(i + 1)

    def ack(self, i: int) -> int:
        return int(self.get(i + 2))

    def win(self, i: int) -> int:
        return int(self.get(i + 3))

    def is_open(self, i: int) -> bool:
        return self.get(i + 4) != 0.0

    def set_ack(self, i: int, ack: int) -> None:
        self.put(i + 2, ack)

    def set_win(self, i: int, win: int) -> None:
        self.put(i + 3, win)

    def close(self, i: int) -> None:
        self.put(i + 4, 0.0)


def _mark_queue() -> _MarkQueue:
    """An empty mark queue (compiled: a C allocation and a C call, no Python call)."""
    q = _MarkQueue.__new__(_MarkQueue)
    q.setup(_MARK, _MARKS_LOW, _TSQ_MAX)
    return q


class SenderEstimator:
    """Window estimate, rounds, loss epochs and replicas for one data direction."""

    __slots__ = (
        "direction", "vantage", "mss", "snd_nxt", "una", "rwnd", "data_bytes", "data_segs",
        "first_ts", "last_data_ts", "last_ack_ts", "tsq", "ackq", "rtt_min", "srtt",
        "rtt_base", "round_end", "round_start", "r_inflight", "r_delivered", "r_sent",
        "r_rtt", "r_flags", "last_cwnd", "in_recovery", "recovery_point",
        "epoch", "epoch_log", "await_after", "rounds_total", "rounds_cwnd", "rounds_rwnd",
        "rounds_app", "keep_series", "series", "stride", "skip", "replicas", "rep_err",
        "rep_n", "recent", "recent_i", "dip", "dips", "rounds_since_rto", "run", "best_run",
        "ca_reg",
        "retrans", "holes", "mode", "round_index", "mss_cap",
        "clean", "clean_i", "clean_n", "prev_flags", "win_counts", "win_hist", "n_epochs",
        "rwnd_known", "ack_clocked", "new_segs", "dip_exit", "model_events",
    )

    def __init__(self, direction: int, vantage: str, rtt_base: float | None) -> None:
        self.direction = direction
        self.vantage = vantage  # sender | receiver | unknown
        # receiver vantage with timestamps: rx-ts; without: rx-time; else tx (see _MODES)
        self.mode = _RX_TS if vantage == "receiver" else _TX
        self.mss = 0
        self.mss_cap = 1460  # largest payload taken as one packet (TSO super-segments aren't)
        self.snd_nxt = 0  # set by the first data segment (data_segs > 0)
        self.una = 0
        self.rwnd = 0  # 0: not known yet
        self.data_bytes = 0
        self.data_segs = 0
        self.first_ts = 0.0  # set by the first data segment
        self.last_data_ts = 0.0
        self.last_ack_ts = 0.0
        self.tsq = _mark_queue()  # the peer's ACKs (rx-ts) / our TSvals (tx)
        # receiver ACKs (the no-timestamp fallback): made by the first (a sender's own
        # estimator, most of them, never needs it)
        self.ackq: _MarkQueue | None = None
        self.rtt_min = _INF
        self.srtt = 0.0
        self.rtt_base = rtt_base or 0.0
        self.round_end = _UNSET  # _UNSET: nothing outstanding, next data opens a round
        self.round_start = 0.0
        self.r_inflight = 0
        self.r_delivered = 0
        self.r_sent = 0
        self.r_rtt = _INF
        self.r_flags = 0
        self.last_cwnd = 0  # 0: no window-limited round yet
        self.in_recovery = False
        self.recovery_point = _UNSET  # _UNSET: not known yet (a hole not yet resent)
        self.epoch: dict | None = None  # the current / last loss epoch
        # the loss epochs before it (of the first MAX_EPOCHS), _EPOCH_FIELDS doubles each
        self.epoch_log: array | None = None
        self.await_after: dict | None = None
        self.rounds_total = self.rounds_cwnd = self.rounds_rwnd = self.rounds_app = 0
        # the report series and the replicas are made when the first round closes (or
        # the first loss starts): most flows are short and never get there
        self.keep_series = True  # off when no report will draw it (Options.report_details)
        self.series: _RoundSeries | None = None
        self.stride = 1  # rounds per round kept in the series
        self.skip = 0  # rounds to pass before the next one kept
        self.replicas: tuple[Replica, ...] | None = None  # in registry order (CCA_NAMES)
        self.rep_err: array | None = None  # summed fit error of each replica (doubles)
        self.rep_n = 0
        # what the replicas are told while they are not made (see _to_models), None: none
        self.model_events: Ring | None = None
        # windows (packets) of the last 8 rounds, a ring; 0.0 where no round was yet:
        # windows are never negative, so it takes no part in their maximum
        self.recent = [0.0] * 8  # compiled: a C array of doubles
        self.recent_i = 0
        # inflight of the last clean rounds: a ring of 3 (compiled: a C array), with the
        # slot of the next one and how many are held
        self.clean = [0, 0, 0]
        self.clean_i = 0
        self.clean_n = 0
        self.prev_flags = 0
        # clean rounds per window size (packets): counted in an array below _WIN_COUNTED
        # (one item read and written a round, where a dict took a few cache lines and a
        # new int object), in a dict above (None until then)
        self.win_counts = array("q")
        self.win_hist: dict[int, int] | None = None
        self.n_epochs = 0
        self.ack_clocked = 0  # new segments sent within 50 us of an ACK (sender side)
        self.new_segs = 0
        self.dip_exit: list | None = None  # a dip whose window is still coming back
        # without the SYNs the window scale is unknown: the raw field is no window limit
        self.rwnd_known = True
        self.dip: list | None = None
        self.dips: list[dict] = []
        self.rounds_since_rto = 1 << 30
        self.run = _Regression()  # current loss-free cwnd-limited run
        self.best_run: dict | None = None
        self.ca_reg = _Regression()
        self.retrans = 0
        self.holes = 0
        self.round_index = 0

    # --- helpers ---------------------------------------------------------------------------
    def _models(self) -> tuple[Replica, ...]:
        """The replicas (and their fit errors), made on first use, told every event kept
        for them (see _to_models)."""
        reps = self.replicas
        if reps is None:
            reps = self.replicas = tuple(make_replicas().values())
            self.rep_err = array("d", bytes(8 * len(reps)))
        events = self.model_events
        if events is not None and events.size():
            for k in range(events.size()):
                self._apply(reps, events, events.at(k))
            events.clear()
        return reps

    def _to_models(self, kind: int, now: float, a: float, b: float, c: float, d: float,
                   bits: int, mss: int) -> None:
        """Keep an event for the replicas (see _apply); `bits`: _FLAG, _SCORED, _SHOWN.

        The replicas are told in batches: with many flows interleaved, the three of them
        and their fit errors are a dozen cache lines, each a miss when a round touches
        them, while an event is one line written after the last.  Replicas also cost more
        to make than a short flow costs to follow, and what they give, the fit error the
        classifier reads and the report's model series, is only wanted from a sender of
        MIN_SEGMENTS data segments on (the classifier names none below) unless the
        series is kept: most flows of a busy capture never send that many, and keep
        their few events until the end.  Told late or at once, the replicas get the same
        calls in the same order, with the same numbers."""
        events = self.model_events
        if events is None:
            events = self.model_events = Ring.__new__(Ring)  # compiled: no call
            events.setup(_EVENT, _EVENTS_LOW, _EVENTS_MAX)
        i = events.push()
        events.put(i, (kind | bits) + mss * _MSS_UNIT)
        events.put(i + 1, now)
        events.put(i + 2, a)
        events.put(i + 3, b)
        events.put(i + 4, c)
        events.put(i + 5, d)
        if events.size() >= _BATCH and (self.keep_series or self.data_segs >= _MIN_SEGMENTS):
            self._models()

    def _apply(self, reps: tuple[Replica, ...], events: Ring, i: int) -> None:
        """Tell the replicas of the event at offset i of `events` (now, a, b, c, d):
        _ROUND: the round's ACKs as one batch, `a` packets delivered, `b` an RTT sample
        and `d` a delivery rate (0.0: none), `c` packets in flight, _FLAG window-limited;
        _SCORED: add each replica's error against the window to its fit; _SHOWN: add
        their windows to the series.
        _LOSS_START: the models start from `a` packets and cut (_FLAG: a timeout).
        _RECOVERY_END: recovery ended."""
        code = int(events.get(i))
        kind = code & _KIND
        now = events.get(i + 1)
        if kind == _ROUND:
            c = events.get(i + 4)
            for rep in reps:
                rep.new_round(now)
                rep.on_ack(now, events.get(i + 2), events.get(i + 3), c, events.get(i + 5),
                           code & _FLAG != 0)
            if code & _SCORED:
                err = self.rep_err
                for j, rep in enumerate(reps):
                    pred = max(rep.inflight_target(), 1.0)
                    set_d(err, j, get_d(err, j) + abs(log(pred / max(c, 1.0))))
            if code & _SHOWN:
                self.series.add_models(reps, code // _MSS_UNIT)
        elif kind == _LOSS_START:
            a = events.get(i + 2)
            for rep in reps:
                rep.anchor(a, now)
                if code & _FLAG:
                    rep.on_rto(now)
                else:
                    rep.on_loss(now)
        else:
            for rep in reps:
                rep.on_recovery_end(now)
    def _clean_rounds(self) -> list[int]:
        """The inflight of the last (up to 3) clean rounds, oldest first."""
        n = self.clean_n
        return [self.clean[(self.clean_i - n + k + 3) % 3] for k in range(n)]

    def _rtt_sample(self, rtt: float) -> None:
        if rtt <= 0 or rtt > 60:
            return
        if rtt < self.rtt_min:
            self.rtt_min = rtt
        self.srtt = rtt if self.srtt == 0 else 0.875 * self.srtt + 0.125 * rtt
        if rtt < self.r_rtt:
            self.r_rtt = rtt

    def _timeout_gap(self, gap: float) -> bool:
        """A silence a retransmission timeout explains (Linux: RTO >= RTT + 200 ms).
        Shorter ones are tail-loss probes, after which recovery cuts the window as a
        fast retransmit does."""
        base = self.rtt_min if self.rtt_min != _INF else self._rtt()
        return gap >= base + 0.18

    def _rtt(self) -> float:
        if self.srtt > 0:
            return self.srtt
        return self.rtt_base or 0.1

    # --- data segment of this direction ----------------------------------------------------
    def on_data(self, seg: Segment, v: SegmentVerdict) -> None:
        now = seg.ts
        length = seg.length
        seq = v.rel_seq
        end = seq + length
        if length > self.mss and length <= self.mss_cap:
            self.mss = length
        if self.data_segs == 0:
            self.first_ts = now
            self.snd_nxt = seq
            self.una = seq
            self.round_end = end
            self.round_start = now
        self.data_segs += 1
        gap = now - self.last_data_ts if self.data_segs > 1 else 0.0
        if self.round_end == _UNSET:  # the previous round ended with nothing outstanding
            self.round_start = now
            self.round_end = end
        snd_nxt = self.snd_nxt
        mode = self.mode
        if mode == _TX:
            tsval = seg.raw_tsval
            if tsval >= 0:
                self._tx_ts(tsval, now)
        elif mode == _RX_TS:
            self._rx_echoed_ack(seg.raw_tsecr, now, gap)
        else:
            self._rx_past_ack(now)
        if end > snd_nxt:
            if seq > snd_nxt and mode != _TX:
                self._loss_start(now, gap, True, False)  # receiver sees a hole
            # application-limited: nothing outstanding and the sender waited
            if self.una >= snd_nxt and self.data_segs > 1:
                base = self.rtt_min if self.rtt_min != _INF else self._rtt()
                thresh = 0.001 + 0.1 * self._rtt() if mode == _TX else 0.005 + 1.5 * base
                if gap > thresh and now - self.last_ack_ts > (0.001 if mode == _TX else 0.0):
                    self.r_flags |= _IDLE
            if mode == _TX:
                # pacing regularity: an ACK-clocked sender answers ACKs at once, a paced
                # one (BBR) sends on its own timer
                self.new_segs += 1
                if 0.0 <= now - self.last_ack_ts < 5e-5:
                    self.ack_clocked += 1
            self.data_bytes += end - snd_nxt
            self.r_sent += end - snd_nxt
            if mode != _TX:
                self.r_delivered += end - snd_nxt
            self.snd_nxt = snd_nxt = end
        elif length > 0:
            self._on_retransmission(v.retrans_cause, now, gap, snd_nxt)
        # the window estimate: data in flight as the sender saw it
        if mode == _TX:
            inflight = snd_nxt - self.una
            bif = v.raw_bytes_in_flight
            if bif >= 0:
                sack_aware = bif
                if 0 < sack_aware < inflight:
                    inflight = sack_aware
        else:
            inflight = snd_nxt - self.una if end >= snd_nxt else 0
        if inflight > self.r_inflight:
            self.r_inflight = inflight
        rwnd = self.rwnd
        if rwnd > 0 and self.rwnd_known and snd_nxt - self.una >= rwnd - max(self.mss, 536) * 2:
            self.r_flags |= _RWND
        self.last_data_ts = now
        if mode == _RX_TIME and now - self.round_start >= self._rtt():
            self._close_round(now)

    def _on_retransmission(self, cause: str | None, now: float, gap: float,
                           snd_nxt: int) -> None:
        self.retrans += 1
        if self.mode == _TX:
            if cause not in ("network_duplicate", "unneeded", "reordering"):
                rto = (cause is None or cause == "rto") and self._timeout_gap(gap)
                if not self.in_recovery:
                    self._loss_start(now, gap, False, rto)
                elif rto and self.epoch is not None:
                    self.epoch["rto"] = True
                    self.r_flags |= _RTO
        else:
            rto = self._timeout_gap(gap)
            if not self.in_recovery:
                self._loss_start(now, gap, False, rto)
            if self.recovery_point == _UNSET:
                self.recovery_point = snd_nxt  # the sender has reacted by now
            if rto and self.epoch is not None:
                self.epoch["rto"] = True
                self.r_flags |= _RTO

    def _tx_ts(self, tsval: int, now: float) -> None:
        q = self.tsq
        if q.size() and q.tsval(q.last()) == tsval:
            return
        q.add(tsval, now, 0, 0)

    def _rx_echoed_ack(self, tsecr: int, now: float, gap: float) -> None:
        """Receiver vantage: which of our ACKs had the sender seen when it sent this?
        The one whose TSval the data echoes (`tsecr` -1: the data echoes none)."""
        q = self.tsq
        if tsecr < 0 or not q.size():
            return
        echo = tsecr
        while q.size() > 1:  # drop the ACKs the sender had seen a later one of
            if ((echo - q.tsval(q.second())) & _TS_MASK) >= _TS_HALF:
                break
            q.pop_first()
        head = q.first()
        if q.tsval(head) == echo:
            ack = q.ack(head)
            if ack > self.una:
                self._advance(ack, now)
            self.rwnd = q.win(head)
            # after a pause the echo spans the sender's idle time, not an RTT
            if q.is_open(head) and ack > 0 and \
                    (self.rtt_min == _INF or gap < 2.0 * self.rtt_min):
                self._rtt_sample(now - q.time(head))
                q.close(head)

    def _rx_past_ack(self, now: float) -> None:
        """Receiver vantage without timestamps: the ACK sent one base RTT ago."""
        q = self.ackq
        if q is None:
            return
        horizon = now - self._rtt()
        while q.size() > 1:
            if q.time(q.second()) > horizon:
                break
            q.pop_first()
        if q.size():
            head = q.first()
            if q.time(head) <= horizon:
                ack = q.ack(head)
                if ack > self.una:
                    self._advance(ack, now)
                self.rwnd = q.win(head)

    # --- ACK from the peer (about this direction's data) -----------------------------------
    def on_peer_ack(self, seg: Segment, v: SegmentVerdict) -> None:
        if self.data_segs == 0:
            return
        now = seg.ts
        ack = v.rel_ack
        self.last_ack_ts = now
        if self.mode == _TX:
            self.rwnd = v.win_scaled
            ack_rtt = v.raw_ack_rtt
            tsecr = seg.raw_tsecr
            if ack_rtt >= 0.0:
                self._rtt_sample(ack_rtt)
                # the sample came from the TCP core, but the marks this ACK echoes past
                # still go: without this a loss-free flow's queue only grew (to _TSQ_MAX)
                if tsecr >= 0 and self.tsq.size():
                    self._tx_forget(tsecr)
            elif tsecr >= 0 and self.tsq.size():
                self._tx_echo(tsecr, now)
            if ack > self.una:
                self.r_delivered += ack - self.una
                self._advance(ack, now)
            return
        # our own ACK as receiver: remember it for when the sender echoes it
        win = v.win_scaled
        tsval = seg.raw_tsval
        if tsval >= 0 and self.mode == _RX_TS:
            self._remember_ack(tsval, now, ack, win)
            return
        q = self.ackq
        if q is None:
            q = self.ackq = _mark_queue()
        elif q.size():
            last = q.last()
            if q.ack(last) == ack and q.win(last) == win:
                return
        q.add(0, now, ack, win)

    def _remember_ack(self, tsval: int, now: float, ack: int, win: int) -> None:
        """Our ACK as receiver, by the TSval it carries (several ACKs share one TSval)."""
        q = self.tsq
        if q.size():
            last = q.last()
            if q.tsval(last) == tsval:
                if ack > q.ack(last):
                    q.set_ack(last, ack)
                q.set_win(last, win)
                return
        q.add(tsval, now, ack, win)

    def _tx_forget(self, tsecr: int) -> int:
        """Drop the marks older than `tsecr` (the peer has echoed past them)."""
        q = self.tsq
        while q.size():
            tsval = q.tsval(q.first())
            if tsval == tsecr or ((tsecr - tsval) & _TS_MASK) >= _TS_HALF:
                break
            q.pop_first()
        return 0

    def _tx_echo(self, tsecr: int, now: float) -> None:
        """An RTT sample from the open mark the peer echoes, if any."""
        self._tx_forget(tsecr)
        q = self.tsq
        if q.size():
            head = q.first()
            if q.tsval(head) == tsecr and q.is_open(head):
                self._rtt_sample(now - q.time(head))
                q.close(head)

    def _advance(self, ack: int, now: float) -> None:
        """The sender learned of a new cumulative ACK."""
        self.una = ack
        if self.in_recovery:
            if self.recovery_point == _UNSET and self.epoch is not None and \
                    ack > self.epoch.get("hole", ack):
                self.recovery_point = self.snd_nxt  # hole filled without a visible resend
            if self.recovery_point != _UNSET and ack >= self.recovery_point:
                self._loss_end(now)
                return
        if self.round_end != _UNSET and ack >= self.round_end and self.mode != _RX_TIME:
            self._close_round(now)

    # --- loss epochs -------------------------------------------------------------------------
    def _loss_start(self, now: float, gap: float, hole: bool, rto: bool = False) -> None:
        if self.in_recovery:
            return
        if hole:
            self.holes += 1
        mss = self.mss or _DEFAULT_MSS
        # the window before the loss: its peak (the last clean round or this one), and the
        # median of the last clean rounds, which one round paced at 1.25x (BBR probing)
        # or one burst does not move
        hist = self._clean_rounds()
        last_clean = hist[-1] if hist else 0
        peak = max(self.r_inflight, last_clean)
        before = _median(hist) if hist else peak
        # still in slow start (the window grew by half within three rounds): the cut is
        # taken from a window that had not caught up with cwnd; not a clean measure
        slow_start = not hist or max(hist) > 1.5 * min(hist) or peak > 1.5 * hist[-1]
        if slow_start:
            before = peak

        self.in_recovery = True
        self.recovery_point = _UNSET if hole else self.snd_nxt
        self.r_flags |= _LOSS | (_RTO if rto else 0)
        if self.await_after is not None:
            self._settle(self.await_after)  # next loss came: settle on what was seen
        epoch = {"t": now, "cwnd_before": int(peak), "cwnd_after": None, "beta": None,
                 "beta_smooth": None, "rto": rto, "before_pkts": peak / mss,
                 "before_smooth": before, "hole": self.snd_nxt, "after": [],
                 "slow_start": slow_start}
        # growth of the congestion-avoidance period that this loss ends
        fit = self.ca_reg.fit()
        if fit is not None and self.ca_reg.n >= 4:
            epoch["growth_prev"] = round(fit[0], 3)  # packets per round
        self.ca_reg.reset()
        if self.epoch is not None and self.n_epochs <= MAX_EPOCHS:
            self._log_epoch(self.epoch)  # the one before is done with: kept as numbers
        self.epoch = epoch
        self.n_epochs += 1
        self._to_models(_LOSS_START, now, before / mss, 0.0, 0.0, 0.0, _FLAG if rto else 0, mss)

    def _settle(self, epoch: dict) -> None:
        """The window after a loss epoch: median of up to 3 clean rounds after recovery."""
        after = epoch.get("after")
        if after:
            # sharp: first clean round over the peak (tells 0.5 from 0.7 even while the
            # window regrows); smooth: medians of a few rounds each side (tells a cut
            # from BBR's gain cycling)
            epoch["cwnd_after"] = int(after[0])
            if epoch["cwnd_before"] > 0:
                epoch["beta"] = round(after[0] / epoch["cwnd_before"], 3)
            if epoch["before_smooth"] > 0:
                epoch["beta_smooth"] = round(_median(after) / epoch["before_smooth"], 3)
            epoch["after_rounds"] = len(after)
        epoch["after"] = []
        if self.await_after is epoch:
            self.await_after = None

    def _log_epoch(self, epoch: dict) -> None:
        """Keep a finished loss epoch as the numbers the classifier and the report read
        (a record of _EPOCH_FIELDS doubles in epoch_log): a lossy long sender kept up to
        MAX_EPOCHS dicts, about 1 KB each."""
        log = self.epoch_log
        if log is None:
            log = self.epoch_log = array("d")
        cwnd_after = epoch["cwnd_after"]
        beta = epoch["beta"]
        beta_smooth = epoch["beta_smooth"]
        growth = epoch.get("growth_prev")
        has = ((_HAS_RTO if epoch["rto"] else 0) | (_HAS_SLOW_START if epoch["slow_start"] else 0)
               | (_HAS_CWND_AFTER if cwnd_after is not None else 0)
               | (_HAS_BETA if beta is not None else 0)
               | (_HAS_BETA_SMOOTH if beta_smooth is not None else 0)
               | (_HAS_GROWTH if "growth_prev" in epoch else 0))
        log.extend((has, epoch["t"], epoch["cwnd_before"],
                    cwnd_after if cwnd_after is not None else 0.0,
                    beta if beta is not None else 0.0,
                    beta_smooth if beta_smooth is not None else 0.0,
                    epoch["before_pkts"], growth if growth is not None else 0.0))

    def all_epochs(self) -> list[dict]:
        """Every loss epoch kept, oldest first: the logged ones as dicts of what is read
        of them (t, cwnd_before, cwnd_after, beta, beta_smooth, rto, before_pkts,
        slow_start, growth_prev when there was one), then the current one (the first
        MAX_EPOCHS of them)."""
        log = self.epoch_log
        out = []
        for i in range(0, len(log) if log is not None else 0, _EPOCH_FIELDS):
            has = int(log[i])
            e = {"t": log[i + 1], "cwnd_before": int(log[i + 2]),
                 "cwnd_after": int(log[i + 3]) if has & _HAS_CWND_AFTER else None,
                 "beta": log[i + 4] if has & _HAS_BETA else None,
                 "beta_smooth": log[i + 5] if has & _HAS_BETA_SMOOTH else None,
                 "rto": has & _HAS_RTO != 0, "before_pkts": log[i + 6],
                 "slow_start": has & _HAS_SLOW_START != 0}
            if has & _HAS_GROWTH:
                e["growth_prev"] = log[i + 7]
            out.append(e)
        if self.epoch is not None and self.n_epochs <= MAX_EPOCHS:
            out.append(self.epoch)
        return out

    def _loss_end(self, now: float) -> None:
        self.in_recovery = False
        self.recovery_point = _UNSET
        self._to_models(_RECOVERY_END, now, 0.0, 0.0, 0.0, 0.0, 0, 0)
        if self.epoch is not None:
            self.epoch["end"] = now
            self.await_after = self.epoch
        # the next full round measures the window the sender settled on
        self._close_round(now)

    # --- rounds ------------------------------------------------------------------------------
    def _close_round(self, now: float) -> None:
        duration = now - self.round_start
        flags = self.r_flags
        if self.in_recovery:
            flags |= _LOSS
        mss = self.mss or _DEFAULT_MSS
        inflight = self.r_inflight
        cwnd_pkts = inflight / mss
        self.rounds_total += 1
        self.round_index += 1
        if flags & _RTO:
            self.rounds_since_rto = 0
        else:
            self.rounds_since_rto += 1
        if flags & _IDLE or (self.r_sent == 0 and inflight == 0):
            limited = "app"
            cwnd_limited = False
            self.rounds_app += 1
        elif flags & _RWND:
            limited = "rwnd"
            cwnd_limited = False
            self.rounds_rwnd += 1
        else:
            limited = "cwnd"
            cwnd_limited = True  # (a flag, not a test of the name: compiled, that is a call)
            self.rounds_cwnd += 1
        clean = cwnd_limited and not flags & (_LOSS | _RTO) and inflight > 0
        # the window after a loss epoch: first clean round after recovery
        aw = self.await_after
        if aw is not None and self.round_start >= aw.get("end", now) - 1e-9:
            if clean:
                aw["after"].append(inflight)
                if len(aw["after"]) >= 3:
                    self._settle(aw)
            else:
                self._settle(aw)
        # replicas: fed the round's ACKs as one batch (0.0: no RTT / rate sample)
        delivered_pkts = self.r_delivered / mss
        rtt = self.r_rtt if self.r_rtt != _INF else 0.0
        rate = delivered_pkts / duration if duration > 0 and delivered_pkts > 0 else 0.0
        bits = _FLAG if cwnd_limited else 0
        if clean and cwnd_pkts >= 1 and not self.in_recovery and self.rounds_since_rto > 3:
            bits |= _SCORED
            self.rep_n += 1
        shown = self.keep_series and self.skip == 0  # kept in the report's series
        s = self.series
        if shown:
            bits |= _SHOWN
            if s is None:  # before the event: the replicas may be told of it at once
                s = self.series = _RoundSeries()
        self._to_models(_ROUND, now, delivered_pkts, rtt, cwnd_pkts, rate, bits, mss)
        if clean:
            self.ca_reg.add(self.round_index, cwnd_pkts)
            self.clean[self.clean_i] = inflight
            self.clean_i = (self.clean_i + 1) % 3
            if self.clean_n < 3:
                self.clean_n += 1
            pkts = int(cwnd_pkts + 0.5)  # a C integer in the compiled build: no boxing
            if pkts < _WIN_COUNTED:
                counts = self.win_counts
                if pkts >= len(counts):
                    counts.frombytes(bytes(8 * (pkts + 1 - len(counts))))
                set_q(counts, pkts, get_q(counts, pkts) + 1)
            else:
                key = min(pkts, 100000)
                hist = self.win_hist
                if hist is None:
                    hist = self.win_hist = {}
                hist[key] = hist.get(key, 0) + 1
        self._track_plateau(clean, cwnd_pkts, flags)
        self._track_dip(now, cwnd_pkts, flags, limited)
        # series for the report, decimated to stay bounded
        if shown:
            if flags & _LOSS:  # recovery rounds: the window is being cut, not measured
                window = min(inflight, self.last_cwnd or inflight)  # last_cwnd 0: none yet
            else:
                window = inflight if cwnd_limited else self.last_cwnd or inflight
            s.add(now, window, inflight, self.r_delivered, limited)
            if len(s.limited) >= MAX_ROUNDS:
                self._models()  # the replicas' columns are complete
                s.halve()
                self.stride *= 2
            self.skip = self.stride - 1
        elif self.keep_series:
            self.skip -= 1
        if cwnd_limited and inflight > 0:
            self.last_cwnd = inflight
        self.recent[self.recent_i] = cwnd_pkts
        self.recent_i = (self.recent_i + 1) & 7
        # next round
        self.round_start = now
        # nothing outstanding: the next round starts with the next data sent
        self.round_end = self.snd_nxt if self.una < self.snd_nxt else _UNSET
        self.r_inflight = 0
        self.r_delivered = 0
        self.r_sent = 0
        self.r_rtt = _INF
        self.r_flags = 0

    def _track_plateau(self, clean: bool, cwnd_pkts: float, flags: int) -> None:
        """Longest loss-free run of window-limited rounds and how the window moved in it."""
        if clean and self.rounds_since_rto > 3:
            self.run.add(self.round_index, cwnd_pkts)
            return
        if flags & (_LOSS | _RTO) or not clean:
            self._end_run()

    def _end_run(self) -> None:
        run = self.run
        if run.n >= 10:
            fit = run.fit()
            if fit is not None and (self.best_run is None or run.n > self.best_run["rounds"]):
                self.best_run = {"rounds": run.n, "slope": round(fit[0], 3),
                                 "slope_se": round(fit[1], 3),
                                 "mean_pkts": round(run.sy / run.n, 1)}
        run.reset()

    def _track_dip(self, now: float, cwnd_pkts: float, flags: int, limited: str) -> None:
        """BBR ProbeRTT: the window falls to about 4 packets for 200 ms, with no loss.

        A timeout restarts a loss-based sender at one packet and its window doubles
        from there, so a dip must hold at 3 to 4.5 packets from its first round, must
        not follow a loss round, and the window must come back up afterwards."""
        high = 0.0  # the largest window of the last rounds (windows are never negative)
        for pkts in self.recent:
            if pkts > high:
                high = pkts
        quiet = not flags & (_LOSS | _RTO | _IDLE) and not self.in_recovery
        pending = self.dip_exit
        if pending is not None:
            # BBR leaves ProbeRTT ramping up: give the window three rounds to come back
            record, left = pending
            if quiet and cwnd_pkts >= 0.4 * record["high_pkts"]:
                if len(self.dips) < MAX_DIPS:
                    self.dips.append(record)
                self.dip_exit = None
            elif not quiet or left <= 1:
                self.dip_exit = None
            else:
                pending[1] = left - 1
        if self.dip is None:
            if (quiet and 2.5 <= cwnd_pkts <= 4.5 and high >= 10.0 and cwnd_pkts <= 0.45 * high
                    and not self.prev_flags & (_LOSS | _RTO)):
                self.dip = [self.round_start, now, high, cwnd_pkts]
        elif quiet and 2.5 <= cwnd_pkts <= 4.5:
            self.dip[1] = now
            self.dip[3] = min(self.dip[3], cwnd_pkts)
        else:
            start, end, high_before, low = self.dip
            self.dip = None
            if quiet and cwnd_pkts > 4.5:
                record = {"t": round(start, 6), "duration": round(end - start, 4),
                          "low_pkts": round(low, 1), "high_pkts": round(high_before, 1)}
                self.dip_exit = [record, 3]
                if cwnd_pkts >= 0.4 * high_before:
                    self.dip_exit = None
                    if len(self.dips) < MAX_DIPS:
                        self.dips.append(record)
        self.prev_flags = flags

    # --- results -----------------------------------------------------------------------------
    def cwnd_estimate(self) -> int | None:
        if self.last_cwnd > 0:
            return self.last_cwnd if self.in_recovery else max(self.last_cwnd, self.r_inflight)
        return self.r_inflight or None

    def settle(self) -> None:
        """At the end: settle the last loss epoch on the rounds seen after it."""
        if self.await_after is not None:
            self._settle(self.await_after)

    def judged(self) -> bool:
        """Enough data for the classifier to answer (it returns None below)."""
        return self.data_segs >= _MIN_SEGMENTS and self.rounds_total >= _MIN_ROUNDS

    def features(self) -> dict[str, Any]:
        self._end_run()
        self.settle()
        n = self.rep_n
        if n:
            self._models()  # made or told what they were not yet: they give the fit errors
        fit = {name: round(e / n, 4)
               for name, e in zip(CCA_NAMES, self.rep_err, strict=True)} if n else {}
        duration = (self.last_data_ts - self.first_ts) if self.data_segs else 0.0
        return {
            "vantage": self.vantage,
            "mode": _MODES[self.mode],
            "mss": self.mss or _DEFAULT_MSS,
            "data_bytes": self.data_bytes,
            "data_segments": self.data_segs,
            "duration": round(duration, 6),
            "rtt_min": None if self.rtt_min == _INF else round(self.rtt_min, 6),
            "rounds": self.rounds_total,
            "rounds_cwnd": self.rounds_cwnd,
            "rounds_rwnd": self.rounds_rwnd,
            "rounds_app": self.rounds_app,
            "epochs": self.all_epochs(),
            "replica_fit": fit,
            "replica_rounds": n,
            "dips": self.dips,
            "plateau": self.best_run,
            "retransmissions": self.retrans,
            "median_window_pkts": _hist_median(self.win_counts, self.win_hist),
            "loss_epochs_total": self.n_epochs,
            "ack_clocked_fraction": round(self.ack_clocked / self.new_segs, 3)
            if self.new_segs >= 100 else None,
        }

    def cwnd_record(self, addr: str) -> dict:
        s = self.series
        if s is None:
            s = _RoundSeries()
        else:
            self._models()  # the replicas' columns are complete
        t, cwnd, inflight, delivered, models = s.columns()
        return {  # the estimator is dropped after this: hand its series over
            "addr": addr,
            "vantage": self.vantage,
            "rounds": {"t": rounded6(t), "cwnd": cwnd, "inflight": inflight,
                       "delivered": delivered, "limited": s.limited},
            "replicas": dict(zip(CCA_NAMES, models, strict=True)),
            "loss_epochs": [
                {"t": e["t"], "cwnd_before": e["cwnd_before"], "cwnd_after": e["cwnd_after"],
                 "beta": e["beta"]} for e in self.all_epochs()
            ],
            "round_stride": self.stride,
        }


class CwndObserver(SegmentObserver):
    """Per-flow observer: finds the vantage, then drives one estimator per data sender.

    Most flows of a busy capture carry no data (scans, SYN floods, refused connections),
    so an observer starts empty: estimators are made by the first data segment of their
    direction, and segments are buffered only while the vantage is undecided."""

    __slots__ = ("flow_id", "syn_t", "synack_t", "ack_t", "side", "sender0", "sender1",
                 "pending", "probed", "decided", "ts_ok", "mss_opt0", "mss_opt1", "series")

    def __init__(self, flow: Any = None, series: bool = True) -> None:
        self.flow_id = getattr(flow, "id", None)
        # keep the report's cwnd chart series (rounds, replicas), about 30 KB a sender
        # held until the end of the run: off when no report is made
        self.series = series
        self.syn_t: float | None = None
        self.synack_t: float | None = None
        self.ack_t: float | None = None
        self.side: str | None = None  # capture point: client | server | None (unknown)
        self.sender0: SenderEstimator | None = None  # estimator of each data direction
        self.sender1: SenderEstimator | None = None
        self.pending: list[tuple[Segment, SegmentVerdict]] | None = None
        self.probed = 0  # segments seen before the vantage was decided
        self.decided = False
        self.ts_ok = True
        self.mss_opt0 = 0  # MSS option each side announced (0: none)
        self.mss_opt1 = 0

    @property
    def senders(self) -> list[SenderEstimator | None]:
        return [self.sender0, self.sender1]

    # --- vantage -----------------------------------------------------------------------------
    def _handshake(self, seg: Segment, v: SegmentVerdict) -> None:
        flags = seg.flags
        d = v.direction
        if flags & _SYN:
            if seg.mss:
                if d == 0:
                    self.mss_opt0 = seg.mss
                elif d == 1:
                    self.mss_opt1 = seg.mss
            if flags & _ACK:
                if d == 1:
                    self.synack_t = seg.ts
            elif d == 0:
                self.syn_t = seg.ts
                if seg.raw_tsval < 0:
                    self.ts_ok = False
        elif flags & _ACK and d == 0 and self.synack_t is not None and self.ack_t is None:
            self.ack_t = seg.ts
            g1 = self.synack_t - self.syn_t if self.syn_t is not None else None
            g2 = self.ack_t - self.synack_t
            if g1 is not None and g1 >= 0 and g2 >= 0:
                if g1 > 3 * g2 and g1 > 0.0002:
                    self.side = "client"
                elif g2 > 3 * g1 and g2 > 0.0002:
                    self.side = "server"
            self._decide()

    def _probe(self, seg: Segment, v: SegmentVerdict) -> None:
        """Before the vantage is known: keep the segment for later."""
        self.probed += 1
        # SYN and RST segments are only of use to _guess_side, which a seen SYN rules out
        if not (seg.flags & _SYN_RST and (self.syn_t is not None or self.synack_t is not None)):
            if self.pending is None:
                self.pending = []
            self.pending.append((seg, v))
        if self.probed >= VANTAGE_PROBE_SEGMENTS:
            if self.syn_t is None and self.synack_t is None:
                self._guess_side()
            self._decide()

    def _guess_side(self) -> None:
        """No handshake: who answers within microseconds?  Receivers ACK data at once,
        window-limited senders send right after an ACK arrives."""
        pend = self.pending or []
        counts = [[0, 0], [0, 0]]  # per data direction: [ack right after data, data after ack]
        prev = None
        for seg, v in pend:
            if prev is not None:
                pseg, pv = prev
                quick = seg.ts - pseg.ts <= 0.0001
                if quick and pv.direction != v.direction:
                    if pseg.length > 0 and seg.length == 0:
                        counts[pv.direction][0] += 1
                    elif pseg.length == 0 and seg.length > 0:
                        counts[v.direction][1] += 1
            prev = (seg, v)
        # pick the direction carrying most data
        data = [0, 0]
        for seg, v in pend:
            data[v.direction] += seg.length
        d = 0 if data[0] >= data[1] else 1
        rx, tx = counts[d]
        if rx > 2 * tx and rx >= 3:
            local_receiver = True
        elif tx > 2 * rx and tx >= 3:
            local_receiver = False
        else:
            return
        # local receiver of direction d: capture is at the peer of d's sender
        at_client = (d == 1) if local_receiver else (d == 0)
        self.side = "client" if at_client else "server"

    def _decide(self) -> None:
        if self.decided:
            return
        self.decided = True
        pend = self.pending
        self.pending = None
        if pend is not None:
            for seg, v in pend:
                self._feed(seg, v)

    def _vantage(self, direction: int) -> str:
        if self.side is None:
            return "unknown"
        sender_side = "client" if direction == 0 else "server"
        return "sender" if self.side == sender_side else "receiver"

    def _new_sender(self, direction: int) -> SenderEstimator:
        vantage = self._vantage(direction)
        rtt = None
        if self.syn_t is not None and self.synack_t is not None and self.ack_t is not None:
            rtt = max(self.synack_t - self.syn_t, self.ack_t - self.synack_t)
        est = SenderEstimator(direction, vantage, rtt)
        est.rwnd_known = self.syn_t is not None or self.synack_t is not None
        est.keep_series = self.series
        peer_mss = self.mss_opt1 if direction == 0 else self.mss_opt0
        if peer_mss:
            est.mss_cap = peer_mss
        if vantage == "receiver" and not self.ts_ok:
            est.mode = _RX_TIME
        if direction == 0:
            self.sender0 = est
        else:
            self.sender1 = est
        return est

    # --- observer protocol -------------------------------------------------------------------
    def observe(self, seg: Segment, verdict: SegmentVerdict) -> None:
        try:
            if not self.decided:
                if seg.flags & _SYN or self.synack_t is not None:
                    self._handshake(seg, verdict)
                if not self.decided:
                    self._probe(seg, verdict)
                    return
            self._feed(seg, verdict)
        except Exception:  # a passive observer never raises on odd traffic
            return

    def _feed(self, seg: Segment, v: SegmentVerdict) -> None:
        flags = seg.flags
        if flags & _SYN_RST:
            return
        d = v.direction
        if seg.length > 0:
            est = self.sender0 if d == 0 else self.sender1
            if est is None:
                est = self._new_sender(d)
            if est.mode == _RX_TS and seg.raw_tsval < 0:
                est.mode = _RX_TIME
            est.on_data(seg, v)
        if flags & _ACK:
            peer = self.sender1 if d == 0 else self.sender0
            if peer is not None:
                if peer.mode == _RX_TS and seg.raw_tsval < 0:
                    peer.mode = _RX_TIME
                peer.on_peer_ack(seg, v)

    def cwnd_estimate(self, direction: int) -> int | None:
        est = self.sender0 if direction == 0 else self.sender1 if direction == 1 else None
        return est.cwnd_estimate() if est is not None else None

    def finish(self, result: FlowResult) -> None:
        try:
            if not self.decided:
                if self.syn_t is None and self.synack_t is None:
                    self._guess_side()
                self._decide()
            records = []
            for direction in range(2):
                est = self.sender0 if direction == 0 else self.sender1
                if est is None:
                    continue
                endpoint = _endpoint_for(result, direction)
                if endpoint is None:
                    continue
                if est.judged():
                    endpoint.cca = classify(est.features())
                else:  # the classifier names nothing: no features to build
                    est.settle()
                    endpoint.cca = None
                if est.data_bytes > 0 and self.series:
                    records.append(est.cwnd_record(endpoint.addr))
            result.cwnd = records
        except Exception:  # never let odd traffic break the analysis
            return


def _endpoint_for(result: FlowResult, direction: int) -> Any:
    role = "client" if direction == 0 else "server"
    for ep in result.endpoints:
        if ep.role == role:
            return ep
    if direction < len(result.endpoints):
        return result.endpoints[direction]
    return None


def make_observer(flow: Any = None, series: bool = True) -> CwndObserver:
    """The cwnd observer for one flow (registered in analysis.observer_factories);
    `series`: keep the report's cwnd chart series (FlowResult.cwnd)."""
    return CwndObserver(flow, series)
