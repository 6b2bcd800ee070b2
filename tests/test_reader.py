"""The streaming reader on real captures and on files built from the format specs."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import shutil
import struct
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from make_broken_captures import (
    corpus,
    ether,
    ipv4,
    ipv6,
    ng_block,
    ng_epb,
    ng_idb,
    ng_opb,
    ng_shb,
    ng_spb,
    pcap_header,
    pcap_record,
    tcp_frame,
    tcp_header,
)

from tcpforensics.errors import CaptureError
from tcpforensics.io import decode, open_capture
from tcpforensics.model import Segment

REPO = Path(__file__).resolve().parents[1]


def _shared_dir() -> Path:
    sibling = Path(__file__).resolve().parents[2] / "shared"
    return sibling if sibling.is_dir() else Path("/work/shared")


PCAPS = _shared_dir() / "pcaps"
TSHARK = shutil.which("tshark")
EDITCAP = shutil.which("editcap")
TCPDUMP = shutil.which("tcpdump")

USEC_PCAP = PCAPS / "tcptrace/input/zwnd.dmp"
NSEC_PCAP = PCAPS / "tcpdump/tests/tcp-handshake-nano.pcap"
MANY_IFACES = PCAPS / "PcapPlusPlus/Tests/Pcap++Test/PcapExamples/many_interfaces-1.pcapng"
PER_PACKET_RES = PCAPS / "PcapPlusPlus/Tests/Pcap++Test/PcapExamples/pcapng-example.pcapng"
NSEC_PCAPNG = PCAPS / "ipfixprobe/tests/functional/inputs/mqtt.pcap"
SNOOP = PCAPS / "tcptrace/input/all.snoop"
ERF = PCAPS / "tcptrace/input/eth.erf"
NETMETRIX = PCAPS / "tcptrace/input/finger.netm"
NLANR = PCAPS / "tcptrace/input/nlanr.tsh"

needs_shared = pytest.mark.skipif(not PCAPS.is_dir(), reason="shared captures not available")
needs_tshark = pytest.mark.skipif(not TSHARK, reason="tshark not installed")


def _records(source, **kw) -> list[tuple]:
    with open_capture(source, **kw) as cap:
        return [(r.frame, r.ts_ns, r.linktype, r.caplen, r.wirelen, r.data, r.iface)
                for r in cap]


def _split_pcap(data: bytes) -> tuple[bytes, list[tuple[int, int, int, int, bytes]]]:
    """A deliberately simple, independent little-endian pcap parser for the tests."""
    header, pos, out = data[:24], 24, []
    while pos + 16 <= len(data):
        sec, usec, caplen, wirelen = struct.unpack_from("<IIII", data, pos)
        out.append((sec, usec, caplen, wirelen, data[pos + 16:pos + 16 + caplen]))
        pos += 16 + caplen
    return header, out


def _tshark_frames(path: Path) -> list[tuple[int, int, int, int]]:
    out = subprocess.run(
        [TSHARK, "-n", "-r", str(path), "-T", "fields", "-e", "frame.time_epoch",
         "-e", "frame.cap_len", "-e", "frame.len", "-e", "frame.interface_id"],
        capture_output=True, text=True, check=True, timeout=120).stdout
    rows = []
    for line in out.splitlines():
        epoch, cap, wire, iface = line.split("\t")
        rows.append((int(Decimal(epoch) * 1_000_000_000), int(cap), int(wire),
                     int(iface or 0)))
    return rows


# --- real files against tshark ----------------------------------------------------------
@needs_shared
@needs_tshark
@pytest.mark.parametrize("path", [USEC_PCAP, NSEC_PCAP, MANY_IFACES, PER_PACKET_RES,
                                  NSEC_PCAPNG, SNOOP], ids=lambda p: p.name)
def test_timestamps_lengths_interfaces_match_tshark(path: Path) -> None:
    ours = [(ts, cap, wire, iface) for _, ts, _, cap, wire, _, iface in _records(path)]
    assert ours == _tshark_frames(path)


@needs_shared
def test_many_interfaces_pcapng() -> None:
    with open_capture(MANY_IFACES) as cap:
        # interfaces, link types and snaplen are known before the first record
        assert cap.format == "pcapng"
        assert len(cap.interfaces) == 11
        assert sorted(cap.linktypes) == [0, 1, 12]
        assert cap.snaplen == cap.interfaces[0]["snaplen"]
        raws = list(cap)
        assert cap.records == len(raws) == 64
    by_id = {i["id"]: i["linktype"] for i in cap.interfaces}
    assert {r.iface for r in raws} <= set(by_id)
    assert all(r.linktype == by_id[r.iface] for r in raws)
    assert {r.linktype for r in raws} == {0, 1}  # the raw-IP interfaces carry no packets
    assert [i["name"] for i in cap.interfaces[:2]] == ["en0", "awdl0"]


@needs_shared
def test_usec_pcap_agrees_with_dpkt() -> None:
    dpkt = pytest.importorskip("dpkt")
    with USEC_PCAP.open("rb") as fh:
        theirs = [(round(ts * 1_000_000), buf) for ts, buf in dpkt.pcap.Reader(fh)]
    ours = [(ts // 1000, data) for _, ts, _, _, _, data, _ in _records(USEC_PCAP)]
    assert ours == theirs


# --- byte orders and resolutions ----------------------------------------------------------
@needs_shared
def test_byte_orders_and_nanosecond_variants(tmp_path: Path) -> None:
    header, recs = _split_pcap(USEC_PCAP.read_bytes())
    snaplen, linktype = struct.unpack_from("<II", header, 16)
    expected = _records(USEC_PCAP)
    assert len(expected) == len(recs) > 100
    for order in "<>":
        for nsec in (False, True):
            out = [pcap_header(order, nsec, snaplen, linktype)]
            for sec, usec, caplen, wirelen, data in recs:
                ts = sec * 1_000_000_000 + usec * 1000
                out.append(pcap_record(ts, data, order, nsec, wirelen, caplen))
            path = tmp_path / f"v{'be' if order == '>' else 'le'}{nsec:d}.pcap"
            path.write_bytes(b"".join(out))
            with open_capture(path) as cap:
                got = [(r.frame, r.ts_ns, r.linktype, r.caplen, r.wirelen, r.data, r.iface)
                       for r in cap]
                assert cap.nanosecond is nsec
                assert cap.snaplen == snaplen and cap.linktypes == [linktype]
            assert got == expected, path.name


@needs_shared
@pytest.mark.skipif(not EDITCAP, reason="editcap not installed")
@pytest.mark.parametrize("fmt", ["pcapng", "nsecpcap", "modpcap"])
def test_editcap_conversions_read_the_same(tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"conv.{fmt}"
    subprocess.run([EDITCAP, "-F", fmt, str(USEC_PCAP), str(out)], check=True,
                   capture_output=True, timeout=60)
    ref = [(ts, cap, wire, data) for _, ts, _, cap, wire, data, _ in _records(USEC_PCAP)]
    got = [(ts, cap, wire, data) for _, ts, _, cap, wire, data, _ in _records(out)]
    assert got == ref


def test_big_endian_pcapng_with_resolutions_offsets_and_block_kinds(tmp_path: Path) -> None:
    o = ">"
    f1, f2, f3, f4 = (tcp_frame(seq=s) for s in (1, 2, 3, 4))
    raw_ip = f2[14:]
    data = (
        ng_shb(o, [(1, b"section comment"), (4, b"hand-built")])
        + ng_idb(1, 0, o, [(2, b"eth0"), (3, b"first"), (9, bytes([9]))])  # ns
        + ng_idb(101, 96, o, [(9, bytes([0x80 | 10]))])  # 2^-10 s units
        + ng_idb(1, 0, o, [(14, struct.pack(o + "q", 100)), (1, b"iface comment")])
        + ng_epb(0, 1_700_000_000_123_456_789, f1, o, options=[(1, b"packet comment")])
        + ng_epb(1, 1_700_000_000 * 1024 + 512, raw_ip, o, wirelen=len(raw_ip) + 50)
        + ng_opb(2, 5_000_000, f3, o)
        + ng_block(0x0BADCAFE & 0x7FFFFFFF, b"custom-ish", o)  # unknown: skipped
        + ng_spb(f4, o)
    )
    path = tmp_path / "be.pcapng"
    path.write_bytes(data)
    with open_capture(path) as cap:
        raws = list(cap)
        assert cap.format == "pcapng"
        assert [i["linktype"] for i in cap.interfaces] == [1, 101, 1]
        assert cap.interfaces[0]["name"] == "eth0"
        assert cap.interfaces[0]["description"] == "first"
        assert cap.interfaces[1]["tsresol"] == 0x8A
        assert cap.interfaces[2]["tsoffset"] == 100
        assert cap.comments == ["section comment", "iface comment", "packet comment"]
    assert [r.ts_ns for r in raws] == [
        1_700_000_000_123_456_789,  # nanosecond units
        1_700_000_000_500_000_000,  # 512/1024 s
        100_000_000_000 + 5_000_000_000,  # 5 s of microseconds plus the 100 s offset
        100_000_000_000 + 5_000_000_000,  # simple packet block: clock carried forward
    ]
    assert [r.iface for r in raws] == [0, 1, 2, 0]
    assert [r.linktype for r in raws] == [1, 101, 1, 1]
    assert raws[1].wirelen == len(raw_ip) + 50 and raws[1].caplen == len(raw_ip)
    assert [decode(r).seq for r in raws] == [1, 2, 3, 4]


def test_pcapng_times_across_interfaces_and_huge_offsets(tmp_path: Path) -> None:
    """The pcapng loop keeps the numbers of the interface read last and a record's time
    as a machine integer when it fits 64 bits; switching interfaces, a simple packet
    block (interface 0's link type, no time), and a time past 64 bits (a hostile
    offset) must give the same times, link types and backwards count as exact Python
    integers do, decoded (next_decoded) or not (iteration)."""
    huge = 1 << 62  # seconds: as nanoseconds, far past 64 bits
    frames = [tcp_frame(seq=s) for s in range(1, 12)]
    data = (
        ng_shb()
        + ng_idb(1, 0, "<", [(9, bytes([9]))])  # 0: nanoseconds
        + ng_idb(1, 0, "<", [(14, struct.pack("<q", huge))])  # 1: microseconds + huge
        + ng_idb(101, 0)  # 2: raw IP, microseconds
        + ng_epb(0, 2_000_000_000_000_000_000, frames[0])
        + ng_epb(1, 5, frames[1])  # past 64 bits
        + ng_epb(0, 1_000_000_000_000_000_000, frames[2])  # backwards, from a huge time
        + ng_epb(2, 7, frames[3][14:])  # another link type, a small time: backwards
        + ng_spb(frames[4])  # the clock carried forward, interface 0's link type
        + ng_epb(2, 8, frames[5][14:])  # interface 2 again, after the simple block
        + ng_epb(0, 3_000_000_000_000_000_000, frames[6])
        + ng_epb(1, 6, frames[7])  # past 64 bits again
        + ng_epb(0, 3_000_000_000_000_000_001, frames[8])  # backwards from it
        + ng_epb(7, 9, frames[9])  # no such interface: malformed, the clock kept
        + ng_epb(0, 3_000_000_000_000_000_002, frames[10])  # interface 0 once more
    )
    path = tmp_path / "times.pcapng"
    path.write_bytes(data)
    with open_capture(path) as cap:
        raws = list(cap)
        warnings = list(cap.warnings)
    big = huge * 1_000_000_000
    want = [2 * 10**18, big + 5_000, 10**18, 7_000, 7_000, 8_000, 3 * 10**18, big + 6_000,
            3 * 10**18 + 1, 3 * 10**18 + 1, 3 * 10**18 + 2]
    assert [r.ts_ns for r in raws] == want
    assert [r.linktype for r in raws] == [1, 1, 1, 101, 1, 101, 1, 1, 1, -1, 1]
    assert any("timestamps go backwards 3 times (first at record 3)" in w for w in warnings)
    with open_capture(path) as cap:
        decoded = []
        while (item := cap.next_decoded()) is not None:
            decoded.append(item)
        assert cap.warnings == warnings
    assert decoded[9] == "malformed"
    del decoded[9], want[9]
    assert all(isinstance(d, Segment) for d in decoded)
    assert [d.ts for d in decoded] == [t / 1e9 for t in want]
    assert [d.seq for d in decoded] == [*range(1, 10), 11]


@needs_shared
def test_multi_section_pcapng_resets_interfaces(tmp_path: Path) -> None:
    first, second = MANY_IFACES.read_bytes(), PER_PACKET_RES.read_bytes()
    path = tmp_path / "two-sections.pcapng"
    path.write_bytes(first + second)
    a, b, both = _records(MANY_IFACES), _records(PER_PACKET_RES), _records(path)
    assert len(both) == len(a) + len(b)
    # the second section's records keep their own interface numbering and link types
    strip = [r[1:] for r in both]
    assert strip == [r[1:] for r in a] + [r[1:] for r in b]
    with open_capture(path) as cap:
        list(cap)
        assert len(cap.interfaces) == 11 + 2


# --- compression ----------------------------------------------------------------------------
def _compressors() -> dict:
    comps = {"gzip": gzip.compress, "bz2": bz2.compress, "xz": lzma.compress}
    try:
        import zstandard
        comps["zstd"] = zstandard.ZstdCompressor().compress
    except ImportError:
        pass
    return comps


@needs_shared
@pytest.mark.parametrize("kind", sorted(_compressors()))
@pytest.mark.parametrize("src", [USEC_PCAP, MANY_IFACES], ids=lambda p: p.name)
def test_compressed_detected_by_content(tmp_path: Path, kind: str, src: Path) -> None:
    path = tmp_path / "capture.pcap"  # the name says nothing about compression
    path.write_bytes(_compressors()[kind](src.read_bytes()))
    with open_capture(path) as cap:
        got = [(r.ts_ns, r.caplen, r.data, r.iface) for r in cap]
        assert cap.compression == kind
        assert [w.split(": ", 1)[1] for w in cap.warnings] == _warnings(src)
    assert got == [(ts, c, d, i) for _, ts, _, c, _, d, i in _records(src)]


def _warnings(src: Path) -> list[str]:
    with open_capture(src) as cap:
        list(cap)
        return [w.split(": ", 1)[1] for w in cap.warnings]


# --- streams and pipes ----------------------------------------------------------------------
_COUNT_STDIN = (
    "import sys\n"
    "from tcpforensics.io import open_capture\n"
    "c = open_capture('-')\n"
    "n = sum(1 for _ in c)\n"
    "print(n, c.format, c.compression, c.path)\n")


def _feed_slowly(data: bytes) -> str:
    """Run a reader on stdin, writing the capture into the pipe in small pieces."""
    proc = subprocess.Popen([sys.executable, "-c", _COUNT_STDIN], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, cwd=REPO, text=False)
    assert proc.stdin is not None
    for i in range(0, len(data), 3001):  # odd sizes: records straddle pipe writes
        proc.stdin.write(data[i:i + 3001])
        proc.stdin.flush()
    proc.stdin.close()
    out = proc.stdout.read().decode()
    assert proc.wait(timeout=60) == 0
    return out.strip()


@needs_shared
@pytest.mark.parametrize("src,compress", [(USEC_PCAP, None), (MANY_IFACES, None),
                                          (USEC_PCAP, "gzip"), (MANY_IFACES, "xz")],
                         ids=["pcap", "pcapng", "pcap.gz", "pcapng.xz"])
def test_stdin_pipe(src: Path, compress: str | None) -> None:
    data = src.read_bytes()
    if compress:
        data = _compressors()[compress](data)
    n = len(_records(src))
    fmt = "pcapng" if src.suffix == ".pcapng" else "pcap"
    assert _feed_slowly(data) == f"{n} {fmt} {compress} -"


@needs_shared
@pytest.mark.skipif(not TCPDUMP, reason="tcpdump not installed")
def test_live_pipe_from_tcpdump() -> None:
    # tcpdump writing a pcap to stdout, as in `tcpdump -w - | tcpforensics analyze -`
    tcpdump = subprocess.Popen([TCPDUMP, "-r", str(USEC_PCAP), "-w", "-"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    reader = subprocess.run([sys.executable, "-c", _COUNT_STDIN], stdin=tcpdump.stdout,
                            capture_output=True, text=True, cwd=REPO, timeout=60)
    tcpdump.stdout.close()
    tcpdump.wait(timeout=60)
    assert reader.stdout.strip() == f"{len(_records(USEC_PCAP))} pcap None -"


@needs_shared
def test_file_objects_and_stdin_argument() -> None:
    data = USEC_PCAP.read_bytes()
    expected = _records(USEC_PCAP)
    assert _records(io.BytesIO(data)) == expected
    assert _records("-", stdin=io.BytesIO(data)) == expected


# --- rejected inputs ------------------------------------------------------------------------
@needs_shared
@pytest.mark.parametrize("path", [ERF, NETMETRIX, NLANR], ids=lambda p: p.name)
def test_other_formats_rejected_with_one_line(path: Path) -> None:
    with pytest.raises(CaptureError) as info:
        open_capture(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


@needs_shared
def test_snoop_is_read() -> None:
    with open_capture(SNOOP) as cap:
        raws = list(cap)
        assert cap.format == "snoop" and cap.linktypes == [1]
    assert len(raws) == 829 and all(isinstance(decode(r), Segment) for r in raws)


# --- streaming behaviour --------------------------------------------------------------------
def test_iterates_once_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "five.pcap"
    path.write_bytes(pcap_header() + b"".join(pcap_record(i * 1000, tcp_frame(seq=i))
                                              for i in range(5)))
    cap = open_capture(path)
    first = list(cap)
    assert [r.frame for r in first] == [1, 2, 3, 4, 5] and cap.records == 5
    assert list(cap) == []  # a stream: the records are gone
    cap.close()
    cap.close()
    assert all(isinstance(decode(r), Segment) for r in first)


def _decoded_both_ways(source) -> tuple[list, list]:
    """(decode(raw) for each record, Capture.decoded()), each with the capture's counts."""
    out = []
    for fused in (False, True):
        src = io.BytesIO(source) if isinstance(source, bytes) else source
        with open_capture(src) as cap:
            results = list(cap.decoded()) if fused else [decode(r) for r in cap]
            out.append([results, cap.records, cap.warnings, cap.linktypes, cap.snaplen])
    return out[0], out[1]


def test_decoded_equals_decode_of_each_record() -> None:
    # decoded() decodes the common frame straight from the read buffer in the compiled
    # build; every kind of frame on either side of that fast path decodes the same
    ts_opt = b"\x01\x01\x08\x0a" + struct.pack("!II", 7, 9)
    sack = b"\x01\x01\x05\x0a" + struct.pack("!II", 100, 200)
    frames = [
        tcp_frame(seq=1),  # no options
        tcp_frame(seq=2, payload=b"p" * 100, options=ts_opt),  # NOP NOP timestamp
        tcp_frame(seq=3, options=sack),  # other options: the general path
        tcp_frame(seq=4, options=ts_opt + b"\x01\x01\x01\x01"),
        ether(ipv4(tcp_header(seq=5), total=0)),  # TSO: total length 0
        ether(ipv4(tcp_header(seq=6) + b"z" * 50, total=30)),  # total below the headers
        ether(ipv4(tcp_header(seq=7, doff=3))),  # data offset below 5
        ether(ipv4(tcp_header(seq=8, doff=15))),  # data offset beyond the datagram
        ether(ipv4(tcp_header(seq=9), frag=0x2000)),  # a fragment
        ether(ipv4(tcp_header(seq=10), options=b"\x01" * 4)),  # IPv4 options
        ether(ipv4(tcp_header(seq=11), proto=17)),  # not TCP
        ether(ipv6(tcp_header(seq=12, options=ts_opt)), 0x86DD),
        ether(b"\x00" * 46, 0x0806),  # ARP
        tcp_frame(seq=13)[:40],  # cut inside the TCP header
        tcp_frame(seq=14, options=ts_opt)[:60],  # cut inside the options
    ]
    data = pcap_header(snaplen=128) + b"".join(
        pcap_record(1_700_000_000_000_000_000 + i * 1_000_003, f, wirelen=len(f) + 8 * (i % 2))
        for i, f in enumerate(frames)) + pcap_record(0, tcp_frame())[:30]  # truncated tail
    plain, fused = _decoded_both_ways(data)
    assert fused == plain
    assert sum(isinstance(r, Segment) for r in plain[0]) == 9 and plain[1] == len(frames)
    assert plain[2]  # the truncated tail is reported
    # the same frames in pcapng, where the compiled loop decodes the common frame itself:
    # enhanced, simple and obsolete packet blocks, both byte orders, a raw-IP interface
    for order in ("<", ">"):
        blocks = [ng_shb(order), ng_idb(1, 96, order), ng_idb(101, 0, order)]
        for i, f in enumerate(frames):
            ts = 1_700_000_000_000_000 + i * 1_003
            blocks.append(ng_epb(0, ts, f, order, wirelen=len(f) + 8 * (i % 2)))
            if i % 3 == 0:
                blocks.append(ng_spb(f, order))
            if i % 4 == 1:
                blocks.append(ng_opb(0, ts, f, order))
            if i % 5 == 2:
                blocks.append(ng_epb(1, ts, f[14:], order))  # raw IP: the general path
        plain, fused = _decoded_both_ways(b"".join(blocks))
        assert fused == plain
        assert sum(isinstance(r, Segment) for r in plain[0]) > 9
    for broken in corpus():  # damaged input, pcapng and snoop: the same as well
        if not broken.error:
            plain, fused = _decoded_both_ways(broken.data)
            assert fused == plain, broken.name


def test_constant_memory_on_a_long_capture(tmp_path: Path) -> None:
    # 300k records (~60 MB): peak RSS of a fresh reader process must stay small and not
    # scale with the file (the whole file would need over 60 MiB on its own)
    path = tmp_path / "long.pcap"
    frame = tcp_frame(payload=b"y" * 150)
    rec = pcap_record(1_000_000_000, frame)
    with path.open("wb") as fh:
        fh.write(pcap_header())
        block = rec * 10_000
        for _ in range(30):
            fh.write(block)
    script = (
        "import re, sys\n"
        "from tcpforensics.io import open_capture, decode\n"
        "c = open_capture(sys.argv[1])\n"
        "n = sum(1 for r in c if not isinstance(decode(r), str))\n"
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())\n"
        "print(n, int(hwm.group(1)) // 1024)\n")
    out = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True,
                         text=True, check=True, cwd=REPO, timeout=300).stdout.split()
    assert int(out[0]) == 300_000
    assert int(out[1]) < 60, f"peak RSS {out[1]} MiB"


def test_pcapng_sections_switch_byte_order() -> None:
    # Each section header may change the byte order and numbers its interfaces afresh:
    # the reader's cached byte order and interface must follow both, in either direction.
    # Interface 0 has a nanosecond clock in the first two sections and a microsecond one
    # in the last: an interface cache kept across the section (both the section header's
    # and the interface block's reset dropped) misreads those times.
    frames = [tcp_frame(seq=s) for s in range(1, 6)]
    nano = [(9, bytes([9]))]  # if_tsresol 9; without it, microseconds
    blocks, want = [], []
    for k, (order, clocks) in enumerate((("<", [nano]), (">", [nano, []]), ("<", [[]]))):
        blocks.append(ng_shb(order))
        blocks += [ng_idb(1, 0, order, options) for options in clocks]
        for i, f in enumerate(frames):
            iface = i % len(clocks)
            ns = 1_700_000_000_000_000_000 + k * 10**12 + i * 1_000
            blocks.append(ng_epb(iface, ns if clocks[iface] else ns // 1000, f, order))
            want.append(ns)
    data = b"".join(blocks)
    with open_capture(io.BytesIO(data)) as cap:
        got = [raw.ts_ns for raw in cap]
        assert not cap.warnings
    assert got == want
    plain, fused = _decoded_both_ways(data)
    assert fused == plain
    assert [s.seq for s in plain[0]] == [1, 2, 3, 4, 5] * 3
