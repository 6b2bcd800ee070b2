"""Finding rules from hand-built FlowResults: each rule fires on its evidence, stays
quiet on clean inputs, and every finding carries evidence, a fix and a severity."""

from __future__ import annotations

import pytest

from tcpforensics.diagnose import FINDING_KINDS, diagnose, stall_summary
from tcpforensics.model import CaptureInfo, Endpoint, FlowResult, Stall

C, S = "198.18.0.1:40000", "198.18.0.2:5001"
DESIGN_KINDS = {
    "retransmissions", "rto_stall", "nagle_delayed_ack", "zero_window",
    "receive_window_limited", "window_scaling_off", "sack_off", "timestamps_off",
    "time_wait_pressure", "connection_churn", "keepalive", "reset", "handshake_failure",
    "syn_retransmission", "mss_missing", "offload_artifacts", "capture_loss",
    "loss_bound_throughput", "slow_start_restart",
    "syn_flood",  # beyond the DESIGN.md list (hardening, docs/findings.md)
}


def flow(fid: int = 0, client: str = C, server: str = S, start: float = 0.0,
         end: float = 10.0, stalls: list | None = None, tcp: dict | None = None,
         facts: dict | None = None, counters: tuple[dict, dict] = ({}, {}),
         payload: tuple[int, int] = (0, 0), options: bool = True,
         handshake: str = "complete") -> FlowResult:
    eps = [Endpoint(client, "client", payload_bytes=payload[0], mss=1460,
                    wscale=7 if options else None, sack_permitted=options,
                    timestamps=options, counters=dict(counters[0])),
           Endpoint(server, "server", payload_bytes=payload[1], mss=1460,
                    wscale=7 if options else None, sack_permitted=options,
                    timestamps=options, counters=dict(counters[1]))]
    base_facts = {"syn_seen": handshake != "none", "synack_seen": handshake != "none",
                  "handshake_ack_seen": handshake == "complete", "path_rtt": 0.02,
                  "syn_mss": [1460, 1460]}
    base_facts.update(facts or {})
    t = {"window_scaling": options, "sack": options, "timestamps": options,
         "stall_facts": base_facts}
    t.update(tcp or {})
    return FlowResult(id=fid, client=client, server=server, start=start, end=end,
                      state="CLOSED", handshake=handshake, syn_rtt=0.02,
                      rtt={"min": 0.02, "median": 0.02, "max": 0.03, "samples": 10},
                      endpoints=eps, stalls=list(stalls or []), tcp=t)


def cap() -> CaptureInfo:
    return CaptureInfo(path="x.pcap", first_ts=0.0, last_ts=100.0)


def by_kind(findings, kind):
    return [f for f in findings if f.kind == kind]


def check_well_formed(findings):
    for n, f in enumerate(findings, 1):
        assert f.id == f"F{n}"
        assert f.kind in DESIGN_KINDS
        assert f.severity in ("info", "warning", "critical")
        assert f.title and len(f.detail) > 60 and len(f.recommendation) > 40
        assert f.flows
    impacts = [f.impact for f in findings]
    assert impacts == sorted(impacts, reverse=True)


def test_registry_covers_every_design_kind():
    assert set(FINDING_KINDS) == DESIGN_KINDS


def test_clean_flow_has_no_findings():
    f = flow(payload=(200, 600))
    assert diagnose([f], cap()) == []
    assert f.findings == []


def _nagle_stalls(n, endpoint=C, t0=1.0):
    return [Stall("nagle_delayed_ack", endpoint, t0 + i * 0.1, 0.044,
                  {"ack_delay": 0.040, "rtt": 0.004}) for i in range(n)]


def test_nagle_finding_names_sender_timer_and_fix():
    f = flow(stalls=_nagle_stalls(60), facts={"nagle_candidates": [60, 0]})
    (nf,) = diagnose([f], cap())
    assert nf.kind == "nagle_delayed_ack" and nf.severity == "warning"
    assert nf.endpoint == C
    assert nf.metrics["stalls"] == 60
    assert nf.metrics["median_ack_delay"] == pytest.approx(0.040)
    assert nf.metrics["seconds_lost"] == pytest.approx(60 * 0.044)
    assert "TCP_NODELAY" in nf.recommendation and "40 ms" in nf.detail
    assert f.findings == [nf.id]


def test_rto_finding_reports_backoff():
    stalls = [Stall("rto", C, 2.0, 1.5, {"backoff": 2, "first_timeout": 0.3, "timeouts": 3})]
    (rf,) = diagnose([flow(stalls=stalls)], cap())
    assert rf.kind == "rto_stall" and rf.severity == "critical"
    assert rf.metrics["max_backoff"] == 2


def test_retransmission_rate_and_severity():
    f = flow(payload=(1460 * 1000, 0),
             counters=({"retransmission": 30, "fast_retransmission": 20}, {}),
             tcp={"retrans_causes": {C: {"fast": 20, "rto": 30}}})
    (rf,) = by_kind(diagnose([f], cap()), "retransmissions")
    assert rf.metrics["retransmitted"] == 50 and rf.metrics["rate"] == pytest.approx(0.05)
    # without the core's cause tally, the retransmission flag count is used
    g = flow(payload=(1460 * 1000, 0), counters=({"retransmission": 30}, {}))
    (rg,) = by_kind(diagnose([g], cap()), "retransmissions")
    assert rg.metrics["retransmitted"] == 30
    assert rf.severity == "warning"
    few = flow(payload=(1460 * 1000, 0), counters=({"retransmission": 2}, {}))
    assert by_kind(diagnose([few], cap()), "retransmissions") == []


def test_network_duplicates_are_not_counted_as_loss():
    f = flow(payload=(1460 * 1000, 0), counters=({"retransmission": 40}, {}),
             tcp={"retrans_causes": {C: {"network_duplicate": 30, "reordering": 8,
                                         "rto": 2}}})
    assert by_kind(diagnose([f], cap()), "retransmissions") == []


def test_zero_window_names_the_slow_receiver():
    stalls = [Stall("zero_window", C, 1.0, 2.5, {"probes": 5}),
              Stall("zero_window", C, 6.0, 2.0, {"probes": 4})]
    f = flow(stalls=stalls, counters=({"zero_window_probe": 9}, {"zero_window": 14}))
    (zf,) = diagnose([f], cap())
    assert zf.kind == "zero_window" and zf.severity == "warning"
    assert zf.endpoint == S  # the receiver that stopped reading
    assert zf.metrics["zero_window_advertisements"] == 14
    assert zf.metrics["seconds_lost"] == pytest.approx(4.5)
    assert "SO_RCVBUF" in zf.recommendation


def _window_limited_flow(options: bool) -> FlowResult:
    rtt, window = 0.1, 65535
    dur = 10.0
    nbytes = int(window / rtt * dur * 0.95)
    stalls = [Stall("receive_window", C, 0.5 + i * rtt, rtt * 0.8, {}) for i in range(95)]
    return flow(end=dur + 0.5, stalls=stalls, payload=(nbytes, 0), options=options,
                facts={"path_rtt": rtt, "data_bytes": [nbytes, 0],
                       "first_data_ts": [0.5, None], "last_data_ts": [0.5 + dur, None],
                       "max_window_advertised": [65535, window], "mss": [1448, 1448]})


def test_window_scaling_off_limits_throughput():
    f = _window_limited_flow(options=False)
    fs = diagnose([f], cap())
    (rw,) = by_kind(fs, "receive_window_limited")
    (ws,) = by_kind(fs, "window_scaling_off")
    assert rw.severity == "warning" and ws.severity == "warning"
    assert rw.metrics["ceiling_bps"] == pytest.approx(65535 * 8 / 0.1, rel=1e-3)
    assert rw.metrics["window_scaling"] is False
    assert "tcp_window_scaling" in rw.recommendation
    assert rw.endpoint == S
    assert rw.metrics["bdp_bytes_for"]["100 Mbit/s"] == int(100e6 / 8 * 0.1)
    check_well_formed(fs)


def test_big_window_flow_is_not_window_limited():
    f = _window_limited_flow(options=True)
    f.tcp["stall_facts"]["max_window_advertised"] = [65535, 6_000_000]
    f.stalls = [s for s in f.stalls[:3]]
    fs = diagnose([f], cap())
    assert by_kind(fs, "receive_window_limited") == []
    assert by_kind(fs, "window_scaling_off") == []


def test_options_off_without_a_handshake_are_not_reported():
    f = flow(options=False, handshake="none")
    assert diagnose([f], cap()) == []


def test_options_off_are_info_when_harmless():
    fs = diagnose([flow(options=False, payload=(1000, 1000))], cap())
    kinds = {f.kind: f.severity for f in fs}
    assert kinds == {"window_scaling_off": "info", "sack_off": "info",
                     "timestamps_off": "info"}


def _churn(n=1000, rate=250.0, closer=0, server=S):
    flows = []
    for i in range(n):
        start = i / rate
        flows.append(flow(fid=i, client=f"198.18.0.1:{32768 + i}", server=server,
                          start=start, end=start + 0.005, payload=(200, 600),
                          facts={"fin_first": closer, "path_rtt": 0.002}))
    return flows


def test_churn_puts_time_wait_pressure_on_the_client():
    flows = _churn()
    fs = diagnose(flows, cap())
    (tw,) = by_kind(fs, "time_wait_pressure")
    assert tw.metrics["time_wait_side"] == "client"
    assert tw.endpoint == "198.18.0.1"
    assert tw.metrics["rate_per_s"] == pytest.approx(250, rel=0.01)
    assert tw.metrics["time_wait_sockets"] == pytest.approx(250 * 60, rel=0.01)
    assert tw.severity == "warning"
    rec = tw.recommendation
    assert rec.index("pool") < rec.index("tcp_tw_reuse") < rec.index("ip_local_port_range")
    assert len(tw.flows) == 1000
    (ch,) = by_kind(fs, "connection_churn")
    assert ch.severity == "warning"
    assert all(tw.id in f.findings for f in flows)
    check_well_formed(fs)


def test_server_side_close_puts_time_wait_on_the_server():
    fs = diagnose(_churn(closer=1), cap())
    (tw,) = by_kind(fs, "time_wait_pressure")
    assert tw.metrics["time_wait_side"] == "server" and tw.endpoint == S


def test_pooled_connection_has_no_churn():
    f = flow(payload=(200_000, 600_000), facts={"fin_first": 0})
    fs = diagnose([f], cap())
    assert not by_kind(fs, "time_wait_pressure") and not by_kind(fs, "connection_churn")


def test_slow_connection_rate_is_not_pressure():
    fs = diagnose(_churn(n=30, rate=1.0), cap())
    assert by_kind(fs, "time_wait_pressure") == []


def test_keepalive_interval_reported():
    ts = [13.0, 15.0, 17.0, 19.0]
    f = flow(end=20.0, facts={"keepalive_ts": [ts, []], "max_idle_gap": 2.0})
    (ka,) = diagnose([f], cap())
    assert ka.kind == "keepalive" and ka.severity == "info"
    assert ka.metrics["interval"] == pytest.approx(2.0)
    assert ka.metrics["probes"] == 4
    assert ka.endpoint == C


def test_long_idle_without_keepalive():
    f = flow(end=1000.0, facts={"max_idle_gap": 900.0})
    (ka,) = diagnose([f], cap())
    assert ka.kind == "keepalive" and "SO_KEEPALIVE" in ka.recommendation


def test_abortive_reset():
    f = flow(facts={"resets": [{"ts": 3.0, "direction": 0, "in_window": True,
                                "answer_to_syn": False, "after_data": True}]})
    (rf,) = diagnose([f], cap())
    assert rf.kind == "reset" and rf.severity == "warning" and rf.endpoint == C
    assert "SO_LINGER" in rf.recommendation
    assert rf.metrics["first_after_s"] == pytest.approx(3.0)


def test_core_reset_facts_take_precedence():
    f = flow(tcp={"resets": [{"ts": 1.0, "endpoint": S, "in_window": False,
                              "answer_to_syn": False, "after_data": False}]},
             facts={"resets": [{"ts": 3.0, "direction": 0, "in_window": True,
                                "answer_to_syn": False, "after_data": True}]})
    (rf,) = diagnose([f], cap())
    assert rf.endpoint == S and rf.severity == "info"


def test_refused_connection_is_a_handshake_failure_and_an_info_reset():
    f = flow(end=0.01, handshake="partial",
             facts={"synack_seen": False, "handshake_ack_seen": False, "rst_to_syn": True,
                    "resets": [{"ts": 0.01, "direction": 1, "in_window": True,
                                "answer_to_syn": True, "after_data": False}]})
    fs = diagnose([f], cap())
    assert [(x.kind, x.severity) for x in fs] == [("handshake_failure", "warning"),
                                                   ("reset", "info")]
    assert fs[0].metrics["reasons"] == ["refused"] and fs[0].endpoint == S
    assert fs[1].metrics["refusals"] == 1 and fs[1].metrics["aborts"] == 0


def test_blackhole_gives_failure_and_syn_retransmissions():
    stalls = [Stall("handshake", C, 0.0, 7.0, {"retransmissions": 3})]
    f = flow(end=7.0, handshake="partial", stalls=stalls,
             facts={"synack_seen": False, "handshake_ack_seen": False,
                    "syn_retransmissions": 3, "first_syn_ts": 0.0, "last_syn_ts": 7.0})
    fs = diagnose([f], cap())
    assert {x.kind for x in fs} == {"handshake_failure", "syn_retransmission"}
    (sr,) = by_kind(fs, "syn_retransmission")
    assert sr.metrics["syn_retransmissions"] == 3 and sr.metrics["seconds_lost"] == 7.0


def test_syn_at_capture_end_is_not_a_failure():
    f = flow(start=99.5, end=99.5, handshake="partial",
             facts={"synack_seen": False, "handshake_ack_seen": False,
                    "first_syn_ts": 99.5, "last_syn_ts": 99.5})
    assert diagnose([f], cap()) == []


def test_mss_missing_offload_capture_loss():
    f = flow(facts={"syn_mss": [None, 1460], "max_payload": [1460, 0]},
             counters=({}, {"ack_lost_segment": 0}))
    f.endpoints[0].mss = None
    g = flow(fid=1, tcp={"superframes": {C: 12}, "max_payload": {C: 29_000, S: 0}})
    h = flow(fid=2, counters=({"lost_segment": 0}, {"ack_lost_segment": 3}))
    fs = diagnose([f, g, h], cap())
    kinds = {x.kind for x in fs}
    assert kinds == {"mss_missing", "offload_artifacts", "capture_loss"}
    assert all(x.severity == "info" for x in fs)
    (off,) = by_kind(fs, "offload_artifacts")
    assert off.flows == [1] and off.metrics["max_payload"] == 29_000


def test_mathis_bound():
    mss, rtt, p = 1448, 0.05, 0.01
    bound = mss / rtt * 1.2247 / p ** 0.5
    segs = 10_000
    nbytes = segs * mss
    f = flow(end=nbytes / bound + 1, payload=(nbytes, 0),
             counters=({"retransmission": 60, "fast_retransmission": 40}, {}),
             tcp={"retrans_causes": {C: {"rto": 60, "fast": 40}}},
             facts={"path_rtt": rtt, "data_bytes": [nbytes, 0], "first_data_ts": [0.5, None],
                    "last_data_ts": [0.5 + nbytes / bound, None], "mss": [mss, mss]})
    (m,) = by_kind(diagnose([f], cap()), "loss_bound_throughput")
    assert m.metrics["mathis_bps"] == pytest.approx(bound * 8, rel=1e-3)
    assert m.metrics["ratio"] == pytest.approx(1.0, rel=0.01)


def test_slow_start_restart():
    ev = {"direction": 0, "ts": 5.0, "first_flight": 14480, "flight_before": 60000,
          "mss": 1448}
    (s,) = diagnose([flow(facts={"ssr_events": [ev, dict(ev, ts=9.0)]})], cap())
    assert s.kind == "slow_start_restart" and s.metrics["restarts"] == 2
    assert "tcp_slow_start_after_idle=0" in s.recommendation


def test_ranking_by_time_lost_times_flows():
    a = flow(fid=0, stalls=_nagle_stalls(3))  # 0.13 s lost
    b = flow(fid=1, server="198.18.0.3:80",
             stalls=[Stall("zero_window", C, 1.0, 4.0, {})],
             counters=({}, {"zero_window": 3}))
    fs = diagnose([a, b], cap())
    assert [x.kind for x in fs] == ["zero_window", "nagle_delayed_ack"]
    assert a.findings == ["F2"] and b.findings == ["F1"]
    check_well_formed(fs)


def test_a_broken_rule_input_does_not_sink_the_rest():
    a = flow(fid=0, stalls=_nagle_stalls(3))
    bad = flow(fid=1, facts={"keepalive_ts": "garbage", "resets": 5})
    bad.endpoints = []
    errors: list = []
    fs = diagnose([a, bad], cap(), errors)
    assert by_kind(fs, "nagle_delayed_ack")
    assert errors  # the keepalive rule choked on the garbage, and said so


def test_an_odd_flow_does_not_hide_a_finding_for_the_others():
    good = flow(fid=0, facts={"keepalive_ts": [[13.0, 15.0, 17.0], []]})
    bad = flow(fid=1, tcp={"keepalive_ts": 5})  # not a mapping
    errors: list = []
    fs = diagnose([bad, good], cap(), errors)
    assert [(x.kind, x.flows) for x in fs] == [("keepalive", [0])]
    assert [k for k, _ in errors] == ["keepalive"]


def test_well_formed_inputs_raise_in_no_rule():
    errors: list = []
    diagnose(_churn(50) + [_window_limited_flow(False)], cap(), errors)
    assert errors == []


def test_stall_summary_per_capture():
    a = flow(stalls=_nagle_stalls(3))
    a.tcp["stall_totals"] = {"nagle_delayed_ack": {"count": 3, "seconds": 0.132}}
    b = flow(fid=1, stalls=_nagle_stalls(2))
    summary = stall_summary([a, b])
    assert summary["nagle_delayed_ack"]["count"] == 5
    assert summary["nagle_delayed_ack"]["seconds"] == pytest.approx(0.22)
    assert summary["nagle_delayed_ack"]["flows"] == 2


def test_one_directional_capture_is_not_a_handshake_failure():
    # only the client's side was captured: SYN, then its data, never the SYN-ACK
    f = flow(handshake="partial", payload=(5000, 0),
             facts={"synack_seen": False, "handshake_ack_seen": False,
                    "segments_after_syn": [12, 0], "first_syn_ts": 0.0, "last_syn_ts": 0.0})
    assert by_kind(diagnose([f], cap()), "handshake_failure") == []


def test_single_nagle_stall_is_only_info():
    (nf,) = diagnose([flow(stalls=_nagle_stalls(1))], cap())
    assert nf.severity == "info"


def test_zero_window_probes_are_not_keepalives():
    # Linux probes a closed window with keep-alive-shaped segments
    stalls = [Stall("zero_window", C, 1.0, 2.5, {"probes": 3})]
    f = flow(stalls=stalls, counters=({"keep_alive": 3}, {"zero_window": 2}),
             tcp={"keepalive_ts": {C: [1.3, 2.3, 3.3], S: []}})
    fs = diagnose([f], cap())
    assert [x.kind for x in fs] == ["zero_window"]
    assert fs[0].metrics["probes"] == 3


def test_window_limited_bdp_from_the_burst_rate():
    f = _window_limited_flow(options=False)
    f.tcp["stall_facts"]["burst_rate_p90"] = [20e6 / 8, None]  # bursts at 20 Mbit/s
    (rw,) = by_kind(diagnose([f], cap()), "receive_window_limited")
    assert rw.metrics["path_rate_bps"] == pytest.approx(20e6)
    assert rw.metrics["bdp_bytes"] == int(20e6 / 8 * 0.1)
    nbytes = f.tcp["stall_facts"]["data_bytes"][0]
    # lost = time taken at the achieved rate minus time at the path's rate
    assert rw.metrics["seconds_lost"] == pytest.approx(10.0 - nbytes / (20e6 / 8), rel=1e-3)
    assert "3.8 times the window" in rw.detail


def test_rtt_without_observer_facts_comes_from_the_handshake_times():
    from tcpforensics.diagnose.findings import _Context

    f = flow()
    f.tcp.pop("stall_facts")
    f.rtt = {"min": 1e-5, "median": 2e-5, "max": 0.1, "samples": 9}  # receiver side
    f.tcp["handshake_times"] = {"syn": 10.0, "synack": 10.0001, "ack": 10.08}
    assert _Context([f], cap()).rtt(f) == pytest.approx(0.08)
    del f.tcp["handshake_times"]
    f.syn_rtt = 0.05
    assert _Context([f], cap()).rtt(f) == pytest.approx(0.05)


def test_per_flow_findings_merge_per_service():
    flows = [flow(fid=i, client=f"198.18.0.1:{40000 + i}", end=20.0,
                  facts={"keepalive_ts": [[13.0, 15.0, 17.0 + i], []]}) for i in range(5)]
    (ka,) = diagnose(flows, cap())
    assert ka.kind == "keepalive" and ka.flows == [0, 1, 2, 3, 4]
    assert ka.metrics["flows_merged"] == 5 and ka.endpoint == "198.18.0.1"
    assert "4 more flows" in ka.title
    assert all(f.findings == [ka.id] for f in flows)
