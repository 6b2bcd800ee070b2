"""The report stays bounded on big inputs: 1M segments, 20k flows, long cwnd series.

The per-segment events are generated directly (no capture file), so this measures the
report layer alone: series budgets, downsampling that keeps extremes and marked events,
and table / chart caps.  The whole test takes a few seconds.
"""

from __future__ import annotations

import json
import re
import time
from array import array

import numpy as np
import pytest

from tcpforensics.analysis import Analysis
from tcpforensics.model import (
    ACK,
    CaptureInfo,
    Endpoint,
    Finding,
    FlowResult,
    Segment,
    SegmentVerdict,
    Stall,
)
from tcpforensics.model import Analysis as Flag
from tcpforensics.report import render_report
from tcpforensics.report.series import Budget, SeriesCollector, keep_indices

MSS = 1448


def big_events(flows: int, per_flow: int, retrans_every: int = 97):
    """Interleaved bulk transfers: data segments and every-other ACKs, with marks.

    One Segment/Verdict pair is reused and mutated: the collector copies what it needs.
    """
    seg = Segment(0, 0.0, b"\x01" * 4, b"\x02" * 4, 1, 2, 0, 0, ACK, 1000, MSS)
    v = SegmentVerdict(0, 0, 0, 0)
    frame = 0
    for i in range(per_flow):
        for f in range(flows):
            frame += 1
            t = 10.0 + i * 1e-4 + f * 1e-6
            seg.frame, seg.ts, seg.length, seg.sacks = frame, t, MSS, ()
            v.direction, v.rel_seq, v.rel_ack, v.win_scaled = 0, 1 + i * MSS, 1, 65535
            v.analysis = int(Flag.RETRANSMISSION) if i % retrans_every == 0 and i else 0
            v.bytes_in_flight, v.ack_rtt, v.acked_bytes = (i % 50) * MSS, None, 0
            if v.analysis:
                v.rel_seq -= 20 * MSS  # a retransmission goes back in sequence space
            yield seg, f, v
            if i % 2:
                seg.length, seg.ts = 0, t + 0.02
                v.direction, v.rel_seq, v.rel_ack = 1, 1, 1 + (i + 1) * MSS
                v.win_scaled, v.analysis = 4_000_000, int(Flag.DUPLICATE_ACK) if i % 501 == 0 \
                    else 0
                v.ack_rtt, v.acked_bytes, v.bytes_in_flight = 0.02 + (i % 13) * 1e-3, 2 * MSS, None
                yield seg, f, v


def big_analysis(detailed: int, total_flows: int, per_flow: int) -> Analysis:
    flows = []
    end = 10.0 + per_flow * 1e-4
    for fid in range(total_flows):
        c, s = f"198.18.{fid // 250}.{fid % 250}:40000", "198.19.0.1:443"
        big = fid < detailed
        rounds = 20_000 if big else 0
        flows.append(FlowResult(
            fid, c, s, 10.0, end if big else 10.5, "CLOSED", "complete", 0.02,
            {"min": 0.02, "median": 0.025, "max": 0.04, "samples": 1000},
            [Endpoint(c, "client", packets=per_flow if big else 5,
                      payload_bytes=per_flow * MSS if big else 500,
                      counters={"retransmission": per_flow // 97} if big else {}),
             Endpoint(s, "server", packets=per_flow // 2 if big else 5)],
            stalls=[Stall("rto", c, 10.0 + k * 0.01, 0.2) for k in range(2000)] if big else [],
            findings=["F1"] if big else [],
            cwnd=[{"addr": c, "vantage": "sender",
                   "rounds": {"t": list(np.linspace(10.0, end, rounds)),
                              "cwnd": [30000 + k % 1000 for k in range(rounds)],
                              "limited": ["cwnd"] * rounds},
                   "replicas": {"reno": [30000] * rounds, "cubic": [31000] * rounds},
                   "loss_epochs": [{"t": 10.0 + k * 0.05, "beta": 0.7} for k in range(500)]}]
            if big else []))
    finding = Finding("F1", "retransmissions", "warning", "Loss everywhere", "d", "r",
                      list(range(detailed)), None, {}, impact=100.0)
    records = detailed * per_flow * 3 // 2
    info = CaptureInfo("big.pcap", records=records, tcp_segments=records, first_ts=10.0,
                       last_ts=end)
    return Analysis(capture=info, flow_results=flows, finding_results=[finding])


def test_keep_indices_keeps_extremes_and_marks() -> None:
    rng = np.random.default_rng(1)
    y = rng.normal(size=100_000)
    y[12_345] = 50.0  # a spike
    y[54_321] = -50.0  # a dip
    marked = np.zeros(len(y), np.uint32)
    marked[::1000] = 1
    col, marks = array("d", y.tolist()), array("I", marked.tolist())
    idx = keep_indices(col, col, marks, budget=2000, mark_budget=500)
    assert len(idx) <= 2000 + 2 + 500
    assert 12_345 in idx and 54_321 in idx and 0 in idx and len(y) - 1 in idx
    assert np.all(np.diff(idx) > 0)
    assert set(np.flatnonzero(marked)[::2]) <= set(idx)  # thinned evenly
    small = keep_indices(col[:100], col[:100], marks[:100], 2000, 500)
    assert small == list(range(100))


@pytest.mark.slow
def test_million_segments_report_is_bounded() -> None:
    detailed, per_flow = 5, 200_000  # 1M data segments + 500k ACKs
    analysis = big_analysis(detailed, total_flows=20_000, per_flow=per_flow)
    t = time.perf_counter()
    collector_check = SeriesCollector([0], t0=10.0)
    for seg, fid, v in big_events(1, 5000):
        collector_check.add(seg, fid, v)
    ds = collector_check.build(Budget())[0].directions[0]
    assert ds.segments_total == 5000 and ds.marks_total == 51  # every 97th, not the first
    html = render_report(analysis, plotly="inline", top=5,
                         events=big_events(detailed, per_flow))
    elapsed = time.perf_counter() - t
    size = len(html.encode())
    assert size < 20_000_000, size
    # Every detailed flow got its charts; the table is capped.
    assert all(f'id="flow-{i}"' in html for i in range(detailed))
    assert html.count('<tr id="row-') == 2000
    blob = re.search(r'<script type="application/json" id="report-figures">(.*?)</script>',
                     html, re.S).group(1)
    figs = json.loads(blob)
    for key, fig in figs.items():
        points = sum(len(tr.get("x") or []) for tr in fig["data"])
        assert points < 40_000, (key, points)
    tsg = figs["f0d0-tsg"]
    retr = next(tr for tr in tsg["data"] if tr["name"] == "retransmission")
    # 2061 retransmissions exceed the mark budget: evenly thinned, and the page says so.
    shown = len(retr["x"])
    assert Budget().marks <= shown < per_flow // 97
    assert f"here {shown:,} of {per_flow // 97:,} marked segments" in html
    assert elapsed < 120, elapsed
