"""Builders for hand-made captures, and the corpus of broken inputs (issue 10).

Run as a script to write the corpus to a directory:

    python tests/make_broken_captures.py OUTDIR

Each corpus entry is (file name, bytes, expectation).  The expectation says what the
reader must do: raise CaptureError ("error"), or read `records` records and leave a
warning containing `warning` (None: no warning required).  Everything here is built from
the format specifications with ``struct``; nothing is copied from our own output.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# --- packet builders ----------------------------------------------------------------------
MAC_A = bytes.fromhex("020000000001")
MAC_B = bytes.fromhex("020000000002")
IP_A = bytes([198, 18, 0, 1])
IP_B = bytes([198, 18, 0, 2])


def tcp_header(sport: int = 40000, dport: int = 5001, seq: int = 1000, ack: int = 0,
               flags: int = 0x10, win: int = 1024, options: bytes = b"", urg: int = 0,
               doff: int | None = None) -> bytes:
    """A TCP header; `options` is padded to a multiple of 4 with NOPs... at the end EOLs."""
    if len(options) % 4:
        options += b"\x00" * (4 - len(options) % 4)
    words = doff if doff is not None else 5 + len(options) // 4
    offbyte = (words << 4) | ((flags >> 8) & 1)
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, offbyte, flags & 0xFF, win,
                       0, urg) + options


def ipv4(payload: bytes, proto: int = 6, src: bytes = IP_A, dst: bytes = IP_B,
         ip_id: int = 1, ttl: int = 64, frag: int = 0x4000, options: bytes = b"",
         total: int | None = None) -> bytes:
    ihl = 5 + len(options) // 4
    tot = total if total is not None else ihl * 4 + len(payload)
    return struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, tot, ip_id, frag, ttl, proto, 0,
                       src, dst) + options + payload


def ipv6(payload: bytes, nxt: int = 6, src: bytes = b"\x20\x01" + b"\x00" * 13 + b"\x01",
         dst: bytes = b"\x20\x01" + b"\x00" * 13 + b"\x02", hlim: int = 64,
         plen: int | None = None) -> bytes:
    length = plen if plen is not None else len(payload)
    return struct.pack("!IHBB16s16s", 6 << 28, length, nxt, hlim, src, dst) + payload


def ether(payload: bytes, etype: int = 0x0800) -> bytes:
    return MAC_B + MAC_A + struct.pack("!H", etype) + payload


def tcp_frame(seq: int = 1000, payload: bytes = b"", flags: int = 0x18,
              options: bytes = b"") -> bytes:
    """Ethernet / IPv4 / TCP frame."""
    return ether(ipv4(tcp_header(seq=seq, flags=flags, options=options) + payload))


# --- pcap ---------------------------------------------------------------------------------
def pcap_header(order: str = "<", nsec: bool = False, snaplen: int = 65535,
                linktype: int = 1, version: tuple[int, int] = (2, 4)) -> bytes:
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    return struct.pack(order + "IHHiIII", magic, version[0], version[1], 0, 0, snaplen,
                       linktype)


def pcap_record(ts_ns: int, data: bytes, order: str = "<", nsec: bool = False,
                wirelen: int | None = None, caplen: int | None = None) -> bytes:
    sec, rest = divmod(ts_ns, 1_000_000_000)
    frac = rest if nsec else rest // 1000
    cap = len(data) if caplen is None else caplen
    wire = len(data) if wirelen is None else wirelen
    return struct.pack(order + "IIII", sec, frac, cap, wire) + data


def pcap_file(frames: list[tuple[int, bytes]], order: str = "<", nsec: bool = False,
              snaplen: int = 65535, linktype: int = 1) -> bytes:
    out = [pcap_header(order, nsec, snaplen, linktype)]
    out += [pcap_record(ts, data, order, nsec) for ts, data in frames]
    return b"".join(out)


# --- pcapng -------------------------------------------------------------------------------
def ng_options(options: list[tuple[int, bytes]], order: str = "<") -> bytes:
    if not options:
        return b""
    out = []
    for code, value in options:
        out.append(struct.pack(order + "HH", code, len(value)) + value
                   + b"\x00" * (-len(value) % 4))
    out.append(struct.pack(order + "HH", 0, 0))
    return b"".join(out)


def ng_block(btype: int, body: bytes, order: str = "<", length: int | None = None,
             trailer: int | None = None) -> bytes:
    body += b"\x00" * (-len(body) % 4)
    total = 12 + len(body)
    return (struct.pack(order + "II", btype, total if length is None else length) + body
            + struct.pack(order + "I", total if trailer is None else trailer))


def ng_shb(order: str = "<", options: list[tuple[int, bytes]] | None = None) -> bytes:
    body = struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1) + ng_options(options or [],
                                                                           order)
    return ng_block(0x0A0D0D0A, body, order)


def ng_idb(linktype: int = 1, snaplen: int = 0, order: str = "<",
           options: list[tuple[int, bytes]] | None = None) -> bytes:
    body = struct.pack(order + "HHI", linktype, 0, snaplen) + ng_options(options or [],
                                                                         order)
    return ng_block(1, body, order)


def ng_epb(iface: int, ts_units: int, data: bytes, order: str = "<",
           wirelen: int | None = None, options: list[tuple[int, bytes]] | None = None
           ) -> bytes:
    body = struct.pack(order + "IIIII", iface, ts_units >> 32, ts_units & 0xFFFFFFFF,
                       len(data), len(data) if wirelen is None else wirelen)
    body += data + b"\x00" * (-len(data) % 4) + ng_options(options or [], order)
    return ng_block(6, body, order)


def ng_spb(data: bytes, order: str = "<", wirelen: int | None = None) -> bytes:
    body = struct.pack(order + "I", len(data) if wirelen is None else wirelen) + data
    return ng_block(3, body, order)


def ng_opb(iface: int, ts_units: int, data: bytes, order: str = "<") -> bytes:
    body = struct.pack(order + "HHIIII", iface, 0, ts_units >> 32, ts_units & 0xFFFFFFFF,
                       len(data), len(data)) + data
    return ng_block(2, body, order)


# --- the broken corpus ----------------------------------------------------------------------
@dataclass(frozen=True)
class Broken:
    name: str
    data: bytes
    error: bool = False  # open_capture must raise CaptureError
    records: int | None = None  # records the reader must yield
    warning: str | None = None  # substring of one of the warnings


T0 = 1_700_000_000 * 1_000_000_000
TRUNCATED_RECORDS = 1500


def _frames(n: int) -> list[tuple[int, bytes]]:
    return [(T0 + i * 1_000_000, tcp_frame(seq=1000 + 100 * i, payload=b"x" * 100))
            for i in range(n)]


def _valid_pcap(n: int = 5) -> bytes:
    return pcap_file(_frames(n))


def _valid_pcapng(n: int = 5) -> bytes:
    return ng_shb() + ng_idb() + b"".join(ng_epb(0, ts // 1000, d) for ts, d in _frames(n))


def _zstd(data: bytes) -> bytes:
    import zstandard
    return zstandard.ZstdCompressor().compress(data)


def _bomb_stream(records: int, caplen: int = 65000) -> Iterator[bytes]:
    """A valid pcap whose records are large and all-zero: compresses enormously."""
    yield pcap_header(snaplen=262144)
    zeros = b"\x00" * caplen
    for i in range(records):
        yield pcap_record(T0 + i, zeros, caplen=caplen, wirelen=caplen)


BOMB_RECORDS = 5000  # 325 MB once decompressed, past the reader's 256 MiB threshold


def _gzip_bomb() -> bytes:
    # gzip tops out near 1000x, the ratio real zero-filled captures reach: it is read
    # to the end, in bounded memory
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [comp.compress(piece) for piece in _bomb_stream(1600)]
    return b"".join(out) + comp.flush()


def _multi_stream_bomb(compress) -> bytes:
    # one compressed stream for the file header, then the same stream of 1000 all-zero
    # records repeated: both formats decode concatenated streams as one
    header = compress(pcap_header(snaplen=262144))
    body = compress(b"".join(list(_bomb_stream(1000))[1:]))
    return header + body * (BOMB_RECORDS // 1000)


def _zstd_bomb() -> bytes:
    import zstandard
    return _multi_stream_bomb(zstandard.ZstdCompressor(level=3).compress)


def _bz2_bomb() -> bytes:
    return _multi_stream_bomb(bz2.compress)


def corpus() -> list[Broken]:
    good = _valid_pcap(5)
    good_ng = _valid_pcapng(5)
    rec = pcap_record(T0, tcp_frame(payload=b"x" * 100))
    hdr = pcap_header()
    big = _valid_pcap(TRUNCATED_RECORDS)
    items = [
        Broken("empty.pcap", b"", error=True),
        Broken("bad_magic.pcap", b"this is not a capture file at all\n" * 4, error=True),
        Broken("html.pcap", b"<html><body>404</body></html>", error=True),
        Broken("short_pcap_header.pcap", hdr[:10], error=True),
        Broken("header_only.pcap", hdr, records=0),
        Broken("truncated_mid_record.pcap", good + rec[:60], records=5,
               warning="truncated"),
        Broken("truncated_mid_record_header.pcap", good + rec[:7], records=5,
               warning="truncated record header"),
        Broken("zero_caplen.pcap",
               hdr + b"".join(pcap_record(T0 + i, b"", wirelen=60) for i in range(3)),
               records=3),
        Broken("caplen_over_snaplen.pcap",
               pcap_header(snaplen=64) + b"".join(pcap_record(ts, d) for ts, d in _frames(3)),
               records=3, warning="longer than the snaplen"),
        Broken("caplen_over_256mib.pcap",
               good + struct.pack("<IIII", 1, 0, 300 << 20, 300 << 20) + b"x" * 100,
               records=5, warning="claims"),
        Broken("caplen_absurd.pcap",
               good + struct.pack("<IIII", 1, 0, 0xFFFFFFF0, 60) + b"x" * 100,
               records=5, warning="claims"),
        Broken("caplen_over_wirelen.pcap",
               hdr + pcap_record(T0, tcp_frame(), wirelen=20), records=1,
               warning="more captured bytes than their original length"),
        Broken("timestamps_backwards.pcap",
               pcap_file([(T0 + 5_000_000, tcp_frame()), (T0, tcp_frame()),
                          (T0 + 9_000_000, tcp_frame())]),
               records=3, warning="backwards"),
        Broken("garbage_after.pcap", good + bytes(range(7, 250)) * 3, records=5,
               warning="stopped"),
        Broken("zero_filled_tail.pcap", good + b"\x00" * 100_000, records=5,
               warning="zero-filled"),
        Broken("random_garbage.bin", bytes((i * 37 + 11) % 256 for i in range(5000)),
               error=True),
        Broken("snoop_bad_version.snoop", b"snoop\x00\x00\x00" + b"\x00\x00\x00\x09" * 8,
               error=True),
        Broken("snoop_truncated.snoop", b"snoop\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x04"
               + struct.pack(">IIIIII", 60, 60, 84, 0, 1, 2) + tcp_frame()[:30], records=0,
               warning="truncated"),
        Broken("snoop_bad_record_length.snoop",
               b"snoop\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x04"
               + struct.pack(">IIIIII", 60, 60, 10, 0, 1, 2) + b"\x00" * 80, records=0,
               warning="bad record length"),
        # pcapng
        Broken("pcapng_unknown_block.pcapng",
               ng_shb() + ng_idb() + ng_block(0x1234, b"\x01" * 20)
               + b"".join(ng_epb(0, ts // 1000, d) for ts, d in _frames(3)),
               records=3, warning="unknown type"),
        Broken("pcapng_bad_block_length.pcapng",
               good_ng + struct.pack("<II", 6, 13) + b"\x00" * 40, records=5,
               warning="bad block length"),
        Broken("pcapng_short_block_length.pcapng",
               good_ng + struct.pack("<II", 6, 8) + b"\x00" * 40, records=5,
               warning="bad block length"),
        Broken("pcapng_huge_block_length.pcapng",
               good_ng + struct.pack("<II", 6, 0x7FFFFFF0) + b"\x00" * 40, records=5,
               warning="bad block length"),
        Broken("pcapng_trailer_mismatch.pcapng",
               ng_shb() + ng_idb() + ng_block(6, ng_epb(0, 1, tcp_frame())[8:-4],
                                               trailer=999),
               records=1, warning="trailing length"),
        Broken("pcapng_no_interface.pcapng",
               ng_shb() + b"".join(ng_epb(0, ts // 1000, d) for ts, d in _frames(3)),
               records=3, warning="never described"),
        Broken("pcapng_iface_out_of_range.pcapng",
               ng_shb() + ng_idb() + ng_epb(0, 1, tcp_frame()) + ng_epb(7, 2, tcp_frame()),
               records=2, warning="never described"),
        Broken("pcapng_truncated_block.pcapng", good_ng[:-30], records=4,
               warning="truncated"),
        Broken("pcapng_garbage_after.pcapng", good_ng + b"\xde\xad\xbe\xef" * 50,
               records=5, warning="stopped"),
        Broken("pcapng_bad_byte_order.pcapng",
               struct.pack("<II", 0x0A0D0D0A, 28) + b"\x11\x22\x33\x44" + b"\x00" * 16,
               error=True),
        Broken("pcapng_caplen_beyond_block.pcapng",
               ng_shb() + ng_idb() + ng_block(6, struct.pack("<IIIII", 0, 0, 1, 5000, 5000)
                                               + b"x" * 40) + ng_epb(0, 2, tcp_frame()),
               records=1, warning="inconsistent"),
        Broken("pcapng_only_shb.pcapng", ng_shb(), records=0),
        Broken("pcapng_interface_flood.pcapng",
               ng_shb() + ng_idb(1) * 70_000 + ng_epb(69_999, 1, tcp_frame()), records=1,
               warning="more than 65536 interfaces"),
        Broken("pcapng_empty_simple_packet.pcapng",
               ng_shb() + ng_idb() + struct.pack("<III", 3, 12, 12) + ng_spb(tcp_frame()),
               records=1, warning="inconsistent"),
        # compressed
        # (bz2 decodes whole blocks only: the input spans several 100 kB blocks so that
        # the blocks before the cut are usable)
        Broken("truncated.pcap.gz", gzip.compress(big)[:-200], records=None,
               warning="gzip stream ends early"),
        Broken("truncated.pcap.bz2", bz2.compress(big, 1)[:-200], records=None,
               warning="bz2 stream ends early"),
        Broken("truncated.pcap.xz", lzma.compress(big)[:-200], records=None,
               warning="xz stream ends early"),
        Broken("truncated.pcap.zst", _zstd(big)[:-200], records=None,
               warning="truncated"),
        Broken("truncated_whole_block.pcap.bz2", bz2.compress(_valid_pcap(40))[:-200],
               error=True),
        Broken("corrupt_inside.pcap.gz",
               (lambda z: z[:len(z) // 2] + b"\xff" * 64 + z[len(z) // 2 + 64:])(
                   gzip.compress(_valid_pcap(40))), records=None, warning="gzip stream"),
        Broken("gzip_header_only.gz", gzip.compress(b"")[:8], error=True),
        Broken("gzip_of_text.gz", gzip.compress(b"hello world\n" * 10), error=True),
        Broken("zeros.pcap.gz", _gzip_bomb(), records=1600),
        Broken("bomb.pcap.zst", _zstd_bomb(), records=None, warning="decompression bomb"),
        Broken("bomb.pcap.bz2", _bz2_bomb(), records=None, warning="decompression bomb"),
    ]
    return items


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: make_broken_captures.py OUTDIR", file=sys.stderr)
        return 2
    out = Path(argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for item in corpus():
        (out / item.name).write_bytes(item.data)
    (out / "a_directory.pcap").mkdir(exist_ok=True)
    print(f"wrote {len(corpus())} files to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
