"""The report's chart series from the analysis pass equal those of a second pass.

`FirstPassSeries` rides along `analyze()` as its segment sink; when it kept the columns
the report does not read the capture again.  Whichever way the series were made, the
report's content must be the same; past its flow or segment bounds it lets go and the
report falls back to the second pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tcpforensics.analysis import analyze
from tcpforensics.report.html import build_context
from tcpforensics.report.series import FirstPassSeries

SAMPLES = Path(__file__).resolve().parents[1] / "sample_pcaps"


def sample(rel: str) -> Path:
    path = SAMPLES / rel
    if not path.exists():
        pytest.skip(f"lab capture {rel} not available")
    return path


def _context(analysis, path: str, **kwargs) -> str:
    ctx = build_context(analysis, source=path, plotly="cdn", **kwargs)
    ctx.pop("generated")
    return json.dumps(ctx, sort_keys=True, default=str)


@pytest.mark.parametrize("rel, flows", [("demo.pcap", None),
                                        ("competing/competing-3.client.pcap.gz", None),
                                        ("churn/churn.client.pcap.gz", [3, 500, 999]),
                                        ("outage/outage-rto.server.pcap.gz", None)])
def test_first_pass_series_equal_the_second_pass(rel: str, flows: list[int] | None) -> None:
    path = str(sample(rel))
    first_pass = FirstPassSeries()
    analysis = analyze(path, segment_sink=first_pass)
    assert first_pass.series([], analysis.capture.first_ts) is not None  # it kept them
    assert _context(analysis, path, flows=flows, first_pass=first_pass) == \
        _context(analysis, path, flows=flows)


@pytest.mark.parametrize("bounds", [{"max_flows": 2}, {"max_segments": 100}])
def test_past_its_bounds_it_lets_go_and_the_report_reads_again(bounds: dict) -> None:
    path = str(sample("competing/competing-3.client.pcap.gz"))
    first_pass = FirstPassSeries(**bounds)
    analysis = analyze(path, segment_sink=first_pass)
    assert first_pass.series([0], analysis.capture.first_ts) is None
    assert not first_pass.active and not first_pass.columns()  # what it held is freed
    assert len(first_pass.log.rec) == len(first_pass.log.times) == 0
    with_sink = _context(analysis, path, first_pass=first_pass)
    assert with_sink == _context(analysis, path)
    assert '"source_ok": true' in with_sink


def test_without_a_capture_file_the_first_pass_still_gives_charts() -> None:
    path = str(sample("demo.pcap"))
    first_pass = FirstPassSeries()
    analysis = analyze(path, segment_sink=first_pass)
    ctx = build_context(analysis, source=None, plotly="cdn", first_pass=first_pass)
    assert ctx["source_ok"] and ctx["details"]
    assert ctx["figures"].keys() == build_context(analysis, source=path,
                                                  plotly="cdn")["figures"].keys()
