"""The results store: finished flows packed and spilled, read back unchanged.

`analyze` and `batch` hold finished flows past a few thousand packed (results.py), and
past a memory bound in a temporary file.  The analysis JSON, the findings and the
tables must be the same as with every result kept as an object.
"""

from __future__ import annotations

import gc
import io
import pickle
import random
import tracemalloc
from array import array
from pathlib import Path

import pytest

from tcpforensics import cli
from tcpforensics.analysis import Options, analyze, flow_dict, lean_options
from tcpforensics.export import write_json
from tcpforensics.model import FlowResult
from tcpforensics.results import PackedFlowResult, ResultStore, pack

SAMPLE = Path(__file__).resolve().parents[1] / "sample_pcaps"
CHURN = SAMPLE / "churn" / "churn.server.pcap.gz"  # 1000 short connections, findings
# captures with several flows, findings of several kinds, and single bulk flows
CAPTURES = [CHURN, SAMPLE / "demo.pcap",
            *sorted(SAMPLE.glob("competing/*.pcap.gz"))[:1],
            *sorted(SAMPLE.glob("handshake*/*.pcap.gz"))[:1],
            *sorted(SAMPLE.glob("rst_abort/*.pcap.gz"))[:1],
            *sorted(SAMPLE.glob("nagle/*.pcap.gz"))[:1],
            *sorted(SAMPLE.glob("outage/*.pcap.gz"))[:1]]


def _json(analysis) -> str:
    out = io.StringIO()
    write_json(analysis, out)
    return out.getvalue()


def test_captures_found() -> None:
    assert all(c.is_file() for c in CAPTURES)
    assert len(CAPTURES) >= 6


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_packed_and_spilled_results_give_the_same_analysis(capture: Path) -> None:
    plain = analyze(capture, options=Options(report_details=False))
    # everything packed and spilled; then a few plain and the rest packed in memory
    spilled = analyze(capture, options=lean_options(plain_results=0, packed_memory=0))
    mixed = analyze(capture, options=lean_options(plain_results=2, packed_memory=1 << 30))
    assert isinstance(plain.flow_results, list)
    assert spilled.flow_results.spilled == len(plain.flow_results)
    assert _json(spilled) == _json(plain)
    assert _json(mixed) == _json(plain)
    assert spilled.findings.equals(plain.findings)
    assert spilled.flows.equals(plain.flows)
    assert spilled.stalls.equals(plain.stalls)


def test_flows_ending_together_take_the_place_of_plain_results() -> None:
    """At the end of a capture the live flows end at once, their state still held: past
    `plain` of them, each takes the place of a plain result, and from `plain` on their
    packed results go to the file (ResultStore.end_together)."""
    flows = analyze(CHURN, options=Options(report_details=False)).flow_results[:20]
    few = ResultStore(plain=6, packed_memory=1 << 30)
    few.append(flows[0])
    few.end_together(5)  # up to `plain` live: as before
    for f in flows[1:8]:
        few.append(f)
    assert (few.packed, few.spilled) == (2, 0)
    some = ResultStore(plain=6, packed_memory=1 << 30)
    some.append(flows[0])
    some.end_together(8)  # two past `plain`: two plain results fewer, the rest to the file
    for f in flows[1:8]:
        some.append(f)
    assert (some.packed, some.spilled) == (4, 4)
    many = ResultStore(plain=6, packed_memory=1 << 30)
    many.append(flows[0])
    many.append(flows[1])
    many.end_together(12)  # twice `plain`: no plain result more, and none taken back
    for f in flows[2:10]:
        many.append(f)
    assert (many.packed, many.spilled) == (8, 8)
    many.sort()
    assert list(many) == flows[:10]


def test_a_capture_ending_with_many_flows_live_packs_them_to_the_file() -> None:
    """The churn capture's 1,000 connections are all live when it ends: with room for 5
    plain results the flush packs every one to the file, with the same analysis."""
    plain = analyze(CHURN, options=Options(report_details=False))
    lean = analyze(CHURN, options=lean_options(plain_results=5, packed_memory=1 << 30))
    assert lean.flow_results.spilled == len(plain.flow_results) == 1000
    assert _json(lean) == _json(plain)


def test_findings_are_linked_to_packed_flows() -> None:
    plain = analyze(CHURN, options=Options(report_details=False))
    spilled = analyze(CHURN, options=lean_options(plain_results=0, packed_memory=0))
    linked = [f.findings for f in plain.flow_results]
    assert any(linked)  # the churn capture has findings naming flows
    assert [f.findings for f in spilled.flow_results] == linked


def test_a_packed_flow_reads_back_equal() -> None:
    flows = analyze(CHURN, options=Options(report_details=False)).flow_results[:50]
    store = ResultStore(plain=0, packed_memory=0)
    for f in flows:
        store.append(f)
    assert store.spilled == len(flows)
    for original, back in zip(flows, store, strict=True):
        assert isinstance(back, PackedFlowResult)
        assert back == original
        assert flow_dict(back) == flow_dict(original)
        assert back.tcp == original.tcp and back.endpoints == original.endpoints
        # to another process it goes as the plain result it stands for
        copy = pickle.loads(pickle.dumps(back))
        assert type(copy) is FlowResult and copy == original


def test_store_reads_in_id_order_whatever_the_arrival_order() -> None:
    flows = analyze(CHURN, options=Options(report_details=False)).flow_results[:40]
    arrival = list(flows)
    random.Random(7).shuffle(arrival)
    store = ResultStore(plain=5, packed_memory=20_000)  # plain, in memory, and in the file
    for f in arrival:
        store.append(f)
    assert 0 < store.spilled < store.packed < len(flows)
    store.sort()
    assert len(store) == len(flows)
    assert [f.id for f in store] == [f.id for f in flows]
    assert store[3] == flows[3] and store[-1] == flows[-1]
    assert [f.id for f in store[10:13]] == [f.id for f in flows[10:13]]
    # reading before the pending bytes reached the file
    late = ResultStore(plain=0, packed_memory=0)
    late.append(flows[0])
    assert late[0] == flows[0]


_BUILTIN = (dict, list, tuple, str, int, float, bool, type(None))


def _foreign_types(value, path="", out=None) -> list[str]:
    """Where a value holds something other than built-in types (marshal would turn a
    buffer such as an array into bytes, silently)."""
    out = [] if out is None else out
    if type(value) not in _BUILTIN:
        out.append(f"{path}: {type(value).__name__}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _foreign_types(k, f"{path}.key", out)
            _foreign_types(v, f"{path}.{k}", out)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _foreign_types(v, f"{path}[{i}]", out)
    return out


@pytest.mark.parametrize("details", [False, True], ids=["lean", "report"])
def test_results_hold_only_builtin_types_but_the_cwnd_series(details: bool) -> None:
    """pack() relies on it: everything but FlowResult.cwnd is built-in types."""
    captures = sorted(SAMPLE.glob("*/*.pcap.gz"))[::4] + [SAMPLE / "demo.pcap"]
    found = []
    for capture in captures:
        for f in analyze(capture, options=Options(report_details=details)).flow_results:
            parts = {"scalars": (f.id, f.client, f.server, f.start, f.end, f.state,
                                 f.handshake, f.syn_rtt),
                     "findings": f.findings, "rtt": f.rtt, "tcp": f.tcp,
                     "endpoints": [(e.addr, e.role, e.packets, e.payload_bytes, e.mss,
                                    e.wscale, e.sack_permitted, e.timestamps, e.counters,
                                    e.cca) for e in f.endpoints],
                     "states": [(s.ts, s.endpoint, s.state) for s in f.states],
                     "stalls": [(s.kind, s.endpoint, s.start, s.duration, s.detail)
                                for s in f.stalls]}
            for name, value in parts.items():
                found += _foreign_types(value, f"{capture.name}:{name}")
    assert len(captures) >= 10
    assert not found, found[:10]


def test_a_flow_with_report_series_stays_plain() -> None:
    flow = analyze(SAMPLE / "demo.pcap").flow_results[0]  # report details: cwnd arrays
    assert flow.cwnd and pack(flow) is None
    store = ResultStore(plain=0)
    store.append(flow)
    assert store.packed == 0 and store[0] is flow


def test_spilled_flows_hold_little_memory() -> None:
    """What the store keeps per spilled flow (the point of it): tens of bytes."""
    flows = analyze(CHURN, options=Options(report_details=False)).flow_results
    gc.collect()
    tracemalloc.start()
    try:
        store = ResultStore(plain=0, packed_memory=0)
        for f in flows:
            store.append(f)
        store.sort()
        store._flush()  # the last chunk of bytes on its way to the file (up to 1 MB)
        gc.collect()
        held = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per_flow = held / len(flows)
    assert per_flow < 64, per_flow  # six numbers; plain, these flows hold about 12 KB
    store.close()


def test_analyze_command_packs_past_a_few_thousand_flows(monkeypatch, tmp_path) -> None:
    import tcpforensics.analysis as analysis_mod

    seen: list[Options] = []
    real = analysis_mod.analyze

    def spy(source, options=None, **kwargs):
        seen.append(options)
        return real(source, options=options, **kwargs)

    monkeypatch.setattr(analysis_mod, "analyze", spy)
    assert cli.main(["analyze", str(CHURN), "-q", "-o", str(tmp_path / "a.json")]) == 0
    assert seen[0].plain_results is not None and not seen[0].report_details


def test_flow_json_lists_every_field_of_a_state_change() -> None:
    """flow_dict writes state changes field by field (asdict was most of the JSON's
    cost): a field added to StateChange must show up there too."""
    from tcpforensics.model import StateChange

    flow = analyze(CHURN, options=Options(report_details=False)).flow_results[0]
    assert flow.states
    assert flow_dict(flow)["states"] == [
        {name: getattr(s, name) for name in StateChange.FIELDS} for s in flow.states]


def test_only_the_packed_flow_read_last_keeps_its_decoded_parts() -> None:
    """A packed flow decodes each part once; the findings rules hold on to the flows
    they pick out, so a flow read earlier lets its decoded parts go."""
    flows = analyze(CHURN, options=Options(report_details=False)).flow_results[:3]
    store = ResultStore(plain=0)
    for f in flows:
        store.append(f)
    first = store[0]
    assert first.tcp == flows[0].tcp and first.tcp is first.tcp
    second = store[1]
    assert second.endpoints == flows[1].endpoints
    assert "tcp" not in vars(first) and "endpoints" in vars(second)
    assert first.tcp == flows[0].tcp and first.stalls == flows[0].stalls  # still read right


def test_a_store_holds_each_key_set_once_whatever_the_flow_count() -> None:
    """Packed dicts share their key sets (Shapes); dicts keyed by a flow's endpoints
    stay dicts, so the table does not grow with the flows."""
    flows = analyze(CHURN, options=Options(report_details=False)).flow_results
    few, many = ResultStore(plain=0), ResultStore(plain=0)
    for f in flows[:10]:
        few.append(f)
    for f in flows:
        many.append(f)
    assert len(flows) > 500
    assert len(many._shapes.shapes) < 40
    assert len(many._shapes.shapes) < len(few._shapes.shapes) + 10
    assert many[-1] == flows[-1]


def test_a_store_past_its_key_sets_packs_dicts_with_their_keys(monkeypatch) -> None:
    import tcpforensics.results as results

    monkeypatch.setattr(results, "_MAX_SHAPES", 2)
    flows = analyze(CHURN, options=Options(report_details=False)).flow_results[:20]
    store = ResultStore(plain=0)
    for f in flows:
        store.append(f)
    assert len(store._shapes.shapes) == 2 and store.packed == len(flows)
    for original, back in zip(flows, store, strict=True):
        assert back == original
        assert flow_dict(back) == flow_dict(original)


def test_packed_flows_go_to_another_store_as_they_are() -> None:
    """What a --jobs shard does: its store keeps first frames and packs; the parent's
    store takes the packed bytes as they are, under new ids, with the shard's key shapes
    (sent after the store grew them), and reads back the same flows."""
    from tcpforensics.analysis import _findings_screen
    from tcpforensics.results import Shapes

    flows = analyze(CHURN, options=Options(report_details=False)).flow_results[:60]
    for f in flows:
        f.findings = []  # (a shard's flows have none yet: they are linked after the merge)
    screen = _findings_screen()
    shard = ResultStore(plain=5, packed_memory=3_000, screen=screen)  # memory and file
    shard.first_frames = array("q")
    for f in reversed(flows):  # (they arrive in the order they ended)
        shard.append(f)
    items = list(shard.shard_items())
    assert [first for first, _, _ in items] == [f.tcp["first_frame"] for f in flows]
    assert sum(type(flow) is bytes for _, flow, _ in items) == len(flows) - 5
    copy = Shapes()  # the parent's copy of the shard's shapes, filled afterwards
    parent = ResultStore(plain=2, packed_memory=4_000, screen=screen)
    table = parent.adopt_shapes(copy)
    copy.extend(shard.shapes.shapes)
    for new_id, (_, flow, bits) in enumerate(items, start=100):
        if type(flow) is bytes:
            parent.append_packed(new_id, flow, bits, table)
        else:
            flow = pickle.loads(pickle.dumps(flow))
            flow.id = new_id
            parent.append(flow)
    assert parent.spilled > 0 and parent.packed == len(flows) - 2
    assert parent.adopted == len(flows) - 5
    back = list(parent)
    assert [f.id for f in back] == list(range(100, 100 + len(flows)))
    for original, got in zip(flows, back, strict=True):
        assert flow_dict(got) == {**flow_dict(original), "id": got.id}
        assert got.tcp == original.tcp
    # the screen's bits came along with the packed flows: what the screen gives them;
    # the parent screened the plain ones it packed itself, and not the 2 it kept plain
    bits = [b for _, b in parent.screened()]
    assert bits.count(None) == 2
    assert [b for b in bits if b is not None] == [
        screen(f) for f, b in zip(flows, bits, strict=True) if b is not None]
