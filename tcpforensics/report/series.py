"""Bounded per-segment series for the flows the report shows in detail.

The analysis keeps per-flow summaries only; the time-sequence graph and friends need
every segment.  A `SeriesCollector` stores them in compact column arrays and, at the
end, downsamples them to a fixed budget: per bucket of consecutive points it keeps the
lowest and the highest value (so spikes and gaps survive), and it keeps every marked
event (retransmission, dup-ACK, zero window...) up to a separate cap.

Which flows the report details is known only after the analysis, so the columns come
from one of two places.  `FirstPassSeries` rides along the analysis pass and keeps every
flow while the capture is small enough (few flows, a bounded number of segments): then
the capture is read once.  Past that it lets go, and `collect` reads the capture a second
time for the detailed flows only, which on a many-flow capture costs little more than
reading and decoding.
"""

from __future__ import annotations

import math
import socket
from array import array
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .columns import Columns, ColumnStore, FirstPassTap
from .marks import ACK_MARKS, CONTROL_MARKS, DATA_MARKS, MARK_FIN, MARK_RST, MARK_SYN

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ACK_MARKS", "DATA_MARKS", "MARK_FIN", "MARK_RST", "MARK_SYN", "Budget",
           "DirectionSeries", "FirstPassSeries", "FlowSeries", "SeriesCollector", "collect",
           "keep_indices"]

_LATE_RUN = 1000  # consecutive segments past `until` before the second pass stops


@dataclass
class Budget:
    """How many points each series may keep after downsampling."""

    segments: int = 2000
    acks: int = 2000
    marks: int = 1500  # marked events kept on top of the bucket extremes
    sacks: int = 1000
    rtt: int = 2000
    inflight: int = 2000
    throughput_bins: int = 300


@dataclass
class DirectionSeries:
    """Downsampled series of one data direction, ready for plotting (times relative)."""

    sender: int  # 0 client, 1 server
    segments_total: int = 0
    payload_bytes: int = 0
    acks_total: int = 0
    marks_total: int = 0
    marks_shown: int = 0
    data: dict = field(default_factory=dict)  # t, seq, end, mark
    acks: dict = field(default_factory=dict)  # t, ack, win (right edge), mark
    sacks: dict = field(default_factory=dict)  # t, l, r
    rtt: dict = field(default_factory=dict)  # t, ms
    inflight: dict = field(default_factory=dict)  # t, bytes
    throughput: dict = field(default_factory=dict)  # t, width, sent_bps, acked_bps
    downsampled: bool = False


@dataclass
class FlowSeries:
    flow_id: int
    directions: list[DirectionSeries]


def keep_indices(lo: np.ndarray, hi: np.ndarray, marked: np.ndarray, budget: int,
                 mark_budget: int) -> np.ndarray:
    """Indices to keep: per bucket the lowest `lo` and highest `hi`, plus marked points.

    `marked` is a boolean mask.  Returns sorted unique indices; everything when the
    series fits the budget.  Marked points beyond `mark_budget` are thinned evenly.
    """
    import numpy as np

    n = len(lo)
    if n <= budget:
        return np.arange(n)
    buckets = max(1, budget // 2)
    k = -(-n // buckets)
    pad = buckets * k - n  # < k, so every bucket holds at least one real point
    lo2 = np.concatenate([lo.astype(np.float64), np.full(pad, np.inf)]).reshape(buckets, k)
    hi2 = np.concatenate([hi.astype(np.float64), np.full(pad, -np.inf)]).reshape(buckets, k)
    offsets = np.arange(buckets) * k
    idx = np.concatenate([lo2.argmin(axis=1) + offsets, hi2.argmax(axis=1) + offsets,
                          np.array([0, n - 1])])
    idx = idx[idx < n]
    marks = np.flatnonzero(marked)
    if len(marks) > mark_budget:
        marks = marks[np.linspace(0, len(marks) - 1, mark_budget).round().astype(np.int64)]
    return np.unique(np.concatenate([idx, marks]))


class SeriesCollector(ColumnStore):
    """Columns for a fixed set of flows (`add` one segment at a time), then `build`."""

    def build(self, budget: Budget | None = None) -> dict[int, FlowSeries]:
        b = budget or Budget()
        return {fid: FlowSeries(fid, [_build_direction(i, dirs[i], b) for i in (0, 1)])
                for fid, dirs in self.flows.items()}


class FirstPassSeries(FirstPassTap):
    """The analysis pass' segment sink for the report: `analyze(..., segment_sink=...)`.

    Keeps the columns of every flow while the capture is small enough (FirstPassTap's
    bounds); `series()` then gives the detailed flows' series without a second pass.
    """

    def series(self, flow_ids: Iterable[int], t0: float,
               budget: Budget | None = None) -> dict[int, FlowSeries] | None:
        """Series of `flow_ids` (times relative to `t0`), or None when not collected."""
        if not self.active or (self.segments and self.t0 != t0):
            return None
        wanted = SeriesCollector((), t0)
        for fid in flow_ids:
            wanted.flows[fid] = self.flows.get(fid) or (Columns(), Columns())
        return wanted.build(budget)


def _np(a: array, dtype) -> np.ndarray:
    import numpy as np

    return np.frombuffer(a, dtype=dtype) if len(a) else np.zeros(0, dtype=dtype)


def rounded(a: np.ndarray, digits: int) -> list[float]:
    """`[round(float(x), digits) for x in a]`, vectorised: the same floats, bit for bit.

    rint(x * 10**d) / 10**d equals Python's correctly rounded result unless the product
    x * 10**d, itself rounded, landed on the wrong side of a half (or is too large to
    hold the fraction); those few elements take Python's round.
    """
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    scale = 10.0 ** digits
    scaled = a * scale
    nearest = np.rint(scaled)
    out = (nearest / scale).tolist()
    with np.errstate(invalid="ignore"):  # NaN/inf compare False: they go to round()
        safe = (np.abs(np.abs(scaled - nearest) - 0.5) > 2 * np.abs(np.spacing(scaled))) \
            & (np.abs(scaled) < 2.0 ** 51)
    for i in np.flatnonzero(~safe).tolist():
        out[i] = round(float(a[i]), digits)
    return out


def _times(t: np.ndarray) -> list[float]:
    return rounded(t, 6)


def _fits(c: Columns, b: Budget) -> bool:
    """Every column within its budget: the series keep every point, no downsampling."""
    return (len(c.d_t) <= b.segments and len(c.a_t) <= b.acks // 2
            and len(c.s_t) <= b.sacks and len(c.r_t) <= b.rtt and len(c.f_t) <= b.inflight)


def _build_direction(sender: int, c: Columns, b: Budget) -> DirectionSeries:
    if _fits(c, b):
        return _build_small_direction(sender, c, b)
    import numpy as np

    out = DirectionSeries(sender=sender)
    d_t, d_seq, d_end = _np(c.d_t, np.float64), _np(c.d_seq, np.int64), _np(c.d_end, np.int64)
    d_mark, d_len = _np(c.d_mark, np.uint32), _np(c.d_len, np.int64)
    out.segments_total = int((d_len > 0).sum())
    out.payload_bytes = int(d_len.sum())
    marked = d_mark != 0
    # SYN/FIN/RST alone do not make a direction interesting; analysis flags do.
    out.marks_total = int((d_mark & ~np.uint32(CONTROL_MARKS) != 0).sum())
    idx = keep_indices(d_seq, d_end, marked, b.segments, b.marks)
    out.downsampled = len(idx) < len(d_t)
    shown = d_mark[idx] & ~np.uint32(CONTROL_MARKS)
    out.marks_shown = int((shown != 0).sum())
    out.data = {"t": _times(d_t[idx]), "seq": d_seq[idx].tolist(), "end": d_end[idx].tolist(),
                "mark": d_mark[idx].tolist()}

    a_t, a_ack, a_win = _np(c.a_t, np.float64), _np(c.a_ack, np.int64), _np(c.a_win, np.int64)
    a_mark = _np(c.a_mark, np.uint32)
    out.acks_total = len(a_t)
    a_marked = a_mark != 0
    # Keep the ACK line's extremes and the window edge's extremes alike.
    idx = np.union1d(keep_indices(a_ack, a_ack, a_marked, b.acks // 2, b.marks // 2),
                     keep_indices(a_win, a_win, np.zeros(len(a_win), bool), b.acks // 2, 0))
    out.downsampled |= len(idx) < len(a_t)
    out.acks = {"t": _times(a_t[idx]), "ack": a_ack[idx].tolist(), "win": a_win[idx].tolist(),
                "mark": a_mark[idx].tolist()}

    s_t, s_l, s_r = _np(c.s_t, np.float64), _np(c.s_l, np.int64), _np(c.s_r, np.int64)
    idx = keep_indices(s_l, s_r, np.zeros(len(s_t), bool), b.sacks, 0)
    out.sacks = {"t": _times(s_t[idx]), "l": s_l[idx].tolist(), "r": s_r[idx].tolist()}

    r_t, r_v = _np(c.r_t, np.float64), _np(c.r_v, np.float64)
    idx = keep_indices(r_v, r_v, np.zeros(len(r_t), bool), b.rtt, 0)
    out.rtt = {"t": _times(r_t[idx]), "ms": rounded(r_v[idx] * 1000, 4)}

    f_t, f_v = _np(c.f_t, np.float64), _np(c.f_v, np.int64)
    idx = keep_indices(f_v, f_v, np.zeros(len(f_t), bool), b.inflight, 0)
    out.inflight = {"t": _times(f_t[idx]), "bytes": f_v[idx].tolist()}

    out.throughput = _throughput(d_t, d_len, a_t, _np(c.a_acked, np.int64), b.throughput_bins)
    return out


def _build_small_direction(sender: int, c: Columns, b: Budget) -> DirectionSeries:
    """`_build_direction` for columns that fit the budget, in plain Python: the same
    series (every point kept), without importing numpy for a small capture."""
    out = DirectionSeries(sender=sender)
    d_len = c.d_len.tolist()
    d_mark = c.d_mark.tolist()
    out.segments_total = sum(1 for x in d_len if x > 0)
    out.payload_bytes = sum(d_len)
    out.marks_total = out.marks_shown = sum(1 for m in d_mark if m & ~CONTROL_MARKS)
    out.data = {"t": [round(x, 6) for x in c.d_t], "seq": c.d_seq.tolist(),
                "end": c.d_end.tolist(), "mark": d_mark}
    out.acks_total = len(c.a_t)
    out.acks = {"t": [round(x, 6) for x in c.a_t], "ack": c.a_ack.tolist(),
                "win": c.a_win.tolist(), "mark": c.a_mark.tolist()}
    out.sacks = {"t": [round(x, 6) for x in c.s_t], "l": c.s_l.tolist(), "r": c.s_r.tolist()}
    out.rtt = {"t": [round(x, 6) for x in c.r_t], "ms": [round(x * 1000, 4) for x in c.r_v]}
    out.inflight = {"t": [round(x, 6) for x in c.f_t], "bytes": c.f_v.tolist()}
    d_t = c.d_t.tolist()
    sent_t = [t for t, n in zip(d_t, d_len, strict=True) if n > 0]
    sent_n = [n for n in d_len if n > 0]
    a_t, a_acked = c.a_t.tolist(), c.a_acked.tolist()
    bins = _throughput_bins(sent_t + [t for t, n in zip(a_t, a_acked, strict=True) if n > 0],
                            b.throughput_bins)
    if bins is None:
        out.throughput = {"t": [], "width": 0.0, "sent_bps": [], "acked_bps": []}
        return out
    start, width, n = bins
    edges = [start + i * width for i in range(n + 1)]
    out.throughput = {
        "t": [round(e + width / 2, 6) for e in edges[:-1]], "width": width,
        "sent_bps": [round(x * 8 / width, 1) for x in _histogram(sent_t, sent_n, edges)],
        "acked_bps": [round(x * 8 / width, 1) for x in _histogram(a_t, a_acked, edges)],
    }
    return out


def _histogram(values: list[float], weights: list[int], edges: list[float]) -> list[float]:
    """np.histogram(values, edges, weights=weights)[0] as floats: bins are half-open but
    the last, which holds its right edge; values outside the edges are left out."""
    n = len(edges) - 1
    sums = [0] * n
    first, last = edges[0], edges[-1]
    for x, w in zip(values, weights, strict=True):
        if first <= x <= last:
            sums[min(bisect_right(edges, x) - 1, n - 1)] += w
    return [float(x) for x in sums]


def _throughput_bins(times: list[float], bins: int) -> tuple[float, float, int] | None:
    """(start, width, count) of the throughput bins over `times`, or None if too few."""
    if len(times) < 2:
        return None
    lo, hi = float(min(times)), float(max(times))
    span = hi - lo
    if span <= 0:
        return None
    # Round the bin width to a readable value: 1, 2 or 5 times a power of ten.
    raw = span / bins
    exp = 10 ** math.floor(math.log10(raw))
    width = next(m * exp for m in (1, 2, 5, 10) if m * exp >= raw)
    start = math.floor(lo / width) * width
    return start, width, int(math.ceil((hi - start) / width)) + 1


def _throughput(d_t: np.ndarray, d_len: np.ndarray, a_t: np.ndarray, a_acked: np.ndarray,
                bins: int) -> dict:
    """Sent and acknowledged bit rates in equal time bins over the direction's activity."""
    import numpy as np

    has = d_len > 0
    found = _throughput_bins(np.concatenate([d_t[has], a_t[a_acked > 0]]).tolist(), bins)
    if found is None:
        return {"t": [], "width": 0.0, "sent_bps": [], "acked_bps": []}
    start, width, n = found
    edges = start + np.arange(n + 1) * width
    sent, _ = np.histogram(d_t[has], bins=edges, weights=d_len[has])
    acked, _ = np.histogram(a_t, bins=edges, weights=a_acked)
    centers = edges[:-1] + width / 2
    return {
        "t": _times(centers), "width": width,
        "sent_bps": rounded(sent.astype(np.float64) * 8 / width, 1),
        "acked_bps": rounded(acked.astype(np.float64) * 8 / width, 1),
    }


def parse_endpoint(text: str) -> tuple[bytes, int] | None:
    """'198.18.0.1:80' or '[2001:db8::1]:80' -> (packed address, port); None if odd."""
    try:
        host, _, port = text.rpartition(":")
        if host.startswith("[") and host.endswith("]"):
            return socket.inet_pton(socket.AF_INET6, host[1:-1]), int(port)
        return socket.inet_pton(socket.AF_INET, host), int(port)
    except (OSError, ValueError):
        return None


def _flow_key(a: tuple[bytes, int], b: tuple[bytes, int]) -> tuple:
    # The same canonical order as the flow table: lower (address, port) first.
    (src, sp), (dst, dp) = a, b
    return (src, sp, dst, dp) if src < dst or src == dst and sp <= dp else (dst, dp, src, sp)


def collect(source, flows: list, t0: float = 0.0, until: float | None = None,
            budget: Budget | None = None, all_flows: list | None = None
            ) -> dict[int, FlowSeries]:
    """Second pass over `source`, collecting series for the FlowResults in `flows` only.

    Only segments of the wanted connections (by address/port pair) go through a private
    flow table and TCP core, so the pass costs little more than reading and decoding;
    the verdicts are the same as in the full analysis because a connection's verdicts
    depend on its own segments only.  When a port pair was reused, local flows map to
    the analysis' flows by start time.  `until` (absolute seconds) stops reading once
    every wanted flow has ended.  `all_flows` (every FlowResult of the analysis) lets a
    reused port pair tell the wanted connection from the others.
    """
    from ..io.reader import open_capture

    collector = SeriesCollector([f.id for f in flows], t0)
    if not collector.flows:
        return collector.build(budget)
    starts: dict[tuple, list[tuple[float, int]]] = {}
    for f in flows:
        a, b = parse_endpoint(f.client), parse_endpoint(f.server)
        if a is None or b is None:
            return _collect_all(source, collector, until, budget)
        starts.setdefault(_flow_key(a, b), [])
    for f in all_flows or flows:
        a, b = parse_endpoint(f.client), parse_endpoint(f.server)
        key = _flow_key(a, b) if a is not None and b is not None else None
        if key in starts:
            starts[key].append((f.start, f.id))
    capture = open_capture(source)
    try:
        collector.file_wanted(capture, starts, math.inf if until is None else until, _LATE_RUN)
    finally:
        capture.close()
    return collector.build(budget)


def _collect_all(source, collector: SeriesCollector, until: float | None,
                 budget: Budget | None) -> dict[int, FlowSeries]:
    """The plain second pass through iter_events (every flow goes through the core)."""
    from ..analysis import iter_events

    events = iter_events(source)
    try:
        late = 0
        for seg, flow, verdict in events:
            if until is not None:
                late = late + 1 if seg.ts > until else 0
                if late > _LATE_RUN:
                    break
            collector.add(seg, flow.id, verdict)
    finally:
        events.close()
    return collector.build(budget)
