"""The analysis driver: capture -> decode -> flow table -> observers -> diagnosis.

`analyze()` is the public entry point; `iter_events()` streams per-segment results for
the events command and the tshark crosscheck.  Observers (the cwnd estimator, the stall
detector) are registered explicitly in `observer_factories()`; each sees every segment
of its flow with the TCP core's verdict and writes its conclusions into the FlowResult
when the flow ends.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import IO, Any

from . import collector
from .diagnose.handshakes import count_attempt
from .io.reader import open_capture
from .model import CaptureInfo, Finding, FlowResult, Segment, SegmentObserver, SegmentVerdict
from .packet_loop import PacketLoop
from .results import ResultStore

SCHEMA = "tcpforensics/1"

Source = str | os.PathLike | IO[bytes]


def observer_factories(options: Options | None = None
                       ) -> list[Callable[[Any], SegmentObserver]]:
    """The registry of per-flow observers, in the order they run."""
    from .cwnd import make_observer as cwnd_observer
    from .diagnose import make_observer as stall_observer

    if options is not None and not options.report_details:
        return [partial(cwnd_observer, series=False), stall_observer]
    if options is not None and options.detail_results is not None:
        bound = options.detail_results

        def cwnd_observer_to_bound(flow: Any) -> SegmentObserver:
            # past the bound a flow's result drops the series anyway (_Run._finish)
            return cwnd_observer(flow, series=flow.id < bound)

        return [cwnd_observer_to_bound, stall_observer]
    return [cwnd_observer, stall_observer]


@dataclass
class Options:
    idle_timeout: float = 300.0
    closed_linger: float = 60.0
    # Live flows.  Past it the least recently active flow is evicted (ended early).  A
    # live flow costs about 5 KB in the pure build, so a SYN flood holds ~100 MB here.
    max_flows: int = 20_000
    # Closed flows waiting `closed_linger` for late segments, at most (the oldest ends
    # early past it; about 80 KB each in the compiled build).
    max_lingering: int = 1000
    observers: bool = True  # cwnd + stalls; off for the bare events/crosscheck path
    # Bound on flows kept in full.  Past it, flows that carried no payload (scans, SYN
    # floods, refused connects) are only tallied in CaptureInfo.folded_flows, so a
    # capture of millions of empty flows is analyzed in bounded memory.
    max_flow_results: int = 50_000
    # Flows without payload listed in full (about 10 KB each); past it they are folded
    # even when max_flow_results is not reached.  Flows with payload are never folded.
    max_empty_flows: int = 5_000
    # Keep what only the HTML report shows: each flow's cwnd round series (FlowResult.cwnd)
    # and the `tcp` facts no findings rule reads (REPORT_ONLY_FACTS).  That is most of a
    # finished flow's weight (about 30 of 45 KB), held until the end; the analysis JSON,
    # the tables and the findings do not read it, so `analyze` and `batch` turn it off
    # and their memory stays flat on long captures of many flows.
    report_details: bool = True
    # With report details, only the flows with ids below this keep them (None: every
    # flow); the later ones are analyzed and kept as with `lean_options`, so
    # `plain_results` can pack them and memory stays flat.  The report rebuilds the
    # details of the few flows it charts in a second pass over their segments
    # (report/series.py).
    detail_results: int | None = None
    # Finished flows kept as plain objects (about 12 KB each without report details).
    # Past it each result is packed into about 2.5 KB of bytes, decoded when read, and
    # past `packed_memory` bytes of those the rest go to a temporary file, so memory stays
    # flat however many flows a capture has (results.py).  None keeps every result plain
    # and `Analysis.flow_results` is then a list.
    plain_results: int | None = None
    packed_memory: int = 32 << 20


def lean_options(**overrides: Any) -> Options:
    """Options for output that is only the JSON and the tables (`analyze`, `batch`).

    The report's details are not built, and past a few thousand flows the finished ones
    are held packed (see `Options.plain_results`).
    """
    opts = Options(report_details=False, plain_results=4000)
    for key, value in overrides.items():
        if not hasattr(opts, key):
            raise TypeError(f"unknown option {key!r}")
        setattr(opts, key, value)
    return opts


def report_options(**overrides: Any) -> Options:
    """Options for the HTML report of a capture of any size.

    The first `detail_results` flows keep the report's details; past them the flows are
    analyzed and kept as `lean_options` does (packed past `plain_results`), and the report
    rebuilds the details of the flows it charts from their segments.  The report of a
    capture of many connections then holds about what `analyze` holds.
    """
    return lean_options(**{"report_details": True, "detail_results": 1000, **overrides})


@dataclass
class Analysis:
    """The result of analyzing one capture (plain data plus DataFrame views)."""

    capture: CaptureInfo
    # a list, or a read-only results.ResultStore when Options.plain_results is set
    flow_results: Sequence[FlowResult] = field(default_factory=list)
    finding_results: list[Finding] = field(default_factory=list)
    source: str | None = None  # the capture path, when there is one (for second passes)
    # flows whose report details were dropped (Options.detail_results); 0: none were
    details_dropped: int = 0

    def to_dict(self) -> dict:
        """The analysis JSON contract (schema tcpforensics/1)."""
        return {
            "schema": SCHEMA,
            "capture": _capture_dict(self.capture),
            "flows": [flow_dict(f) for f in self.flow_results],
            "findings": [_finding_dict(f) for f in self.finding_results],
        }

    def to_json(self, indent: int | None = 2) -> str:
        import json

        return json.dumps(self.to_dict(), indent=indent, default=_json_default)

    def to_html(self, **options: Any) -> str:
        """The HTML report (see report.render_report for options)."""
        from .report import render_report

        options.setdefault("source", self.source)
        return render_report(self, **options)

    # DataFrame views, built on demand (dtypes documented in docs/schema.md).
    @property
    def flows(self):
        from .frames import flows_frame

        return flows_frame(self)

    @property
    def endpoints(self):
        from .frames import endpoints_frame

        return endpoints_frame(self)

    @property
    def stalls(self):
        from .frames import stalls_frame

        return stalls_frame(self)

    @property
    def findings(self):
        from .frames import findings_frame

        return findings_frame(self)

    @property
    def events(self):
        """One row per TCP segment: a second pass over the capture (needs a path)."""
        from .frames import events_frame

        if self.source is None:
            raise ValueError("events need the capture path; this analysis came from a stream")
        return events_frame(self.source)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def _capture_dict(c: CaptureInfo) -> dict:
    return {
        "path": c.path, "format": c.format, "linktypes": c.linktypes, "records": c.records,
        "tcp_segments": c.tcp_segments, "skipped": dict(c.skipped), "first_ts": c.first_ts,
        "last_ts": c.last_ts, "snaplen": c.snaplen, "warnings": list(c.warnings),
        "evicted_flows": c.evicted_flows, "folded_flows": dict(c.folded_flows),
    }


_ENDPOINT_COUNTERS = (
    "retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
    "lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window", "zero_window_probe",
    "window_full", "window_update", "keep_alive", "rst", "fin",
)


def _endpoint_dict(e) -> dict:
    out = {
        "addr": e.addr, "role": e.role, "packets": e.packets, "payload_bytes": e.payload_bytes,
        "mss": e.mss, "wscale": e.wscale, "sack_permitted": e.sack_permitted,
        "timestamps": e.timestamps,
    }
    for name in _ENDPOINT_COUNTERS:
        out[name] = int(e.counters.get(name, 0))
    for name, value in e.counters.items():  # extensions beyond the contract counters
        out.setdefault(name, int(value))
    out["cca"] = e.cca
    return out


def flow_dict(f: FlowResult) -> dict:
    """One flow as in the analysis JSON contract."""
    return {
        "id": f.id, "client": f.client, "server": f.server, "start": f.start, "end": f.end,
        "state": f.state, "handshake": f.handshake, "syn_rtt": f.syn_rtt, "rtt": f.rtt,
        "endpoints": [_endpoint_dict(e) for e in f.endpoints],
        "stalls": [
            {"kind": s.kind, "endpoint": s.endpoint, "start": s.start, "duration": s.duration,
             **({"detail": s.detail} if s.detail else {})}
            for s in f.stalls
        ],
        "findings": list(f.findings),
        # (dataclasses.asdict deep-copies field by field: most of the JSON's cost)
        "states": [{"ts": s.ts, "endpoint": s.endpoint, "state": s.state} for s in f.states],
    }


def _finding_dict(f: Finding) -> dict:
    return {
        "id": f.id, "kind": f.kind, "severity": f.severity, "title": f.title,
        "detail": f.detail, "recommendation": f.recommendation, "flows": list(f.flows),
        "endpoint": f.endpoint, "metrics": f.metrics, "impact": f.impact,
    }


class _Run:
    """One pass over a capture; shared by analyze() and iter_events()."""

    def __init__(self, source: Source, options: Options,
                 progress: Callable[[int], None] | None = None) -> None:
        from .flows import FlowTable

        self.capture = open_capture(source)
        self.options = options
        self.progress = progress
        factories = observer_factories(options) if options.observers else []
        self.table = FlowTable(
            idle_timeout=options.idle_timeout, closed_linger=options.closed_linger,
            max_flows=options.max_flows, max_lingering=options.max_lingering,
            observer_makers=factories,
        )
        self.info = CaptureInfo(path=self.capture.path, format=self.capture.format,
                                snaplen=self.capture.snaplen)
        self.results: list[FlowResult] | ResultStore = (
            [] if options.plain_results is None
            else ResultStore(options.plain_results, options.packed_memory,
                             screen=_findings_screen() if options.observers else None))
        self.listed_empty = 0  # flows without payload listed in full (max_empty_flows)
        self.details_dropped = 0  # flows whose result left out the report details
        self.loop = PacketLoop(
            self.table, self.info.skipped, self._finish, self._every_chunk,
            self.results.end_together if isinstance(self.results, ResultStore) else None)

    def _every_chunk(self, records: int) -> None:
        """Called by the loop every PROGRESS_EVERY records."""
        collector.collect_if_due()
        if self.progress is not None:
            self.progress(records)

    def segments(self) -> Iterator[tuple[Segment, Any, SegmentVerdict]]:
        """(segment, flow, verdict) for every TCP segment, in capture order."""
        loop = self.loop
        try:
            for raw in self.capture:
                if loop.feed(raw):
                    yield loop.seg, loop.flow, loop.verdict
                    loop.end_packet()
            loop.flush()
        finally:
            self._close()

    def run(self, sink: Callable[[Segment, Any, SegmentVerdict], None] | None) -> None:
        """The whole capture at once (the compiled loop: no generator per packet)."""
        try:
            self.loop.run(self.capture, sink)
        finally:
            self._close()

    def _close(self) -> None:
        info, loop, table = self.info, self.loop, self.table
        # the loop holds self._finish: without this the whole run (flow table, capture)
        # would wait for a full collection after analyze() returns
        loop.finish = loop.progress = None
        self.capture.close()
        info.records = self.capture.records
        info.tcp_segments = info.records - sum(info.skipped.values())
        info.linktypes = list(self.capture.linktypes)
        info.warnings[:0] = self.capture.warnings
        info.closed_early_flows = table.closed_early
        info.evicted_flows = table.evicted
        info.warnings += bound_warnings(self.options, info)
        info.comments = list(self.capture.comments)
        info.interfaces = list(self.capture.interfaces)
        info.snaplen = self.capture.snaplen
        if loop.seen:
            info.first_ts, info.last_ts = loop.first_ts, loop.last_ts

    def _finish(self, flow: Any) -> None:
        conn, opts = flow.conn, self.options
        empty = not conn.carried_payload()
        if empty and (self.listed_empty >= opts.max_empty_flows
                      or len(self.results) >= opts.max_flow_results):
            result = conn.folded_result()  # only what count_attempt and the tally read
            if opts.observers:
                count_attempt(self.info.handshakes, result)
            self._fold(result)
            return
        # without report details, result() leaves out REPORT_ONLY_FACTS (rather than
        # build them to drop them) and the cwnd observer keeps no series
        details = opts.report_details
        if details and opts.detail_results is not None:
            details = flow.id < opts.detail_results
        result = conn.result(details)
        if opts.observers:
            count_attempt(self.info.handshakes, result)
        if empty:
            self.listed_empty += 1
        for observer in flow.observers:
            observer.finish(result)
        if opts.report_details and not details:  # as lean_options leaves it
            result.cwnd = []
            self.details_dropped += 1
        self.results.append(result)

    def finished(self) -> Sequence[FlowResult]:
        """The finished flows' results, in id order (after the capture was read)."""
        if isinstance(self.results, ResultStore):
            self.results.sort()
        else:
            self.results.sort(key=lambda r: r.id)
        return self.results

    def _fold(self, result: FlowResult) -> None:
        folded = self.info.folded_flows
        folded["count"] = folded.get("count", 0) + 1
        key = f"state_{result.state}"
        folded[key] = folded.get(key, 0) + 1


def bound_warnings(options: Options, info: CaptureInfo) -> list[str]:
    """What the analysis' bounds cut short (from the counts in `info`), one line each."""
    out = []
    if info.folded_flows:
        out.append(f"more than {options.max_empty_flows:,} flows without payload (or "
                   f"{options.max_flow_results:,} flows in all): flows that carried no "
                   "payload past that are counted in capture.folded_flows, not listed")
    if info.closed_early_flows:
        out.append(f"more than {options.max_lingering:,} closed flows waited for late "
                   f"segments at once: {info.closed_early_flows:,} ended before their "
                   f"{options.closed_linger:g} s linger (a late segment of one starts a "
                   "new flow)")
    if info.evicted_flows:
        out.append(f"more than {options.max_flows:,} flows live at once: "
                   f"{info.evicted_flows:,} were evicted (ended early, least recently "
                   "active first); see capture.evicted_flows")
    return out


# Facts of the TCP core (FlowResult.tcp) that only the report lists: no findings rule, no
# table and no batch step reads them (tests/test_memory.py checks this on the lab captures).
REPORT_ONLY_FACTS = frozenset({
    "rto_final", "rtt_by_sender", "dsack", "spurious_proven", "data_bytes", "mss", "ts_laps",
    "zero_window_time", "capture_reordered", "window_scale_known", "last_frame",
})


def has_report_details(result: FlowResult) -> bool:
    """Whether `result` was made with the report's details (`last_frame` is one of the
    REPORT_ONLY_FACTS and every result made with them has it)."""
    return "last_frame" in (result.tcp or {})


def iter_events(source: Source, options: Options | None = None
                ) -> Iterator[tuple[Segment, Any, SegmentVerdict]]:
    """Yield (segment, flow, verdict) for every TCP segment in capture order."""
    run = _Run(source, options or Options(observers=False))
    yield from run.segments()


def analyze(source: Source, *, options: Options | None = None,
            progress: Callable[[int], None] | None = None,
            segment_sink: Callable[[Segment, Any, SegmentVerdict], None] | None = None,
            **overrides: Any) -> Analysis:
    """Analyze a capture (path, '-' for stdin, or a binary file object).

    `segment_sink`, when given, is called with (segment, flow, verdict) for every TCP
    segment in capture order (the report keeps its chart series this way, so it need
    not read the capture twice).
    """
    opts = options or Options()
    for key, value in overrides.items():
        if not hasattr(opts, key):
            raise TypeError(f"unknown option {key!r}")
        setattr(opts, key, value)
    run = _Run(source, opts, progress)
    with collector.paused():  # (why: collector.py)
        run.run(segment_sink)
        results = run.finished()
        findings = _diagnose(results, run.info) if opts.observers else []
    path = os.fspath(source) if isinstance(source, str | os.PathLike) and source != "-" else None
    return Analysis(capture=run.info, flow_results=results, finding_results=findings,
                    source=path, details_dropped=run.details_dropped)


def _findings_screen() -> Callable[[FlowResult], int]:
    """The findings rules' screen of one flow, for a results store to apply as it packs."""
    from .diagnose.findings import flow_evidence

    return flow_evidence


def _diagnose(flows: Sequence[FlowResult], capture: CaptureInfo) -> list[Finding]:
    from .diagnose import diagnose

    return diagnose(flows, capture)
