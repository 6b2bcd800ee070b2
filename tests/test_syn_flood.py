"""SYN floods: the syn_flood finding counts every attempt (listed, evicted or folded),
names the target, and stays quiet on ordinary failures; the tally is bounded."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tcpforensics.analysis import analyze
from tcpforensics.diagnose import diagnose, handshakes
from tcpforensics.model import CaptureInfo, Endpoint, FlowResult

REPO = Path(__file__).resolve().parents[1]
TARGET = "198.19.255.1:80"  # benchmarks/make_synthetic.py --syn-flood


def attempt(fid: int, *, ts: float, outcome: str = "unanswered", client: str | None = None,
            server: str = TARGET, payload: int = 0) -> FlowResult:
    """A finished flow as the TCP core leaves it, for one connection attempt."""
    client = client or f"203.0.{fid >> 8 & 255}.{fid & 255}:{1024 + fid % 60000}"
    hs = {"syn": ts, "synack": ts + 0.01 if outcome in ("half_open", "completed") else None,
          "ack": ts + 0.02 if outcome == "completed" else None}
    resets = [{"ts": ts + 0.01, "endpoint": server, "answer_to_syn": True}] \
        if outcome == "refused" else []
    eps = [Endpoint(client, "client", packets=1, payload_bytes=payload),
           Endpoint(server, "server", packets=int(outcome != "unanswered"))]
    return FlowResult(
        id=fid, client=client, server=server, start=ts, end=ts + 0.02,
        state="RESET" if outcome == "refused" else "CLOSED",
        handshake="complete" if outcome == "completed" else "partial", syn_rtt=None,
        rtt={"min": None, "median": None, "max": None, "samples": 0}, endpoints=eps,
        tcp={"handshake_times": hs, "resets": resets})


def diagnosed(flows: list[FlowResult], listed: list[FlowResult] | None = None):
    cap = CaptureInfo(path="x.pcap", first_ts=0.0, last_ts=3600.0)
    for f in flows:
        handshakes.count_attempt(cap.handshakes, f)
    return cap, diagnose(flows if listed is None else listed, cap)


def test_classify_outcomes() -> None:
    for outcome in ("unanswered", "half_open", "refused", "completed"):
        assert handshakes.classify(attempt(1, ts=0.0, outcome=outcome)) == outcome
    # data flowed: the capture only missed the end of the handshake
    assert handshakes.classify(attempt(1, ts=0.0, payload=10)) is None
    # picked up mid-stream: no client SYN, not an attempt
    mid = attempt(1, ts=0.0)
    mid.tcp["handshake_times"]["syn"] = None
    assert handshakes.classify(mid) is None


def test_flood_gives_one_critical_finding_with_rate_targets_and_outcomes() -> None:
    outcomes = ("unanswered", "half_open", "refused")
    flows = [attempt(i, ts=100.0 + i * 1e-3, outcome=outcomes[i % 3]) for i in range(3000)]
    flows += [attempt(10_000 + i, ts=101.0 + i * 0.1, outcome="completed") for i in range(5)]
    flows += [attempt(20_000 + i, ts=102.0, server="198.19.255.2:443") for i in range(30)]
    _, found = diagnosed(flows)
    (flood,) = [f for f in found if f.kind == "syn_flood"]
    assert flood.severity == "critical" and flood.id == "F1"  # ranks first
    m = flood.metrics
    assert m["attempts_failed"] == 3030 == m["flows_affected"]
    assert (m["unanswered"], m["half_open"], m["refused"], m["completed"]) == (
        1030, 1000, 1000, 5)
    assert m["top_targets"][0] == {"target": TARGET, "attempts": 3000}
    assert m["top_targets"][1] == {"target": "198.19.255.2:443", "attempts": 30}
    assert m["targets"] == 2 and m["sources"] == 3030 and not m["sources_capped"]
    assert 900 <= m["peak_per_s"] <= 1100  # 1 attempt per ms
    assert flood.endpoint == TARGET and TARGET in flood.title
    assert set(flood.flows) == {f.id for f in flows if f.id < 10_000 or f.id >= 20_000}
    assert "half-open" in flood.detail and "SYN cookies" in flood.recommendation


def test_folded_flows_count_but_only_listed_ones_are_linked() -> None:
    flows = [attempt(i, ts=i * 1e-4) for i in range(2000)]
    _, found = diagnosed(flows, listed=flows[:10])
    (flood,) = [f for f in found if f.kind == "syn_flood"]
    assert flood.metrics["attempts_failed"] == 2000
    assert flood.flows == list(range(10))


@pytest.mark.parametrize("n, spacing", [
    (999, 1e-4),  # too few, however fast
    (3000, 1.0),  # many, but one per second: a retrying client, not a flood
])
def test_no_flood_below_the_thresholds(n: int, spacing: float) -> None:
    _, found = diagnosed([attempt(i, ts=i * spacing) for i in range(n)])
    assert not [f for f in found if f.kind == "syn_flood"]


def test_completed_connections_are_no_flood() -> None:
    _, found = diagnosed([attempt(i, ts=i * 1e-4, outcome="completed") for i in range(3000)])
    assert not [f for f in found if f.kind == "syn_flood"]


def test_tally_is_bounded(monkeypatch) -> None:
    monkeypatch.setattr(handshakes, "MAX_KEYS", 50)
    monkeypatch.setattr(handshakes, "MAX_BUCKETS", 16)
    stats: dict = {}
    for i in range(5000):
        # distinct source and target per attempt, spread over ~14 hours
        handshakes.count_attempt(stats, attempt(
            i, ts=i * 10.0, server=f"10.0.{i >> 8 & 255}.{i & 255}:80"))
    assert len(stats["targets"]) == 50 and stats["targets_uncounted"] == 4950
    assert len(stats["sources"]) == 50 and stats["sources_uncounted"] == 4950
    assert len(stats["buckets"]) <= 16 and sum(stats["buckets"].values()) == 5000
    assert stats["bucket_s"] >= 5000 * 10.0 / 16


def _flood_file(tmp_path: Path, n: int) -> Path:
    out = tmp_path / f"flood-{n}.pcap"
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_synthetic.py"),
                    "--syn-flood", str(n), "--out", str(out)], check=True,
                   capture_output=True)
    return out


def test_real_flood_capture_reports_every_flow(tmp_path: Path) -> None:
    n = 3000
    a = analyze(str(_flood_file(tmp_path, n)), max_flows=400, max_empty_flows=250)
    cap = a.capture
    assert cap.evicted_flows == n - 400
    assert len(a.flow_results) == 250 and cap.folded_flows["count"] == n - 250
    (flood,) = [f for f in a.finding_results if f.kind == "syn_flood"]
    assert flood.metrics["attempts_failed"] == n == flood.metrics["unanswered"]
    assert flood.metrics["evicted_flows"] == n - 400
    assert flood.metrics["folded_flows"] == n - 250
    assert flood.metrics["top_targets"] == [{"target": TARGET, "attempts": n}]
    assert flood.flows == [f.id for f in a.flow_results]
    assert all(flood.id in f.findings for f in a.flow_results)
    assert f"{n - 400:,} flows were evicted" in flood.detail
    json.dumps(a.to_dict(), allow_nan=False)


def test_empty_flows_listed_up_to_their_own_bound(tmp_path: Path) -> None:
    a = analyze(str(_flood_file(tmp_path, 600)), max_empty_flows=100)
    assert len(a.flow_results) == 100 and a.capture.folded_flows["count"] == 500
    assert any("flows without payload" in w for w in a.capture.warnings)


def test_tallies_of_two_shards_merge_into_the_one_pass_tally(monkeypatch) -> None:
    monkeypatch.setattr(handshakes, "MAX_BUCKETS", 16)
    outcomes = ("unanswered", "half_open", "refused", "completed")
    flows = [attempt(i, ts=i * 7.0, outcome=outcomes[i % 4], server=f"10.0.0.{i % 5}:80")
             for i in range(400)]
    whole: dict = {}
    parts: list[dict] = [{}, {}]
    for f in flows:
        handshakes.count_attempt(whole, f)
        handshakes.count_attempt(parts[f.id < 60], f)  # one shard saw the first minutes
    assert parts[0]["bucket_s"] != parts[1]["bucket_s"]  # the merge must line them up
    merged = parts[0]
    handshakes.merge_tally(merged, parts[1])
    assert merged == whole


def test_a_flood_split_over_two_processes_is_counted_whole(tmp_path: Path) -> None:
    from tcpforensics.batch import analyze_parallel

    n = 1200
    path = str(_flood_file(tmp_path, n))
    single = analyze(path, max_empty_flows=300)
    split = analyze_parallel(path, 2, single_options(max_empty_flows=300))
    assert split.capture.handshakes == single.capture.handshakes
    assert split.capture.folded_flows == single.capture.folded_flows == {
        "count": n - 300, "state_CLOSED": n - 300}
    assert split.capture.warnings == single.capture.warnings
    assert len(split.flow_results) == 300
    (flood,) = [f for f in split.finding_results if f.kind == "syn_flood"]
    assert flood.metrics["attempts_failed"] == n


def single_options(**overrides):
    from tcpforensics.analysis import Options

    return Options(**overrides)
