#!/usr/bin/env python3
"""A bounded mutation fuzzer for the whole pipeline, seeded from real captures.

Each case takes one or two real captures (sample_pcaps/, a few /work/shared/pcaps files),
mutates them at three levels and analyzes the result:

* headers: bit flips in link/IP/TCP headers, extreme IP and TCP field values (IHL, total
  length, fragment bits, data offset, flags, windows), garbage TCP option bytes, absurd
  SACK options, swapped directions, sequence spaces shifted across the 32-bit wrap;
* records: truncated, dropped, duplicated, reordered, repeated runs (time goes
  backwards), timestamps set to 0 / far future / backwards, records of two captures
  spliced (pcapng with two interfaces and hostile interface names and comments);
* file: truncated anywhere, random bytes overwritten (headers included), record caplen
  fields set to 0 / over the snaplen / over 256 MiB, garbage appended.

Checks (the issue 10 contract): analyze() either works or raises CaptureError (exit 2);
anything else is a finding, as are non-strict JSON (NaN), a hang (per-case alarm), and,
in CLI mode, an exit code other than 0/1/2, a traceback, or more than one error line.

    python tests/fuzz_pipeline.py --minutes 10 --out /tmp/fuzz-pipeline   # by hand
    python tests/fuzz_pipeline.py --cases 200 --seed 7 --cli-every 20

Failing inputs are saved to --out with a .txt describing the mutation and the error.
tests/test_hostile_pipeline.py imports this module for its bounded, seeded runs.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

HOSTILE = ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
           "\"'><svg/onload=alert(1)>", "{{7*7}}", "\x00\x1b[31m", "\u202e", "A" * 5000)

# Small real captures: fast to analyze, still full TCP conversations.
SAMPLE_SEEDS = (
    "sample_pcaps/nagle/nagle-rr.client.pcap.gz",
    "sample_pcaps/rst_abort/rst-abort.server.pcap.gz",
    "sample_pcaps/keepalive/keepalive-idle.client.pcap.gz",
    "sample_pcaps/refused/refused.client.pcap.gz",
    "sample_pcaps/blackhole/blackhole.client.pcap.gz",
    "sample_pcaps/nodelay/nodelay-rr.server.pcap.gz",
    "sample_pcaps/slow_reader/slow-reader.client.pcap.gz",
    "sample_pcaps/bulk/demo-lossy.client.pcap.gz",
)
SHARED_SEEDS = (
    "tcptrace/input/6syns.dmp",
    "PcapPlusPlus/Tests/Pcap++Test/PcapExamples/one_tcp_stream_max_seq.pcap",
    "PcapPlusPlus/Tests/Pcap++Test/PcapExamples/four_ipv6_http_streams.pcap",
    "tcpdump/tests/mptcp-v1.pcap",
    "tcpdump/tests/bigtcp-ipv6-hbh.pcap",
    "lwerdna-filesamples/200722_tcp_anon.pcapng",
)
MAX_SEED_RECORDS = 400  # keep cases fast: a mutant is at most this many records (x2)


def shared_dir() -> Path | None:
    """The shared captures: sibling of the repo (CI), else /work/shared."""
    for base in (REPO.parent / "shared", Path("/work/shared")):
        if (base / "pcaps").is_dir():
            return base / "pcaps"
    return None


# --- seeds -------------------------------------------------------------------------------
@dataclass
class Rec:
    ts_ns: int
    linktype: int
    wirelen: int
    data: bytearray
    caplen_field: int | None = None  # lie in the record header (caplen games)


@dataclass
class Seed:
    name: str
    records: list[Rec]


def load_seed(path: Path, limit: int = MAX_SEED_RECORDS) -> Seed:
    """Records of a real capture, read with the project's reader (seeds are valid files)."""
    from tcpforensics.io.reader import open_capture

    cap = open_capture(str(path))
    recs = []
    try:
        for raw in cap:
            recs.append(Rec(raw.ts_ns, raw.linktype, raw.wirelen, bytearray(raw.data)))
            if len(recs) >= limit:
                break
    finally:
        cap.close()
    return Seed(path.name, recs)


def default_seeds() -> list[Seed]:
    seeds = []
    for rel in SAMPLE_SEEDS:
        p = REPO / rel
        if p.exists():
            seeds.append(load_seed(p))
    shared = shared_dir()
    if shared is not None:
        for rel in SHARED_SEEDS:
            p = shared / rel
            if p.exists():
                try:
                    seeds.append(load_seed(p))
                except Exception:  # a shared file our reader cannot take is no seed
                    continue
    return [s for s in seeds if s.records]


# --- header locations --------------------------------------------------------------------
def l3_offset(linktype: int, data: bytes) -> int | None:
    """Offset of the IP header, for the link types the seeds use."""
    if linktype == 1:
        off, etype = 14, data[12:14]
        while etype in (b"\x81\x00", b"\x88\xa8") and len(data) >= off + 4:
            etype = data[off + 2:off + 4]
            off += 4
        return off if etype in (b"\x08\x00", b"\x86\xdd") else None
    if linktype == 113:
        return 16
    if linktype == 276:
        return 20
    if linktype in (101, 228, 229, 12, 14):
        return 0
    if linktype == 0 or linktype == 108:
        return 4
    return None


def tcp_offsets(rec: Rec) -> tuple[int, int, int] | None:
    """(ip offset, ip version, tcp offset) or None when the record is not plain TCP."""
    data = rec.data
    off = l3_offset(rec.linktype, data)
    if off is None or len(data) < off + 20:
        return None
    ver = data[off] >> 4
    if ver == 4:
        ihl = (data[off] & 0x0F) * 4
        if data[off + 9] != 6 or ihl < 20:
            return None
        tcp = off + ihl
    elif ver == 6:
        if len(data) < off + 40 or data[off + 6] != 6:
            return None
        tcp = off + 40
    else:
        return None
    if len(data) < tcp + 20:
        return None
    return off, ver, tcp


def _fix_lengths(rec: Rec, ip: int, ver: int, delta: int) -> None:
    """Keep IP length fields consistent after inserting `delta` bytes (some mutations
    want a plausible packet, not just a broken one)."""
    d = rec.data
    if ver == 4:
        total = struct.unpack_from("!H", d, ip + 2)[0] + delta
        struct.pack_into("!H", d, ip + 2, total & 0xFFFF)
    else:
        plen = struct.unpack_from("!H", d, ip + 4)[0] + delta
        struct.pack_into("!H", d, ip + 4, plen & 0xFFFF)
    rec.wirelen += delta


# --- record mutations ----------------------------------------------------------------------
def m_bitflip_headers(rng: random.Random, rec: Rec) -> str:
    t = tcp_offsets(rec)
    end = min(len(rec.data), (t[2] + 60) if t else 94)
    if end <= 0:
        return "bitflip(empty)"
    n = rng.randint(1, 8)
    for _ in range(n):
        i = rng.randrange(end)
        rec.data[i] ^= 1 << rng.randrange(8)
    return f"bitflip_headers x{n}"


def m_ip_field(rng: random.Random, rec: Rec) -> str:
    t = tcp_offsets(rec)
    if t is None:
        return "ip_field(n/a)"
    ip, ver, _tcp = t
    d = rec.data
    if ver == 4:
        which = rng.choice(("ihl", "total", "frag", "proto", "ttl", "version"))
        if which == "ihl":
            d[ip] = (d[ip] & 0xF0) | rng.choice((0, 1, 4, 5, 6, 15))
        elif which == "total":
            struct.pack_into("!H", d, ip + 2, rng.choice((0, 1, 19, 20, 39, 40, 0xFFFF,
                                                          rng.randrange(0x10000))))
        elif which == "frag":
            struct.pack_into("!H", d, ip + 6, rng.choice((0x2000, 0x0001, 0x3FFF, 0x4000,
                                                          0x8000)))
        elif which == "proto":
            d[ip + 9] = rng.choice((0, 17, 41, 47, 255))
        elif which == "ttl":
            d[ip + 8] = rng.choice((0, 1, 255))
        else:
            d[ip] = (rng.choice((0, 5, 6, 15)) << 4) | (d[ip] & 0x0F)
    else:
        which = rng.choice(("plen", "next", "version"))
        if which == "plen":
            struct.pack_into("!H", d, ip + 4, rng.choice((0, 1, 20, 0xFFFF,
                                                          rng.randrange(0x10000))))
        elif which == "next":
            d[ip + 6] = rng.choice((0, 43, 44, 60, 59, 17, 255))
        else:
            d[ip] = (rng.choice((4, 0, 15)) << 4) | (d[ip] & 0x0F)
    return f"ip_field {which}"


def m_tcp_field(rng: random.Random, rec: Rec) -> str:
    t = tcp_offsets(rec)
    if t is None:
        return "tcp_field(n/a)"
    tcp = t[2]
    d = rec.data
    which = rng.choice(("seq", "ack", "doff", "flags", "win", "urg", "ports"))
    if which in ("seq", "ack"):
        struct.pack_into("!I", d, tcp + (4 if which == "seq" else 8),
                         rng.choice((0, 1, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                                     rng.getrandbits(32))))
    elif which == "doff":
        d[tcp + 12] = (rng.choice((0, 1, 4, 5, 6, 15)) << 4) | (d[tcp + 12] & 0x0F)
    elif which == "flags":
        d[tcp + 13] = rng.choice((0, 0xFF, 0x03, 0x06, 0x05, 0x07, 0x29, rng.randrange(256)))
        d[tcp + 12] ^= rng.choice((0, 1))  # the NS/AE bit
    elif which == "win":
        struct.pack_into("!H", d, tcp + 14, rng.choice((0, 1, 0xFFFF)))
    elif which == "urg":
        struct.pack_into("!H", d, tcp + 18, rng.choice((0, 1, 0xFFFF)))
        d[tcp + 13] |= 0x20
    else:
        struct.pack_into("!HH", d, tcp, rng.choice((0, 1, 65535)), rng.choice((0, 80, 65535)))
    return f"tcp_field {which}"


def _random_options(rng: random.Random, n: int) -> bytes:
    kinds = (0, 1, 2, 3, 4, 5, 8, 19, 28, 29, 30, 34, 253, 254, 255)
    out = bytearray()
    while len(out) < n:
        k = rng.choice(kinds)
        if rng.random() < 0.3:
            out += bytes([k])
            continue
        ln = rng.choice((0, 1, 2, 3, 4, 10, 40, 255, rng.randrange(256)))
        body = bytes(rng.getrandbits(8) for _ in range(max(0, min(ln, 40) - 2)))
        out += bytes([k, ln]) + body
    return bytes(out[:n])


def m_garbage_options(rng: random.Random, rec: Rec) -> str:
    t = tcp_offsets(rec)
    if t is None:
        return "garbage_options(n/a)"
    ip, ver, tcp = t
    d = rec.data
    doff = (d[tcp + 12] >> 4) * 4
    if doff > 20 and len(d) >= tcp + doff and rng.random() < 0.5:
        d[tcp + 20:tcp + doff] = _random_options(rng, doff - 20)
        return "garbage_options overwrite"
    words = rng.randint(1, 10)
    if doff < 20:
        doff = 20
    room = min(words, 15 - doff // 4)
    if room <= 0:
        return "garbage_options(full)"
    d[tcp + doff:tcp + doff] = _random_options(rng, room * 4)
    d[tcp + 12] = (((doff // 4) + room) << 4) | (d[tcp + 12] & 0x0F)
    _fix_lengths(rec, ip, ver, room * 4)
    return f"garbage_options insert {room * 4}B"


def m_absurd_sack(rng: random.Random, rec: Rec) -> str:
    t = tcp_offsets(rec)
    if t is None:
        return "absurd_sack(n/a)"
    ip, ver, tcp = t
    d = rec.data
    doff = max(20, (d[tcp + 12] >> 4) * 4)
    nblocks = rng.choice((0, 1, 4, 5))
    length = rng.choice((2 + 8 * nblocks, 2 + 8 * nblocks, 255, 3, 1, 0))
    blocks = b"".join(struct.pack("!II", rng.getrandbits(32), rng.getrandbits(32))
                      for _ in range(nblocks))
    opt = bytes([1, 1, 5, length & 0xFF]) + blocks
    opt += b"\x00" * (-len(opt) % 4)
    room = 60 - doff
    if len(opt) > room:
        opt = opt[:room - room % 4]
    if not opt:
        return "absurd_sack(full)"
    d[tcp + doff:tcp + doff] = opt
    d[tcp + 12] = (((doff + len(opt)) // 4) << 4) | (d[tcp + 12] & 0x0F)
    _fix_lengths(rec, ip, ver, len(opt))
    return f"absurd_sack len={length} blocks={nblocks}"


def m_swap_direction(rng: random.Random, rec: Rec) -> str:
    t = tcp_offsets(rec)
    if t is None:
        return "swap_direction(n/a)"
    ip, ver, tcp = t
    d = rec.data
    a, n = (ip + 12, 4) if ver == 4 else (ip + 8, 16)
    src, dst = bytes(d[a:a + n]), bytes(d[a + n:a + 2 * n])
    d[a:a + n], d[a + n:a + 2 * n] = dst, src
    d[tcp:tcp + 2], d[tcp + 2:tcp + 4] = bytes(d[tcp + 2:tcp + 4]), bytes(d[tcp:tcp + 2])
    return "swap_direction"


def m_truncate_record(rng: random.Random, rec: Rec) -> str:
    n = rng.randrange(len(rec.data) + 1) if rec.data else 0
    del rec.data[n:]
    if rng.random() < 0.3:
        rec.wirelen = rng.choice((0, n, max(0, n - 1)))  # wirelen below caplen, or zero
    return f"truncate_record to {n}"


def m_timestamp(rng: random.Random, rec: Rec) -> str:
    how = rng.choice(("zero", "back", "far", "same_as_prev_ns"))
    if how == "zero":
        rec.ts_ns = 0
    elif how == "back":
        rec.ts_ns = max(0, rec.ts_ns - rng.choice((1, 10**6, 10**9, 3600 * 10**9)))
    elif how == "far":
        rec.ts_ns = rng.choice((0xFFFFFFFF * 10**9, 2**62, rec.ts_ns + 10**15))
    else:
        rec.ts_ns += 1
    return f"timestamp {how}"


def m_caplen_field(rng: random.Random, rec: Rec) -> str:
    rec.caplen_field = rng.choice((0, len(rec.data) + 1, 65536, 262145, 1 << 28, 0xFFFFFFFF,
                                   max(0, len(rec.data) - 1)))
    return f"caplen_field {rec.caplen_field}"


RECORD_MUTATIONS: tuple[Callable[[random.Random, Rec], str], ...] = (
    m_bitflip_headers, m_ip_field, m_tcp_field, m_garbage_options, m_absurd_sack,
    m_swap_direction, m_truncate_record, m_timestamp, m_caplen_field,
)


# --- list mutations ------------------------------------------------------------------------
def _copy(rec: Rec) -> Rec:
    return Rec(rec.ts_ns, rec.linktype, rec.wirelen, bytearray(rec.data), rec.caplen_field)


def l_drop(rng: random.Random, recs: list[Rec]) -> str:
    n = rng.randint(1, max(1, len(recs) // 10))
    for _ in range(n):
        if recs:
            del recs[rng.randrange(len(recs))]
    return f"drop x{n}"


def l_duplicate(rng: random.Random, recs: list[Rec]) -> str:
    n = rng.randint(1, 20)
    for _ in range(n):
        i = rng.randrange(len(recs))
        recs.insert(i, _copy(recs[i]))
    return f"duplicate x{n}"


def l_reorder(rng: random.Random, recs: list[Rec]) -> str:
    i = rng.randrange(len(recs))
    window = recs[i:i + rng.randint(2, 30)]
    rng.shuffle(window)
    recs[i:i + len(window)] = window
    return f"reorder at {i} x{len(window)}"


def l_repeat_run(rng: random.Random, recs: list[Rec]) -> str:
    i = rng.randrange(len(recs))
    run = [_copy(r) for r in recs[i:i + rng.randint(1, 50)]]
    recs.extend(run)  # older timestamps after newer ones: time goes backwards
    return f"repeat_run {len(run)}"


def l_seq_wrap(rng: random.Random, recs: list[Rec]) -> str:
    """Shift one direction's sequence space (and the peer's ACKs) so it wraps mid-run."""
    first = next((t for t in map(tcp_offsets, recs) if t), None)
    if first is None:
        return "seq_wrap(n/a)"
    base = next(r for r in recs if tcp_offsets(r))
    ip, ver, tcp = first
    n = 4 if ver == 4 else 16
    a = ip + (12 if ver == 4 else 8)
    host = bytes(base.data[a:a + n])
    seq0 = struct.unpack_from("!I", base.data, tcp + 4)[0]
    delta = (0xFFFFFFFF - rng.randint(0, 20000) - seq0) & 0xFFFFFFFF
    for r in recs:
        t = tcp_offsets(r)
        if t is None:
            continue
        rip, rver, rtcp = t
        rn = 4 if rver == 4 else 16
        ra = rip + (12 if rver == 4 else 8)
        d = r.data
        if bytes(d[ra:ra + rn]) == host:
            s = struct.unpack_from("!I", d, rtcp + 4)[0]
            struct.pack_into("!I", d, rtcp + 4, (s + delta) & 0xFFFFFFFF)
        elif bytes(d[ra + rn:ra + 2 * rn]) == host and d[rtcp + 13] & 0x10:
            k = struct.unpack_from("!I", d, rtcp + 8)[0]
            struct.pack_into("!I", d, rtcp + 8, (k + delta) & 0xFFFFFFFF)
    return "seq_wrap"


LIST_MUTATIONS = (l_drop, l_duplicate, l_reorder, l_repeat_run, l_seq_wrap)


# --- writers ---------------------------------------------------------------------------------
def write_pcap(recs: list[Rec], rng: random.Random) -> bytes:
    nsec = rng.random() < 0.3
    big = rng.random() < 0.2
    e = ">" if big else "<"
    linktype = recs[0].linktype if recs else 1
    snaplen = rng.choice((65535, 262144, 96, 0))
    out = io.BytesIO()
    out.write(struct.pack(e + "IHHiIII", 0xA1B23C4D if nsec else 0xA1B2C3D4, 2, 4, 0, 0,
                          snaplen, linktype))
    for r in recs:
        sec, frac = divmod(r.ts_ns, 10**9)
        frac = frac if nsec else frac // 1000
        cap = len(r.data) if r.caplen_field is None else r.caplen_field
        out.write(struct.pack(e + "IIII", sec & 0xFFFFFFFF, frac, cap & 0xFFFFFFFF,
                              r.wirelen & 0xFFFFFFFF))
        out.write(r.data)
    return out.getvalue()


def _opt(code: int, value: bytes) -> bytes:
    return struct.pack("<HH", code, len(value)) + value + b"\x00" * (-len(value) % 4)


def _block(btype: int, body: bytes) -> bytes:
    n = 12 + len(body)
    return struct.pack("<II", btype, n) + body + struct.pack("<I", n)


def write_pcapng(recs: list[Rec], rng: random.Random, hostile: bool = True) -> bytes:
    """pcapng with one interface per link type; names, descriptions and comments hostile."""
    def text(i: int) -> bytes:
        return (HOSTILE[i % len(HOSTILE)] if hostile else f"eth{i}").encode("utf-8")

    out = io.BytesIO()
    shb_opts = _opt(1, text(0)) + _opt(2, text(1)) + _opt(3, text(2)) + _opt(0, b"")
    out.write(_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1) + shb_opts))
    ifaces: dict[int, int] = {}
    for r in recs:
        if r.linktype not in ifaces:
            i = len(ifaces)
            ifaces[r.linktype] = i
            opts = _opt(2, text(i + 1)) + _opt(3, text(i)) + _opt(1, text(i + 3))
            opts += _opt(9, bytes([9])) + _opt(0, b"")  # if_tsresol: ns
            out.write(_block(1, struct.pack("<HHI", r.linktype, 0, 0) + opts))
    for n, r in enumerate(recs):
        cap = len(r.data) if r.caplen_field is None else r.caplen_field
        body = struct.pack("<IIIII", ifaces[r.linktype], (r.ts_ns >> 32) & 0xFFFFFFFF,
                           r.ts_ns & 0xFFFFFFFF, cap & 0xFFFFFFFF, r.wirelen & 0xFFFFFFFF)
        body += bytes(r.data) + b"\x00" * (-len(r.data) % 4)
        if hostile and n % 7 == 0:
            body += _opt(1, text(n)) + _opt(0, b"")
        out.write(_block(6, body))
    return out.getvalue()


# --- file mutations ---------------------------------------------------------------------------
def f_truncate(rng: random.Random, blob: bytearray) -> str:
    n = rng.randrange(len(blob) + 1)
    del blob[n:]
    return f"file_truncate at {n}"


def f_overwrite(rng: random.Random, blob: bytearray) -> str:
    k = rng.randint(1, 16)
    for _ in range(k):
        if not blob:
            break
        # headers are where the damage hurts: bias towards the start
        i = rng.randrange(min(len(blob), 256)) if rng.random() < 0.3 else rng.randrange(
            len(blob))
        blob[i] = rng.getrandbits(8)
    return f"file_overwrite x{k}"


def f_garbage_tail(rng: random.Random, blob: bytearray) -> str:
    n = rng.choice((1, 7, 16, 100, 5000))
    blob += bytes(rng.getrandbits(8) for _ in range(n))
    return f"file_garbage_tail {n}"


def f_zero_block(rng: random.Random, blob: bytearray) -> str:
    if not blob:
        return "file_zero(empty)"
    i = rng.randrange(len(blob))
    n = rng.choice((4, 64, 4096, 10000))
    blob[i:i + n] = b"\x00" * len(blob[i:i + n])
    return f"file_zero {n} at {i}"


FILE_MUTATIONS = (f_truncate, f_overwrite, f_garbage_tail, f_zero_block)


# --- one case ---------------------------------------------------------------------------------
@dataclass
class Case:
    blob: bytes
    steps: list[str] = field(default_factory=list)
    suffix: str = ".pcap"


def make_case(rng: random.Random, seeds: list[Seed]) -> Case:
    seed = rng.choice(seeds)
    recs = [_copy(r) for r in seed.records]
    steps = [f"seed {seed.name}"]
    if rng.random() < 0.15 and len(seeds) > 1:
        other = rng.choice(seeds)
        extra = [_copy(r) for r in other.records[:100]]
        at = rng.randrange(len(recs) + 1)
        recs[at:at] = extra
        steps.append(f"splice {other.name} at {at}")
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        if recs:
            fn = rng.choice(LIST_MUTATIONS)
            steps.append(fn(rng, recs))
    for _ in range(rng.choice((0, 1, 3, 10, 30))):
        if recs:
            r = rng.choice(recs)
            steps.append(rng.choice(RECORD_MUTATIONS)(rng, r))
    pcapng = rng.random() < 0.35 or len({r.linktype for r in recs}) > 1
    blob = bytearray(write_pcapng(recs, rng) if pcapng else write_pcap(recs, rng))
    steps.append("as pcapng" if pcapng else "as pcap")
    if rng.random() < 0.3:
        steps.append(rng.choice(FILE_MUTATIONS)(rng, blob))
    return Case(bytes(blob), steps, ".pcapng" if pcapng else ".pcap")


# --- checks -------------------------------------------------------------------------------------
class Hang(Exception):
    pass


def _alarm(_signum, _frame):
    raise Hang("timed out")


def check_inprocess(path: str, *, timeout: int = 30, report: bool = False) -> str | None:
    """Analyze one file in this process; None when fine, else what went wrong."""
    from tcpforensics.analysis import analyze
    from tcpforensics.errors import TcpForensicsError

    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(timeout)
    try:
        try:
            analysis = analyze(path)
        except TcpForensicsError:
            return None  # unreadable input: exit 2 with one line, allowed
        json.dumps(analysis.to_dict(), allow_nan=False, default=str)
        if report:
            from tcpforensics.report import render_report

            html = render_report(analysis, source=path)
            for bad in ("<script>alert(1)", "<img src=x onerror", "<svg/onload"):
                if bad in html:
                    return f"unescaped capture text in report: {bad}"
        return None
    except Hang:
        return f"hang: more than {timeout}s"
    except Exception as exc:
        return "".join(traceback.format_exception(exc))[-4000:]
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def run_cli(args: list[str], *, timeout: float = 120) -> tuple[int | None, str]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    env.pop("TCPFORENSICS_DEBUG", None)
    try:
        proc = subprocess.run([sys.executable, "-m", "tcpforensics", *args], cwd=REPO, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    return proc.returncode, proc.stderr


def cli_problem(rc: int | None, stderr: str) -> str | None:
    """The CLI contract for damaged input: exit 0/1/2, no traceback, <= 1 error line."""
    if rc is None:
        return "hang (CLI timeout)"
    if rc not in (0, 1, 2):
        return f"exit {rc}: {stderr[-2000:]}"
    if "Traceback" in stderr:
        return f"traceback on stderr: {stderr[-2000:]}"
    lines = stderr.splitlines()
    errors = [ln for ln in lines if ln.startswith(("tcpforensics: error",
                                                   "tcpforensics: internal error"))]
    stray = [ln for ln in lines if ln.strip() and not ln.startswith(
        ("tcpforensics: ", "report written to "))]
    if stray:  # e.g. a Python warning or a library printing: not one clear line
        return f"stray stderr output: {stray[:3]}"
    if len(errors) > 1:
        return f"{len(errors)} error lines: {stderr[-2000:]}"
    if rc == 2 and not errors:
        return f"exit 2 without an error line: {stderr[-500:]}"
    return None


def check_cli(path: str, workdir: str) -> str | None:
    for cmd in (["analyze", path, "-o", os.devnull],
                ["report", path, "-o", os.path.join(workdir, "r.html"), "-q"]):
        rc, err = run_cli(cmd)
        problem = cli_problem(rc, err)
        if problem:
            return f"{cmd[0]}: {problem}"
    return None


# --- driver --------------------------------------------------------------------------------------
@dataclass
class Stats:
    cases: int = 0
    exit2: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (saved path, problem)


def fuzz(*, seed: int, cases: int | None, seconds: float | None, out: Path | None,
         cli_every: int = 0, report_every: int = 0, seeds: list[Seed] | None = None,
         log: Callable[[str], None] | None = None) -> Stats:
    """Run mutants until `cases` or `seconds` is reached (whichever first)."""
    seeds = seeds if seeds is not None else default_seeds()
    if not seeds:
        raise SystemExit("no seed captures found")
    rng = random.Random(seed)
    stats = Stats()
    start = time.monotonic()
    seen: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="fuzz-pipeline-") as tmp:
        while True:
            if cases is not None and stats.cases >= cases:
                break
            if seconds is not None and time.monotonic() - start >= seconds:
                break
            case = make_case(rng, seeds)
            stats.cases += 1
            path = os.path.join(tmp, "case" + case.suffix)
            Path(path).write_bytes(case.blob)
            use_report = bool(report_every) and stats.cases % report_every == 0
            problem = check_inprocess(path, report=use_report)
            if problem is None and cli_every and stats.cases % cli_every == 0:
                problem = check_cli(path, tmp)
            if problem is None:
                continue
            key = problem.strip().splitlines()[-1][:200]
            saved = ""
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)
                name = f"crash-{seed}-{stats.cases}{case.suffix}"
                (out / name).write_bytes(case.blob)
                (out / (name + ".txt")).write_text(
                    "\n".join(case.steps) + "\n\n" + problem + "\n", encoding="utf-8")
                saved = str(out / name)
            stats.failures.append((saved, problem))
            if log and key not in seen:
                log(f"[{stats.cases}] NEW: {key}\n    steps: {'; '.join(case.steps)}\n"
                    f"    saved: {saved}")
            seen.add(key)
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minutes", type=float, default=None, help="run this long")
    ap.add_argument("--cases", type=int, default=None, help="or this many cases")
    ap.add_argument("--seed", type=int, default=int(time.time()) & 0xFFFF)
    ap.add_argument("--out", type=Path, default=Path("fuzz-pipeline-findings"))
    ap.add_argument("--cli-every", type=int, default=25,
                    help="also run the CLI (analyze + report) on every Nth case (0: never)")
    ap.add_argument("--report-every", type=int, default=10,
                    help="render the HTML report in-process on every Nth case (0: never)")
    args = ap.parse_args(argv)
    if args.minutes is None and args.cases is None:
        args.minutes = 1.0
    t0 = time.monotonic()
    stats = fuzz(seed=args.seed, cases=args.cases,
                 seconds=args.minutes * 60 if args.minutes else None, out=args.out,
                 cli_every=args.cli_every, report_every=args.report_every,
                 log=lambda m: print(m, flush=True))
    dt = time.monotonic() - t0
    print(f"seed {args.seed}: {stats.cases} cases in {dt:.0f}s "
          f"({stats.cases / max(dt, 1e-9):.1f}/s), {len(stats.failures)} failing")
    return 1 if stats.failures else 0


if __name__ == "__main__":
    sys.exit(main())
