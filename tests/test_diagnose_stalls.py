"""Stall detector: one hand-built conversation per stall kind, plus the near misses
that must not count."""

from __future__ import annotations

import pytest
from test_diagnose_support import CLIENT, SERVER, Conv, kinds

from tcpforensics.diagnose.stalls import MAX_STALLS
from tcpforensics.model import Analysis, Segment, SegmentVerdict

RTT = 0.004
DELACK = 0.040


def _nagle_requests(c: Conv, n: int, t: float, vantage: str = "client",
                    delack: float = DELACK, nodelay: bool = False) -> float:
    """write(120), write(80), read(300) n times, seen from the client or the server."""
    for _ in range(n):
        c.data(0, t, 120)  # first small write goes out at once
        if nodelay:
            c.data(0, t + 1e-5, 80)
            c.data(1, t + RTT + 1e-4, 300)
            c.ack(0, t + RTT + 2e-4)
            t += 0.05
            continue
        if vantage == "client":
            ack_at = t + RTT + delack  # server's delayed ACK reaches the client
            send_at = ack_at + 1e-5  # Nagle releases the second write at once
            resp_at = send_at + RTT
        else:
            ack_at = t + delack  # the server's timer fires
            send_at = ack_at + RTT  # the released write arrives one RTT later
            resp_at = send_at + 1e-4
        c.ack(1, ack_at)
        c.data(0, send_at, 80)
        c.data(1, resp_at, 300)
        c.ack(0, resp_at + (1e-4 if vantage == "client" else RTT))
        t = resp_at + 0.01
    return t


@pytest.mark.parametrize("vantage", ["client", "server"])
def test_nagle_each_request_stalls_near_the_delayed_ack_timer(vantage):
    c = Conv()
    t = c.handshake(0.0, RTT)
    _nagle_requests(c, 20, t + 0.01, vantage)
    res = c.finish()
    stalls = kinds(res, "nagle_delayed_ack")
    assert len(stalls) == 20
    for s in stalls:
        assert s.endpoint == CLIENT
        assert s.duration == pytest.approx(DELACK + RTT, abs=0.002)
        assert s.detail["ack_delay"] == pytest.approx(DELACK, abs=0.002)
    assert res.tcp["stall_totals"]["nagle_delayed_ack"]["count"] == 20


def test_windows_delayed_ack_is_recognised_too():
    c = Conv()
    t = c.handshake(0.0, RTT)
    _nagle_requests(c, 5, t + 0.01, delack=0.2)
    stalls = kinds(c.finish(), "nagle_delayed_ack")
    assert len(stalls) == 5
    assert all(s.detail["ack_delay"] == pytest.approx(0.2, abs=0.002) for s in stalls)


def test_nodelay_gives_no_nagle_stalls():
    c = Conv()
    t = c.handshake(0.0, RTT)
    _nagle_requests(c, 20, t + 0.01, nodelay=True)
    assert kinds(c.finish(), "nagle_delayed_ack") == []


def test_reply_carrying_the_ack_is_not_nagle():
    # small request, server answers 50 ms later with data: that is server think time
    c = Conv()
    t = c.handshake(0.0, RTT)
    for _ in range(5):
        c.data(0, t, 100)
        c.data(1, t + 0.05, 200)
        c.data(0, t + 0.05 + RTT, 100)
        t += 0.2
    assert kinds(c.finish(), "nagle_delayed_ack") == []


def test_slow_small_writes_after_a_delayed_ack_are_not_nagle():
    # telemetry every 100 ms: the ACK is delayed, but the next write comes much later
    c = Conv()
    t = c.handshake(0.0, RTT)
    for _ in range(10):
        c.data(0, t, 50)
        c.ack(1, t + RTT + DELACK)
        t += 0.1
    assert kinds(c.finish(), "nagle_delayed_ack") == []


def test_full_sized_segments_are_never_nagle_candidates():
    c = Conv(mss=1460)
    t = c.handshake(0.0, RTT)
    for _ in range(5):
        c.data(0, t, 1460)
        c.ack(1, t + RTT + DELACK)
        c.data(0, t + RTT + DELACK + 1e-5, 1460)
        t += 0.2
    assert kinds(c.finish(), "nagle_delayed_ack") == []


def test_rto_with_backoff():
    c = Conv()
    t = c.handshake(0.0, 0.02)
    c.data(0, t + 0.01, 1000)  # arms the timer
    lost_seq = c.nxt[0] - 1000
    c.data(0, t + 0.31, 1000, seq=lost_seq, analysis=Analysis.RETRANSMISSION, cause="rto")
    c.data(0, t + 0.91, 1000, seq=lost_seq, analysis=Analysis.RETRANSMISSION, cause="rto")
    c.ack(1, t + 0.93)  # finally acknowledged
    res = c.finish()
    (s,) = kinds(res, "rto")
    assert s.endpoint == CLIENT
    assert s.start == pytest.approx(t + 0.01)
    assert s.duration == pytest.approx(0.92)
    assert s.detail["backoff"] == 1
    assert s.detail["first_timeout"] == pytest.approx(0.30)


def test_fast_retransmission_is_not_an_rto_stall():
    c = Conv()
    t = c.handshake(0.0, 0.02)
    for i in range(5):
        c.data(0, t + i * 1e-3, 1000)
    c.ack(1, t + 0.021, ack=1001)
    for k in range(3):
        c.ack(1, t + 0.022 + k * 1e-4, ack=1001, analysis=Analysis.DUPLICATE_ACK)
    c.data(0, t + 0.023, 1000, seq=1001, analysis=Analysis.FAST_RETRANSMISSION, cause="fast")
    c.ack(1, t + 0.045)
    assert kinds(c.finish(), "rto") == []


def test_zero_window_until_the_window_opens():
    c = Conv()
    t = c.handshake(0.0, 0.02)
    c.data(0, t, 1000)
    c.ack(1, t + 0.02, win=0)  # receiver's buffer is full
    for k in (0.2, 0.6):  # the sender probes
        c.ack(0, t + 0.02 + k, ack=c.nxt[1], analysis=Analysis.ZERO_WINDOW_PROBE)
    c.ack(1, t + 1.02, win=32768)  # window update
    c.data(0, t + 1.021, 1000)
    res = c.finish()
    (s,) = kinds(res, "zero_window")
    assert s.endpoint == CLIENT  # the sender's data waited
    assert s.duration == pytest.approx(1.0)
    assert s.detail["probes"] == 2


def test_zero_window_with_nothing_left_to_send_is_not_a_stall():
    c = Conv()
    t = c.handshake(0.0, 0.02)
    c.data(0, t, 1000)
    c.ack(1, t + 0.02, win=0)
    c.ack(1, t + 1.0, win=32768)
    c.fin(0, t + 5.0)  # sender only closes, much later: it had nothing waiting
    assert kinds(c.finish(), "zero_window") == []


def test_receive_window_limited_sender():
    c = Conv(win=8000)
    t = c.handshake(0.0, 0.05)
    for _ in range(5):
        for k in range(8):  # eight 1000-byte segments fill the 8000-byte window
            c.data(0, t + k * 1e-4, 1000)
        c.ack(1, t + 0.05)  # everything ACKed one RTT later, window reopens
        t += 0.05 + 1e-5
    res = c.finish()
    # back-to-back window-bound rounds form one episode, from the first time the window
    # filled to the last time new data was let through
    (s,) = kinds(res, "receive_window")
    assert s.endpoint == CLIENT
    assert s.start == pytest.approx(0.0501 + 7e-4)
    assert s.duration == pytest.approx(3 * (0.05 + 1e-5) + 0.05 - 7e-4, abs=1e-3)
    assert s.detail["refills"] == 4


def test_separate_window_bound_bursts_stay_separate():
    c = Conv(win=8000)
    t = c.handshake(0.0, 0.05)
    for _ in range(3):
        for k in range(8):
            c.data(0, t + k * 1e-4, 1000)
        c.ack(1, t + 0.05)
        c.data(0, t + 0.0501, 1000)  # released, then the application pauses
        c.ack(1, t + 0.1)
        t += 1.0
    stalls = kinds(c.finish(), "receive_window")
    assert len(stalls) == 3
    assert all(s.duration == pytest.approx(0.05 - 6e-4, abs=1e-3) for s in stalls)


def test_app_limited_gaps_between_bursts():
    c = Conv()
    t = c.handshake(0.0, 0.01)
    for _ in range(4):
        for k in range(3):
            c.data(0, t + k * 1e-4, 1000)
        c.ack(1, t + 0.011)
        t += 0.5
    res = c.finish()
    stalls = kinds(res, "app_limited")
    assert len(stalls) == 3
    assert all(s.duration == pytest.approx(0.5 - 2e-4, abs=1e-3) for s in stalls)


def test_request_response_turns_are_not_app_limited():
    c = Conv()
    t = c.handshake(0.0, 0.01)
    for _ in range(5):
        c.data(0, t, 200)
        c.data(1, t + 0.011, 600)
        c.ack(0, t + 0.0111)
        t += 0.5
    res = c.finish()
    assert kinds(res, "app_limited") == []


def test_handshake_stall_from_syn_retransmissions():
    c = Conv()
    c.syn(0.0)
    c.syn(1.0)
    c.syn(3.0)
    c.syn(3.01, d=1)
    res = c.finish()
    (s,) = kinds(res, "handshake")
    assert s.endpoint == CLIENT
    assert s.duration == pytest.approx(3.01)
    assert s.detail == {"retransmissions": 2, "segment": "SYN", "completed": True}
    facts = res.tcp["stall_facts"]
    assert facts["syn_retransmissions"] == 2 and facts["synack_seen"]


def test_refused_connection_is_recorded():
    c = Conv()
    c.syn(0.0)
    c.rst(1, 0.01)
    res = c.finish()
    assert res.tcp["stall_facts"]["rst_to_syn"] is True
    assert res.tcp["stall_facts"]["resets"][0]["answer_to_syn"] is True


def test_abortive_reset_after_data_is_in_window():
    c = Conv()
    t = c.handshake(0.0, 0.01)
    c.data(1, t, 5000)
    c.ack(0, t + 0.01)
    c.rst(0, t + 0.02)
    r = c.finish().tcp["stall_facts"]["resets"]
    assert r == [{"ts": t + 0.02, "direction": 0, "in_window": True, "answer_to_syn": False,
                  "after_data": True, "unacked_bytes": 0}]


def test_slow_start_restart_after_idle():
    rtt = 0.04
    c = Conv(mss=1000)
    t = c.handshake(0.0, rtt)
    # busy phase: 40 segments per round trip for 10 round trips
    for _ in range(10):
        for k in range(40):
            c.data(0, t + k * 5e-4, 1000)
        c.ack(1, t + rtt)
        t += rtt + 1e-4
    t += 2.0  # idle
    # after the pause only 10 segments in the first round trip, then more
    for rnd, n in enumerate((10, 20, 40)):
        for k in range(n):
            c.data(0, t + k * 5e-4, 1000)
        c.ack(1, t + rtt)
        t += rtt + 1e-4
        assert rnd < 3
    res = c.finish()
    (ev,) = res.tcp["stall_facts"]["ssr_events"]
    assert ev["first_flight"] == 10_000
    assert ev["flight_before"] >= 35_000


def test_no_restart_when_the_window_survives_idle():
    rtt = 0.04
    c = Conv(mss=1000)
    t = c.handshake(0.0, rtt)
    for _ in range(10):
        for k in range(40):
            c.data(0, t + k * 5e-4, 1000)
        c.ack(1, t + rtt)
        t += rtt + 1e-4
    t += 2.0
    for _ in range(3):
        for k in range(40):
            c.data(0, t + k * 5e-4, 1000)
        c.ack(1, t + rtt)
        t += rtt + 1e-4
    assert c.finish().tcp["stall_facts"]["ssr_events"] == []


def test_stall_list_is_capped_but_totals_are_exact():
    c = Conv()
    t = c.handshake(0.0, 0.001)
    n = 2 * MAX_STALLS + 300
    for i in range(n):
        c.data(0, t, 100)
        c.ack(1, t + 0.0005)
        t += 0.06 + (i % 7) * 1e-3  # idle gaps of 60-66 ms: app limited
    res = c.finish()
    assert len(res.stalls) == MAX_STALLS
    assert res.tcp["stall_totals"]["app_limited"]["count"] == n - 1
    # the kept ones are the largest, in time order
    assert min(s.duration for s in res.stalls) >= 0.06 + 3e-3 - 1e-3
    assert [s.start for s in res.stalls] == sorted(s.start for s in res.stalls)



def test_stall_records_keep_kind_and_detail_through_the_cap():
    """The observer keeps each stall as a record of numbers, its detail aside: the cap
    keeps the longest, first found first among equals, each with its own detail."""
    from tcpforensics.diagnose.stalls import make_observer

    obs = make_observer(None)
    if not hasattr(obs, "_add"):
        pytest.skip("a C method in the compiled build (the capture tests cover it)")
    want = []
    for i in range(2 * MAX_STALLS):
        kind = ("rto", "app_limited", "nagle_delayed_ack")[i % 3]
        detail = {} if kind == "app_limited" else {"n": i}
        duration = 1.0 + (i % 10) / 10
        obs._add(kind, i % 2, float(i), duration, detail)
        want.append((kind, i % 2, float(i), duration, detail))
    want.sort(key=lambda s: -s[3])
    assert obs._found() == want[:MAX_STALLS]
    assert len(obs.details) == sum(1 for s in want[:MAX_STALLS] if s[4])


def test_path_rtt_from_either_vantage():
    near_client = Conv()
    near_client.handshake(0.0, 0.03)  # SYN -> SYN-ACK takes the whole RTT
    assert near_client.obs.path_rtt() == pytest.approx(0.0301)
    near_server = Conv()
    near_server._feed(0, 0.0, 0x02, 0, 0, 0, 65535, mss=1460)
    near_server._feed(1, 0.0001, 0x12, 0, 0, 1, 65535, mss=1460)
    near_server._feed(0, 0.0301, 0x10, 0, 1, 1, 65535)  # ACK arrives one RTT later
    assert near_server.obs.path_rtt() == pytest.approx(0.0301)


def test_observer_never_raises_on_odd_input():
    c = Conv()
    seg = Segment(frame=1, ts=0.0, src=b"\x01\x02\x03\x04", dst=b"\x05\x06\x07\x08",
                  sport=1, dport=2, seq=0, ack=0, flags=0x10, win=0, length=10)
    c.obs.observe(seg, SegmentVerdict(direction=7, rel_seq=0, rel_ack=0, win_scaled=0))
    try:
        odd = SegmentVerdict(direction=0, rel_seq=None, rel_ack=None,  # type: ignore
                             win_scaled=None)  # type: ignore[arg-type]
    except TypeError:  # the compiled model (typed fields, model.pxd) refuses None
        pass
    else:
        c.obs.observe(seg, odd)
    res = c.finish()
    assert res.tcp["stall_facts"]["observer_errors"] >= 1
    assert res.client == CLIENT and res.server == SERVER


def test_timeout_longer_than_any_rto_is_not_a_stall():
    # a spliced capture: the "retransmission" comes years later
    c = Conv()
    t = c.handshake(0.0, 0.02)
    c.data(0, t, 100)
    c.data(0, t + 5e8, 100, seq=1, analysis=Analysis.RETRANSMISSION, cause="rto")
    c.ack(1, t + 5e8 + 0.02)
    assert kinds(c.finish(), "rto") == []


def test_no_window_stalls_without_the_handshake():
    # mid-stream pickup: the window scale is unknown, so raw windows prove nothing
    c = Conv(win=8000)
    c.nxt = [1, 1]
    t = 1.0
    c.ack(1, t)
    for _ in range(3):
        for k in range(8):
            c.data(0, t + k * 1e-4, 1000)
        c.ack(1, t + 0.05)
        t += 0.05 + 1e-5
    assert kinds(c.finish(), "receive_window") == []


def test_burst_rate_estimates_the_path_rate():
    # ack-clocked bursts: segments 1448 bytes apart by 0.58 ms = 20 Mbit/s, then a pause
    c = Conv(timestamps=True)
    t = c.handshake(0.0, 0.1)
    gap = 1448 * 8 / 20e6
    for _ in range(20):
        for k in range(45):
            c.data(0, t + k * gap, 1448)
        c.ack(1, t + 0.1)
        t += 0.1 + 1e-4
    rate = c.finish().tcp["stall_facts"]["burst_rate_p90"][0]
    assert rate * 8 == pytest.approx(20e6, rel=0.1)


def test_random_traffic_never_trips_the_observer():
    # well-typed but arbitrary segments: the observer must digest them without errors
    import random

    from tcpforensics.diagnose import make_observer
    from tcpforensics.model import Endpoint, FlowResult

    rng = random.Random(6)
    for _ in range(30):
        obs = make_observer(None)
        ts = 0.0
        for i in range(300):
            ts += rng.choice((0.0, 1e-5, 1e-3, 0.04, 0.3, 2.0))
            d = rng.randrange(2)
            flags = rng.choice((0x02, 0x12, 0x10, 0x18, 0x11, 0x14, 0x04, 0x00, 0x19))
            seg = Segment(frame=i + 1, ts=ts, src=b"\x01\x01\x01\x01", dst=b"\x02\x02\x02\x02",
                          sport=1, dport=2, seq=rng.randrange(1 << 32),
                          ack=rng.randrange(1 << 32), flags=flags, win=rng.randrange(65536),
                          length=rng.choice((0, 0, 1, 100, 1448, 30000)),
                          mss=rng.choice((None, 536, 1460)),
                          tsval=rng.choice((None, 5)))
            v = SegmentVerdict(direction=d, rel_seq=rng.randrange(-10, 200_000),
                               rel_ack=rng.randrange(-10, 200_000),
                               win_scaled=rng.choice((0, 1, 1000, 65535, 1 << 24)),
                               analysis=rng.randrange(1 << 15),
                               ack_rtt=rng.choice((None, 0.0, 1e-4, 0.05)),
                               retrans_cause=rng.choice((None, "rto", "fast", "reordering")))
            obs.observe(seg, v)
        res = FlowResult(id=0, client="a:1", server="b:2", start=0.0, end=ts, state="",
                         handshake="none", syn_rtt=None, rtt={},
                         endpoints=[Endpoint("a:1", "client"), Endpoint("b:2", "server")])
        obs.finish(res)
        assert res.tcp["stall_facts"]["observer_errors"] == 0
        assert all(s.duration > 0 for s in res.stalls)


def test_loss_episodes_group_repairs_within_a_round_trip():
    c = Conv()
    t = c.handshake(0.0, 0.05)
    for i in range(20):
        c.data(0, t + i * 1e-3, 1000)
    fr = Analysis.FAST_RETRANSMISSION
    c.data(0, t + 0.06, 1000, seq=1001, analysis=fr, cause="fast")
    c.data(0, t + 0.07, 1000, seq=3001, analysis=fr, cause="fast")  # same recovery
    c.data(0, t + 1.00, 1000, seq=9001, analysis=fr, cause="fast")  # a new one
    c.data(0, t + 1.01, 1000, seq=9001, analysis=Analysis.RETRANSMISSION,
           cause="network_duplicate")  # not loss
    assert c.finish().tcp["stall_facts"]["loss_episodes"] == [2, 0]


def test_receiver_side_repairs_are_counted_as_late_fills():
    # near the receiver: segment 2 is lost upstream, the rest arrive, the repair
    # arrives one RTT after the gap showed (no retransmission flag: the original was
    # never seen here)
    c = Conv()
    t = c.handshake(0.0, 0.05)
    c.data(0, t, 1000)
    c.nxt[0] += 1000  # lost before the capture point
    for i in range(5):
        c.data(0, t + (i + 1) * 1e-3, 1000, analysis=Analysis.LOST_SEGMENT if i == 0 else 0)
        c.ack(1, t + (i + 1) * 1e-3 + 1e-4, ack=1001, analysis=Analysis.DUPLICATE_ACK)
    c.data(0, t + 0.056, 1000, seq=1001, analysis=Analysis.OUT_OF_ORDER, cause="reordering")
    c.ack(1, t + 0.0561)
    # a real reordering: filled within a fraction of the RTT
    c.nxt[0] += 1000
    c.data(0, t + 0.060, 1000)
    c.data(0, t + 0.0605, 1000, seq=c.nxt[0] - 2000, analysis=Analysis.OUT_OF_ORDER,
           cause="reordering")
    facts = c.finish().tcp["stall_facts"]
    assert facts["late_fills"] == [1, 0]
    assert facts["loss_episodes"] == [1, 0]


def test_busy_sender_during_recovery_is_not_a_timeout():
    # the cumulative ACK stalls for 300 ms during a long recovery, but the sender keeps
    # transmitting: a repair labelled "rto" here is not a retransmission timeout
    c = Conv()
    t = c.handshake(0.0, 0.08)
    c.data(0, t, 1000)
    for i in range(1, 30):
        c.data(0, t + i * 0.01, 1000)
    c.data(0, t + 0.30, 1000, seq=1, analysis=Analysis.RETRANSMISSION, cause="rto")
    c.ack(1, t + 0.32)
    assert kinds(c.finish(), "rto") == []


def _receiver_side_bulk(c: Conv, t: float, rtt: float, n: int) -> float:
    """n segments arriving 2 ms apart, each ACKed at once (a receiver-side capture)."""
    for _ in range(n):
        c.data(0, t, 1460)
        c.ack(1, t + 1e-4, ack_rtt=1e-4)
        t += 0.002
    return t


def test_timeout_seen_next_to_the_receiver():
    # the link drops everything for a while: the receiver sees a busy sender fall silent
    # and come back with one lone segment (the flight after a timeout), then more an RTT
    # later
    rtt = 0.04
    c = Conv()
    c._feed(0, 0.0, 0x02, 0, 0, 0, 65535, mss=1460)
    c._feed(1, 1e-4, 0x12, 0, 0, 1, 65535, mss=1460)
    c._feed(0, rtt, 0x10, 0, 1, 1, 65535)
    c.nxt = [1, 1]
    t = _receiver_side_bulk(c, rtt + 0.01, rtt, 50) - 0.002
    t2 = t + 2.2
    c.data(0, t2, 1460)
    c.ack(1, t2 + 1e-4, ack_rtt=1e-4)
    _receiver_side_bulk(c, t2 + rtt, rtt, 10)
    (s,) = kinds(c.finish(), "rto")
    assert s.start == pytest.approx(t) and s.duration == pytest.approx(2.2)
    assert s.detail["seen_at"] == "receiver" and s.detail["backoff"] >= 1


def test_idle_sender_resuming_with_a_burst_is_not_a_timeout():
    rtt = 0.04
    c = Conv()
    c._feed(0, 0.0, 0x02, 0, 0, 0, 65535, mss=1460)
    c._feed(1, 1e-4, 0x12, 0, 0, 1, 65535, mss=1460)
    c._feed(0, rtt, 0x10, 0, 1, 1, 65535)
    c.nxt = [1, 1]
    t = _receiver_side_bulk(c, rtt + 0.01, rtt, 50)
    _receiver_side_bulk(c, t + 2.0, rtt, 10)  # a whole initial window at once
    res = c.finish()
    assert kinds(res, "rto") == []
    assert len(kinds(res, "app_limited")) == 1


def test_edge_history_behaves_like_a_bounded_deque():
    # the ring behind the sender's window edge (away from the sender) must answer as the
    # deque(maxlen=1024) of (time, edge) pairs it replaces, through growth and overflow
    import random
    from collections import deque

    from tcpforensics.diagnose.stalls import _EdgeHistory

    def reference_edge_at(ref: deque, t: float) -> int:
        while len(ref) >= 2 and ref[1][0] <= t:
            ref.popleft()
        return ref[0][1] if ref and ref[0][0] <= t else -1

    rng = random.Random(11)
    ref: deque = deque(maxlen=1024)
    hist = _EdgeHistory()
    t = 0.0
    answers = set()
    for i in range(6000):
        burst = i % 2000 == 0
        t0 = t
        for _ in range(1500 if burst else rng.choice((0, 1, 1, 2, 40))):
            t += rng.choice((0.0, 1e-5, 1e-4, 1e-3))  # ACKs, some bursts past the bound
            edge = rng.randrange(1 << 40)
            ref.append((t, edge))
            hist.append(t, edge)
        # after a long burst, ask about its middle: only the newest 1024 are still known
        q = rng.uniform(t0, t) if burst else t - rng.choice((0.0, 1e-4, 2e-3, 0.02, 0.5))
        want = reference_edge_at(ref, q)
        assert hist.edge_at(q) == want
        answers.add(want == -1)
    assert answers == {True, False}  # both outcomes were exercised


def test_edges_offered_to_a_side_that_never_sends_do_not_pile_up():
    """A bulk download: the server's segments offer the client window edges no lookup
    ever reads (the client sends no data).  Edges older than a few path RTTs go as new
    ones come, so the client's history stays a handful long; it held 1,024 (16 KB a
    flow) when only lookups trimmed it."""
    c = Conv()
    rtt = 0.02
    t = c.handshake(0.0, rtt)
    longest = 0
    for _ in range(3000):
        t += 0.001
        c.data(1, t, 1460)
        c.ack(0, t + 0.0001)
        hist = c.obs.s0.edge_hist
        longest = max(longest, hist.n if hist is not None else 0)
    assert 0 < longest <= 4 * rtt / 0.001 + 8
    assert c.finish().tcp["stall_totals"] == {}
