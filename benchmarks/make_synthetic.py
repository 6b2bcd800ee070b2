"""Write a large synthetic pcap of many interleaved bulk TCP flows, for speed and memory runs.

Each flow: handshake, a server->client bulk transfer (MSS 1448, timestamps), an ACK
every second segment, random losses repaired by fast retransmit after three duplicate
ACKs, then FIN/ACK close.  Only headers are stored (snaplen 80), so 10M packets take
about 1 GB.  Deterministic for a given --seed.

    python benchmarks/make_synthetic.py --packets 10000000 --out /tmp/synthetic-10m.pcap
    python benchmarks/make_synthetic.py --syn-flood 1000000 --out /tmp/synflood.pcap
"""

from __future__ import annotations

import argparse
import random
import struct
import sys

MSS = 1448
SNAPLEN = 80
_ETH = bytes.fromhex("020000000002" "020000000001" "0800")
_REC = struct.Struct("<IIII")
_IP = struct.Struct("!BBHHHBBH4s4s")
_TCP = struct.Struct("!HHIIBBHHH")
_TSOPT = struct.Struct("!BBBBII")  # NOP NOP TS(8,10) val ecr


class _Writer:
    def __init__(self, out) -> None:
        self.out = out
        self.count = 0
        out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, SNAPLEN, 1))

    def packet(self, ts: float, src: bytes, dst: bytes, sport: int, dport: int, seq: int,
               ack: int, flags: int, win: int, payload: int, opts: bytes = b"") -> None:
        tcp_len = 20 + len(opts)
        total = 20 + tcp_len + payload
        ip = _IP.pack(0x45, 0, total, self.count & 0xFFFF, 0x4000, 64, 6, 0, src, dst)
        tcp = _TCP.pack(sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                        (tcp_len // 4) << 4, flags, win, 0, 0) + opts
        frame = _ETH + ip + tcp
        wirelen = 14 + total
        frame = frame[:SNAPLEN]
        sec = int(ts)
        self.out.write(_REC.pack(sec, int((ts - sec) * 1e6), len(frame), wirelen))
        self.out.write(frame)
        self.count += 1


def _ts(val: int, ecr: int) -> bytes:
    return _TSOPT.pack(1, 1, 8, 10, val & 0xFFFFFFFF, ecr & 0xFFFFFFFF)


def _flow(w: _Writer, rng: random.Random, n: int, clock: list[float], segments: int,
          loss: float):
    """A generator: each next() writes one or a few packets of flow n."""
    client = bytes([198, 18, (n >> 8) & 0xFF, n & 0xFF])
    server = bytes([198, 19, 0, 1])
    cport, sport = 10000 + (n % 50000), 5001
    ciss, siss = rng.getrandbits(32), rng.getrandbits(32)
    # MSS, SACK-permitted, timestamps, NOP, window scale: 20 bytes, a multiple of 4.
    syn_opts = (struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02" + _ts(1, 0)[2:]
                + b"\x01\x03\x03\x07")
    t = lambda: int(clock[0] * 1000)  # noqa: E731 - timestamp clock in ms
    w.packet(clock[0], client, server, cport, sport, ciss, 0, 0x02, 64240, 0, syn_opts)
    yield
    w.packet(clock[0], server, client, sport, cport, siss, ciss + 1, 0x12, 65160, 0, syn_opts)
    yield
    w.packet(clock[0], client, server, cport, sport, ciss + 1, siss + 1, 0x10, 502, 0,
             _ts(t(), t()))
    yield
    seq = siss + 1
    acked = seq
    i = 0
    while i < segments:
        if rng.random() < loss and i + 4 < segments:
            lost = seq
            seq += MSS  # the lost segment never appears; three later ones trigger dup ACKs
            for _ in range(3):
                w.packet(clock[0], server, client, sport, cport, seq, ciss + 1, 0x10, 509, MSS,
                         _ts(t(), t()))
                seq += MSS
                yield
                w.packet(clock[0], client, server, cport, sport, ciss + 1, lost, 0x10, 502, 0,
                         _ts(t(), t()))
                yield
            w.packet(clock[0], server, client, sport, cport, lost, ciss + 1, 0x10, 509, MSS,
                     _ts(t(), t()))
            yield
            acked = seq
            w.packet(clock[0], client, server, cport, sport, ciss + 1, acked, 0x10, 502, 0,
                     _ts(t(), t()))
            i += 4
            yield
            continue
        w.packet(clock[0], server, client, sport, cport, seq, ciss + 1, 0x18, 509, MSS,
                 _ts(t(), t()))
        seq += MSS
        i += 1
        if i % 2 == 0:
            acked = seq
            yield
            w.packet(clock[0], client, server, cport, sport, ciss + 1, acked, 0x10, 502, 0,
                     _ts(t(), t()))
        yield
    w.packet(clock[0], server, client, sport, cport, seq, ciss + 1, 0x11, 509, 0, _ts(t(), t()))
    yield
    w.packet(clock[0], client, server, cport, sport, ciss + 1, seq + 1, 0x11, 502, 0,
             _ts(t(), t()))
    yield
    w.packet(clock[0], server, client, sport, cport, seq + 1, ciss + 2, 0x10, 509, 0,
             _ts(t(), t()))


def write_bulk(out, packets: int, concurrent: int, segments: int, loss: float, seed: int) -> int:
    rng = random.Random(seed)
    w = _Writer(out)
    clock = [1_700_000_000.0]
    active = []
    next_flow = 0
    while w.count < packets:
        while len(active) < concurrent:
            active.append(_flow(w, rng, next_flow, clock, segments, loss))
            next_flow += 1
        k = rng.randrange(len(active))
        try:
            next(active[k])
        except StopIteration:
            active[k] = active[-1]
            active.pop()
        clock[0] += 0.00002
    return w.count


def write_syn_flood(out, flows: int, seed: int) -> int:
    """One SYN each from `flows` distinct sources: the worst case for a flow table."""
    rng = random.Random(seed)
    w = _Writer(out)
    ts = 1_700_000_000.0
    for n in range(flows):
        src = bytes([198, 18 + ((n >> 16) & 1), (n >> 8) & 0xFF, n & 0xFF])
        w.packet(ts, src, bytes([198, 19, 255, 1]), 1024 + (n >> 17) + rng.randrange(60000), 80,
                 rng.getrandbits(32), 0, 0x02, 64240, 0, struct.pack("!BBH", 2, 4, 1460))
        ts += 0.000001
    return w.count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--concurrent", type=int, default=64, help="flows active at once")
    parser.add_argument("--segments", type=int, default=5000, help="data segments per flow")
    parser.add_argument("--loss", type=float, default=0.002)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--syn-flood", type=int, default=0, metavar="FLOWS")
    args = parser.parse_args(argv)
    with open(args.out, "wb") as out:
        if args.syn_flood:
            n = write_syn_flood(out, args.syn_flood, args.seed)
        else:
            n = write_bulk(out, args.packets, args.concurrent, args.segments, args.loss, args.seed)
    print(f"wrote {n:,} packets to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
