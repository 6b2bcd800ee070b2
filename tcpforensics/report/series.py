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
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

from ..arrays import rounded6
from ..model import FlowResult
from .columns import (
    Columns,
    ColumnStore,
    FirstPassTap,
    data_totals,
    histogram,
    keep_indices,
    pick,
    pick_rounded,
    pick_times,
    time_span,
)
from .marks import ACK_MARKS, CONTROL_MARKS, DATA_MARKS, MARK_FIN, MARK_RST, MARK_SYN

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


class SeriesCollector(ColumnStore):
    """Columns for a fixed set of flows (`add` one segment at a time), then `build`."""

    def build(self, budget: Budget | None = None) -> dict[int, FlowSeries]:
        b = budget or Budget()
        self.unpack()
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
        wanted.flows = self.columns(flow_ids)
        return wanted.build(budget)


def _fits(c: Columns, b: Budget) -> bool:
    """Every column within its budget: the series keep every point, no downsampling."""
    return (len(c.d_t) <= b.segments and len(c.a_t) <= b.acks // 2
            and len(c.s_t) <= b.sacks and len(c.r_t) <= b.rtt and len(c.f_t) <= b.inflight)


def _build_direction(sender: int, c: Columns, b: Budget) -> DirectionSeries:
    if _fits(c, b):
        return _build_small_direction(sender, c, b)
    out = DirectionSeries(sender=sender)
    out.segments_total, out.payload_bytes, out.marks_total = data_totals(
        c.d_len, c.d_mark, CONTROL_MARKS)
    # SYN/FIN/RST alone do not make a direction interesting (marks_total); analysis flags do.
    idx = keep_indices(c.d_seq, c.d_end, c.d_mark, b.segments, b.marks)
    out.downsampled = len(idx) < len(c.d_t)
    mark = pick(c.d_mark, idx)
    out.marks_shown = sum(1 for m in mark if m & ~CONTROL_MARKS)
    out.data = {"t": pick_times(c.d_t, idx), "seq": pick(c.d_seq, idx),
                "end": pick(c.d_end, idx), "mark": mark}

    out.acks_total = len(c.a_t)
    # Keep the ACK line's extremes and the window edge's extremes alike.
    idx = sorted(set(keep_indices(c.a_ack, c.a_ack, c.a_mark, b.acks // 2, b.marks // 2))
                 | set(keep_indices(c.a_win, c.a_win, None, b.acks // 2, 0)))
    out.downsampled |= len(idx) < len(c.a_t)
    out.acks = {"t": pick_times(c.a_t, idx), "ack": pick(c.a_ack, idx),
                "win": pick(c.a_win, idx), "mark": pick(c.a_mark, idx)}

    idx = keep_indices(c.s_l, c.s_r, None, b.sacks, 0)
    out.sacks = {"t": pick_times(c.s_t, idx), "l": pick(c.s_l, idx),
                 "r": pick(c.s_r, idx)}

    idx = keep_indices(c.r_v, c.r_v, None, b.rtt, 0)
    out.rtt = {"t": pick_times(c.r_t, idx), "ms": pick_rounded(c.r_v, idx, 1000.0, 4)}

    idx = keep_indices(c.f_v, c.f_v, None, b.inflight, 0)
    out.inflight = {"t": pick_times(c.f_t, idx), "bytes": pick(c.f_v, idx)}

    out.throughput = _throughput(c, b.throughput_bins)
    return out


def _build_small_direction(sender: int, c: Columns, b: Budget) -> DirectionSeries:
    """`_build_direction` for columns that fit the budget: the same series (every point
    kept) by converting whole columns."""
    out = DirectionSeries(sender=sender)
    d_len = c.d_len.tolist()
    d_mark = c.d_mark.tolist()
    out.segments_total = sum(1 for x in d_len if x > 0)
    out.payload_bytes = sum(d_len)
    out.marks_total = out.marks_shown = sum(1 for m in d_mark if m & ~CONTROL_MARKS)
    out.data = {"t": rounded6(c.d_t).tolist(), "seq": c.d_seq.tolist(),
                "end": c.d_end.tolist(), "mark": d_mark}
    out.acks_total = len(c.a_t)
    out.acks = {"t": rounded6(c.a_t).tolist(), "ack": c.a_ack.tolist(),
                "win": c.a_win.tolist(), "mark": c.a_mark.tolist()}
    out.sacks = {"t": rounded6(c.s_t).tolist(), "l": c.s_l.tolist(), "r": c.s_r.tolist()}
    out.rtt = {"t": rounded6(c.r_t).tolist(), "ms": [round(x * 1000, 4) for x in c.r_v]}
    out.inflight = {"t": rounded6(c.f_t).tolist(), "bytes": c.f_v.tolist()}
    out.throughput = _throughput(c, b.throughput_bins)
    return out


def _throughput_bins(count: int, lo: float, hi: float, bins: int
                     ) -> tuple[float, float, int] | None:
    """(start, width, count) of the throughput bins over `count` times from `lo` to `hi`,
    or None if too few."""
    if count < 2:
        return None
    span = hi - lo
    if span <= 0:
        return None
    # Round the bin width to a readable value: 1, 2 or 5 times a power of ten.
    raw = span / bins
    exp = 10 ** math.floor(math.log10(raw))
    width = next(m * exp for m in (1, 2, 5, 10) if m * exp >= raw)
    start = math.floor(lo / width) * width
    return start, width, int(math.ceil((hi - start) / width)) + 1


def _throughput(c: Columns, bins: int) -> dict:
    """Sent and acknowledged bit rates in equal time bins over the direction's activity."""
    # the bins span the times of the segments with payload and of the ACKs that ack data
    spans = [s for s in (time_span(c.d_t, c.d_len), time_span(c.a_t, c.a_acked)) if s[0]]
    found = _throughput_bins(sum(s[0] for s in spans), min((s[1] for s in spans), default=0.0),
                             max((s[2] for s in spans), default=0.0), bins)
    if found is None:
        return {"t": [], "width": 0.0, "sent_bps": [], "acked_bps": []}
    start, width, n = found
    edges = [start + i * width for i in range(n + 1)]
    return {
        "t": [round(e + width / 2, 6) for e in edges[:-1]], "width": width,
        "sent_bps": [round(x * 8 / width, 1)
                     for x in histogram(c.d_t, c.d_len, edges, True)],
        "acked_bps": [round(x * 8 / width, 1)
                      for x in histogram(c.a_t, c.a_acked, edges, False)],
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
            budget: Budget | None = None, all_flows: list | None = None, *,
            series: bool = True, details: dict | None = None) -> dict[int, FlowSeries]:
    """Second pass over `source`, collecting series for the FlowResults in `flows` only.

    Only segments of the wanted connections (by address/port pair) go through a private
    flow table and TCP core, so the pass costs little more than reading and decoding;
    the verdicts are the same as in the full analysis because a connection's verdicts
    depend on its own segments only.  When a port pair was reused, local flows map to
    the analysis' flows by start time.  `until` (absolute seconds) stops reading once
    every wanted flow has ended.  `all_flows` (every FlowResult of the analysis) lets a
    reused port pair tell the wanted connection from the others.

    `details`, a dict, receives for each flow of `flows` the FlowResults rebuilt with
    the report's details (Options.detail_results) from its segments: a list, as more
    than one local flow may map to it; `with_details` picks the one that matches.
    `series=False` rebuilds those only (no columns are filed).
    """
    from ..io.reader import open_capture

    collector = SeriesCollector([f.id for f in flows] if series else (), t0)
    if not flows or not collector.flows and details is None:
        return collector.build(budget)
    starts: dict[tuple, list[tuple[float, int]]] = {}
    for f in flows:
        a, b = parse_endpoint(f.client), parse_endpoint(f.server)
        if a is None or b is None:  # (no details from this pass: they stay lean)
            return _collect_all(source, collector, until, budget)
        starts.setdefault(_flow_key(a, b), [])
    for f in all_flows or flows:
        a, b = parse_endpoint(f.client), parse_endpoint(f.server)
        key = _flow_key(a, b) if a is not None and b is not None else None
        if key in starts:
            starts[key].append((f.start, f.id))
    table = ended = None
    if details is not None:
        table, ended = _detail_table({f.id for f in flows}, details)
    capture = open_capture(source)
    try:
        collector.file_wanted(capture, starts, math.inf if until is None else until,
                              _LATE_RUN, table, ended)
    finally:
        capture.close()
    return collector.build(budget)


def _detail_table(wanted: set[int], details: dict):
    """A private flow table whose flows run the analysis' observers with the report's
    details, and the `ended` callback that files the results of the `wanted` flows
    into `details` (analysis flow id -> list of FlowResults)."""
    from ..analysis import Options, observer_factories
    from ..flows import FlowTable

    opts = Options()
    table = FlowTable(idle_timeout=opts.idle_timeout, closed_linger=opts.closed_linger,
                      max_flows=opts.max_flows, max_lingering=opts.max_lingering,
                      observer_makers=observer_factories(opts))

    def ended(flow, fid: int) -> None:
        if fid in wanted:
            result = flow.conn.result(True)
            for observer in flow.observers:
                observer.finish(result)
            details.setdefault(fid, []).append(result)

    return table, ended


def with_details(flow: FlowResult, rebuilt: list) -> FlowResult | None:
    """`flow` (a result without the report's details) with the details of the one of
    `rebuilt` that is the same flow: every field `flow` has equal, ids and findings
    aside.  None when none is (the second pass saw the connection differently, e.g. a
    flow the analysis ended early for its bounds)."""
    from ..analysis import REPORT_ONLY_FACTS

    for full in rebuilt:
        lean_tcp = {k: v for k, v in full.tcp.items() if k not in REPORT_ONLY_FACTS}
        if (full.client, full.server, full.start, full.end, full.state, full.handshake,
                full.syn_rtt, full.rtt, full.endpoints, full.states, full.stalls,
                lean_tcp) == (flow.client, flow.server, flow.start, flow.end, flow.state,
                              flow.handshake, flow.syn_rtt, flow.rtt, flow.endpoints,
                              flow.states, flow.stalls, flow.tcp):
            out = FlowResult(**{f.name: getattr(flow, f.name) for f in fields(FlowResult)})
            out.tcp = full.tcp
            out.cwnd = full.cwnd
            return out
    return None


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
