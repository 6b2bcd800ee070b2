"""The report keeps the report's details (cwnd rounds, report-only facts) of a bounded
number of flows (`analysis.report_options`), so its memory stays flat on captures of
many connections; the flows it charts get theirs back from a second pass over their
segments, and the report is the same as one made with every flow's details kept.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from tcpforensics.analysis import REPORT_ONLY_FACTS, analyze, report_options
from tcpforensics.model import FlowResult
from tcpforensics.report.html import build_context
from tcpforensics.report.series import FirstPassSeries, with_details
from tcpforensics.results import ResultStore

SAMPLES = Path(__file__).resolve().parents[1] / "sample_pcaps"


def sample(rel: str) -> Path:
    path = SAMPLES / rel
    if not path.exists():
        pytest.skip(f"lab capture {rel} not available")
    return path


def _context(analysis, path: str | None, **kwargs) -> dict:
    ctx = build_context(analysis, source=path, plotly="cdn", **kwargs)
    ctx.pop("generated")
    return json.loads(json.dumps(ctx, sort_keys=True, default=str))


@pytest.mark.parametrize("tap", [False, True])
@pytest.mark.parametrize("rel, flows", [("demo.pcap", None),
                                        ("competing/competing-3.client.pcap.gz", None),
                                        ("churn/churn.client.pcap.gz", [3, 500, 999]),
                                        ("outage/outage-rto.server.pcap.gz", None)])
def test_rebuilt_details_give_the_same_report(rel: str, flows: list[int] | None,
                                              tap: bool) -> None:
    path = str(sample(rel))
    full = analyze(path)
    sink = FirstPassSeries() if tap else None
    # no flow keeps its details, and past two flows the results are packed
    lean = analyze(path, options=report_options(detail_results=0, plain_results=2),
                   segment_sink=sink)
    assert lean.details_dropped == len(lean.flow_results) > 0
    assert full.details_dropped == 0
    assert isinstance(lean.flow_results, ResultStore)
    assert all("last_frame" not in f.tcp and not f.cwnd for f in lean.flow_results)
    got = _context(lean, path, flows=flows, first_pass=sink)
    assert got == _context(full, path, flows=flows)
    # (the details are there: each detailed flow lists the facts only the report shows)
    assert got["details"]
    for detail in got["details"]:
        assert "last_frame" in {k for k, _ in detail["tcp"]}


def test_the_first_flows_keep_their_details() -> None:
    path = str(sample("churn/churn.client.pcap.gz"))
    lean = analyze(path, options=report_options(detail_results=10))
    kept = [f.id for f in lean.flow_results if "last_frame" in f.tcp]
    assert len(kept) == 10 and lean.details_dropped == len(lean.flow_results) - 10


def _without_details(f: FlowResult) -> FlowResult:
    return replace(f, tcp={k: v for k, v in f.tcp.items() if k not in REPORT_ONLY_FACTS},
                   cwnd=[])


def test_a_rebuilt_flow_is_used_only_when_it_is_the_same_flow() -> None:
    full = analyze(str(sample("demo.pcap")))
    f = max(full.flow_results, key=lambda r: len(r.cwnd))
    assert f.cwnd  # a flow with a cwnd series
    lean = _without_details(f)
    got = with_details(lean, [f])
    assert got is not None and got.tcp == f.tcp and got.cwnd == f.cwnd
    assert list(got.tcp) == list(f.tcp)  # the facts in the report's order
    assert got.findings == lean.findings and got.id == lean.id
    assert with_details(lean, [replace(f, end=f.end + 1.0)]) is None
    assert with_details(lean, [replace(f, state="RESET")]) is None
    assert with_details(lean, []) is None


def test_without_the_capture_the_flows_stay_without_details() -> None:
    path = str(sample("demo.pcap"))
    sink = FirstPassSeries()
    lean = analyze(path, options=report_options(detail_results=0), segment_sink=sink)
    ctx = _context(lean, None, first_pass=sink)
    assert ctx["source_ok"] and ctx["details"]  # the tap's charts, without the details
    for detail in ctx["details"]:
        assert "last_frame" not in {k for k, _ in detail["tcp"]}
