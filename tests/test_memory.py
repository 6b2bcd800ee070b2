"""What a finished flow keeps: Options.report_details (off for `analyze` and `batch`).

Every finished flow's result stays in memory until the JSON and the cross-flow findings
are written, so on long captures of many flows its weight is what grows.  Without the
report, the cwnd chart series are not built and the facts only the report lists are
dropped; the analysis JSON and the findings must not change.
"""

from __future__ import annotations

import gc
import json
import tracemalloc
from pathlib import Path

import pytest

import tcpforensics.analysis as analysis_mod
from tcpforensics import cli
from tcpforensics.analysis import REPORT_ONLY_FACTS, Options, analyze
from tcpforensics.diagnose import diagnose

SAMPLE = Path(__file__).resolve().parents[1] / "sample_pcaps"
# one capture of each lab scenario: between them they raise every kind of finding
CAPTURES = sorted(next(iter(sorted(d.glob("*.pcap.gz"))), None) or d
                  for d in SAMPLE.iterdir() if d.is_dir() and d.name != "bulk")
CAPTURES = [c for c in CAPTURES if c.is_file()] + sorted(SAMPLE.glob("bulk/*cubic*"))[:1]


def test_captures_found() -> None:
    assert len(CAPTURES) >= 15


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.parent.name)
def test_json_and_findings_need_no_report_details(capture: Path) -> None:
    full = analyze(capture)
    lean = analyze(capture, report_details=False)
    assert lean.to_json() == full.to_json()
    if any(e.payload_bytes for f in full.flow_results for e in f.endpoints):
        assert any(f.cwnd for f in full.flow_results)
    for flow in lean.flow_results:
        assert flow.cwnd == []
        assert not REPORT_ONLY_FACTS & flow.tcp.keys()
        assert "first_frame" in flow.tcp  # batch's shard merge orders flows by it


class _ReadFacts(dict):
    """A facts dict that records which keys are read (iterating reads them all)."""

    read: set[str] = set()

    def __getitem__(self, key):
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key, default=None):
        self.read.add(key)
        return super().get(key, default)

    def __contains__(self, key):
        self.read.add(key)
        return super().__contains__(key)

    def __iter__(self):
        self.read.update(self.keys())
        return super().__iter__()

    def items(self):
        self.read.update(self.keys())
        return super().items()

    def values(self):
        self.read.update(self.keys())
        return super().values()


def test_findings_read_no_report_only_fact() -> None:
    """REPORT_ONLY_FACTS is right: no findings rule reads those keys (on the captures
    where each rule has something to say), so dropping them changes no finding."""
    _ReadFacts.read = set()
    kinds = set()
    for capture in CAPTURES:
        analysis = analyze(capture)
        for flow in analysis.flow_results:
            flow.tcp = _ReadFacts(flow.tcp)
        findings = diagnose(analysis.flow_results, analysis.capture)
        kinds.update(f.kind for f in findings)
    assert len(kinds) >= 10  # the captures exercise the rules
    assert "stall_facts" in _ReadFacts.read  # the recording works (the rules read it per flow)
    assert not _ReadFacts.read & REPORT_ONLY_FACTS


def test_report_only_facts_are_core_facts() -> None:
    """Every name in REPORT_ONLY_FACTS is one the TCP core writes (no stale entry)."""
    flow = analyze(CAPTURES[0]).flow_results[0]
    assert flow.tcp.keys() >= REPORT_ONLY_FACTS


def _weight(capture: Path, **options) -> float:
    """Bytes a finished result holds, on average: what deleting the results frees."""
    tracemalloc.start()
    try:
        results = analyze(capture, **options).flow_results
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
        n = len(results)
        del results
        gc.collect()
        return (held - tracemalloc.get_traced_memory()[0]) / n
    finally:
        tracemalloc.stop()


def test_a_lean_result_weighs_little() -> None:
    capture = sorted(SAMPLE.glob("competing/*.pcap.gz"))[0]  # a few flows with data
    full = _weight(capture)
    lean = _weight(capture, report_details=False)
    # (measured: 36 KB and 12.5 KB)
    assert lean < 16_000 and lean < full / 2, (full, lean)


def test_analyze_command_keeps_no_report_details(tmp_path, monkeypatch) -> None:
    seen: list[bool] = []
    real = analysis_mod.analyze

    def spy(source, options=None, **kwargs):
        seen.append((options or Options()).report_details
                    and kwargs.get("report_details", True))
        return real(source, options=options, **kwargs)

    monkeypatch.setattr(analysis_mod, "analyze", spy)
    out = tmp_path / "a.json"
    assert cli.main(["analyze", str(CAPTURES[0]), "-q", "-o", str(out)]) == 0
    assert json.loads(out.read_text())["flows"]
    assert cli.main(["report", str(CAPTURES[0]), "-q", "-o", str(tmp_path / "r.html")]) == 0
    assert seen == [False, True]


def test_options_default_keeps_report_details() -> None:
    assert Options().report_details
    flows = analyze(CAPTURES[0]).flow_results
    assert flows[0].tcp.keys() >= REPORT_ONLY_FACTS


def test_a_lean_analysis_still_renders() -> None:
    """Without its details the report still renders (charts from its own pass)."""
    html = analyze(SAMPLE / "demo.pcap", report_details=False).to_html()
    assert "<html" in html and "Congestion" in html


def test_lean_result_is_the_full_one_less_report_facts() -> None:
    """Connection.result(details=False) builds exactly the facts a full result keeps
    once REPORT_ONLY_FACTS are dropped, in the same order."""
    for capture in CAPTURES[:3]:
        full = analyze(capture, options=Options(report_details=True)).flow_results
        lean = analyze(capture, options=Options(report_details=False)).flow_results
        assert len(full) == len(lean)
        for f, g in zip(full, lean, strict=True):
            kept = {k: v for k, v in f.tcp.items() if k not in REPORT_ONLY_FACTS}
            assert list(g.tcp) == list(kept)
            assert g.tcp == kept
            assert g.cwnd == []
