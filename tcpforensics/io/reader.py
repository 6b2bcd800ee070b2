"""Streaming capture reader: pcap, pcapng (and Solaris snoop), plain or compressed, from
a file or a pipe.

Why our own record loop instead of dpkt's: dpkt returns nanosecond timestamps as
Decimal, keeps only the first pcapng interface's options, drops the original length,
and its per-record overhead caps throughput (~640k records/s).  Here one buffer of
1 MiB is refilled from the stream and records are cut out of it with precompiled
``struct`` objects, so memory stays constant and nothing seeks (a live pipe from
``tcpdump -w -`` works).

A damaged capture yields every record that can be read, then stops with a one-line
warning in ``Capture.warnings``; only input with nothing usable at all raises
``CaptureError`` (from ``open_capture``).
"""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import sys
from collections.abc import Callable, Iterator
from struct import Struct
from typing import BinaryIO

import cython

from tcpforensics.errors import CaptureError
from tcpforensics.io.decode import decode
from tcpforensics.model import RawPacket, Segment

if cython.compiled:  # C calls into the decoder (next_decoded)
    from cython.cimports.tcpforensics.io.decode import (
        _ether_ipv4_tcp,
        _seconds,
        common_frame_ports,
        decode,
    )
    from cython.cimports.tcpforensics.io.loads import load_u32
else:
    from tcpforensics.io.decode import _seconds

#: What next_decoded_for() gives for a record of a connection the caller does not want.
OTHER_CONNECTION = "record of another connection"

__all__ = ["Capture", "open_capture", "LINKTYPE_INVALID"]

#: Link type given to records whose pcapng interface id does not exist; decode() calls
#: them malformed, so they are still counted.
LINKTYPE_INVALID = -1

# Bytes asked from the stream per refill.  Each refill makes two buffers (the piece read,
# then the unparsed rest joined with it): at 64 KiB both stay below glibc's mmap
# threshold (128 KiB), so the heap hands the same memory back refill after refill.  At
# 1 MiB each was a fresh mapping the kernel had to fault in and zero: on a 522 MB capture
# of full-size packets, 65,000 page faults against 10,500 and 0.22 s of reading against
# 0.14 (docs/performance-history.md, session 14).
CHUNK = 1 << 16
_PCAP, _PCAPNG, _SNOOP = 1, 2, 3  # Capture._kind
_KINDS = {"pcap": _PCAP, "pcapng": _PCAPNG, "snoop": _SNOOP}
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1
# No record or block is larger than this: a claim above it means corrupt data, so reading
# stops there.  16 MiB keeps peak memory small; TCP/IP link types never come near it
# (Wireshark itself stops at 256 KiB for them, 128 MiB only for USB and D-Bus captures).
MAX_RECORD = 16 << 20
WTAP_MAX = 262144  # Wireshark's largest packet for ordinary link types
MAX_COMMENTS = 1000  # capture-supplied comments kept (attacker-controlled text)
MAX_COMMENT_CHARS = 4096
MAX_WARNINGS = 100
MAX_INTERFACES = 65536  # pcapng interfaces kept per section (hostile files declare millions)
# Decompression-bomb guard.  Memory is bounded anyway (everything streams); this bounds
# time.  Reading stops once the output passes BOMB_MIN_BYTES and is more than BOMB_RATIO
# times the compressed input read so far.  Measured: a real capture of zero-filled
# 64 KB TSO segments compresses ~2500x with zstd or xz (~530x with gzip), while zeros
# compress 6800x (xz), 33000x (zstd) and a million times (bz2).  gzip cannot exceed
# ~1030x, so a gzip stream is never cut: it costs time in proportion to its data.
BOMB_MIN_BYTES = 256 << 20
BOMB_RATIO = 5000
ZERO_PROBE = 4096  # an all-zero record header followed by this many zero bytes: padding

_PCAP_MAGIC = {
    # magic bytes as they appear in the file -> (byte order, ns per fraction unit, hdr len)
    b"\xd4\xc3\xb2\xa1": ("<", 1000, 16),
    b"\xa1\xb2\xc3\xd4": (">", 1000, 16),
    b"\x4d\x3c\xb2\xa1": ("<", 1, 16),
    b"\xa1\xb2\x3c\x4d": (">", 1, 16),
    # Alexey Kuznetsov's patched libpcap: 8 more bytes per record header
    b"\x34\xcd\xb2\xa1": ("<", 1000, 24),
    b"\xa1\xb2\xcd\x34": (">", 1000, 24),
}
_PCAPNG_SHB = 0x0A0D0D0A
# pure build: a pcapng block header, a 32-bit word, a packet block's fields; by byte order
# (little-endian: True)
_PCAPNG_UNPACK = {little: (Struct(order + "II").unpack_from, Struct(order + "I").unpack_from,
                           Struct(order + "IIIII").unpack_from)
                  for little, order in ((True, "<"), (False, ">"))}
_SNOOP_MAGIC = b"snoop\x00\x00\x00"
# snoop (RFC 1761) data link types -> pcap link types; others are kept as 0x10000 + type
# so decode() files their records under non_ip
_SNOOP_LINK = {0: 1, 4: 1, 8: 10, 26: 242}
_OTHER_FORMATS = (
    (b"\x00\x00\x00\x00\x00\x00\x00\x00", "unknown (starts with zero bytes)"),
    (b"XCP\x00", "NetXRay/Sniffer"),
    (b"\x7fELF", "an ELF executable"),
    (b"PK\x03\x04", "a zip archive"),
)
_COMPRESSION = (
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bz2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
)

_U32X4_LE = Struct("<IIII").unpack_from


def _u32(buf: bytes, pos: int, little: bool) -> int:
    """The 32-bit number at buf[pos] in the given byte order.  In the compiled build `buf`
    is a C pointer the caller has checked and this is one load (io/loads.pxd); the pure
    build reads record headers and packet blocks whole with one struct call each."""
    if cython.compiled:
        return load_u32(buf + pos, little)
    return _PCAPNG_UNPACK[little][1](buf, pos)[0]


def _byte_order(buf: bytes, pos: int) -> int:
    """The byte order a pcapng section header at buf[pos] gives: 1 little-endian, 0 big,
    -1 a bad byte-order magic."""
    bom = buf[pos + 8:pos + 12]
    if bom == b"\x4d\x3c\x2b\x1a":
        return 1
    if bom == b"\x1a\x2b\x3c\x4d":
        return 0
    return -1


def _new_raw(frame: int, ts_ns: int, linktype: int, caplen: int, wirelen: int, data: bytes,
             iface: int) -> RawPacket:
    """RawPacket(frame, ...) filled field by field: in the compiled build these are C
    stores (no argument tuple, no boxing) into an object from the type's free list."""
    raw = RawPacket.__new__(RawPacket)
    raw.frame = frame
    raw.ts_ns = ts_ns
    raw.linktype = linktype
    raw.caplen = caplen
    raw.wirelen = wirelen
    raw.data = data
    raw.iface = iface
    return raw


class _StreamBroken(Exception):
    """The (decompressed) stream failed part-way; the message says why."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class _CountingReader:
    """File-like view of (prefix + stream) that counts the bytes handed out.

    Decompressors read the compressed source through it, so the bomb guard knows the
    compressed size consumed so far without seeking.
    """

    def __init__(self, prefix: bytes, read: Callable[[int], bytes]) -> None:
        self._prefix = prefix
        self._read = read
        self.count = 0
        self.mode = "rb"

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = CHUNK  # never "everything": memory stays bounded whatever the caller asks
        if self._prefix:
            data = self._prefix[:n]
            self._prefix = self._prefix[n:]
        else:
            data = self._read(n)
        self.count += len(data)
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        pass


class Capture:
    """An open capture: iterate it once for its records (RawPacket), in order.

    Metadata (format, link types, interfaces, comments, warnings) fills in as
    records are read; it is complete once iteration ends.
    """

    def __init__(self, path: str) -> None:
        self._set_format("pcap")
        self.compression: str | None = None
        self.path = path
        self.snaplen: int | None = None
        self.linktypes: list[int] = []
        self.interfaces: list[dict] = []
        self.comments: list[str] = []
        self.warnings: list[str] = []
        self.records = 0
        self.nanosecond = False  # pcap: nanosecond-resolution magic
        self._owned: list = []  # objects we opened and must close
        self._read: Callable[[int], bytes] = lambda n: b""
        self._buf = b""  # bytes already read from the stream, not yet parsed
        self._base = 0  # stream offset of _buf[0] (for warnings)
        self._gen: Iterator[RawPacket] | None = None
        self._closed = False
        self._counter: _CountingReader | None = None
        self._produced = 0  # decompressed bytes produced (bomb guard)
        self._broken: str | None = None  # stream failure, reported after the data before it
        # pcap
        self._order = "<"
        self._frac_ns = 1000
        self._rec_len = 16
        self._linktype = 0
        self._swapped = 0  # 2: caplen/len always swapped, 1: swapped when caplen > len
        # the record loops (_pcap_record, _pcapng_record): the state a generator would
        # keep in its locals
        self._started = False
        self._done = False
        self._pos = 0  # next record's offset in _buf
        self._n = 0  # len(_buf)
        self._little = True
        self._snap = 0
        self._limit = 0
        self._backwards = self._first_back = self._over_snap = self._over_wire = 0
        self._why: str | None = None
        self._start = self._caplen = self._wirelen = self._ts = 0  # the record just read
        # its time is _ts when it fits 64 bits (_ts_exact: always, but for hostile pcapng
        # time resolutions or offsets), else the Python integer _ts_big; while the next
        # record is read they are the last record's (backwards times, pcapng blocks that
        # carry no time)
        self._ts_exact = True
        self._ts_big = 0
        self._iface = 0  # its pcapng interface
        self._unpack: Callable = _U32X4_LE  # pure build: the record header in one call
        # pcapng: per interface (linktype, snaplen, mul, div, offset_ns)
        self._ifaces: list[tuple[int, int, int, int, int]] = []
        self._linktype_set: set[int] = set()
        # pcapng: the interface whose link type and snaplen are in _linktype and _snap
        # (-1: none); _fast: its clock is a plain multiple of nanoseconds (_fast_mul)
        self._cur = -1
        self._fast = False
        self._fast_mul = 1
        self._bad_iface = self._unknown = self._trailer_bad = self._bad_packet = 0

    # -- public ------------------------------------------------------------------------
    def __iter__(self) -> Iterator[RawPacket]:
        return self

    def __next__(self) -> RawPacket:
        # pcap and pcapng are read by plain methods keeping their state in attributes (C
        # fields in the compiled build) rather than by a generator: the compiled build
        # then reads each record with a few C statements.  Snoop, rare, is a generator.
        if self._kind != _SNOOP:
            if not self._read_record():
                raise StopIteration
            return self._raw_record()
        if self._gen is None:
            if self._closed:
                raise StopIteration
            self._gen = self._snoop_records()
        record = self._next_from_gen()
        if record is None:
            raise StopIteration
        return record

    def _read_record(self) -> bool:
        """_pcap_record() or _pcapng_record(), by the format (not snoop's)."""
        return self._pcap_record() if self._kind == _PCAP else self._pcapng_record()

    def _set_format(self, name: str) -> None:
        """`format`, and `_kind`, the same as a number: read per record (comparing the
        names cost two string comparisons a pcapng record)."""
        self.format = name
        self._kind = _KINDS[name]

    def _next_from_gen(self) -> RawPacket | None:
        """The snoop loop's next record, None at the end (the capture is then closed,
        as it is when reading fails)."""
        try:
            return next(self._gen)
        except StopIteration:
            self.close()
            return None
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Capture:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for obj in reversed(self._owned):
            # closing a broken stream must not mask the real outcome
            with contextlib.suppress(Exception):
                obj.close()
        self._owned.clear()
        self._buf = b""

    def __repr__(self) -> str:
        return (f"Capture({self.path!r}, format={self.format!r}, "
                f"compression={self.compression!r}, records={self.records})")

    # -- helpers -----------------------------------------------------------------------
    def _warn(self, text: str) -> None:
        if len(self.warnings) < MAX_WARNINGS:
            self.warnings.append(f"{self.path}: {text}")

    def _add_comment(self, raw: bytes) -> None:
        if len(self.comments) < MAX_COMMENTS:
            text = raw.split(b"\x00", 1)[0].decode("utf-8", "replace")
            self.comments.append(text[:MAX_COMMENT_CHARS])

    def _safe_read(self, n: int) -> bytes:
        """Read from the (decompressed) stream; failures become _StreamBroken."""
        if self._broken:
            raise _StreamBroken(self._broken)
        try:
            data = self._read(n)
        except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
            raise _StreamBroken(_describe_stream_error(self.compression, exc)) from None
        except Exception as exc:  # zstandard.ZstdError and friends
            raise _StreamBroken(_describe_stream_error(self.compression, exc)) from None
        if self._counter is not None and data:
            self._produced += len(data)
            if (self._produced > BOMB_MIN_BYTES
                    and self._produced > BOMB_RATIO * max(1, self._counter.count)):
                raise _StreamBroken(
                    f"decompressed size passed {BOMB_RATIO}x the compressed size "
                    f"({self._produced >> 20} MiB from {self._counter.count >> 10} KiB): "
                    "treated as a decompression bomb")
        return data

    def _fill(self, buf: bytes, pos: int, need: int) -> tuple[bytes, int]:
        """Return (buffer, 0) holding at least `need` unparsed bytes, or all that is left.

        Raises _StreamBroken when the stream fails; a short result means end of data.
        """
        self._base += pos
        parts = [buf[pos:]] if pos < len(buf) else []
        have = len(buf) - pos if pos < len(buf) else 0
        while have < need:
            try:
                piece = self._safe_read(max(CHUNK, need - have))
            except _StreamBroken as exc:
                if len(parts) < 2:
                    raise
                self._broken = str(exc)  # hand out what came before the failure first
                break
            if not piece:
                break
            parts.append(piece)
            have += len(piece)
        return b"".join(parts), 0

    def _stopped(self, frame: int, offset: int, why: str) -> None:
        self._warn(f"reading stopped at byte {offset} after {frame} records: {why}")

    # -- pcap --------------------------------------------------------------------------
    def next_decoded(self) -> Segment | str | None:
        """decode() of the next record, or None when there are no more; `records` is
        then the frame number of the record just decoded.

        The same results as decoding each record of the iteration.  In the compiled build
        the common frame (Ethernet / IPv4 / TCP) of a pcap or pcapng record is decoded
        straight from the read buffer: no RawPacket and no bytes object per packet.
        """
        if cython.compiled and self._kind != _SNOOP:
            if not self._read_record():
                return None
            return self._decode_record()
        raw = next(self, None)
        return None if raw is None else decode(raw)

    def next_decoded_for(self, ports: bytes) -> Segment | str | None:
        """next_decoded() for a reader that wants some connections only.

        `ports` is a bitmap of the ports wanted (8,192 bytes: port p is bit p & 7 of byte
        p >> 3).  A record of the common frame (Ethernet / IPv4 / TCP as _ether_ipv4_tcp
        decodes it) with either port not marked comes back as OTHER_CONNECTION, not
        decoded: `record_time()` is then its time, as the segment's `ts` would have been.
        Any other record comes back as next_decoded() gives it.  (The pure build decodes
        every record: skipping is only what makes the compiled one faster.)
        """
        if cython.compiled and self._kind != _SNOOP:
            if not self._read_record():
                return None
            if self._linktype == 1 and self._caplen >= 54:
                view = self._buf
                pair = common_frame_ports(view + self._start, self._caplen, self._wirelen)
                if pair >= 0:
                    bitmap = ports
                    sport = pair >> 16
                    dport = pair & 0xFFFF
                    if not (bitmap[sport >> 3] >> (sport & 7) & 1
                            and bitmap[dport >> 3] >> (dport & 7) & 1):
                        return OTHER_CONNECTION
            return self._decode_record()
        return self.next_decoded()

    def _decode_record(self) -> Segment | str:
        """decode() of the record _pcap_record() or _pcapng_record() just read (compiled
        build): the common frame straight from the read buffer, no RawPacket and no bytes
        object."""
        view = self._buf
        start = self._start
        caplen = self._caplen
        if self._linktype == 1 and caplen >= 54:
            seg = _ether_ipv4_tcp(view + start, caplen, self._wirelen, self.records)
            if seg is not None:
                # as decode() computes it (ts_ns / 1e9; _seconds past 64 bits)
                seg.ts = self._ts / 1e9 if self._ts_exact else _seconds(self._ts_big)
                return seg
        return decode(self._raw_record())

    def record_time(self) -> float:
        """The time (seconds) of the record next_decoded_for() just gave as
        OTHER_CONNECTION, as its segment's `ts` would have been."""
        return self._ts / 1e9 if self._ts_exact else _seconds(self._ts_big)

    def decoded(self) -> Iterator[Segment | str]:
        """The records decoded, in order: (decode(raw) for raw in self), faster."""
        while True:
            result = self.next_decoded()
            if result is None:
                return
            yield result

    def _raw_record(self) -> RawPacket:
        """The RawPacket of the record _pcap_record() or _pcapng_record() just read."""
        view = self._buf
        start = self._start
        # the compiled build slices the C pointer: one direct copy, bounds checked
        return _new_raw(self.records, self._ts if self._ts_exact else self._ts_big,
                        self._linktype, self._caplen, self._wirelen,
                        view[start:start + self._caplen], self._iface)

    def _pcap_record(self) -> bool:
        """Read the next record header of a classic pcap stream and make sure the record
        is in the buffer: True with its start, lengths and time in _start, _caplen,
        _wirelen and _ts, and `records` counting it.  False when there are no more (the
        warnings about the stream are then added and the capture closed)."""
        if self._done or self._closed:
            return False
        if not self._started:
            self._start_pcap()
        rec_len = self._rec_len
        pos = self._pos
        n = self._n
        if n - pos < rec_len:
            if not self._refill_header(rec_len):
                return False
            pos, n = self._pos, self._n
        if cython.compiled:
            view = self._buf  # a C pointer: the header's rec_len bytes are there
            little = self._little
            sec, frac = _u32(view, pos, little), _u32(view, pos + 4, little)
            caplen, wirelen = _u32(view, pos + 8, little), _u32(view, pos + 12, little)
        else:
            sec, frac, caplen, wirelen = self._unpack(self._buf, pos)
        swapped = self._swapped
        if swapped and (swapped == 2 or caplen > wirelen):
            caplen, wirelen = wirelen, caplen
        if not (sec or caplen or wirelen or frac):
            # an all-zero header: zero padding (preallocated or wiped space) would
            # otherwise read as millions of empty records
            if n - pos < rec_len + ZERO_PROBE:
                if not self._refill(rec_len + ZERO_PROBE):
                    return self._end_records(self._why)
                pos, n = self._pos, self._n
            # (a short zero tail is read as empty records, as tshark does)
            window = self._buf[pos:pos + rec_len + ZERO_PROBE]
            if len(window) == rec_len + ZERO_PROBE and not window.strip(b"\0"):
                return self._end_records("the rest of the data is zero-filled, not records")
        frame = self.records
        if caplen > self._limit:
            return self._end_records(f"record {frame + 1} claims {caplen} captured bytes "
                                  f"(limit {self._limit}): corrupt or not pcap data")
        start = pos + rec_len
        end = start + caplen
        if end > n:
            if not self._refill(rec_len + caplen):
                return self._end_records(self._why)
            n = self._n
            start = rec_len
            end = start + caplen
            if end > n:
                return self._end_records(self._broken or (
                    f"record {frame + 1} truncated ({n - rec_len} of {caplen} bytes present)"))
        ts = sec * 1_000_000_000 + frac * self._frac_ns
        if ts < self._ts:  # (the last record's)
            self._backwards += 1
            if self._backwards == 1:
                self._first_back = frame + 1
        if caplen > wirelen:
            self._over_wire += 1
        elif self._snap and caplen > self._snap:
            self._over_snap += 1
        self.records = frame + 1
        self._pos = end
        self._start = start
        self._caplen = caplen
        self._wirelen = wirelen
        self._ts = ts
        return True

    def _start_pcap(self) -> None:
        self._started = True
        self._n = len(self._buf)
        self._pos = 0
        self._little = self._order == "<"
        self._unpack = Struct(self._order + "IIII").unpack_from
        self._snap = self.snaplen or 0
        self._limit = min(max(WTAP_MAX, self._snap), MAX_RECORD)

    def _refill(self, need: int) -> bool:
        """_fill for the record loops: the unparsed bytes from _pos move to the front of
        a new buffer.  False when the stream broke (the reason is in _why; the position
        is kept for the warning, as the record loops always did)."""
        try:
            buf, pos = self._fill(self._buf, self._pos, need)
        except _StreamBroken as exc:
            self._why = str(exc)
            return False
        self._buf = buf
        self._pos = pos
        self._n = len(buf)
        return True

    def _refill_header(self, need: int) -> bool:
        """_refill for the record loops' next record or block header of `need` bytes:
        False when the records end there (their end is then taken, with the reason)."""
        if not self._refill(need):
            return self._end_records(self._why)
        n = self._n
        if n >= need:
            return True
        if self._broken:
            return self._end_records(self._broken)
        if not n:
            return self._end_records(None)
        if self._kind == _PCAPNG:
            return self._end_records(f"truncated block header ({n} bytes left)")
        return self._end_records(f"truncated record header ({n} of {need} bytes)")

    def _end_records(self, why: str | None) -> bool:
        """End of the records (False, for _pcap_record or _pcapng_record to return)."""
        self._done = True
        if why:
            self._stopped(self.records, self._base + self._pos, why)
        if self._kind == _PCAPNG:
            if self._bad_iface:
                self._warn(f"{self._bad_iface} packet records name an interface that was "
                           "never described; counted as malformed")
            if self._bad_packet:
                self._warn(f"{self._bad_packet} packet blocks were inconsistent (captured "
                           "length larger than the block) and skipped")
            if self._unknown:
                self._warn(f"{self._unknown} blocks of unknown type skipped")
            if self._trailer_bad:
                self._warn(f"{self._trailer_bad} blocks have a trailing length that does not "
                           "match the leading one; framing taken from the leading length")
        self._summary(self._backwards, self._first_back, self._over_snap, self._over_wire)
        self.close()
        return False

    # -- snoop (Solaris; tcptrace's test captures) ------------------------------------
    def _snoop_records(self) -> Iterator[RawPacket]:
        unpack = Struct(">IIIIII").unpack_from
        linktype = self._linktype
        buf, pos = self._buf, 0
        self._buf = b""
        n = len(buf)
        frame = last_ts = backwards = first_back = over_wire = 0
        why = None
        try:
            while True:
                if n - pos < 24:
                    buf, pos = self._fill(buf, pos, 24)
                    n = len(buf)
                    if n < 24:
                        if self._broken:
                            why = self._broken
                        elif n:
                            why = f"truncated record header ({n} of 24 bytes)"
                        break
                wirelen, caplen, reclen, _drops, sec, usec = unpack(buf, pos)
                if reclen < 24 + caplen or reclen > MAX_RECORD:
                    why = (f"record {frame + 1} has a bad record length {reclen} "
                           f"(captured {caplen})")
                    break
                if n - pos < reclen:
                    buf, pos = self._fill(buf, pos, reclen)
                    n = len(buf)
                    if n < reclen:
                        why = self._broken or f"record {frame + 1} truncated"
                        break
                ts = sec * 1_000_000_000 + usec * 1000
                if ts < last_ts:
                    backwards += 1
                    if backwards == 1:
                        first_back = frame + 1
                last_ts = ts
                if caplen > wirelen:
                    over_wire += 1
                frame += 1
                self.records = frame
                yield _new_raw(frame, ts, linktype, caplen, wirelen,
                               buf[pos + 24:pos + 24 + caplen], 0)
                pos += reclen
        except _StreamBroken as exc:
            why = str(exc)
        if why:
            self._stopped(frame, self._base + pos, why)
        self._summary(backwards, first_back, 0, over_wire)

    def _summary(self, backwards: int, first_back: int, over_snap: int,
                 over_wire: int) -> None:
        if backwards:
            self._warn(f"timestamps go backwards {backwards} times (first at record "
                       f"{first_back}); records kept in file order")
        if over_snap:
            self._warn(f"{over_snap} records are longer than the snaplen; kept")
        if over_wire:
            self._warn(f"{over_wire} records have more captured bytes than their "
                       "original length; kept")

    # -- pcapng ------------------------------------------------------------------------
    def _start_pcapng(self) -> None:
        # (_prescan_pcapng took the leading section and interface blocks out of _buf)
        self._started = True
        self._n = len(self._buf)
        self._pos = 0
        self._little = self._order == "<"

    def _pcapng_record(self) -> bool:
        """_pcap_record for pcapng: read blocks up to the next packet record, taking in the
        section, interface and other blocks on the way, and make sure the record is in
        the buffer: True with its start, lengths, link type, interface and time in
        _start, _caplen, _wirelen, _linktype, _iface and _ts (see _ts_exact), and
        `records` counting it.  False when there are no more (the warnings about the
        stream are then added and the capture closed).

        A method keeping its state in attributes rather than a generator, as for pcap:
        the compiled build reads a packet block with C statements and no generator step
        (that step and the objects around it were about a third of reading a record).
        """
        if self._done or self._closed:
            return False
        if not self._started:
            self._start_pcapng()
        buf = self._buf
        pos = self._pos
        n = self._n
        little = self._little
        while True:
            if n - pos < 12:
                self._pos = pos
                if not self._refill_header(12):
                    return False
                buf, pos, n = self._buf, self._pos, self._n
            if cython.compiled:
                btype, blen = _u32(buf, pos, little), _u32(buf, pos + 4, little)
            else:
                btype, blen = _PCAPNG_UNPACK[little][0](buf, pos)
            if btype == _PCAPNG_SHB:
                new_little = _byte_order(buf, pos)
                if new_little < 0:
                    self._pos = pos
                    return self._end_records("section header with a bad byte-order magic")
                if new_little != little:
                    little = new_little
                    self._little = little
                    self._order = "<" if little else ">"
                    blen = _u32(buf, pos + 4, little)
            if blen < 12 or blen & 3 or blen > MAX_RECORD:
                self._pos = pos
                return self._end_records(f"bad block length {blen} (block type {btype:#x})")
            if n - pos < blen:
                self._pos = pos
                if not self._refill(blen):
                    return self._end_records(self._why)
                buf, pos, n = self._buf, self._pos, self._n
                if n < blen:
                    return self._end_records(self._broken or (
                        f"block truncated ({n} of {blen} bytes present, "
                        f"block type {btype:#x})"))
            end = pos + blen
            if _u32(buf, end - 4, little) != blen:
                self._trailer_bad += 1
            if btype == 6 or btype == 2:
                # Enhanced (6) / obsolete (2) packet block
                if blen < 32:
                    self._bad_packet += 1
                    pos = end
                    continue
                if cython.compiled:
                    iface, hi, lo = _u32(buf, pos + 8, little), \
                        _u32(buf, pos + 12, little), _u32(buf, pos + 16, little)
                    caplen, wirelen = _u32(buf, pos + 20, little), _u32(buf, pos + 24, little)
                else:
                    iface, hi, lo, caplen, wirelen = _PCAPNG_UNPACK[little][2](buf, pos + 8)
                if btype == 2:  # a 16-bit interface id, then a 16-bit drops count
                    iface = iface & 0xFFFF if little else iface >> 16
                start = pos + 28
                if caplen > blen - 32:
                    self._bad_packet += 1
                    pos = end
                    continue
                opt_at = start + ((caplen + 3) & ~3)
                if opt_at + 4 <= end - 4:
                    self._block_comments(buf, opt_at, end - 4, self._order)
                if iface < len(self._ifaces):
                    if iface != self._cur:
                        self._use_iface(iface)
                    if self._fast and hi < 0x200000:
                        # the usual micro- or nanosecond clock, exact in 64 bits
                        tsc = ((hi << 32) | lo) * self._fast_mul
                        exact = True
                    else:
                        big = self._scaled_time(iface, hi, lo)
                        exact = _INT64_MIN <= big <= _INT64_MAX
                        if exact:
                            tsc = big
                    if self._snap and caplen > self._snap:
                        self._over_snap += 1
                else:
                    self._bad_iface += 1
                    self._linktype = LINKTYPE_INVALID
                    self._cur = -1  # (the link type is no longer the interface's)
                    tsc, exact, big = self._ts, self._ts_exact, self._ts_big
            elif btype == 3:
                # Simple packet block: no timestamp, no interface id (interface 0)
                room = blen - 16
                if room < 0:
                    self._bad_packet += 1
                    pos = end
                    continue
                wirelen = _u32(buf, pos + 8, little)
                caplen = min(wirelen, room)
                iface = 0
                self._cur = -1  # (the link type and snaplen are set here without the rest)
                if self._ifaces:
                    self._linktype, self._snap = self._ifaces[0][0], self._ifaces[0][1]
                    if self._snap:
                        caplen = min(caplen, self._snap)
                else:
                    self._bad_iface += 1
                    self._linktype = LINKTYPE_INVALID
                start = pos + 12
                # SPBs carry no time: keep the clock where it was
                tsc, exact, big = self._ts, self._ts_exact, self._ts_big
            elif btype == 1:
                self._on_idb(buf, pos, blen, self._order)
                self._cur = -1
                pos = end
                continue
            elif btype == _PCAPNG_SHB:
                self._on_shb(buf, pos, blen, self._order)
                self._cur = -1
                pos = end
                continue
            else:
                # ISB 5, NRB 4, DSB 10, custom 0xBAD/0x40000BAD, journal 9, ...
                if btype not in (4, 5, 9, 10, 0xBAD, 0x40000BAD, 0x80000001):
                    self._unknown += 1
                pos = end
                continue
            frame = self.records
            if caplen > wirelen:
                self._over_wire += 1
            if exact and self._ts_exact:  # (compiled: C integers, no objects)
                back = tsc < self._ts
            else:  # (_ts... are still the last record's)
                back = (tsc if exact else big) < (self._ts if self._ts_exact else self._ts_big)
            if back:
                self._backwards += 1
                if self._backwards == 1:
                    self._first_back = frame + 1
            self._ts = tsc if exact else 0
            self._ts_exact = exact
            if not exact:
                self._ts_big = big
            self.records = frame + 1
            self._pos = end
            self._start = start
            self._caplen = caplen
            self._wirelen = wirelen
            self._iface = iface
            return True

    def _use_iface(self, iface: int) -> None:
        """Take the numbers of interface `iface` (described) for the records that follow."""
        linktype, snaplen, mul, div, off = self._ifaces[iface]
        self._linktype = linktype
        self._snap = snaplen
        self._fast = div == 1 and off == 0 and mul <= 1000
        if self._fast:
            self._fast_mul = mul
        self._cur = iface

    def _scaled_time(self, iface: int, hi: int, lo: int) -> int:
        """The time (ns) of a record of interface `iface` off the fast path, in exact
        Python integers: a hostile if_tsresol or if_tsoffset takes it past 64 bits."""
        _linktype, _snaplen, mul, div, off = self._ifaces[iface]
        return ((cython.cast(object, hi) << 32) | lo) * mul // div + off

    def _options(self, buf: bytes, at: int, end: int, order: str) -> Iterator[tuple[int, bytes]]:
        opt = Struct(order + "HH").unpack_from
        while at + 4 <= end:
            code, length = opt(buf, at)
            if code == 0:
                return
            at += 4
            if at + length > end:
                return
            yield code, buf[at:at + length]
            at += (length + 3) & ~3

    def _block_comments(self, buf: bytes, at: int, end: int, order: str) -> None:
        for code, value in self._options(buf, at, end, order):
            if code == 1:
                self._add_comment(value)

    def _on_shb(self, buf: bytes, pos: int, blen: int, order: str) -> None:
        # a new section: interfaces are numbered afresh
        self._ifaces.clear()
        if blen >= 28:
            for code, value in self._options(buf, pos + 24, pos + blen - 4, order):
                if code == 1:
                    self._add_comment(value)

    def _on_idb(self, buf: bytes, pos: int, blen: int, order: str) -> None:
        if blen < 20:
            self._warn("interface description block too short; ignored")
            return
        if len(self._ifaces) >= MAX_INTERFACES:
            if len(self._ifaces) == MAX_INTERFACES:
                self._warn(f"more than {MAX_INTERFACES} interfaces in one section; the rest "
                           "are ignored and their records counted as malformed")
                self._ifaces.append((LINKTYPE_INVALID, 0, 1, 1, 0))  # marks "warned"
            return
        linktype, _reserved, snaplen = Struct(order + "HHI").unpack_from(buf, pos + 8)
        info = {"id": len(self._ifaces), "linktype": linktype, "snaplen": snaplen,
                "name": None, "description": None, "tsresol": 6, "tsoffset": 0}
        mul, div, off = 1000, 1, 0
        for code, value in self._options(buf, pos + 16, pos + blen - 4, order):
            if code == 2:
                info["name"] = value.split(b"\x00", 1)[0].decode("utf-8", "replace")[:256]
            elif code == 3:
                info["description"] = value.split(b"\x00", 1)[0].decode(
                    "utf-8", "replace")[:MAX_COMMENT_CHARS]
            elif code == 9 and value:
                res = value[0]
                info["tsresol"] = res
                if res & 0x80:
                    mul, div = 1_000_000_000, 1 << (res & 0x7F)
                elif res <= 9:
                    mul, div = 10 ** (9 - res), 1
                else:
                    mul, div = 1, 10 ** (res - 9)
            elif code == 14 and len(value) == 8:
                secs = Struct(order + "q").unpack(value)[0]
                info["tsoffset"] = secs
                off = secs * 1_000_000_000
            elif code == 1:
                self._add_comment(value)
        self._ifaces.append((linktype, snaplen, mul, div, off))
        if len(self.interfaces) < 4096:
            self.interfaces.append(info)
        if linktype not in self._linktype_set:
            self._linktype_set.add(linktype)
            self.linktypes.append(linktype)
        if self.snaplen is None:
            self.snaplen = snaplen

    def _prescan_pcapng(self) -> None:
        """Read the leading SHB and IDBs already in the buffer, so interfaces, link types
        and snaplen are known before iteration.  Consumes only whole blocks."""
        buf = self._buf
        pos = 0
        order = self._order
        hdr = Struct(order + "II").unpack_from
        for _ in range(4096):
            if len(buf) - pos < 12:
                break
            btype, blen = hdr(buf, pos)
            if btype not in (1, _PCAPNG_SHB) or blen < 12 or blen & 3 or blen > len(buf) - pos:
                break
            if btype == _PCAPNG_SHB:
                if buf[pos + 8:pos + 12] != (b"\x4d\x3c\x2b\x1a" if order == "<"
                                             else b"\x1a\x2b\x3c\x4d"):
                    break  # byte order changes: leave it to the main loop
                self._on_shb(buf, pos, blen, order)
            else:
                self._on_idb(buf, pos, blen, order)
            pos += blen
        self._buf = buf[pos:]
        self._base = pos


def _describe_stream_error(compression: str | None, exc: BaseException) -> str:
    what = f"{compression} stream" if compression else "input stream"
    if isinstance(exc, EOFError):
        return f"{what} ends early (truncated file)"
    return f"{what} is corrupt: {_first_line(exc)}"


def _open_decompressor(kind: str, src: _CountingReader) -> tuple[object, Callable[[int], bytes]]:
    if kind == "gzip":
        obj = gzip.GzipFile(fileobj=src, mode="rb")  # noqa: SIM115 - closed by Capture
    elif kind == "bz2":
        obj = bz2.BZ2File(src, mode="rb")  # noqa: SIM115
    elif kind == "xz":
        obj = lzma.LZMAFile(src, mode="rb")  # noqa: SIM115
    else:
        try:
            import zstandard
        except ImportError:
            raise CaptureError("input is zstd-compressed but the 'zstandard' package "
                               "is not installed") from None
        obj = zstandard.ZstdDecompressor().stream_reader(src, read_across_frames=True,
                                                         closefd=False)
    # read1: one decompression step per call, so data before a failure is handed out
    return obj, getattr(obj, "read1", obj.read)


def _read_head(cap: Capture, need: int) -> bytes:
    """The first bytes of the (decompressed) stream.  A failure after some data is
    deferred to the record loop; a failure before any data is a CaptureError."""
    parts: list[bytes] = []
    have = 0
    while have < need:
        try:
            piece = cap._safe_read(need - have)
        except _StreamBroken as exc:
            if not parts:
                raise CaptureError(f"{cap.path}: {exc}") from None
            cap._broken = str(exc)
            break
        if not piece:
            break
        parts.append(piece)
        have += len(piece)
    return b"".join(parts)


def _read_at_least(read: Callable[[int], bytes], need: int) -> bytes:
    parts = []
    have = 0
    while have < need:
        piece = read(max(CHUNK, need - have))
        if not piece:
            break
        parts.append(piece)
        have += len(piece)
    return b"".join(parts)


def open_capture(source: str | os.PathLike | BinaryIO, *, stdin: BinaryIO | None = None
                 ) -> Capture:
    """Open a capture for streaming.  `source` is a path, "-" for stdin, or a binary
    file object.  Raises CaptureError with one clear line when nothing is usable."""
    owned: list = []
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if isinstance(path, bytes):
            path = path.decode("utf-8", "replace")
        if path == "-":
            stream = stdin if stdin is not None else sys.stdin.buffer
            name = "-"
        else:
            name = path
            if os.path.isdir(path):
                raise CaptureError(f"{path}: is a directory, not a capture file")
            try:
                stream = open(path, "rb", buffering=0)  # noqa: SIM115 - closed by Capture
            except FileNotFoundError:
                raise CaptureError(f"{path}: no such file") from None
            except PermissionError:
                raise CaptureError(f"{path}: permission denied") from None
            except OSError as exc:
                raise CaptureError(f"{path}: cannot open: {exc.strerror or exc}") from None
            owned.append(stream)
    elif hasattr(source, "read"):
        stream = source
        name = str(getattr(source, "name", "<stream>"))
    else:
        raise CaptureError(f"cannot read a capture from a {type(source).__name__}")

    cap = Capture(name)
    cap._owned = owned
    try:
        _setup(cap, stream)
    except CaptureError:
        cap.close()
        raise
    except Exception as exc:  # anything unexpected while sniffing still gets one line
        cap.close()
        raise CaptureError(f"{name}: cannot read: {_first_line(exc)}") from None
    return cap


def _setup(cap: Capture, stream: BinaryIO) -> None:
    name = cap.path
    read = getattr(stream, "read1", None) or stream.read
    try:
        head = _read_at_least(read, 64)
    except IsADirectoryError:
        raise CaptureError(f"{name}: is a directory, not a capture file") from None
    except OSError as exc:
        raise CaptureError(f"{name}: cannot read: {exc.strerror or _first_line(exc)}") from None
    if not head:
        raise CaptureError(f"{name}: empty file, no capture data")
    for magic, kind in _COMPRESSION:
        if head.startswith(magic):
            counter = _CountingReader(head, read)
            obj, dread = _open_decompressor(kind, counter)
            cap._owned.append(obj)
            cap.compression = kind
            cap._counter = counter
            cap._read = dread
            head = _read_head(cap, 64)
            if not head:
                raise CaptureError(f"{name}: {kind} stream holds no data")
            break
    else:
        cap._read = read
    magic4 = head[:4]
    if magic4 in _PCAP_MAGIC:
        order, frac_ns, rec_len = _PCAP_MAGIC[magic4]
        head = head if len(head) >= 24 else head + _read_head(cap, 24 - len(head))
        if len(head) < 24:
            raise CaptureError(f"{name}: pcap file header truncated ({len(head)} of 24 bytes)")
        (_m, vmaj, _vmin, _zone, _sigfigs, snaplen, network) = Struct(
            order + "IHHiIII").unpack_from(head, 0)
        cap._set_format("pcap")
        cap._order = order
        cap._frac_ns = frac_ns
        cap.nanosecond = frac_ns == 1
        cap._rec_len = rec_len
        # libpcap before 2.3 wrote the captured and original lengths the other way
        # round; 2.3 files may be either (libpcap and Wireshark guess the same way)
        cap._swapped = 2 if (vmaj, _vmin) < (2, 3) else (1 if (vmaj, _vmin) == (2, 3) else 0)
        cap._linktype = network & 0xFFFF  # upper bits may carry FCS-length flags
        cap.snaplen = snaplen
        cap.linktypes = [cap._linktype]
        cap._buf = head[24:]
        cap._base = 24
        if vmaj not in (2, 1):
            cap._warn(f"unusual pcap version {vmaj}; reading anyway")
        return
    if len(head) >= 12 and magic4 == b"\x0a\x0d\x0d\x0a":
        bom = head[8:12]
        if bom == b"\x4d\x3c\x2b\x1a":
            cap._order = "<"
        elif bom == b"\x1a\x2b\x3c\x4d":
            cap._order = ">"
        else:
            raise CaptureError(f"{name}: pcapng section header has a bad byte-order magic")
        blen = Struct(cap._order + "I").unpack_from(head, 4)[0]
        if blen < 28 or blen & 3 or blen > MAX_RECORD:
            raise CaptureError(f"{name}: pcapng section header has a bad length ({blen})")
        cap._set_format("pcapng")
        # pull in enough to see the first interface blocks, then parse them eagerly
        if len(head) < 65536:
            head += _read_head(cap, 65536 - len(head))
        cap._buf = head
        cap._prescan_pcapng()
        return
    if head.startswith(_SNOOP_MAGIC):
        if len(head) < 16:
            raise CaptureError(f"{name}: snoop file header truncated")
        version, datalink = Struct(">II").unpack_from(head, 8)
        if version not in (2, 3, 4):
            raise CaptureError(f"{name}: snoop version {version} is not supported")
        cap._set_format("snoop")
        cap._linktype = _SNOOP_LINK.get(datalink, 0x10000 + datalink)
        cap.linktypes = [cap._linktype]
        cap._buf = head[16:]
        cap._base = 16
        return
    for magic, what in _OTHER_FORMATS:
        if head.startswith(magic):
            raise CaptureError(f"{name}: not a pcap or pcapng capture ({what} format)")
    shown = head[:8].hex(" ")
    raise CaptureError(f"{name}: not a pcap or pcapng capture (first bytes: {shown})")
