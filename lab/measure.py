"""Measure what a capture shows about the link: handshake RTT, bottleneck rate, loss.

Used to check that a run matches its scenario (lab verify, tests/test_lab.py).
Deliberately independent of the tcpforensics package: dpkt for the file format,
struct for the headers.
"""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, field
from pathlib import Path

import dpkt


@dataclass
class Frame:
    ts: float
    wirelen: int
    src: str
    dst: str
    flags: int
    seq: int
    payload: int


@dataclass
class CaptureSummary:
    frames: list[Frame] = field(default_factory=list)
    records: int = 0

    def data_frames(self, src: str | None = None) -> list[Frame]:
        return [f for f in self.frames if f.payload > 0 and (src is None or f.src == src)]


def _open(path: Path):
    with open(path, "rb") as f:
        magic = f.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def read_capture(path: str | Path) -> CaptureSummary:
    """Ethernet/IPv4/TCP frames of a pcap (optionally gzip'd), headers only."""
    out = CaptureSummary()
    with _open(Path(path)) as fh:
        rd = dpkt.pcap.Reader(fh)
        for ts, buf in rd:
            out.records += 1
            if len(buf) < 54 or buf[12:14] != b"\x08\x00" or buf[23] != 6:
                continue
            ihl = (buf[14] & 0x0F) * 4
            total = struct.unpack_from("!H", buf, 16)[0]
            t = 14 + ihl
            sport, dport, seq = struct.unpack_from("!HHI", buf, t)
            thl = (buf[t + 12] >> 4) * 4
            flags = buf[t + 13]
            src = f"{buf[26]}.{buf[27]}.{buf[28]}.{buf[29]}:{sport}"
            dst = f"{buf[30]}.{buf[31]}.{buf[32]}.{buf[33]}:{dport}"
            out.frames.append(Frame(float(ts), total + 14, src, dst, flags, seq,
                                    total - ihl - thl))
    return out


def handshake_rtt(cap: CaptureSummary) -> float | None:
    """First handshake's RTT as seen at this vantage.

    Client side: SYN -> SYN/ACK.  Server side: SYN/ACK -> the client's first ACK.
    The vantage is told apart by which packet comes first relative to the other.
    """
    syn = synack = None
    for f in cap.frames:
        if f.flags & 0x12 == 0x02 and syn is None:
            syn = f
        elif f.flags & 0x12 == 0x12 and syn is not None and f.src == syn.dst:
            synack = f
            break
    if syn is None or synack is None:
        return None
    # did the SYN/ACK come back long after the SYN (client side) or right away?
    for f in cap.frames:
        if f.ts > synack.ts and f.src == syn.src and f.flags & 0x10 and not f.flags & 0x02:
            ack = f
            break
    else:
        return synack.ts - syn.ts
    d1, d2 = synack.ts - syn.ts, ack.ts - synack.ts
    return d1 if d1 >= d2 else d2


def bottleneck_rate(cap: CaptureSummary, src: str | None = None) -> dict:
    """Rate of the link from the receiver side: packet-pair dispersion and throughput.

    Back-to-back frames leave the bottleneck L*8/rate apart, so the dense cluster of
    small gap-per-byte values gives the link rate even when the sender idles.
    """
    data = cap.data_frames(src)
    if len(data) < 20:
        return {"pair_mbit": None, "throughput_mbit": None, "busy_mbit": None}
    per_byte = sorted((b.ts - a.ts) / b.wirelen for a, b in zip(data, data[1:], strict=False)
                      if b.ts > a.ts)
    lo = per_byte[len(per_byte) // 10]
    cluster = [x for x in per_byte if x <= 2 * lo]
    med = cluster[len(cluster) // 2]
    span = data[-1].ts - data[0].ts
    total = sum(f.wirelen for f in data)
    # best one-second window: the link is busy for at least that long in bulk runs
    best, j, acc = 0, 0, 0
    for f in data:
        acc += f.wirelen
        while data[j].ts <= f.ts - 1.0:
            acc -= data[j].wirelen
            j += 1
        best = max(best, acc) if f.ts - data[0].ts >= 1.0 else best
    return {"pair_mbit": 8 / med / 1e6 if med > 0 else None,
            "throughput_mbit": total * 8 / span / 1e6 if span > 0 else None,
            "busy_mbit": best * 8 / 1e6 if best else None}


def data_loss(sender: CaptureSummary, receiver: CaptureSummary, src: str) -> dict:
    """Frames of `src` seen at the sender side that never reached the receiver side."""
    sent = [f for f in sender.frames if f.src == src and f.payload > 0]
    got = [f for f in receiver.frames if f.src == src and f.payload > 0]
    n = len(sent)
    return {"sent": n, "received": len(got),
            "loss_rate": (n - len(got)) / n if n else None}
