"""Resource bounds: many flows, and one hostile flow, analyzed in bounded memory.

Memory is measured from the outside (tracemalloc peak over one `analyze()` call), not by
peeking at private buffers: if some per-flow or per-segment structure is not capped, the
peak grows with the input and the test fails.  Each test also shows that the measure is
sensitive (the unbounded case does grow), so the tests can fail.
"""

from __future__ import annotations

import gc
import json
import struct
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from tcpforensics.analysis import Options, analyze, iter_events
from tcpforensics.io.reader import open_capture

REPO = Path(__file__).resolve().parents[1]
MAKE_SYNTHETIC = REPO / "benchmarks" / "make_synthetic.py"


def _traced_peak(fn: Callable[[], object]) -> tuple[int, object]:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        value = fn()
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    return peak, value


def _read_only(path: Path) -> int:
    cap = open_capture(str(path))
    try:
        return sum(1 for _ in cap)
    finally:
        cap.close()


def _peak(path: Path, **options) -> tuple[int, object]:
    """tracemalloc peak (bytes) of one analysis beyond what reading the file alone costs
    (the reader's buffers depend on the file size up to their cap), and the analysis."""
    read_peak, _ = _traced_peak(lambda: _read_only(path))
    peak, analysis = _traced_peak(lambda: analyze(str(path), **options))
    return peak - read_peak, analysis


# --- many flows ----------------------------------------------------------------------------
def _syn_flood(tmp: Path, n: int) -> Path:
    out = tmp / f"flood-{n}.pcap"
    subprocess.run([sys.executable, str(MAKE_SYNTHETIC), "--syn-flood", str(n), "--out",
                    str(out)], check=True, capture_output=True)
    return out


@pytest.fixture(scope="module")
def floods(tmp_path_factory) -> dict[int, Path]:
    tmp = tmp_path_factory.mktemp("flood")
    return {n: _syn_flood(tmp, n) for n in (6000, 12000)}


MAX_FLOWS, MAX_RESULTS = 500, 300


def test_syn_flood_memory_does_not_grow_with_flows(floods) -> None:
    n, n2 = sorted(floods)
    peak1, a1 = _peak(floods[n], max_flows=MAX_FLOWS, max_flow_results=MAX_RESULTS)
    peak2, a2 = _peak(floods[n2], max_flows=MAX_FLOWS, max_flow_results=MAX_RESULTS)
    unbounded, a3 = _peak(floods[n], max_flows=10**7, max_flow_results=10**7,
                          max_empty_flows=10**7)

    # sensitivity: kept in full, every flow costs memory
    per_flow = (unbounded - peak1) / (n - MAX_FLOWS)
    assert per_flow > 2000, f"{per_flow:.0f} B/flow: the measure would not see a leak"
    assert len(a3.flow_results) == n
    # bounded: doubling the flows adds (almost) nothing
    growth = peak2 - peak1
    assert growth < 0.05 * per_flow * (n2 - n), (
        f"peak {peak1 / 1e6:.1f} MB -> {peak2 / 1e6:.1f} MB for {n} -> {n2} flows "
        f"({per_flow:.0f} B per flow kept)")

    for a, total in ((a1, n), (a2, n2)):
        cap = a.capture
        # one SYN per flow, all live at once: everything past the table size is evicted
        assert cap.evicted_flows == total - MAX_FLOWS
        # every flow is empty: past the result bound they are tallied, not listed
        assert len(a.flow_results) == MAX_RESULTS
        assert cap.folded_flows["count"] == total - MAX_RESULTS
        assert sum(v for k, v in cap.folded_flows.items() if k.startswith("state_")) == (
            total - MAX_RESULTS)
        assert any("folded" in w for w in cap.warnings)
        assert any("evicted" in w for w in cap.warnings), cap.warnings
        d = a.to_dict()["capture"]
        assert d["evicted_flows"] == cap.evicted_flows
        assert d["folded_flows"]["count"] == total - MAX_RESULTS
        json.dumps(a.to_dict(), allow_nan=False)


def test_flows_with_data_are_never_folded(tmp_path) -> None:
    """The result bound only folds empty flows: flows that carried payload stay listed."""
    out = tmp_path / "bulk.pcap"
    subprocess.run([sys.executable, str(MAKE_SYNTHETIC), "--packets", "6000", "--concurrent",
                    "40", "--segments", "20", "--out", str(out)], check=True,
                   capture_output=True)
    full = analyze(str(out))
    bounded = analyze(str(out), max_flow_results=5)
    assert len(full.flow_results) > 5

    def with_data(a) -> set[int]:
        return {f.id for f in a.flow_results if any(e.payload_bytes for e in f.endpoints)}

    assert len(with_data(full)) > 5
    assert with_data(bounded) == with_data(full)
    folded = bounded.capture.folded_flows.get("count", 0)
    assert len(bounded.flow_results) + folded == len(full.flow_results)


# --- one hostile flow ------------------------------------------------------------------------
_ETH = bytes.fromhex("020000000002" "020000000001" "0800")
C_IP, S_IP = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
CP, SP = 40000, 443


class _Pcap:
    """Headers-only pcap writer (snaplen style: payload length claimed, not stored)."""

    def __init__(self) -> None:
        self.chunks = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 96, 1)]
        self.n = 0

    def pkt(self, ts: float, c2s: bool, seq: int, ack: int, flags: int, *, win: int = 65535,
            length: int = 0, opts: bytes = b"") -> None:
        opts += b"\x01" * (-len(opts) % 4)
        src, dst, sp, dp = (C_IP, S_IP, CP, SP) if c2s else (S_IP, C_IP, SP, CP)
        tcp = struct.pack("!HHIIBBHHH", sp, dp, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                          (20 + len(opts)) // 4 << 4, flags, win, 0, 0) + opts
        total = 20 + len(tcp) + length
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self.n & 0xFFFF, 0x4000, 64, 6, 0,
                         src, dst)
        frame = _ETH + ip + tcp
        sec = int(ts)
        self.chunks.append(struct.pack("<IIII", sec, int((ts - sec) * 1e6), len(frame),
                                       14 + total))
        self.chunks.append(frame)
        self.n += 1

    def handshake(self, ts: float) -> None:
        syn_opts = struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02" + b"\x01\x03\x03\x07"
        self.pkt(ts, True, 0, 0, 0x02, opts=syn_opts)
        self.pkt(ts + 0.01, False, 0, 1, 0x12, opts=syn_opts)
        self.pkt(ts + 0.02, True, 1, 1, 0x10)

    def save(self, path: Path) -> Path:
        path.write_bytes(b"".join(self.chunks))
        return path


def _sack(blocks: list[tuple[int, int]]) -> bytes:
    return bytes([1, 1, 5, 2 + 8 * len(blocks)]) + b"".join(
        struct.pack("!II", a & 0xFFFFFFFF, b & 0xFFFFFFFF) for a, b in blocks)


def sack_storm(w: _Pcap, k: int) -> None:
    """Data with a hole before every segment, each ACK SACKing far apart disjoint blocks:
    the scoreboard and the unacked list would grow without their caps."""
    w.handshake(1.0)
    t = 1.1
    for i in range(k):
        seq = 1 + (2 * i + 1) * 1000
        w.pkt(t, False, seq, 1, 0x18, length=1000)
        far = 50_000_000 + 7919 * i * 3
        w.pkt(t + 0.0001, True, 1, 1, 0x10,
              opts=_sack([(seq, seq + 1000), (far, far + 10), (far + 5000, far + 5010)]))
        t += 0.001


def ooo_storm(w: _Pcap, k: int) -> None:
    """Segments sent highest first, never acknowledged: each one out of order."""
    w.handshake(1.0)
    t = 1.1
    for i in range(k, 0, -1):
        w.pkt(t, False, 1 + i * 1000, 1, 0x18, length=1000)
        t += 0.0005


def retransmission_storm(w: _Pcap, k: int) -> None:
    """One segment retransmitted forever, with an ACK that never moves; time backs off."""
    w.handshake(1.0)
    t = 1.1
    for i in range(k):
        w.pkt(t, False, 1 + (i % 3) * 1000, 1, 0x18, length=1000)
        if i % 2:
            w.pkt(t + 0.0001, True, 1, 1, 0x10, win=0 if i % 7 == 0 else 65535)
        t += 0.2 + (i % 5) * 0.1


def rst_and_keepalive_storm(w: _Pcap, k: int) -> None:
    """Out-of-window RSTs, keep-alives, zero-window episodes and window updates."""
    w.handshake(1.0)
    w.pkt(1.05, False, 1, 1, 0x18, length=100)
    t = 1.1
    for i in range(k):
        kind = i % 4
        if kind == 0:
            w.pkt(t, True, 10_000_000 + i, 0, 0x04)  # RST far outside the window
        elif kind == 1:
            w.pkt(t, True, 0, 101, 0x10)  # keep-alive (seq - 1)
        elif kind == 2:
            w.pkt(t, True, 1, 101, 0x10, win=0)  # zero window
        else:
            w.pkt(t, True, 1, 101, 0x10, win=1000 + i % 50)  # update
        t += 0.7


HOSTILE_FLOWS: dict[str, Callable[[_Pcap, int], None]] = {
    "sack_storm": sack_storm,
    "ooo_storm": ooo_storm,
    "retransmission_storm": retransmission_storm,
    "rst_and_keepalive_storm": rst_and_keepalive_storm,
}
K = 12_000  # well past the per-flow caps (10 000 unacked segments, 64 SACK ranges, ...)


def _held_while(items) -> tuple[int, int]:
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        held = 0
        n = 0
        for n, _ in enumerate(items(), 1):
            if n & 255 == 0:
                held = max(held, tracemalloc.get_traced_memory()[0] - base)
    finally:
        tracemalloc.stop()
    return held, n


def _held(path: Path) -> tuple[int, int]:
    """Largest memory held while the flow is live (sampled every 256 segments) beyond what
    the reader alone holds, and the segment count.  Sampled current sizes rather than
    the peak, and the reader's share taken out: its refill buffer (up to ~1 MiB) depends
    on the file size, not on what the analysis keeps."""
    def read():
        cap = open_capture(str(path))
        try:
            yield from cap
        finally:
            cap.close()

    reader, _ = _held_while(read)
    held, n = _held_while(lambda: iter_events(str(path), Options()))
    return held - reader, n


def _growth_per_record(name: str, tmp_path: Path) -> tuple[float, str]:
    make = HOSTILE_FLOWS[name]
    held = {}
    for k in (K, 2 * K):
        w = _Pcap()
        make(w, k)
        held[k] = _held(w.save(tmp_path / f"{name}-{k}.pcap"))
    (m1, r1), (m2, r2) = held[K], held[2 * K]
    per_record = (m2 - m1) / (r2 - r1)
    return per_record, (f"{name}: held {m1 / 1e6:.2f} MB -> {m2 / 1e6:.2f} MB for {r1} -> "
                        f"{r2} segments ({per_record:.1f} B per extra segment)")


@pytest.mark.parametrize("name", sorted(HOSTILE_FLOWS))
def test_hostile_flow_memory_is_capped(name, tmp_path) -> None:
    per_record, text = _growth_per_record(name, tmp_path)
    # a per-segment leak costs at least a float plus a list slot (32 B) per segment
    assert per_record < 8, text


def test_hostile_flow_measure_sees_a_leak(tmp_path, monkeypatch) -> None:
    """The measure above is sensitive: an observer keeping one float per segment shows."""
    import tcpforensics.analysis as analysis_mod

    real = analysis_mod.observer_factories

    class Leaky:
        def __init__(self, _flow) -> None:
            self.kept: list[float] = []

        def observe(self, seg, _verdict) -> None:
            self.kept.append(seg.ts + 0.5)

        def finish(self, _result) -> None:
            pass

    monkeypatch.setattr(analysis_mod, "observer_factories",
                        lambda options=None: [*real(options), Leaky])
    per_record, text = _growth_per_record("rst_and_keepalive_storm", tmp_path)
    assert per_record >= 8, text


@pytest.mark.parametrize("name", sorted(HOSTILE_FLOWS))
def test_hostile_flow_analysis_completes(name, tmp_path) -> None:
    """The whole analysis (findings, JSON) of the larger hostile flow."""
    w = _Pcap()
    HOSTILE_FLOWS[name](w, K)
    a = analyze(str(w.save(tmp_path / f"{name}.pcap")))
    assert len(a.flow_results) == 1
    assert a.flow_results[0].endpoints[0].packets + a.flow_results[0].endpoints[1].packets \
        == a.capture.tcp_segments == w.n
    json.dumps(a.to_dict(), allow_nan=False)


# --- CPU per segment of one hostile flow -----------------------------------------------------
# Python opcodes executed in tcpforensics while the flow table and TCP core handle the last
# segments of a capture: a count of work, unlike wall time independent of the machine's load.
# Run in a child with the pure-Python reference (compiled code executes no opcodes).
_OPCODES = r"""
import sys
from tcpforensics.flows import FlowTable
from tcpforensics.io.decode import decode
from tcpforensics.io.reader import open_capture

path, last = sys.argv[1], int(sys.argv[2])
cap = open_capture(path)
segs = [decode(raw) for raw in cap]
cap.close()
table = FlowTable()
for seg in segs[:-last]:
    table.feed(seg)
count = 0

def local(frame, event, arg):
    global count
    if event == "opcode":
        count += 1
    return local

def calls(frame, event, arg):
    if "tcpforensics" not in frame.f_code.co_filename:
        return None
    frame.f_trace_opcodes = True
    return local

sys.settrace(calls)
for seg in segs[-last:]:
    table.feed(seg)
sys.settrace(None)
print(count / last)
"""


def _opcodes_per_segment(path: Path, last: int = 300) -> float:
    env = {"PATH": "/usr/bin:/bin", "TCPFORENSICS_PURE": "1", "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-c", _OPCODES, str(path), str(last)], env=env,
                         capture_output=True, text=True, check=True, timeout=600, cwd=REPO)
    return float(out.stdout)


def test_retransmission_storm_work_per_segment_is_flat(tmp_path) -> None:
    """A segment resent thousands of times against an ACK that never moves: each segment
    costs the same whether 2,000 or 10,000 (the cap) copies are unacknowledged.  (Walking
    every unacknowledged segment per packet made it about 5x more at the larger size.)"""
    work = {}
    for k in (2_000, 20_000):
        w = _Pcap()
        retransmission_storm(w, k)
        work[k] = _opcodes_per_segment(w.save(tmp_path / f"storm-{k}.pcap"))
    assert work[20_000] < 1.3 * work[2_000], work
    assert work[2_000] > 100, work  # the measure sees the TCP core's work
