"""The findings screen (findings._evidence / _NEEDS): run_rules feeds a scanning rule only
the flows with a fact it needs.  A flow left out must be one the rule would pass over,
so the findings are the same as when every rule sees every flow."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from tcpforensics.analysis import Options, analyze, lean_options
from tcpforensics.diagnose import findings as fnd
from tcpforensics.diagnose.registry import RULES
from tcpforensics.model import CaptureInfo, Endpoint, FlowResult, Stall
from tcpforensics.results import PackedFlowResult, ResultStore

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pcaps"
# small captures whose flows carry most kinds of evidence between them
CAPTURES = ("nagle/nagle-rr-30ms.client.pcap.gz", "rst_abort/rst-abort.server.pcap.gz",
            "slow_reader/slow-reader.client.pcap.gz", "keepalive/keepalive-idle.client.pcap.gz",
            "refused/refused.client.pcap.gz", "blackhole/blackhole.server.pcap.gz",
            "sack_off/sack-off.client.pcap.gz", "app_limited/app-limited.server.pcap.gz",
            "bulk/demo-lossy.client.pcap.gz")
C, S = "198.18.0.1:40000", "198.18.0.2:5001"


def _flow(fid: int, *, stalls=(), tcp=None, facts=None, counters=({}, {}), mss=(1460, 1460),
          payload=(1000, 1000), handshake="complete") -> FlowResult:
    eps = [Endpoint(C, "client", payload_bytes=payload[0], mss=mss[0], wscale=7,
                    sack_permitted=True, timestamps=True, counters=dict(counters[0])),
           Endpoint(S, "server", payload_bytes=payload[1], mss=mss[1], wscale=7,
                    sack_permitted=True, timestamps=True, counters=dict(counters[1]))]
    fx = {"syn_seen": True, "synack_seen": True, "handshake_ack_seen": True,
          "path_rtt": 0.02, "syn_mss": [1460, 1460], "max_payload": [1000, 1000]}
    fx.update(facts or {})
    t = {"window_scaling": True, "sack": True, "timestamps": True, "stall_facts": fx}
    t.update(tcp or {})
    return FlowResult(id=fid, client=C, server=S, start=0.0, end=10.0, state="CLOSED",
                      handshake=handshake, syn_rtt=0.02, rtt=None, endpoints=eps,
                      stalls=list(stalls), tcp=t)


def _hand_built() -> list[FlowResult]:
    """One flow per kind of evidence, and a clean one."""
    specs = [
        {},
        {"stalls": [Stall("nagle_delayed_ack", C, 1.0, 0.04, {"ack_delay": 0.04})] * 3},
        {"stalls": [Stall("rto", C, 1.0, 1.0, {"backoff": 1})]},
        {"counters": ({"retransmission": 9}, {}), "payload": (10**6, 0)},
        {"tcp": {"retrans_causes": {C: {"fast": 7, "rto": 1}}}, "payload": (10**6, 0)},
        {"facts": {"late_fills": [6, 0]}, "payload": (10**6, 0)},
        {"counters": ({}, {"zero_window": 3})},
        {"tcp": {"window_scaling": False}}, {"tcp": {"sack": None}},
        {"tcp": {"timestamps": False}},
        {"handshake": "partial", "facts": {"handshake_ack_seen": False}},
        {"tcp": {"syn_retransmissions": 2}}, {"facts": {"synack_retransmissions": 1}},
        {"tcp": {"resets": [{"ts": 1.0, "endpoint": S, "in_window": True}]}},
        {"facts": {"resets": [{"ts": 1.0, "direction": 1}]}},
        {"tcp": {"keepalive_ts": {C: [100.0, 175.0, 250.0]}}},
        {"facts": {"keepalive_ts": [[], [10.0, 20.0]]}},
        {"counters": ({"keep_alive": 2}, {})}, {"facts": {"max_idle_gap": 400.0}},
        {"mss": (None, 1460), "facts": {"syn_mss": [None, 1460]}},
        {"tcp": {"superframes": {C: 4}}}, {"facts": {"max_payload": [2896, 0]}},
        {"tcp": {"capture_loss": 2}}, {"counters": ({"lost_segment": 1}, {})},
        {"facts": {"ssr_events": [{"direction": 0, "first_flight": 14600,
                                   "flight_before": 116800}]}},
    ]
    return [_flow(i, **spec) for i, spec in enumerate(specs)]


@pytest.fixture(scope="module")
def corpus() -> list[tuple[list[FlowResult], CaptureInfo]]:
    out = [(_hand_built(), CaptureInfo(path="x.pcap", first_ts=0.0, last_ts=100.0))]
    for name in CAPTURES:
        a = analyze(SAMPLES / name, options=Options(report_details=False))
        out.append((list(a.flow_results), a.capture))
    return out


def _unscreened(rule: fnd.Rule) -> fnd.Rule:
    """The same rule under another name: the screen does not know it, so it sees every
    flow."""
    def scan(ctx: fnd._Context) -> fnd.RuleScan:
        return (yield from rule(ctx))
    return scan


def test_every_scanning_rule_is_screened():
    scanning = {rule for _, rule in RULES if fnd.inspect.isgeneratorfunction(rule)}
    assert scanning == set(fnd._NEEDS)


def test_a_rule_passes_over_the_flows_screened_out(corpus):
    left_out = 0
    for flows, capture in corpus:
        for f in flows:
            evidence = fnd._evidence(fnd._Context([f], capture), f)
            for kind, rule in RULES:
                need = fnd._NEEDS.get(rule)
                if need is None or evidence & need:
                    continue
                left_out += 1
                assert fnd.run_rule(rule, fnd._Context([f], capture)) == [], (kind, f.id)
    assert left_out > 100


def test_each_hand_built_flow_shows_its_evidence():
    flows = _hand_built()
    ctx = fnd._Context(flows, CaptureInfo(path="x.pcap"))
    assert fnd._evidence(ctx, flows[0]) == 0  # the clean flow
    assert all(fnd._evidence(ctx, f) for f in flows[1:])


def test_findings_are_those_of_every_rule_seeing_every_flow(corpus):
    unscreened = tuple((kind, _unscreened(rule) if rule in fnd._NEEDS else rule)
                       for kind, rule in RULES)
    kinds = set()
    for flows, capture in corpus:
        screened = fnd.run_rules(flows, capture, RULES)
        assert screened == fnd.run_rules(flows, capture, unscreened)
        kinds.update(f.kind for f in screened)
    assert len(kinds) >= 12


def test_odd_facts_feed_every_rule():
    f = _flow(0, tcp={"stall_facts": ["not", "a", "dict"]})
    assert fnd._evidence(fnd._Context([f], CaptureInfo(path="x.pcap")), f) == fnd._EVERY


def test_odd_facts_screened_alone_feed_every_rule():
    f = _flow(0, tcp={"stall_facts": ["not", "a", "dict"]})
    assert fnd.flow_evidence(f) == fnd._EVERY
    assert fnd.flow_evidence(_flow(1, tcp={"window_scaling": "odd"})) == fnd._NO_WSCALE


def _store(flows: list[FlowResult], screen, plain: int = 2) -> ResultStore:
    store = ResultStore(plain=plain, screen=screen)
    for f in flows:
        store.append(f)
    return store


def test_a_store_screens_the_flows_it_packs_as_the_rules_would(corpus):
    """The bits a store keeps for a packed flow are `_evidence` of that flow read back,
    and the flows it keeps plain come with None (the rules screen them)."""
    packed = plain = 0
    for flows, capture in corpus:
        store = _store(flows, fnd.flow_evidence, plain=0)
        ctx = fnd._Context(store, capture)
        for f, bits in store.screened():
            if not isinstance(f, PackedFlowResult):  # kept plain (the first two, and
                assert bits is None  # flows pack() refuses, as the hand-built ones)
                plain += 1
                continue
            packed += 1
            assert bits == fnd._evidence(ctx, f), (capture.path, f.id)
    assert packed >= 10 and plain > 20, (packed, plain)


def test_findings_from_a_screening_store_are_the_same(corpus):
    for flows, capture in corpus:
        expected = fnd.run_rules(_store(flows, None), capture, RULES)
        assert fnd.run_rules(_store(flows, fnd.flow_evidence), capture, RULES) == expected
        assert fnd.run_rules(list(flows), capture, RULES) == expected


def test_analyze_screens_the_packed_flows():
    # the capture's 1,000 connections are all live at its end: with room for 600 plain
    # results, 200 stay plain (ResultStore.end_together) and the others are packed
    a = analyze(SAMPLES / "churn" / "churn.client.pcap.gz",
                options=lean_options(plain_results=600))
    ctx = fnd._Context(a.flow_results, a.capture)
    screens = []
    for f, bits in a.flow_results.screened():
        assert bits is None or bits == fnd._evidence(ctx, f), f.id
        screens.append(bits)
    packed = a.flow_results.packed
    assert screens.count(None) == len(screens) - packed == 200 and packed == 800


def test_screens_follow_their_flows_into_id_order(corpus):
    """Flows reach a store in the order they end: each keeps its own bits once sorted."""
    flows = [dataclasses.replace(f, id=n) for n, f in
             enumerate(f for fl, _ in corpus[1:] for f in fl)]
    store = _store(flows[::-1], fnd.flow_evidence, plain=0)
    ctx = fnd._Context(store, corpus[1][1])
    got = [(f.id, bits) for f, bits in store.screened()]
    assert [i for i, _ in got] == list(range(len(flows)))
    assert [bits for _, bits in got] == [fnd._evidence(ctx, f) for f in flows]
    assert len({bits for _, bits in got}) >= 5
