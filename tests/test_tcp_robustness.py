"""The core never raises on odd traffic: random flags, sequence jumps, garbage options."""

from __future__ import annotations

import random

from tcpforensics.flows import FlowTable
from tcpforensics.model import Segment


def _random_segments(rng: random.Random, n: int):
    hosts = [bytes([198, 18, 0, i]) for i in (1, 2, 3)] + [bytes(15) + b"\x01"]
    seqs = [rng.randrange(2**32) for _ in range(8)]
    ts = 1000.0
    for frame in range(1, n + 1):
        ts += rng.choice((0.0, 1e-6, 0.001, 0.3, -0.002, 5.0))  # includes time going back
        a, b = rng.sample(hosts[:3], 2) if rng.random() < 0.9 else (hosts[3], hosts[3])
        seq = (rng.choice(seqs) + rng.choice((0, 1, -1, 1448, 2**31, rng.randrange(2**32)))) \
            & 0xFFFFFFFF
        yield Segment(
            frame=frame, ts=ts, src=a, dst=b, sport=rng.choice((80, 40000, 40001)),
            dport=rng.choice((80, 40000)), seq=seq, ack=rng.choice((0, seq, rng.choice(seqs))),
            flags=rng.randrange(0x200), win=rng.choice((0, 1, 65535, rng.randrange(65536))),
            length=rng.choice((0, 0, 1, 536, 1448, 65000)),
            mss=rng.choice((None, 0, 1460)), wscale=rng.choice((None, 0, 7, 14, 200)),
            sack_perm=rng.random() < 0.3,
            sacks=tuple((rng.choice(seqs), rng.randrange(2**32))
                        for _ in range(rng.choice((0, 0, 1, 4)))),
            tsval=rng.choice((None, rng.randrange(2**32))), tsecr=rng.choice((None, 0, 5)),
            ip_id=rng.choice((None, 0, 7)))


def test_random_traffic_never_raises_and_stays_consistent():
    rng = random.Random(20261128)
    table = FlowTable(max_flows=50, idle_timeout=30.0, closed_linger=2.0)
    seen = 0
    for seg in _random_segments(rng, 8000):
        flow, verdict = table.feed(seg)
        assert verdict.direction in (0, 1)
        assert verdict.analysis >= 0
        seen += 1
        for done in table.pop_finished():
            done.conn.result()
    for done in table.flush():
        res = done.conn.result()
        assert res.state and res.handshake in ("complete", "partial", "none")
        assert sum(e.packets for e in res.endpoints) >= 1
    assert seen == 8000
