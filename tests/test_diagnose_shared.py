"""Diagnosis on real-world captures (../shared/pcaps): invariants that must hold on any
traffic, plus the zero-window traces whose behaviour the manifest records.

* no finding rule fails and the stall observer never trips;
* every finding is well formed (contract kind, severity, texts, flows that exist);
* every stall lies inside its flow and has a positive duration;
* captures tshark counts zero-window segments in (MANIFEST.tsv `zerowin`), from the
  receiving side, yield a zero_window finding naming the receiver.
Skipped when the shared directory is absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tcpforensics.analysis import analyze
from tcpforensics.diagnose import FINDING_KINDS, STALL_KINDS, diagnose
from tcpforensics.errors import CaptureError


def _shared_dir() -> Path:
    sibling = Path(__file__).resolve().parents[2] / "shared"
    return sibling if sibling.is_dir() else Path("/work/shared")


SHARED = _shared_dir() / "pcaps"
MANIFEST = SHARED / "MANIFEST.tsv"


def _rows() -> list[dict]:
    if not MANIFEST.exists():
        return []
    with MANIFEST.open() as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r for r in rows if int(r.get("tcp_streams") or 0) > 0
            and (SHARED / r["local_path"]).exists()]


ROWS = _rows()
pytestmark = pytest.mark.skipif(not ROWS, reason="shared captures not present")


def _analyze(path: Path):
    try:
        a = analyze(path)
    except CaptureError:
        pytest.skip("format not read by tcpforensics")
    errors: list = []
    findings = diagnose(a.flow_results, a.capture, errors)
    return a, findings, errors


@pytest.mark.parametrize("row", ROWS, ids=[r["local_path"] for r in ROWS])
def test_diagnosis_invariants(row):
    a, findings, errors = _analyze(SHARED / row["local_path"])
    assert errors == []
    flows = {f.id: f for f in a.flow_results}
    for f in a.flow_results:
        assert f.tcp["stall_facts"]["observer_errors"] == 0
        for s in f.stalls:
            assert s.kind in STALL_KINDS
            assert s.duration > 0
            assert s.endpoint in (f.client, f.server)
            assert f.start - 1e-6 <= s.start and s.start + s.duration <= f.end + 1e-6, s
    for n, x in enumerate(findings, 1):
        assert x.id == f"F{n}" and x.kind in FINDING_KINDS
        assert x.severity in ("info", "warning", "critical")
        assert x.title and x.detail and x.recommendation
        assert x.flows and all(i in flows and x.id in flows[i].findings for i in x.flows)


ZERO_WINDOW_ROWS = [r for r in ROWS if int(r.get("zerowin") or 0) >= 5]


@pytest.mark.parametrize("row", ZERO_WINDOW_ROWS, ids=[r["local_path"] for r in
                                                       ZERO_WINDOW_ROWS])
def test_zero_window_traces(row):
    a, findings, _ = _analyze(SHARED / row["local_path"])
    zw = [x for x in findings if x.kind == "zero_window"]
    assert zw
    receivers = {e.addr for f in a.flow_results for e in f.endpoints
                 if e.counters.get("zero_window")}
    assert all(x.endpoint in receivers for x in zw if x.endpoint)
