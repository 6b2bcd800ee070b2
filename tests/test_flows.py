"""Flow table: ids, port reuse, expiry, eviction, bounded memory."""

from __future__ import annotations

import pytest

from tcpforensics.flows import FlowTable
from tcpforensics.model import ACK, FIN, RST, SYN, Segment

A = bytes([198, 18, 0, 1])
B = bytes([198, 18, 0, 2])


def seg(frame, ts, src, sport, dst, dport, flags=ACK, seq=1000, ack=2000, length=0):
    return Segment(frame=frame, ts=ts, src=src, dst=dst, sport=sport, dport=dport, seq=seq,
                   ack=ack, flags=flags, win=1000, length=length)


def test_ids_in_order_of_first_packet_and_bidirectional():
    t = FlowTable()
    f0, _ = t.feed(seg(1, 0.0, A, 1111, B, 80))
    f1, _ = t.feed(seg(2, 0.1, A, 2222, B, 80))
    f0b, v = t.feed(seg(3, 0.2, B, 80, A, 1111, seq=2000, ack=1000))
    assert (f0.id, f1.id) == (0, 1)
    assert f0b is f0 and v.direction == 1
    assert [f.id for f in t.flush()] == [0, 1]


def test_syn_with_new_isn_starts_a_new_flow_marked_reused_ports():
    t = FlowTable()
    t.feed(seg(1, 0.0, A, 1111, B, 80, flags=SYN, seq=100, ack=0))
    t.feed(seg(2, 0.1, B, 80, A, 1111, flags=SYN | ACK, seq=900, ack=101))
    t.feed(seg(3, 0.2, A, 1111, B, 80, flags=ACK, seq=101, ack=901))
    t.feed(seg(4, 0.3, A, 1111, B, 80, flags=FIN | ACK, seq=101, ack=901))
    t.feed(seg(5, 0.4, B, 80, A, 1111, flags=FIN | ACK, seq=901, ack=102))
    t.feed(seg(6, 0.5, A, 1111, B, 80, flags=ACK, seq=102, ack=902))
    same, v = t.feed(seg(7, 0.6, A, 1111, B, 80, flags=SYN, seq=100, ack=0))
    assert same.id == 0 and v.analysis & 0x4000 == 0  # same ISN: a retransmitted SYN
    new, v = t.feed(seg(8, 0.7, A, 1111, B, 80, flags=SYN, seq=5000, ack=0))
    assert new.id == 1 and v.analysis & 0x4000
    finished = t.pop_finished()
    assert [f.id for f in finished] == [0]
    assert finished[0].conn.result().tcp["time_wait"] == "198.18.0.1:1111"
    assert new.conn.result().endpoints[0].counters["reused_ports"] == 1


def test_idle_and_closed_flows_are_emitted_as_capture_time_passes():
    t = FlowTable(idle_timeout=10.0, closed_linger=2.0)
    t.feed(seg(1, 0.0, A, 1111, B, 80))  # idle, never closes
    t.feed(seg(2, 0.0, A, 2222, B, 80, flags=SYN, seq=1, ack=0))
    t.feed(seg(3, 0.1, B, 80, A, 2222, flags=SYN | ACK, seq=7, ack=2))
    t.feed(seg(4, 0.2, A, 2222, B, 80, flags=FIN | ACK, seq=2, ack=8))
    t.feed(seg(5, 0.3, B, 80, A, 2222, flags=FIN | ACK, seq=8, ack=3))
    t.feed(seg(6, 0.4, A, 2222, B, 80, flags=ACK, seq=3, ack=9))
    assert t.pop_finished() == []
    t.feed(seg(7, 3.0, A, 3333, B, 80))
    assert [f.id for f in t.pop_finished()] == [1]  # closed and quiet for 2 s
    t.feed(seg(8, 5.0, A, 1111, B, 80))  # activity postpones the idle deadline
    t.feed(seg(9, 12.0, A, 4444, B, 80))
    assert [f.id for f in t.pop_finished()] == []
    t.feed(seg(10, 15.5, A, 4444, B, 80))
    assert sorted(f.id for f in t.pop_finished()) == [0, 2]
    assert [f.id for f in t.flush()] == [3]


def test_max_flows_evicts_least_recently_active_and_counts():
    t = FlowTable(max_flows=3)
    for i in range(3):
        t.feed(seg(i + 1, float(i), A, 1000 + i, B, 80))
    t.feed(seg(4, 3.0, A, 1000, B, 80))  # flow 0 active again
    t.feed(seg(5, 4.0, A, 2000, B, 80))  # a 4th flow: evict the least recently active (1)
    assert t.evicted == 1
    assert [f.id for f in t.pop_finished()] == [1]
    assert len(t) == 3


def test_observer_makers_make_each_new_flows_observers_in_order():
    made = []

    def maker(name):
        def make(flow):
            made.append((name, flow.id))
            return name
        return make

    t = FlowTable(observer_makers=[maker("cwnd"), maker("stalls")])
    f0, _ = t.feed(seg(1, 0.0, A, 1111, B, 80))
    t.feed(seg(2, 0.1, B, 80, A, 1111))
    f1, _ = t.feed(seg(3, 0.2, A, 2222, B, 80))
    assert made == [("cwnd", 0), ("stalls", 0), ("cwnd", 1), ("stalls", 1)]
    assert f0.observers == ("cwnd", "stalls") and f1.observers == ("cwnd", "stalls")


def test_memory_stays_bounded_on_a_syn_flood():
    t = FlowTable(max_flows=1000, idle_timeout=30.0)
    emitted = 0
    for i in range(5000):
        t.feed(seg(i + 1, i * 0.001, bytes([10, 0, i >> 8 & 255, i & 255]), 1024 + i % 50000,
                   B, 80, flags=SYN, seq=i, ack=0))
        emitted += len(t.pop_finished())
    assert len(t) <= 1000
    assert emitted + len(t.flush()) == 5000
    assert t.evicted > 0


def test_reuse_after_the_old_flow_expired_is_still_flagged():
    t = FlowTable(idle_timeout=10.0, closed_linger=1.0)
    t.feed(seg(1, 0.0, A, 1111, B, 80, flags=SYN, seq=100, ack=0))
    t.feed(seg(2, 0.1, B, 80, A, 1111, flags=SYN | ACK, seq=900, ack=101))
    t.feed(seg(3, 0.2, A, 1111, B, 80, flags=FIN | ACK, seq=101, ack=901))
    t.feed(seg(4, 0.3, B, 80, A, 1111, flags=FIN | ACK, seq=901, ack=102))
    t.feed(seg(5, 0.4, A, 1111, B, 80, flags=ACK, seq=102, ack=902))
    t.feed(seg(6, 70.0, A, 2222, B, 80))  # time passes: flow 0 expires (TIME_WAIT is 60 s)
    assert [f.id for f in t.pop_finished()] == [0]
    new, v = t.feed(seg(7, 71.0, A, 1111, B, 80, flags=SYN, seq=7777, ack=0))
    assert new.id == 2 and v.analysis & 0x4000


@pytest.mark.parametrize("client, server", [(A, B), (B, A)], ids=["client-first", "client-second"])
@pytest.mark.parametrize("syn_from_client, isn, flagged", [
    (True, 7777, True),  # the client again, another ISN: a reused port
    (True, 100, False),  # the same ISN: the old connection's SYN, late
    (False, 7777, False),  # a SYN from the old server's side is no reuse of its port
])
def test_an_expired_tuple_is_remembered_with_its_client_and_isn(client, server,
                                                                 syn_from_client, isn,
                                                                 flagged):
    t = FlowTable(idle_timeout=10.0, closed_linger=1.0)
    t.feed(seg(1, 0.0, client, 1111, server, 80, flags=SYN, seq=100, ack=0))
    t.feed(seg(2, 0.1, server, 80, client, 1111, flags=SYN | ACK, seq=900, ack=101))
    t.feed(seg(3, 0.2, client, 1111, server, 80, flags=RST, seq=101, ack=0))
    t.feed(seg(4, 70.0, A, 2222, B, 443))  # flow 0 expires
    assert [f.id for f in t.pop_finished()] == [0]
    syn = (seg(5, 71.0, client, 1111, server, 80, flags=SYN, seq=isn, ack=0)
           if syn_from_client else seg(5, 71.0, server, 80, client, 1111, flags=SYN, seq=isn,
                                       ack=0))
    new, v = t.feed(syn)
    assert new.id == 2
    assert bool(v.analysis & 0x4000) == flagged
    assert not t._grave  # taken: a later new flow on the tuple is compared to this one


def _close(t: FlowTable, frame: int, ts: float, port: int) -> int:
    """A whole connection from `port`, handshake to the last ACK of both FINs."""
    t.feed(seg(frame, ts, A, port, B, 80, flags=SYN, seq=100, ack=0))
    t.feed(seg(frame + 1, ts, B, 80, A, port, flags=SYN | ACK, seq=900, ack=101))
    t.feed(seg(frame + 2, ts, A, port, B, 80, flags=FIN | ACK, seq=101, ack=901))
    t.feed(seg(frame + 3, ts, B, 80, A, port, flags=FIN | ACK, seq=901, ack=102))
    flow, _ = t.feed(seg(frame + 4, ts, A, port, B, 80, flags=ACK, seq=102, ack=902))
    assert flow.conn.closed
    return flow.id


def test_closed_flows_linger_at_most_max_lingering_then_the_oldest_ends_early():
    t = FlowTable(closed_linger=60.0, max_lingering=2)
    first = _close(t, 1, 0.0, 1001)
    _close(t, 6, 0.1, 1002)
    assert t.pop_finished() == [] and t.lingering == 2
    _close(t, 11, 0.2, 1003)  # a third closed flow: the oldest one stops waiting
    ended = t.pop_finished()
    assert [f.id for f in ended] == [first]
    assert t.closed_early == 1 and t.lingering == 2
    # a late segment of the ended flow starts a new flow (its tuple is remembered)
    late, _ = t.feed(seg(16, 0.3, A, 1001, B, 80, flags=ACK, seq=102, ack=902))
    assert late.id == 3


def test_released_flow_drops_its_state():
    t = FlowTable()
    fid = _close(t, 1, 0.0, 1001)
    t.feed(seg(6, 61.0, A, 2002, B, 80))  # capture time passes the linger
    done = t.pop_finished()
    assert [f.id for f in done] == [fid]
    done[0].release()
    assert done[0].conn is None and done[0].observers == ()


def test_interleaved_flows_sharing_a_cache_slot_stay_apart():
    from tcpforensics.flows import cache_slot

    t = FlowTable(idle_timeout=10.0)
    # ports chosen so that both flows fall in one slot of the flow cache
    p1 = 1111
    mask = t._cache_mask
    p2 = next(p for p in range(p1 + 1, 65536)
              if cache_slot(A, p, B, 80, mask) == cache_slot(A, p1, B, 80, mask))
    flows = [t.feed(seg(i, 0.1 * i, *((A, p1, B, 80) if i % 2 else (B, 80, A, p2))))[0]
             for i in range(1, 9)]
    assert [f.id for f in flows] == [0, 1] * 4
    # an ended flow leaves the cache (it would keep the flow's state alive)
    t.feed(seg(9, 20.0, A, 3333, B, 80))
    assert sorted(f.id for f in t.pop_finished()) == [0, 1]
    assert all(f is None or not f.done for f in t._cache)
    again, _ = t.feed(seg(10, 20.1, A, p1, B, 80))
    assert again.id == 3 and not again.done


def _short_connection(t: FlowTable, port: int, ts: float, frame: int) -> None:
    """SYN, SYN-ACK, ACK, FIN, FIN, ACK on one port: a closed flow that then lingers."""
    t.feed(seg(frame, ts, A, port, B, 80, flags=SYN, seq=1, ack=0))
    t.feed(seg(frame + 1, ts, B, 80, A, port, flags=SYN | ACK, seq=7, ack=2))
    t.feed(seg(frame + 2, ts, A, port, B, 80, flags=FIN | ACK, seq=2, ack=8))
    t.feed(seg(frame + 3, ts, B, 80, A, port, flags=FIN | ACK, seq=8, ack=3))
    t.feed(seg(frame + 4, ts, A, port, B, 80, flags=ACK, seq=3, ack=9))


def test_ended_flows_do_not_pile_up_in_the_expiry_heap():
    """Short connections end long before their idle deadline: their heap entries are
    swept now and then, so the heap holds about the live flows, not every flow of the
    last idle_timeout of capture time; and the same flows end at the same times."""
    sweep_at = 4096  # flows.STALE_SWEEP (a C constant in the compiled build)

    def run(sweep: bool) -> tuple[list[tuple[int, float]], int]:
        t = FlowTable(idle_timeout=300.0, closed_linger=0.5, max_lingering=100_000)
        if not sweep:
            t._stale = -(10**12)  # never reaches the sweep threshold
        ended, largest = [], 0
        for i in range(3 * sweep_at):
            _short_connection(t, 1024 + i % 60000, i * 0.001, 5 * i + 1)
            ended += [(f.id, i) for f in t.pop_finished()]
            largest = max(largest, len(t._heap))
        ended += [(f.id, -1) for f in t.flush()]
        return ended, largest

    swept, largest = run(True)
    kept, largest_unswept = run(False)
    assert swept == kept  # sweeping changes nothing that comes out
    assert largest_unswept >= 3 * sweep_at  # every ended flow's entry stayed
    assert largest < 2 * sweep_at + 1000


def test_flow_cache_grows_with_the_live_flows_and_still_finds_each():
    t = FlowTable(idle_timeout=1000.0)
    n = 3 * (t._cache_mask + 1)  # past a quarter of the first cache's slots, twice over
    first = [t.feed(seg(i, 0.001 * i, A, 1024 + i, B, 80))[0] for i in range(n)]
    slots = t._cache_mask + 1
    assert slots >= 4 * n and slots & (slots - 1) == 0
    assert len(t._cache) == slots
    # the other direction of every flow, interleaved: each finds its own flow
    again = [t.feed(seg(n + i, 10 + 0.001 * i, B, 80, A, 1024 + i))[0] for i in range(n)]
    assert [f.id for f in again] == [f.id for f in first] == list(range(n))
    assert t.created == n
    # most second packets found their flow in the cache, not through the tuple
    hits = sum(t._cache[i] is not None for i in range(slots))
    assert hits > 0.8 * n
