"""Congestion-control inference on real Linux captures from the lab (sample_pcaps/).

The lab ran real reno, cubic and bbr senders through a bottleneck and recorded the truth
in the manifest.  Skipped when a capture is absent.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = ROOT / "sample_pcaps" / "manifest.json"


def _entries() -> list[dict]:
    if not MANIFEST.exists():
        return []
    return json.loads(MANIFEST.read_text()).get("captures", [])


def _bdp_pkts(p: dict) -> float:
    return p.get("rate_mbit", 0) * 1e6 / 8 * p.get("rtt_ms", 0) / 1000 / 1448


def _pick(cca: str, vantage: str, n: int) -> list[dict]:
    """Short bulk captures with windows of at least ~20 packets (room to measure a cut)."""
    rows = [e for e in _entries()
            if e.get("scenario") == "bulk" and e.get("vantage") == vantage
            and e["params"].get("cca") == cca and e["params"].get("duration_s", 99) <= 15
            and _bdp_pkts(e["params"]) * (1 + e["params"].get("queue_bdp", 0)) >= 20
            and (ROOT / "sample_pcaps" / e["file"]).exists()]
    # smallest files first keeps the test quick
    rows.sort(key=lambda e: ((ROOT / "sample_pcaps" / e["file"]).stat().st_size, e["file"]))
    return rows[:n]


def _cca_of(entry: dict) -> dict | None:
    from tcpforensics.analysis import analyze

    res = analyze(str(ROOT / "sample_pcaps" / entry["file"]))
    sender = entry["truth"]["data_sender"]
    for flow in res.flow_results:
        for ep in flow.endpoints:
            if ep.addr == sender:
                return ep.cca
    raise AssertionError(f"data sender {sender} not found in {entry['file']}")


@pytest.mark.parametrize("cca", ["reno", "cubic", "bbr"])
def test_bulk_sender_side_classified(cca: str) -> None:
    """Sender side: never another algorithm's name, and most captures named right."""
    picked = _pick(cca, "sender", 3)
    if not picked:
        pytest.skip(f"no {cca} bulk capture in sample_pcaps")
    right = 0
    for entry in picked:
        got = _cca_of(entry)
        assert got is not None, entry["file"]
        assert got["name"] in (cca, "unknown"), (entry["file"], got)
        assert 0 <= got["confidence"] <= 1
        ev = got["evidence"]
        assert ev["vantage"] == "sender"
        if got["name"] == "unknown":
            assert ev["reason"], entry["file"]
            continue
        right += 1
        assert got["confidence"] > 0
        if cca in ("reno", "cubic"):
            # the measured multiplicative decrease is the algorithm's
            want = 0.5 if cca == "reno" else 0.7
            assert abs(ev["beta"] - want) < 0.1, (entry["file"], ev["beta"])
    assert 2 * right >= len(picked), f"{cca}: only {right} of {len(picked)} named"


@pytest.mark.parametrize("cca", ["reno", "cubic", "bbr"])
def test_bulk_receiver_side_mostly_right(cca: str) -> None:
    """Receiver side (goal 90% on decided flows): of three captures, at most one misnamed
    and at least one named right."""
    picked = _pick(cca, "receiver", 3)
    if not picked:
        pytest.skip(f"no {cca} bulk capture in sample_pcaps")
    right = wrong = 0
    for entry in picked:
        got = _cca_of(entry)
        assert got is not None and got["evidence"]["vantage"] == "receiver", entry["file"]
        right += got["name"] == cca
        wrong += got["name"] not in (cca, "unknown")
    assert wrong <= 1 and right >= 1, (cca, right, wrong, [e["file"] for e in picked])


def test_app_limited_sender_is_unknown() -> None:
    rows = [e for e in _entries() if e.get("scenario") == "app_limited"
            and (ROOT / "sample_pcaps" / e["file"]).exists()]
    if not rows:
        pytest.skip("no app_limited capture in sample_pcaps")
    for entry in rows:
        got = _cca_of(entry)
        assert got is None or got["name"] == "unknown", (entry["file"], got)
        if got is not None:
            assert got["evidence"]["reason"] == "application-limited"


def test_slow_reader_is_unknown() -> None:
    rows = [e for e in _entries() if e.get("scenario") == "slow_reader"
            and (ROOT / "sample_pcaps" / e["file"]).exists()]
    if not rows:
        pytest.skip("no slow_reader capture in sample_pcaps")
    for entry in rows:
        got = _cca_of(entry)
        assert got is None or got["name"] == "unknown", (entry["file"], got)
