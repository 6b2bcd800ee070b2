"""Diagnosis against the lab corpus, where the cause of every capture is known.

Each manifest entry lists the findings its scenario must produce (`expect_findings`) and
those it must not (`expect_absent`); on top of that the scenario-specific checks of
issue 6 (Nagle stalls per request near the delayed-ACK timer, TIME_WAIT on the client
for churn, ...) and ground-truth checks for loss findings (the lab link reports how
many packets it dropped).  Entries whose files are absent are skipped.

Every scenario except the bulk grid runs by default; bulk entries are sampled (the
smallest files) unless TCPF_FULL_CORPUS=1.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest

from tcpforensics.analysis import analyze
from tcpforensics.diagnose import diagnose

SAMPLE = Path(__file__).resolve().parents[1] / "sample_pcaps"
MANIFEST = SAMPLE / "manifest.json"
BULK_SAMPLE = 6
FULL = os.environ.get("TCPF_FULL_CORPUS") == "1"

# Findings that must not appear on clean traffic (issue 6).
SCENARIO_FINDINGS = {"nagle_delayed_ack", "zero_window", "keepalive", "time_wait_pressure",
                     "reset", "window_scaling_off", "receive_window_limited"}
CLEAN = {"nodelay", "pooled"}
# Findings that claim packets were lost on the path: false if the link dropped nothing.
LOSS_FINDINGS = {"retransmissions", "rto_stall", "loss_bound_throughput"}


def _entries() -> list[dict]:
    if not MANIFEST.exists():
        return []
    entries = json.loads(MANIFEST.read_text()).get("captures", [])
    present = [e for e in entries if (SAMPLE / e["file"]).exists()]
    other = [e for e in present if e["scenario"] != "bulk"]
    bulk = sorted((e for e in present if e["scenario"] == "bulk"),
                  key=lambda e: (SAMPLE / e["file"]).stat().st_size)
    return other + (bulk if FULL else bulk[:BULK_SAMPLE])


ENTRIES = _entries()
pytestmark = pytest.mark.skipif(not ENTRIES, reason="no lab captures in sample_pcaps/")


@cache
def _analysis(file: str):
    a = analyze(SAMPLE / file)
    errors: list = []
    # rerun the rules to learn whether any of them choked (analyze() stays quiet)
    findings = diagnose(a.flow_results, a.capture, errors)
    return a, findings, errors


def _ids(entries):
    return [e["file"] for e in entries]


def _kinds(findings) -> set[str]:
    return {f.kind for f in findings}


def _link_drops(entry: dict) -> int | None:
    link = (entry.get("truth") or {}).get("link") or {}
    total, known = 0, False
    for side in ("data_direction", "reverse_direction"):
        d = link.get(side)
        if d:
            known = True
            total += int(d.get("random_drops", 0)) + int(d.get("queue_drops", 0))
    return total if known else None


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_expected_and_absent_findings(entry):
    _, findings, errors = _analysis(entry["file"])
    assert errors == []
    kinds = _kinds(findings)
    truth = entry["truth"]
    missing = set(truth.get("expect_findings") or []) - kinds
    wrong = set(truth.get("expect_absent") or []) & kinds
    assert not missing, f"missing {sorted(missing)}; got {sorted(kinds)}"
    assert not wrong, f"should be absent: {sorted(wrong)}"


@cache
def _sender_timeouts(run: str) -> int | None:
    """Retransmissions after >= 200 ms of sender silence, in the run's sender capture."""
    from tcpforensics.analysis import iter_events
    from tcpforensics.model import Analysis

    sender = [e for e in ENTRIES if e["run"] == run and e["vantage"] == "sender"]
    if not sender:
        return None
    rexmit = int(Analysis.RETRANSMISSION | Analysis.FAST_RETRANSMISSION)
    last: dict = {}
    n = 0
    for seg, flow, v in iter_events(SAMPLE / sender[0]["file"]):
        if seg.length <= 0 or seg.flags & 0x02:
            continue
        key = (id(flow), v.direction)
        if v.analysis & rexmit and key in last and seg.ts - last[key] >= 0.2:
            n += 1
        last[key] = seg.ts
    return n


DATA_ENTRIES = [e for e in ENTRIES if e["scenario"] in (
    "bulk", "competing", "sack_off", "timestamps_off", "rst_abort", "ss_restart",
    "midstream", "wscale_off", "tso", "app_limited", "outage", "rwnd_limited")]


@pytest.mark.parametrize("entry", DATA_ENTRIES, ids=_ids(DATA_ENTRIES))
def test_rto_stalls_only_where_the_sender_fell_silent(entry):
    a, _, _ = _analysis(entry["file"])
    stalls = [s for f in a.flow_results for s in f.stalls if s.kind == "rto"]
    timeouts = _sender_timeouts(entry["run"])
    if timeouts is None:
        pytest.skip("no sender-side capture of this run")
    assert len(stalls) <= timeouts


@pytest.mark.parametrize("entry", ENTRIES, ids=_ids(ENTRIES))
def test_no_false_warnings(entry):
    _, findings, _ = _analysis(entry["file"])
    scenario = entry["scenario"]
    drops = _link_drops(entry)
    for f in findings:
        if f.severity == "info":
            continue
        if scenario in CLEAN or (scenario == "bulk" and not entry["params"].get("loss")):
            assert f.kind not in SCENARIO_FINDINGS, (f.kind, f.title)
        if f.kind in LOSS_FINDINGS and drops is not None:
            assert drops > 0, f"{f.kind} ({f.title}) but the link dropped nothing"
        if f.kind in ("zero_window",):
            assert scenario == "slow_reader", f.title
        if f.kind in ("time_wait_pressure", "connection_churn"):
            assert scenario == "churn", f.title
        if f.kind in ("handshake_failure", "syn_retransmission"):
            assert scenario in ("refused", "blackhole"), f.title


def _by_scenario(*names: str) -> list[dict]:
    return [e for e in ENTRIES if e["scenario"] in names]


@pytest.mark.parametrize("entry", _by_scenario("nagle"), ids=_ids(_by_scenario("nagle")))
def test_nagle_stall_on_nearly_every_request(entry):
    a, findings, _ = _analysis(entry["file"])
    requests = int(entry["params"]["transactions"])
    rtt = entry["params"]["rtt_ms"] / 1000.0
    stalls = [s for f in a.flow_results for s in f.stalls if s.kind == "nagle_delayed_ack"]
    assert len(stalls) >= 0.9 * requests
    assert len(stalls) <= requests
    for s in stalls:
        # the hold is the peer's delayed-ACK timer (Linux: 40 ms) plus one round trip
        assert 0.030 <= s.detail["ack_delay"] <= 0.080, s
        assert 0.030 <= s.duration <= 0.080 + rtt + 0.01, s
    (nf,) = [f for f in findings if f.kind == "nagle_delayed_ack"]
    assert nf.severity == "warning"
    assert nf.endpoint == entry["truth"]["client"] or nf.endpoint.startswith(
        entry["truth"]["client"].rsplit(":", 1)[0])


@pytest.mark.parametrize("entry", _by_scenario("nodelay", "pooled"),
                         ids=_ids(_by_scenario("nodelay", "pooled")))
def test_clean_request_response_has_no_stall_findings(entry):
    a, findings, _ = _analysis(entry["file"])
    assert not _kinds(findings) & SCENARIO_FINDINGS
    assert not [s for f in a.flow_results for s in f.stalls if s.kind == "nagle_delayed_ack"]


@pytest.mark.parametrize("entry", _by_scenario("churn"), ids=_ids(_by_scenario("churn")))
def test_churn_time_wait_on_the_client(entry):
    a, findings, _ = _analysis(entry["file"])
    (tw,) = [f for f in findings if f.kind == "time_wait_pressure"]
    assert tw.metrics["time_wait_side"] == "client"
    client_host = a.flow_results[0].client.rsplit(":", 1)[0]
    assert tw.endpoint == client_host
    rate = entry["params"]["conn_rate"]
    assert tw.metrics["rate_per_s"] == pytest.approx(rate, rel=0.25)
    assert tw.metrics["connections"] >= 0.8 * rate * entry["params"]["duration_s"]


@pytest.mark.parametrize("entry", _by_scenario("slow_reader"),
                         ids=_ids(_by_scenario("slow_reader")))
def test_slow_reader_zero_window_names_the_reader(entry):
    a, findings, _ = _analysis(entry["file"])
    (zw,) = [f for f in findings if f.kind == "zero_window"]
    sender = entry["truth"]["data_sender"]
    flow = a.flow_results[0]
    reader = flow.server if sender == flow.client else flow.client
    assert zw.endpoint == reader
    # the reader paused for 2.5 s and 2 s: the sender waited at least that long
    pauses = sum(p[1] for p in entry["params"].get("pauses", []))
    assert zw.metrics["seconds_lost"] >= 0.8 * pauses
    # the sender's window probes look like keep-alives on the wire; they are not
    assert "keepalive" not in _kinds(findings)
    assert zw.metrics["probes"] >= 1


@pytest.mark.parametrize("entry", _by_scenario("keepalive"), ids=_ids(_by_scenario("keepalive")))
def test_keepalive_interval(entry):
    _, findings, _ = _analysis(entry["file"])
    ka = [f for f in findings if f.kind == "keepalive" and f.metrics.get("interval")]
    assert ka
    interval = entry["params"]["keepalive"][1]
    assert ka[0].metrics["interval"] == pytest.approx(interval, rel=0.2)


@pytest.mark.parametrize("entry", _by_scenario("rst_abort"), ids=_ids(_by_scenario("rst_abort")))
def test_abort_reset(entry):
    _, findings, _ = _analysis(entry["file"])
    (r,) = [f for f in findings if f.kind == "reset"]
    assert r.severity == "warning" and r.metrics["in_window"] >= 1 and r.metrics["aborts"] >= 1


@pytest.mark.parametrize("entry", _by_scenario("wscale_off"),
                         ids=_ids(_by_scenario("wscale_off")))
def test_wscale_off_limits_the_window(entry):
    _, findings, _ = _analysis(entry["file"])
    (rw,) = [f for f in findings if f.kind == "receive_window_limited"]
    assert rw.metrics["window"] <= 65535
    rtt = entry["params"]["rtt_ms"] / 1000.0
    assert rw.metrics["rtt"] == pytest.approx(rtt, rel=0.2)
    # achieved throughput sits at the window / RTT ceiling, well below the link rate
    assert rw.metrics["observed_bps"] <= 1.05 * rw.metrics["ceiling_bps"]
    assert rw.metrics["observed_bps"] < 0.5 * entry["params"]["rate_mbit"] * 1e6
    assert "window_scaling_off" in _kinds(findings)
