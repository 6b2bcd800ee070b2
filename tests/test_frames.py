"""DataFrame views of an Analysis: columns, dtypes, missing values, derived columns."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from tcpforensics import frames
from tcpforensics.analysis import Analysis
from tcpforensics.model import CaptureInfo, Endpoint, Finding, FlowResult, Stall


def shared_dir() -> Path | None:
    for candidate in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")):
        if (candidate / "pcaps").is_dir():
            return candidate
    return None


def shared_pcap(rel: str) -> Path:
    base = shared_dir()
    if base is None or not (base / "pcaps" / rel).exists():
        pytest.skip(f"shared capture {rel} not available")
    return base / "pcaps" / rel


def sample_analysis() -> Analysis:
    """Two flows (IPv4 with a stall and a finding; a bare IPv6 SYN) and one finding."""
    cli = Endpoint("198.18.0.1:40000", "client", packets=10, payload_bytes=14600, mss=1460,
                   wscale=7, sack_permitted=True, timestamps=True,
                   counters={"retransmission": 2, "duplicate_ack": 1, "fin": 1},
                   cca={"name": "cubic", "confidence": 0.75, "evidence": {"beta": 0.7}})
    srv = Endpoint("198.18.0.2:5001", "server", packets=8, payload_bytes=0, mss=1460,
                   counters={"retransmission": 1, "duplicate_ack": 3})
    f0 = FlowResult(
        0, "198.18.0.1:40000", "198.18.0.2:5001", 1.0, 2.5, "CLOSED", "complete", 0.010,
        {"min": 0.010, "median": 0.020, "max": 0.050, "samples": 4}, [cli, srv],
        stalls=[Stall("rto", "198.18.0.1:40000", 1.2, 0.3, {"rto": 0.2}),
                Stall("nagle_delayed_ack", "198.18.0.1:40000", 2.0, 0.04)],
        findings=["F1"])
    f1 = FlowResult(
        1, "[2001:db8::1]:1", "[2001:db8::2]:2", 3.0, 3.0, "SYN_SENT", "none", None,
        {"min": None, "median": None, "max": None, "samples": 0},
        [Endpoint("[2001:db8::1]:1", "client", packets=1), Endpoint("[2001:db8::2]:2", "server")])
    finding = Finding("F1", "rto_stall", "warning", 'RTO, "quoted"', "d,etail\nline two",
                      "tune it", [0], "198.18.0.1:40000", {"stall_s": 0.3}, impact=0.3)
    info = CaptureInfo("/tmp/x.pcap", linktypes=[1], records=20, tcp_segments=19,
                       first_ts=1.0, last_ts=3.0, snaplen=65535)
    info.skipped["non_tcp"] = 1
    return Analysis(capture=info, flow_results=[f0, f1], finding_results=[finding])


STRING = pd.StringDtype()


def test_flows_frame_values_and_dtypes() -> None:
    df = frames.flows_frame(sample_analysis())
    assert list(df.columns) == [name for name, _ in frames.FLOW_COLUMNS]
    assert len(df) == 2
    assert df["flow"].dtype == "int64" and df["client_bytes"].dtype == "int64"
    assert df["start"].dtype == "float64" and df["syn_rtt"].dtype == "float64"
    assert df["client"].dtype == STRING and df["client_cca"].dtype == STRING
    row0, row1 = df.iloc[0], df.iloc[1]
    assert row0["duration"] == pytest.approx(1.5)
    assert row0["retransmissions"] == 3  # both directions
    assert row0["stalls"] == 2 and row0["stall_time"] == pytest.approx(0.34)
    assert row0["client_cca"] == "cubic" and pd.isna(row0["server_cca"])
    assert row0["findings"] == ["F1"] and row1["findings"] == []
    assert math.isnan(row1["syn_rtt"]) and math.isnan(row1["rtt_median"])
    assert row1["rtt_samples"] == 0 and row1["client_packets"] == 1


def test_endpoints_frame_counters_and_nullable_options() -> None:
    df = frames.endpoints_frame(sample_analysis())
    assert len(df) == 4
    assert list(df["role"]) == ["client", "server", "client", "server"]
    assert list(df["flow"]) == [0, 0, 1, 1]
    assert df["mss"].dtype == "Int64" and df["wscale"].dtype == "Int64"
    assert df.loc[0, "mss"] == 1460 and pd.isna(df.loc[1, "wscale"])
    assert df["sack_permitted"].dtype == "bool"
    assert list(df["duplicate_ack"]) == [1, 3, 0, 0]
    assert list(df["zero_window"]) == [0, 0, 0, 0]  # absent counters are zero
    assert df.loc[0, "cca_confidence"] == pytest.approx(0.75)
    assert df.loc[0, "cca_evidence"] == '{"beta":0.7}'
    assert pd.isna(df.loc[1, "cca"]) and math.isnan(df.loc[1, "cca_confidence"])


def test_stalls_and_findings_frames() -> None:
    a = sample_analysis()
    st = frames.stalls_frame(a)
    assert list(st["kind"]) == ["rto", "nagle_delayed_ack"]
    assert st.loc[0, "end"] == pytest.approx(1.5)
    assert st.loc[0, "detail"] == '{"rto":0.2}' and pd.isna(st.loc[1, "detail"])
    fi = frames.findings_frame(a)
    assert fi.loc[0, "flows"] == [0]
    assert fi.loc[0, "severity"] == "warning" and fi["impact"].dtype == "float64"
    cap = frames.capture_frame(a)
    assert cap.loc[0, "non_tcp"] == 1 and cap.loc[0, "flows"] == 2


def test_empty_analysis_gives_typed_empty_frames() -> None:
    empty = Analysis(capture=CaptureInfo("/tmp/empty.pcap"))
    for fn, spec in ((frames.flows_frame, frames.FLOW_COLUMNS),
                     (frames.endpoints_frame, frames.ENDPOINT_COLUMNS),
                     (frames.stalls_frame, frames.STALL_COLUMNS),
                     (frames.findings_frame, frames.FINDING_COLUMNS)):
        df = fn(empty)
        assert len(df) == 0
        assert list(df.columns) == [name for name, _ in spec]
        assert df["flow" if "flow" in df.columns else "id"].dtype in ("int64", STRING)


def test_severity_gate() -> None:
    findings = sample_analysis().finding_results  # one warning
    assert frames.severity_at_least(findings, "info")
    assert frames.severity_at_least(findings, "warning")
    assert not frames.severity_at_least(findings, "critical")
    assert not frames.severity_at_least([], "info")
    assert frames.severity_at_least([{"severity": "critical"}], "WARNING")
    with pytest.raises(ValueError):
        frames.severity_at_least(findings, "fatal")


def test_addr_text() -> None:
    assert frames.addr_text(bytes([198, 18, 0, 1]), 80) == "198.18.0.1:80"
    v6 = bytes.fromhex("20010db8000000000000000000000001")
    assert frames.addr_text(v6, 443) == "[2001:db8::1]:443"


# --- on real captures -----------------------------------------------------------------
def test_frames_match_the_json_contract_on_a_real_capture() -> None:
    from tcpforensics.analysis import analyze

    a = analyze(shared_pcap("tcptrace/input/http.dmp"))
    doc = a.to_dict()
    flows = frames.flows_frame(a)
    eps = frames.endpoints_frame(a)
    assert len(flows) == len(doc["flows"]) > 1
    assert list(flows["flow"]) == [f["id"] for f in doc["flows"]]
    assert list(flows["client"]) == [f["client"] for f in doc["flows"]]
    assert len(eps) == sum(len(f["endpoints"]) for f in doc["flows"])
    by_json = [e["payload_bytes"] for f in doc["flows"] for e in f["endpoints"]]
    assert list(eps["payload_bytes"]) == by_json
    assert len(frames.findings_frame(a)) == len(doc["findings"])


def test_events_frame_has_one_row_per_tcp_segment() -> None:
    from tcpforensics.analysis import analyze

    path = shared_pcap("tcptrace/input/long_rtt.dmp")
    ev = frames.events_frame(path)
    a = analyze(path)
    assert len(ev) == a.capture.tcp_segments > 0
    assert list(ev.columns) == [name for name, _ in frames.EVENT_COLUMNS]
    assert ev["frame"].is_monotonic_increasing and ev["frame"].iloc[0] >= 1
    assert ev["rtt"].dtype == "float64" and ev["bytes_in_flight"].dtype == "Int64"
    # every flow id in the events is a flow of the analysis, with the same endpoints
    ends = {f.id: {f.client, f.server} for f in a.flow_results}
    for row in ev[["flow", "src", "dst"]].drop_duplicates().itertuples():
        assert {row.src, row.dst} == ends[row.flow]


def test_events_address_cache_purge_keeps_rows_identical(monkeypatch) -> None:
    path = shared_pcap("tcptrace/input/fast_reuse.dmp")  # 18 flows that end one by one
    want = list(frames.iter_event_rows(path))
    monkeypatch.setattr(frames, "_PURGE_EVERY", 7)
    assert list(frames.iter_event_rows(path)) == want
