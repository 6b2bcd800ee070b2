"""Property tests: arbitrary segment sequences through the whole downstream pipeline.

Hand-built `Segment` values (random flags, sequence numbers near the 32-bit wrap, absurd
SACK blocks, timestamps going backwards, zero and huge payloads, several flows on one
4-tuple, self-connections) are fed through `FlowTable` with the real observers, then
finished and diagnosed exactly as `analysis._Run` does.  Nothing may raise, and the
invariants the rest of the tool relies on must hold.

The observers and the findings runner swallow their own exceptions (a passive tool
must go on), which would hide bugs from a plain "did not raise" check, so the tests
also look at the places those swallowed errors are recorded.
"""

from __future__ import annotations

import functools
import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tcpforensics.analysis import Analysis, observer_factories
from tcpforensics.cwnd import estimator as cwnd_estimator
from tcpforensics.diagnose import FINDING_KINDS, STALL_KINDS, diagnose
from tcpforensics.flows import FlowTable
from tcpforensics.model import ACK, FIN, PSH, RST, SYN, CaptureInfo, FlowResult, Segment
from tcpforensics.tcp.state import ALL_STATES

MASK = 0xFFFFFFFF
SEVERITIES = {"info", "warning", "critical"}
FLOW_STATES = set(ALL_STATES) | {"RESET"}  # RESET: an acceptable RST ended the flow
HANDSHAKES = {"complete", "partial", "none"}

ADDRS = (bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]),
         bytes.fromhex("20010db8000000000000000000000001"))
PORTS = (0, 80, 443, 5001, 40000, 65535)
COMMON_FLAGS = (SYN, SYN | ACK, ACK, PSH | ACK, FIN | ACK, FIN, RST, RST | ACK, 0,
                SYN | FIN, SYN | RST, FIN | PSH | ACK)
ISNS = (0, 1, MASK, MASK - 100, 1 << 31, (1 << 31) - 1)

u32 = st.integers(0, MASK)
PROPS = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))


# --- strategies ----------------------------------------------------------------------
def _offset() -> st.SearchStrategy[int]:
    return st.one_of(st.integers(-3, 5000), st.sampled_from((1 << 31, (1 << 31) - 1, -(1 << 31))),
                     u32)


@st.composite
def _segment(draw, frame: int, ts: float, tup, isn) -> Segment:
    src, sport, dst, dport = tup
    d = draw(st.integers(0, 1))
    if d:
        src, sport, dst, dport = dst, dport, src, sport
    flags = draw(st.one_of(st.sampled_from(COMMON_FLAGS), st.integers(0, 0x1FF)))
    length = draw(st.one_of(st.sampled_from((0, 0, 1, 1448, 2896)), st.integers(0, 70000),
                            st.just(MASK)))
    seq = (isn[d] + draw(_offset())) & MASK
    ack = (isn[1 - d] + draw(_offset())) & MASK
    sack_edge = st.one_of(st.builds(lambda o, b=isn[1 - d]: (b + o) & MASK, _offset()), u32)
    sacks = draw(st.one_of(
        st.just(()),
        st.lists(st.tuples(sack_edge, sack_edge), max_size=4).map(tuple),
        st.lists(st.tuples(sack_edge, sack_edge), min_size=5, max_size=40).map(tuple),
    ))
    tsval = draw(st.one_of(st.none(), st.integers(0, 5000), u32))
    return Segment(
        frame=frame, ts=ts, src=src, dst=dst, sport=sport, dport=dport, seq=seq, ack=ack,
        flags=flags, win=draw(st.one_of(st.sampled_from((0, 1, 65535)), st.integers(0, 65535))),
        length=length,
        mss=draw(st.one_of(st.none(), st.sampled_from((0, 1, 536, 1460)), st.integers(0, 65535))),
        wscale=draw(st.one_of(st.none(), st.integers(0, 255))),
        sack_perm=draw(st.booleans()), sacks=sacks, tsval=tsval,
        tsecr=draw(st.one_of(st.none(), u32)),
        ip_id=draw(st.one_of(st.none(), st.integers(0, 0xFFFF))),
        ttl=draw(st.one_of(st.none(), st.integers(0, 255))),
        captured_payload=draw(st.integers(0, min(length, 1 << 16))),
        urg_ptr=draw(st.integers(0, 0xFFFF)),
    )


@st.composite
def scenarios(draw, max_segments: int = 50) -> list[Segment]:
    """Segments over 1-3 4-tuples (possibly self-connections or port 0)."""
    tuples = draw(st.lists(st.tuples(st.sampled_from(ADDRS), st.sampled_from(PORTS),
                                     st.sampled_from(ADDRS), st.sampled_from(PORTS)),
                           min_size=1, max_size=3))
    isns = [(draw(st.one_of(st.sampled_from(ISNS), u32)),
             draw(st.one_of(st.sampled_from(ISNS), u32))) for _ in tuples]
    n = draw(st.integers(1, max_segments))
    ts = draw(st.one_of(st.just(0.0), st.floats(0, 2e9)))
    segs = []
    for frame in range(1, n + 1):
        # mostly forward, sometimes backwards, sometimes past every idle timeout
        ts += draw(st.one_of(st.floats(0, 0.3), st.floats(-2, 0), st.sampled_from((0.0, 400.0))))
        i = draw(st.integers(0, len(tuples) - 1))
        segs.append(draw(_segment(frame, ts, tuples[i], isns[i])))
    return segs


@st.composite
def mangled_conversations(draw) -> list[Segment]:
    """A plausible connection (handshake, data both ways with SACK and timestamps, close),
    then dropped, duplicated, reordered and flag-flipped segments: reaches deeper states
    than fully random input."""
    c, s = ADDRS[0], ADDRS[1]
    cp, sp = 40000, 443
    ci, si = draw(st.sampled_from(ISNS)), draw(st.sampled_from(ISNS))
    mss = 1448
    segs: list[tuple] = []  # (from_client, seq, ack, flags, length, sacks, opts)
    segs.append((True, ci, 0, SYN, 0, (), True))
    segs.append((False, si, ci + 1, SYN | ACK, 0, (), True))
    segs.append((True, ci + 1, si + 1, ACK, 0, (), False))
    cseq, sseq = ci + 1, si + 1
    for _ in range(draw(st.integers(0, 30))):
        if draw(st.booleans()):
            n = draw(st.sampled_from((0, 1, 100, mss)))
            segs.append((False, sseq, cseq, PSH | ACK, n, (), False))
            sseq += n
        else:
            sack = ()
            if draw(st.booleans()):
                lo = sseq + draw(st.integers(-3000, 3000))
                sack = ((lo & MASK, (lo + draw(st.integers(-10, 4000))) & MASK),)
            segs.append((True, cseq, sseq - draw(st.sampled_from((0, 0, mss))), ACK, 0, sack,
                         False))
    segs.append((True, cseq, sseq, FIN | ACK, 0, (), False))
    segs.append((False, sseq, cseq + 1, FIN | ACK, 0, (), False))
    segs.append((True, cseq + 1, sseq + 1, ACK, 0, (), False))

    ops = draw(st.lists(st.tuples(st.sampled_from(("drop", "dup", "swap", "flip", "rst")),
                                  st.integers(0, 10_000)), max_size=8))
    for op, where in ops:
        if not segs:
            break
        i = where % len(segs)
        if op == "drop":
            del segs[i]
        elif op == "dup":
            segs.insert(i, segs[i])
        elif op == "swap" and i + 1 < len(segs):
            segs[i], segs[i + 1] = segs[i + 1], segs[i]
        elif op == "flip":
            fc, q, a, f, n, sk, o = segs[i]
            segs[i] = (fc, q, a, f ^ (1 << (where % 9)), n, sk, o)
        elif op == "rst":
            fc, q, a, _f, _n, _sk, _o = segs[i]
            segs.insert(i, (fc, q, a, RST | ACK, 0, (), False))
    out = []
    ts = 1000.0
    tsval = draw(st.sampled_from((1, MASK - 5)))
    for frame, (fc, q, a, f, n, sk, o) in enumerate(segs, 1):
        ts += draw(st.sampled_from((0.0, 0.0001, 0.01, 0.2, -0.05)))
        tsval = (tsval + 1) & MASK
        src, sport, dst, dport = (c, cp, s, sp) if fc else (s, sp, c, cp)
        out.append(Segment(frame=frame, ts=ts, src=src, dst=dst, sport=sport, dport=dport,
                           seq=q & MASK, ack=a & MASK if f & ACK else 0, flags=f,
                           win=draw(st.sampled_from((0, 502, 65535))), length=n,
                           mss=mss if o else None, wscale=7 if o else None, sack_perm=o,
                           sacks=sk, tsval=tsval, tsecr=tsval - 3 & MASK,
                           ip_id=frame & 0xFFFF, captured_payload=0))
    return out


# --- surfacing the errors the observers swallow ----------------------------------------
class _Swallowed:
    """Wraps the observer internals that run inside try/except: records what they raise."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.errors: list[str] = []
        est, obs = cwnd_estimator.SenderEstimator, cwnd_estimator.CwndObserver
        # only the pure build's classes can be patched (compiled ones are immutable C
        # types); the compiled build is held to the pure one's output elsewhere
        if cwnd_estimator.__file__.endswith(".py"):
            for cls, name in ((obs, "_feed"), (obs, "_handshake"), (obs, "_decide"),
                              (obs, "_guess_side"), (est, "features"), (est, "cwnd_record")):
                monkeypatch.setattr(cls, name, self._wrap(getattr(cls, name)))
        monkeypatch.setattr(cwnd_estimator, "classify", self._wrap(cwnd_estimator.classify))

    def _wrap(self, fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except Exception as exc:
                self.errors.append(f"{fn.__qualname__}: {type(exc).__name__}: {exc}")
                raise
        return inner


# --- the pipeline and its invariants ---------------------------------------------------
def _check_verdict(v, seg: Segment) -> None:
    assert v.direction in (0, 1)
    assert v.state in ALL_STATES, v.state
    assert v.bytes_in_flight is None or v.bytes_in_flight >= 0, v.bytes_in_flight
    assert v.acked_bytes >= 0 and v.sacked_bytes >= 0
    assert v.ack_rtt is None or (v.ack_rtt >= 0 and math.isfinite(v.ack_rtt))
    assert v.win_scaled >= 0
    assert v.retrans_cause in (None, "rto", "fast", "reordering", "network_duplicate",
                               "unneeded")


def _check_result(r: FlowResult) -> None:
    assert r.state in FLOW_STATES, r.state
    assert r.handshake in HANDSHAKES
    assert all(sc.state in ALL_STATES for sc in r.states)
    assert len(r.endpoints) == 2
    for e in r.endpoints:
        assert e.packets >= 0 and e.payload_bytes >= 0
        assert all(v >= 0 for v in e.counters.values()), e.counters
        if e.cca is not None:
            assert 0.0 <= float(e.cca.get("confidence", 0.0)) <= 1.0
    rtt = r.rtt
    if rtt.get("samples"):
        assert 0 <= rtt["min"] <= rtt["median"] <= rtt["max"]
    if r.syn_rtt is not None:
        assert math.isfinite(r.syn_rtt)
    for s in r.stalls:
        assert s.kind in STALL_KINDS, s.kind
        assert s.duration >= 0, s
        assert math.isfinite(s.start) and math.isfinite(s.duration)
        assert s.endpoint in (r.client, r.server)
    tcp = r.tcp
    assert tcp["capture_loss"] >= 0
    assert all(v >= 0 for v in tcp["data_bytes"].values())
    assert all(v >= 0 for v in tcp["zero_window_time"].values()), tcp["zero_window_time"]
    assert tcp.get("stall_facts", {}).get("observer_errors", 0) == 0, "stall observer failed"


def run_pipeline(segs: list[Segment], monkeypatch: pytest.MonkeyPatch, **table_kw) -> Analysis:
    swallowed = _Swallowed(monkeypatch)
    try:
        factories = observer_factories()
        table = FlowTable(observer_makers=factories, **table_kw)
        results: list[FlowResult] = []
        finished_ids: list[int] = []

        def finish(flow) -> None:
            finished_ids.append(flow.id)
            result = flow.conn.result()
            for obs in flow.observers:
                obs.finish(result)
            _check_result(result)
            results.append(result)

        for seg in segs:
            flow, verdict = table.feed(seg)
            _check_verdict(verdict, seg)
            for obs in flow.observers:
                obs.observe(seg, verdict)
            for done in table.pop_finished():
                finish(done)
        for done in table.flush():
            finish(done)

        # every flow handed out exactly once; ids are 0..n-1 in creation order
        assert sorted(finished_ids) == list(range(table.created))
        assert len(table) == 0
        results.sort(key=lambda r: r.id)
        # every segment is counted by exactly one endpoint of one flow
        assert sum(e.packets for r in results for e in r.endpoints) == len(segs)
        assert 0 <= table.evicted <= table.created

        capture = CaptureInfo(path="x", records=len(segs), tcp_segments=len(segs),
                              evicted_flows=table.evicted)
        errors: list[tuple[str, str]] = []
        findings = diagnose(results, capture, errors)
        assert errors == [], errors
        ids = {r.id for r in results}
        seen_fids = set()
        for f in findings:
            assert f.severity in SEVERITIES
            assert f.kind in FINDING_KINDS
            assert set(f.flows) <= ids
            assert f.id not in seen_fids
            seen_fids.add(f.id)
            assert math.isfinite(f.impact) and f.impact >= 0
        for r in results:
            assert set(r.findings) <= seen_fids
        analysis = Analysis(capture=capture, flow_results=results, finding_results=findings)
        # strict JSON: no NaN/Infinity, nothing unserializable in the contract dict
        json.dumps(analysis.to_dict(), allow_nan=False)
    finally:
        monkeypatch.undo()
    assert swallowed.errors == [], swallowed.errors
    return analysis


@pytest.fixture
def mp():
    with pytest.MonkeyPatch.context() as m:
        yield m


@PROPS
@given(segs=scenarios())
def test_random_segments_never_break_the_pipeline(segs, mp) -> None:
    run_pipeline(segs, mp)


@PROPS
@given(segs=scenarios(max_segments=40), max_flows=st.integers(1, 3),
       idle=st.sampled_from((0.0, 0.5, 5.0)), linger=st.sampled_from((0.0, 0.1, 60.0)))
def test_eviction_and_expiry_keep_every_flow(segs, max_flows, idle, linger, mp) -> None:
    """A tiny table and short timeouts: flows are evicted/expired mid-stream and the same
    tuple comes back as a new flow; every flow still comes out once, with valid data."""
    run_pipeline(segs, mp, max_flows=max_flows, idle_timeout=idle, closed_linger=linger)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(segs=mangled_conversations())
def test_mangled_conversations(segs, mp) -> None:
    analysis = run_pipeline(segs, mp)
    # one 4-tuple: a new flow only starts on a SYN with a new ISN (or never)
    assert 1 <= len(analysis.flow_results) <= 1 + sum(1 for s in segs if s.flags & SYN)


def test_clean_conversation_reaches_closed(mp) -> None:
    """Sanity anchor for the generator above: untouched, it is a full, clean connection
    (so the mangled runs start from something the core understands)."""
    # the unmangled conversation, built deterministically (no hypothesis draw)
    c, s = ADDRS[0], ADDRS[1]
    ci, si = MASK - 100, 5
    raw = [(True, ci, 0, SYN, 0), (False, si, ci + 1, SYN | ACK, 0),
           (True, ci + 1, si + 1, ACK, 0)]
    sseq = si + 1
    for _ in range(10):
        raw.append((False, sseq, ci + 1, PSH | ACK, 1448))
        sseq += 1448
        raw.append((True, ci + 1, sseq, ACK, 0))
    raw += [(True, ci + 1, sseq, FIN | ACK, 0), (False, sseq, ci + 2, FIN | ACK, 0),
            (True, ci + 2, sseq + 1, ACK, 0)]
    segs = []
    for frame, (fc, q, a, f, n) in enumerate(raw, 1):
        src, sp, dst, dp = (c, 40000, s, 443) if fc else (s, 443, c, 40000)
        segs.append(Segment(frame=frame, ts=frame * 0.01, src=src, dst=dst, sport=sp, dport=dp,
                            seq=q & MASK, ack=a & MASK, flags=f, win=65535, length=n,
                            mss=1448 if f & SYN else None))
    analysis = run_pipeline(segs, mp)
    (flow,) = analysis.flow_results
    assert flow.state == "CLOSED" and flow.handshake == "complete"
    server = flow.endpoints[1]
    assert server.payload_bytes == 14480
    assert sum(server.counters.values()) == 1  # its FIN; no analysis flags on clean data


# --- minimized reproducers of what the properties found ---------------------------------
def _seg(frame: int, ts: float, *, fwd: bool = True, flags: int = ACK, win: int = 65535,
         seq: int = 1000, ack: int = 2000, length: int = 0, **kw) -> Segment:
    a, b = (ADDRS[0], 40000), (ADDRS[1], 443)
    (src, sport), (dst, dport) = (a, b) if fwd else (b, a)
    return Segment(frame=frame, ts=ts, src=src, dst=dst, sport=sport, dport=dport, seq=seq,
                   ack=ack, flags=flags, win=win, length=length, **kw)


def test_zero_window_time_never_negative_when_time_goes_backwards(mp) -> None:
    # a zero window advertised at t=10, reopened by a segment stamped earlier (t=9)
    segs = [_seg(1, 10.0, win=0), _seg(2, 9.0, win=100)]
    (flow,) = run_pipeline(segs, mp).flow_results
    assert all(v >= 0 for v in flow.tcp["zero_window_time"].values())
    # still open at the end, with the last segment earlier than the start of the episode
    segs = [_seg(1, 10.0, win=100, fwd=False), _seg(2, 10.0, win=0), _seg(3, 9.0, fwd=False)]
    (flow,) = run_pipeline(segs, mp).flow_results
    assert all(v >= 0 for v in flow.tcp["zero_window_time"].values())


def _alarm(seconds: int):
    """Turn a hang into a test failure."""
    import signal

    def boom(_signum, _frame):
        raise TimeoutError(f"hang: more than {seconds}s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    return lambda: (signal.alarm(0), signal.signal(signal.SIGALRM, old))


def test_full_table_and_a_new_flow_from_the_past_does_not_hang(mp) -> None:
    # found by test_eviction_and_expiry_keep_every_flow: with the table full, a new flow
    # whose first segment is stamped earlier than every live flow's (time going
    # backwards) has the earliest deadline, and eviction kept popping and re-pushing it
    first = _seg(1, 100.0, flags=SYN)
    other = Segment(frame=2, ts=50.0, src=ADDRS[2], dst=ADDRS[1], sport=1, dport=443, seq=7,
                    ack=0, flags=SYN, win=100, length=0)
    restore = _alarm(10)
    try:
        analysis = run_pipeline([first, other], mp, max_flows=1)
    finally:
        restore()
    assert len(analysis.flow_results) == 2
