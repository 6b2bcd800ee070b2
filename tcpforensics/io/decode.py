"""Fast header decode: one capture record -> a Segment, or the name of a skip bucket.

No per-packet objects other than the Segment itself.  The pure-Python build reads each
header with one precompiled ``struct`` call (the fastest way in Python); the compiled
build (Cython, types in decode.pxd) reads the same header bytes directly, through a C
pointer once the length is checked, with bounds-checked indexing elsewhere.  The two
ways of reading a header sit side by side under ``if cython.compiled``; the differential
tests (compiled vs pure) check that they agree.  Both builds first try a fast path for
Ethernet -> IPv4 -> TCP (_ether_ipv4_tcp), which the reader can also run on its read
buffer directly (Capture.decoded).

Bucket rules (every record lands in exactly one; they sum to the record count):

* ``non_ip``    the link layer carries something other than IP (ARP, LLC, unknown link
                type ...).
* ``non_tcp``   IP, but the transport is not TCP (UDP, ICMP, ESP, no next header ...).
                ICMP errors that quote a TCP header are non_tcp: they are not segments
                of a connection (tshark's ``-Y tcp`` does match them).
* ``fragment``  an IP fragment (IPv4 MF set or offset != 0; IPv6 fragment header that
                is not an atomic fragment).  We do not reassemble; tshark does, and then
                counts the reassembled datagram's *last* fragment as tcp.
* ``truncated`` the capture ends before the headers we need: link header, IP header,
                or the first 16 bytes of the TCP header (ports, sequence, ack, data
                offset, flags, window).  A header cut after the window still yields a
                Segment (urgent pointer 0); options cut short by the snaplen are parsed
                as far as they go.
* ``malformed`` the headers are there but impossible: wrong IP version, IHL < 5,
                IP total length below the header length, TCP data offset < 5 or larger
                than the IP payload, unknown pcapng interface.

tshark's ``-Y tcp`` matches a frame as soon as its TCP dissector starts, even on a
TCP header it then calls bogus or that the snaplen cut before the window.  Our
TCP count differs from tshark only in those cases (TCP headers with fewer than 16
captured bytes or a data offset below 5, quoted headers in ICMP errors and sFlow
samples, fragments); tests/test_shared_pcaps_counts.py checks every shared capture.

Lengths: ``length`` is the payload length the IP header claims, clipped to what was on
the wire (as tshark does): IPv4 total length - IHL - TCP header, IPv6 payload length -
extension headers - TCP header.  An IPv4 total length of 0 (TSO super-frames captured
on the sender) and an IPv6 payload length of 0 (jumbograms, BIG TCP) use the frame's
original length instead.  ``captured_payload`` is how many payload bytes are present.
"""

from __future__ import annotations

from struct import Struct

import cython

from tcpforensics.model import RawPacket, Segment

if cython.compiled:
    from cython.cimports.cpython.long import PyLong_AsLongLongAndOverflow
    from cython.cimports.cpython.object import PyObject
    from cython.cimports.cpython.ref import _Py_REFCNT
    from cython.cimports.libc.string import memcmp

__all__ = ["decode"]

_U32LE = Struct("<I").unpack_from
_U16LE = Struct("<H").unpack_from
_IPV4 = Struct("!BxHHHBB2x4s4s").unpack_from  # vihl, total, id, frag, ttl, proto, src, dst
_IPV6 = Struct("!IHBB16s16s").unpack_from  # vtcfl, plen, next, hlim, src, dst
_TCP = Struct("!HHIIBBHxxH").unpack_from  # sport, dport, seq, ack, off, flags, win, urg
_TS = Struct("!II").unpack_from
_TCP16 = Struct("!HHIIBBH").unpack_from  # a TCP header cut after the window field
# Ethernet type + option-less IPv4 header + fixed TCP header, from frame offset 12
_ETH_V4_TCP = Struct("!HBxHHHBB2x4s4sHHIIBBHxxH").unpack_from
_NOP_NOP_TS = b"\x01\x01\x08\x0a"

_MAX_DEPTH = 4  # tunnels and VLAN tags nested deeper than this are not followed

# AF_INET6 values used by BSD-style null/loopback headers: Linux 10, NetBSD/OpenBSD 24,
# FreeBSD 28, Darwin 30, Windows 23.
_AF_INET6 = frozenset((10, 23, 24, 28, 30))


def decode(raw: RawPacket) -> Segment | str:
    """Decode one record.  Returns a Segment or one of model.SKIP_REASONS; never raises."""
    try:
        data = raw.data
        lt = raw.linktype
        if lt == 1 and len(data) >= 54:
            seg = _ether_ipv4_tcp(data, len(data), raw.wirelen, raw.frame)
            if seg is not None:
                seg.ts = _seconds(raw.ts_ns)
                return seg
        if lt == 1:  # Ethernet: the common case, kept inline
            if len(data) < 14:
                return "truncated"
            etype = _be16(data, 12)
            if etype == 0x0800:
                return _ipv4(raw, data, 14, 0)
            return _ether_type(raw, data, etype, 14, 0)
        link = _LINK.get(lt)
        if link is None:
            return "malformed" if lt < 0 else "non_ip"
        return link(raw, data)
    except Exception:  # a bug on hostile input must not stop the analysis
        return "malformed"


def _ether_ipv4_tcp(view: bytes, n: int, wire: int, frame: int) -> Segment | None:
    """The common case in one go: Ethernet / IPv4 without options / TCP without options
    or with just the usual NOP NOP timestamp, well formed and unfragmented.  The frame's
    `n` captured bytes (at least 54) are at view[0:n]; `wire` is its original length.

    Returns the Segment with `ts` left for the caller to set, or None for anything else:
    it only *accepts*, and the general path then decides the bucket.  The reader's
    decoded() calls it on the read buffer itself in the compiled build, where `view` is
    a C pointer.
    """
    if cython.compiled:
        etype, vihl, total, ip_id, frag = _be16(view, 12), view[14], _be16(view, 16), \
            _be16(view, 18), _be16(view, 20)
        ttl, proto = view[22], view[23]
    else:
        (etype, vihl, total, ip_id, frag, ttl, proto, src, dst, sport, dport, seq, ack,
         offbyte, flagbyte, win, urg) = _ETH_V4_TCP(view, 12)
    if etype != 0x0800 or vihl != 0x45 or proto != 6 or frag & 0x3FFF:
        return None
    if cython.compiled:
        sport, dport, seq, ack = _be16(view, 34), _be16(view, 36), _be32(view, 38), \
            _be32(view, 42)
        offbyte, flagbyte, win, urg = view[46], view[47], _be16(view, 48), _be16(view, 52)
    ipmax = (wire if wire > n else n) - 14
    if total == 0 or total > ipmax:
        total = ipmax
    hlen = (offbyte >> 4) << 2
    if hlen < 20 or hlen > total - 20:
        return None
    if hlen == 20:
        tsval = tsecr = -1  # absent
    elif hlen == 32 and n >= 66 and (_be32(view, 54) == 0x0101080A if cython.compiled
                                      else view[54:58] == _NOP_NOP_TS):
        if cython.compiled:
            tsval, tsecr = _be32(view, 58), _be32(view, 62)
        else:
            tsval, tsecr = _TS(view, 58)
    else:
        return None
    if cython.compiled:
        src, dst = _addr(view, 26, 4), _addr(view, 30, 4)
    length = total - 20 - hlen
    have = n - 34 - hlen
    captured = length if have >= length else (have if have > 0 else 0)
    return _segment(frame, 0.0, src, dst, sport, dport, seq, ack,
                    flagbyte | ((offbyte & 1) << 8), win, length, None, None, False, (),
                    tsval, tsecr, False, False, ip_id, ttl, captured, urg)


def _u16(data: bytes, off: int) -> int:
    """The big-endian 16-bit number at data[off] (inline C in the compiled build)."""
    return (data[off] << 8) | data[off + 1]


def _u32(data: bytes, off: int) -> int:
    """The big-endian 32-bit number at data[off] (inline C in the compiled build)."""
    high = data[off]  # a 64-bit C integer in the compiled build: the shift cannot overflow
    return (high << 24) | (data[off + 1] << 16) | (data[off + 2] << 8) | data[off + 3]


def _be16(view: bytes, off: int) -> int:
    """_u16 for the hot paths: in the compiled build `view` is a C pointer into a bytes
    object whose length the caller has checked, and no bounds check is made."""
    return (view[off] << 8) | view[off + 1]


def _be32(view: bytes, off: int) -> int:
    """_u32 for the hot paths (see _be16)."""
    high = view[off]  # a 64-bit C integer in the compiled build: the shift cannot overflow
    return (high << 24) | (view[off + 1] << 16) | (view[off + 2] << 8) | view[off + 3]


# Recently seen addresses, in the compiled build: slot -> the bytes object handed out.
# 1024 slots per address family: a capture of a few hundred hosts then finds most of
# its addresses here (64 slots missed on most packets of 200 interleaved flows, and a
# miss makes a bytes object and hashes it again for the flow table).
_ADDR_SLOTS = 1024
_ADDRS = [b""] * (2 * _ADDR_SLOTS)


def _addr(view: bytes, off: int, size: int) -> bytes:
    """view[off:off + size], an address the caller has checked is there.

    The compiled build (`view` a C pointer) hands out the same bytes object again for an
    address seen recently (a small direct-mapped cache): no allocation, and the object
    keeps its cached hash for the flow table's dictionary lookups.  Equal bytes either way.
    """
    if cython.compiled:
        # the last three bytes, folded: hosts usually differ there
        low = view[off + size - 1] | view[off + size - 2] << 8 | view[off + size - 3] << 16
        slot = (low ^ low >> 10 ^ low >> 20) & (_ADDR_SLOTS - 1)
        if size == 16:
            slot += _ADDR_SLOTS
        cached = _ADDRS[slot]
        if len(cached) == size:
            cview = cached
            if size == 4:  # four byte compares: cheaper than a call of memcmp
                if (view[off] == cview[0] and view[off + 1] == cview[1]
                        and view[off + 2] == cview[2] and view[off + 3] == cview[3]):
                    return cached
            elif memcmp(view + off, cview, size) == 0:
                return cached
        addr = view[off:off + size]
        _ADDRS[slot] = addr
        return addr
    return view[off:off + size]


def _seconds(ts_ns: int) -> float:
    """ts_ns / 1e9.  The compiled build converts a timestamp that fits 64 bits in C: the
    same correctly rounded double as Python's int / float, without the slow generic
    int-to-float conversion.  Larger ones (hostile pcapng time resolutions) and
    non-int values take Python's way."""
    if cython.compiled and type(ts_ns) is int:
        overflow = 0
        ns = PyLong_AsLongLongAndOverflow(ts_ns, cython.address(overflow))
        if not overflow:
            return ns / 1e9
    return ts_ns / 1e9


def _u32_pair(data: bytes, off: int) -> tuple[int, int]:
    """The two big-endian 32-bit numbers at data[off] (a timestamp or SACK block)."""
    if cython.compiled:
        return _u32(data, off), _u32(data, off + 4)
    return _TS(data, off)


_SPARE: Segment | None = None  # compiled: the Segment _segment() may fill again


def _segment(frame: int, ts: float, src: bytes, dst: bytes, sport: int, dport: int, seq: int,
             ack: int, flags: int, win: int, length: int, mss: int | None,
             wscale: int | None, sack_perm: bool, sacks: tuple, tsval: int,
             tsecr: int, tfo: bool, mptcp: bool, ip_id: int, ttl: int,
             captured: int, urg: int) -> Segment:
    """A Segment.  Filled field by field rather than through Segment(...):
    in the compiled build these are C stores into the typed fields (no argument tuple,
    no boxing of the integers), and in Python it is no slower than the constructor.
    `tsval`, `tsecr`, `ip_id` and `ttl` are -1 when absent (Segment's raw_ fields).

    Compiled, the Segment handed out last is filled again when nothing but this module
    holds it any more (the packet loop drops its references at the end of a packet):
    no object is made and destroyed per packet.  Whoever keeps a segment keeps it as it
    is: its count of references is then above one and a new Segment is made."""
    global _SPARE
    if cython.compiled:
        # (read through a pointer: an object argument would count a reference more)
        if _SPARE is not None and _Py_REFCNT(cython.cast(cython.pointer(PyObject), _SPARE)) == 1:
            seg = _SPARE
        else:
            seg = Segment.__new__(Segment)
            _SPARE = seg
    else:
        seg = Segment.__new__(Segment)
    seg.frame = frame
    seg.ts = ts
    seg.src = src
    seg.dst = dst
    seg.sport = sport
    seg.dport = dport
    seg.seq = seq
    seg.ack = ack
    seg.flags = flags
    seg.win = win
    seg.length = length
    seg.mss = mss
    seg.wscale = wscale
    seg.sack_perm = sack_perm
    seg.sacks = sacks
    seg.raw_tsval = tsval
    seg.raw_tsecr = tsecr
    seg.tfo = tfo
    seg.mptcp = mptcp
    seg.raw_ip_id = ip_id
    seg.raw_ttl = ttl
    seg.captured_payload = captured
    seg.urg_ptr = urg
    return seg


# --- link layers ------------------------------------------------------------------------
def _ether_type(raw: RawPacket, data: bytes, etype: int, off: int, depth: int) -> Segment | str:
    """Dispatch on an ethertype found at data[off - 2]; follows VLAN tags, MPLS, PPPoE."""
    n = len(data)
    while etype in (0x8100, 0x88A8, 0x9100):  # 802.1Q / 802.1ad (QinQ) / old QinQ
        if n < off + 4:
            return "truncated"
        etype = _u16(data, off + 2)
        off += 4
        depth += 1
        if depth > 8:
            return "malformed"
    if etype == 0x0800:
        return _ipv4(raw, data, off, depth)
    if etype == 0x86DD:
        return _ipv6(raw, data, off, depth)
    if etype < 0x0600:  # 802.3 length field: LLC follows; only SNAP carries IP
        if n < off + 8:
            return "truncated" if n < off + 3 else "non_ip"
        if data[off:off + 3] == b"\xaa\xaa\x03" and depth < 8:
            return _ether_type(raw, data, _u16(data, off + 6), off + 8, depth + 1)
        return "non_ip"
    if etype in (0x8847, 0x8848):  # MPLS: skip the label stack, guess IP by version
        for _ in range(16):
            if n < off + 4:
                return "truncated"
            bottom = data[off + 2] & 1
            off += 4
            if bottom:
                break
        else:
            return "malformed"
        if n <= off:
            return "truncated"
        return _ip_by_version(raw, data, off, depth + 1)
    if etype == 0x8864:  # PPPoE session: 6-byte header, then a PPP protocol number
        if n < off + 8:
            return "truncated"
        return _ppp_proto(raw, data, _u16(data, off + 6), off + 8, depth + 1)
    return "non_ip"


def _ip_by_version(raw: RawPacket, data: bytes, off: int, depth: int) -> Segment | str:
    if len(data) <= off:
        return "truncated"
    version = data[off] >> 4
    if version == 4:
        return _ipv4(raw, data, off, depth)
    if version == 6:
        return _ipv6(raw, data, off, depth)
    return "non_ip"


def _ppp_proto(raw: RawPacket, data: bytes, proto: int, off: int, depth: int) -> Segment | str:
    if proto == 0x0021:
        return _ipv4(raw, data, off, depth)
    if proto == 0x0057:
        return _ipv6(raw, data, off, depth)
    if proto == 0x0281 and depth < _MAX_DEPTH:  # MPLS unicast over PPP
        return _ether_type(raw, data, 0x8847, off, depth + 1)
    return "non_ip"


def _link_raw(raw: RawPacket, data: bytes) -> Segment | str:
    return _ip_by_version(raw, data, 0, 0)


def _link_ipv4(raw: RawPacket, data: bytes) -> Segment | str:
    return _ipv4(raw, data, 0, 0)


def _link_ipv6(raw: RawPacket, data: bytes) -> Segment | str:
    return _ipv6(raw, data, 0, 0)


def _af(raw: RawPacket, data: bytes, family: int) -> Segment | str:
    if family == 2:
        return _ipv4(raw, data, 4, 0)
    if family in _AF_INET6:
        return _ipv6(raw, data, 4, 0)
    return "non_ip"


def _link_null(raw: RawPacket, data: bytes) -> Segment | str:
    # DLT_NULL: address family in the capturing host's byte order
    if len(data) < 4:
        return "truncated"
    family = _U32LE(data, 0)[0]
    if family > 0xFFFF:
        family = _u32(data, 0)
    return _af(raw, data, family)


def _link_loop(raw: RawPacket, data: bytes) -> Segment | str:
    # DLT_LOOP: address family always in network byte order
    if len(data) < 4:
        return "truncated"
    return _af(raw, data, _u32(data, 0))


def _link_sll(raw: RawPacket, data: bytes) -> Segment | str:
    if len(data) < 16:
        return "truncated"
    return _ether_type(raw, data, _u16(data, 14), 16, 0)


def _link_sll2(raw: RawPacket, data: bytes) -> Segment | str:
    if len(data) < 20:
        return "truncated"
    return _ether_type(raw, data, _u16(data, 0), 20, 0)


def _link_ppp(raw: RawPacket, data: bytes) -> Segment | str:
    return _ppp_at(raw, data, 0, 0)


def _ppp_at(raw: RawPacket, data: bytes, off: int, depth: int) -> Segment | str:
    # PPP in HDLC-like framing; address/control and protocol-field compression allowed
    n = len(data)
    if data[off:off + 2] == b"\xff\x03":
        off += 2
    if n < off + 1:
        return "truncated"
    if data[off] & 1:  # compressed one-byte protocol number
        return _ppp_proto(raw, data, data[off], off + 1, depth)
    if n < off + 2:
        return "truncated"
    return _ppp_proto(raw, data, _u16(data, off), off + 2, depth)


def _link_pppoe(raw: RawPacket, data: bytes) -> Segment | str:
    if len(data) < 8:
        return "truncated"
    return _ppp_proto(raw, data, _u16(data, 6), 8, 0)


def _link_chdlc(raw: RawPacket, data: bytes) -> Segment | str:
    if len(data) < 4:
        return "truncated"
    return _ether_type(raw, data, _u16(data, 2), 4, 0)


def _link_ipoib(raw: RawPacket, data: bytes) -> Segment | str:
    # LINKTYPE_IPOIB: a 40-byte pseudo header (addresses), then type (2) and reserved (2)
    if len(data) < 44:
        return "truncated"
    return _ether_type(raw, data, _u16(data, 40), 44, 0)


def _link_juniper_ether(raw: RawPacket, data: bytes) -> Segment | str:
    # "MGC" magic, flags; with the extension flag a 2-byte length of TLVs follows;
    # then the Ethernet frame (unless the no-L2 flag is set)
    n = len(data)
    if n < 4:
        return "truncated"
    if data[:3] != b"MGC":
        return "non_ip"
    jflags = data[3]
    off = 4
    if jflags & 0x80:
        if n < 6:
            return "truncated"
        off = 6 + _u16(data, 4)
    if jflags & 0x02:
        return _ip_by_version(raw, data, off, 0)
    if n < off + 14:
        return "truncated"
    return _ether_type(raw, data, _u16(data, off + 12), off + 14, 0)


def _link_arcnet_linux(raw: RawPacket, data: bytes) -> Segment | str:
    # source (1), destination (1), offset (2), protocol id (1), then per RFC 1201 a split
    # flag (1) and a sequence number (2); exception packets repeat 4 more bytes.
    n = len(data)
    if n < 5:
        return "truncated"
    proto = data[4]
    if proto == 0xF0:  # RFC 1051 IP
        return _ipv4(raw, data, 5, 0)
    if proto in (0xD4, 0xC4):  # RFC 1201 IP / IPv6
        if n < 8:
            return "truncated"
        off = 12 if data[5] == 0xFF else 8
        return _ip_by_version(raw, data, off, 0)
    return "non_ip"


def _link_fddi(raw: RawPacket, data: bytes) -> Segment | str:
    # frame control (1), destination (6), source (6), then 802.2 LLC/SNAP
    n = len(data)
    if n < 16:
        return "truncated"
    if data[13:16] != b"\xaa\xaa\x03":
        return "non_ip"
    if n < 21:
        return "truncated"
    return _ether_type(raw, data, _u16(data, 19), 21, 0)


def _link_radiotap(raw: RawPacket, data: bytes) -> Segment | str:
    if len(data) < 4:
        return "truncated"
    return _ieee80211(raw, data, _U16LE(data, 2)[0])


def _link_80211(raw: RawPacket, data: bytes) -> Segment | str:
    return _ieee80211(raw, data, 0)


def _ieee80211(raw: RawPacket, data: bytes, off: int) -> Segment | str:
    # Only unprotected data frames with an LLC/SNAP header can carry IP.
    n = len(data)
    if n < off + 24:
        return "truncated"
    fc0, fc1 = data[off], data[off + 1]
    if (fc0 >> 2) & 3 != 2:  # not a data frame
        return "non_ip"
    if fc1 & 0x40:  # protected: encrypted payload
        return "non_ip"
    subtype = fc0 >> 4
    if subtype & 4:  # null-function frames carry no payload
        return "non_ip"
    hlen = 24
    if fc1 & 3 == 3:  # ToDS and FromDS: a fourth address
        hlen += 6
    if subtype & 8:  # QoS data: QoS control field
        hlen += 2
        if fc1 & 0x80:  # order bit on a QoS frame: HT control field
            hlen += 4
    llc = off + hlen
    if n < llc + 8:
        return "truncated"
    if data[llc:llc + 3] != b"\xaa\xaa\x03":
        return "non_ip"
    return _ether_type(raw, data, _u16(data, llc + 6), llc + 8, 0)


def _link_ether(raw: RawPacket, data: bytes) -> Segment | str:
    if len(data) < 14:
        return "truncated"
    return _ether_type(raw, data, _u16(data, 12), 14, 0)


_LINK = {
    0: _link_null,
    9: _link_ppp,
    10: _link_fddi,
    12: _link_raw,
    14: _link_raw,
    50: _link_ppp,  # PPP in HDLC framing
    51: _link_pppoe,
    101: _link_raw,
    104: _link_chdlc,
    105: _link_80211,
    108: _link_loop,
    113: _link_sll,
    127: _link_radiotap,
    178: _link_juniper_ether,
    129: _link_arcnet_linux,
    228: _link_ipv4,
    229: _link_ipv6,
    242: _link_ipoib,
    276: _link_sll2,
}


# --- IP -----------------------------------------------------------------------------------
def _wire_end(raw: RawPacket, data: bytes) -> int:
    """How many bytes the frame had on the wire (the capture may hold fewer)."""
    wire = raw.wirelen
    n = len(data)
    return wire if wire > n else n


def _ipv4(raw: RawPacket, data: bytes, off: int, depth: int) -> Segment | str:
    n = len(data)
    if n < off + 20:
        return "truncated"
    if cython.compiled:
        view = data  # a C pointer: the 20 bytes are there
        vihl, total, ip_id, frag = view[off], _be16(view, off + 2), _be16(view, off + 4), \
            _be16(view, off + 6)
        ttl, proto, src, dst = view[off + 8], view[off + 9], _addr(data, off + 12, 4), \
            _addr(data, off + 16, 4)
    else:
        vihl, total, ip_id, frag, ttl, proto, src, dst = _IPV4(data, off)
    ihl = (vihl & 15) << 2
    if vihl >> 4 != 4 or ihl < 20:
        return "malformed"
    if n < off + ihl:
        return "truncated"
    wire_len = _wire_end(raw, data) - off
    if total == 0:  # TSO super-frame captured on the sender: trust the frame length
        total = wire_len
    elif total < ihl:
        return "malformed"
    elif total > wire_len:  # clipped to the frame, as tshark does
        total = wire_len
    if frag & 0x3FFF:  # more-fragments flag or a fragment offset
        return "fragment"
    toff = off + ihl
    if proto == 6:
        return _tcp(raw, data, toff, total - ihl, src, dst, ip_id, ttl)
    if depth < _MAX_DEPTH:
        if proto == 17:
            return _udp(raw, data, toff, depth + 1)
        if proto == 4:
            return _ipv4(raw, data, toff, depth + 1)
        if proto == 41:
            return _ipv6(raw, data, toff, depth + 1)
        if proto == 47:
            return _gre(raw, data, toff, depth + 1)
    return "non_tcp"


# IPv6 extension headers whose length is (hdr[1] + 1) * 8
_EXT_8 = frozenset((0, 43, 60, 135, 139, 140))


def _ipv6(raw: RawPacket, data: bytes, off: int, depth: int) -> Segment | str:
    n = len(data)
    if n < off + 40:
        return "truncated"
    if cython.compiled:
        view = data  # a C pointer: the 40 bytes are there
        version, plen, nxt, hlim = view[off] >> 4, _be16(view, off + 4), view[off + 6], \
            view[off + 7]
        src, dst = _addr(data, off + 8, 16), _addr(data, off + 24, 16)
    else:
        vtcfl, plen, nxt, hlim, src, dst = _IPV6(data, off)
        version = vtcfl >> 28
    if version != 6:
        return "malformed"
    wire_len = _wire_end(raw, data) - off - 40
    if plen == 0 or plen > wire_len:  # jumbogram / BIG TCP / TSO, or clipped to frame
        plen = wire_len
    end = off + 40 + plen
    p = off + 40
    for _ in range(16):
        if nxt == 6:
            return _tcp(raw, data, p, end - p, src, dst, -1, hlim)  # -1: no IP id
        if nxt in _EXT_8:
            if n < p + 2:
                return "truncated"
            nxt, hl = data[p], (data[p + 1] + 1) << 3
        elif nxt == 44:  # fragment header
            if n < p + 8:
                return "truncated"
            if _u16(data, p + 2) & 0xFFF9:  # offset or M flag: a real fragment
                return "fragment"
            nxt, hl = data[p], 8  # atomic fragment: the whole datagram is here
        elif nxt == 51:  # authentication header
            if n < p + 2:
                return "truncated"
            nxt, hl = data[p], (data[p + 1] + 2) << 2
        elif depth < _MAX_DEPTH and nxt == 17:
            return _udp(raw, data, p, depth + 1)
        elif depth < _MAX_DEPTH and nxt == 41:
            return _ipv6(raw, data, p, depth + 1)
        elif depth < _MAX_DEPTH and nxt == 4:
            return _ipv4(raw, data, p, depth + 1)
        elif depth < _MAX_DEPTH and nxt == 47:
            return _gre(raw, data, p, depth + 1)
        else:
            return "non_tcp"
        p += hl
        if p > end:
            return "malformed"
    return "malformed"


def _gre(raw: RawPacket, data: bytes, off: int, depth: int) -> Segment | str:
    n = len(data)
    if n < off + 4:
        return "truncated"
    flags, proto = _u16(data, off), _u16(data, off + 2)
    version = flags & 7
    hlen = 4
    if version == 0:
        if flags & 0x8000:  # checksum present
            hlen += 4
        if flags & 0x2000:  # key
            hlen += 4
        if flags & 0x1000:  # sequence number
            hlen += 4
    elif version == 1:  # enhanced GRE (PPTP): key always, optional seq and ack
        hlen += 4
        if flags & 0x1000:
            hlen += 4
        if flags & 0x0080:
            hlen += 4
    else:
        return "non_tcp"
    p = off + hlen
    if n < p:
        return "truncated"
    if proto == 0x6558:  # transparent Ethernet bridging
        if n < p + 14:
            return "truncated"
        return _ether_type(raw, data, _u16(data, p + 12), p + 14, depth)
    if proto == 0x880B:  # PPP
        return _ppp_at(raw, data, p, depth)
    if proto == 0x88BE:  # ERSPAN type II (sequence bit set) or type I (no header)
        if flags & 0x1000:
            p += 8
        if n < p + 14:
            return "truncated"
        return _ether_type(raw, data, _u16(data, p + 12), p + 14, depth)
    if proto == 0x883E:  # WCCP redirect header, then IP
        return _ip_by_version(raw, data, p + 4, depth)
    result = _ether_type(raw, data, proto, p, depth)
    return "non_tcp" if result == "non_ip" else result


def _udp(raw: RawPacket, data: bytes, off: int, depth: int) -> Segment | str:
    """UDP: only tunnels that carry whole frames or datagrams (tshark decodes TCP inside
    them, on the standard ports) are followed; everything else is non_tcp."""
    n = len(data)
    if n < off + 8:
        return "non_tcp"
    sport, dport = _u16(data, off), _u16(data, off + 2)
    p = off + 8
    result = "non_tcp"
    if dport == 4789 or sport == 4789:  # VXLAN: 8-byte header, then Ethernet
        if n >= p + 22:
            result = _ether_type(raw, data, _u16(data, p + 20), p + 22, depth)
    elif dport == 6081 or sport == 6081:  # Geneve: options length in 4-byte words
        if n >= p + 8:
            proto = _u16(data, p + 2)
            q = p + 8 + ((data[p] & 0x3F) << 2)
            if proto == 0x6558:
                if n >= q + 14:
                    result = _ether_type(raw, data, _u16(data, q + 12), q + 14, depth)
            else:
                result = _ether_type(raw, data, proto, q, depth)
    elif dport == 2152 or sport == 2152:  # GTP-U G-PDU: the user's IP datagram
        if n >= p + 8 and data[p] >> 5 == 1 and data[p + 1] == 0xFF:
            q = p + 8
            gflags = data[p]
            if gflags & 0x07:
                q += 4
                nxt = data[q - 1] if gflags & 0x04 else 0
                for _ in range(8):  # extension headers: length in 4-byte units
                    if not nxt or n <= q:
                        break
                    elen = data[q] << 2
                    if elen == 0 or n < q + elen:
                        return "non_tcp"
                    nxt = data[q + elen - 1]
                    q += elen
            result = _ip_by_version(raw, data, q, depth)
    elif (dport == 1701 or sport == 1701) and n >= p + 6:  # L2TPv2 data carrying PPP
        lflags = _u16(data, p)
        if lflags & 0x8000 == 0 and lflags & 0xF == 2:
            q = p + 6 + (2 if lflags & 0x4000 else 0) + (4 if lflags & 0x0800 else 0)
            if lflags & 0x0200 and n >= q + 2:
                q += 2 + _u16(data, q)
            result = _ppp_at(raw, data, q, depth)
    return "non_tcp" if result == "non_ip" else result


# --- TCP ----------------------------------------------------------------------------------
def _tcp(raw: RawPacket, data: bytes, off: int, ip_payload: int, src: bytes, dst: bytes,
         ip_id: int, ttl: int) -> Segment | str:
    """The TCP segment at data[off:]; `ip_id` is -1 for IPv6 (no identification)."""
    n = len(data)
    if n < off + 20:
        if n < off + 16:
            return "truncated"
        # cut inside the checksum/urgent pointer: every field the analysis needs is
        # there (ports, sequence, ack, offset, flags, window), so keep the segment
        if cython.compiled:
            view = data  # a C pointer: the 16 bytes are there
            sport, dport, seq, ack = _be16(view, off), _be16(view, off + 2), \
                _be32(view, off + 4), _be32(view, off + 8)
            offbyte, flagbyte, win = view[off + 12], view[off + 13], _be16(view, off + 14)
        else:
            sport, dport, seq, ack, offbyte, flagbyte, win = _TCP16(data, off)
        hlen = (offbyte >> 4) << 2
        if hlen < 20 or ip_payload < 20:
            return "malformed"
        return _segment(raw.frame, _seconds(raw.ts_ns), src, dst, sport, dport, seq, ack,
                        flagbyte | ((offbyte & 1) << 8), win, max(0, ip_payload - hlen),
                        None, None, False, (), -1, -1, False, False, ip_id, ttl, 0, 0)
    if cython.compiled:
        view = data  # a C pointer: the 20 bytes are there
        sport, dport, seq, ack = _be16(view, off), _be16(view, off + 2), \
            _be32(view, off + 4), _be32(view, off + 8)
        offbyte, flagbyte, win, urg = view[off + 12], view[off + 13], _be16(view, off + 14), \
            _be16(view, off + 18)
    else:
        sport, dport, seq, ack, offbyte, flagbyte, win, urg = _TCP(data, off)
    hlen = (offbyte >> 4) << 2
    if hlen < 20 or ip_payload < 20:
        return "malformed"
    if hlen > ip_payload:
        # header claims more than the datagram holds (tshark: "short segment"): keep the
        # fixed header and the options that fit, with no payload
        hlen = ip_payload
    length = ip_payload - hlen
    have = n - off - hlen
    captured = length if have >= length else (have if have > 0 else 0)
    flags = flagbyte | ((offbyte & 1) << 8)
    if hlen == 20:
        return _segment(raw.frame, _seconds(raw.ts_ns), src, dst, sport, dport, seq, ack,
                        flags, win, length, None, None, False, (), -1, -1, False, False,
                        ip_id, ttl, captured, urg)
    ostart = off + 20
    oend = off + hlen
    if oend > n:
        oend = n  # options cut by the snaplen: keep what is there
    if hlen == 32 and oend - ostart == 12 and (
            _be32(view, ostart) == 0x0101080A if cython.compiled  # no slice object in C
            else data[ostart:ostart + 4] == _NOP_NOP_TS):
        # the usual data-segment layout: NOP NOP TS (all 12 bytes there)
        if cython.compiled:
            tsval, tsecr = _be32(view, ostart + 4), _be32(view, ostart + 8)
        else:
            tsval, tsecr = _TS(data, ostart + 4)
        return _segment(raw.frame, _seconds(raw.ts_ns), src, dst, sport, dport, seq, ack,
                        flags, win, length, None, None, False, (), tsval, tsecr, False,
                        False, ip_id, ttl, captured, urg)
    mss = wscale = None
    tsval = tsecr = -1  # absent
    sack_perm = tfo = mptcp = False
    sacks: tuple[tuple[int, int], ...] = ()
    p = ostart
    while p < oend:
        kind = data[p]
        if kind == 1:
            p += 1
            continue
        if kind == 0 or p + 1 >= oend:
            break
        olen = data[p + 1]
        if olen < 2 or p + olen > oend:
            break  # bogus or cut-off option: stop parsing, keep what we have
        if kind == 8 and olen == 10:
            tsval, tsecr = _u32_pair(data, p + 2)
        elif kind == 5:
            k = (olen - 2) >> 3
            sacks = tuple([_u32_pair(data, p + 2 + 8 * i) for i in range(k)])
        elif kind == 2 and olen == 4:
            mss = _u16(data, p + 2)
        elif kind == 3 and olen == 3:
            wscale = data[p + 2]
        elif kind == 4:
            sack_perm = True
        elif kind == 34:
            tfo = True
        elif kind == 254 and olen >= 4 and _u16(data, p + 2) == 0xF989:
            tfo = True  # experimental TFO option (RFC 7413 section 4.1.1)
        elif kind == 30:
            mptcp = True
        p += olen
    return _segment(raw.frame, _seconds(raw.ts_ns), src, dst, sport, dport, seq, ack, flags,
                    win, length, mss, wscale, sack_perm, sacks, tsval, tsecr, tfo, mptcp,
                    ip_id, ttl, captured, urg)


def common_frame_ports(view: bytes, n: int, wire: int) -> int:
    """The port pair (sport << 16 | dport) of a frame that _ether_ipv4_tcp decodes, or -1
    for any other frame: the same checks, without building the Segment.  A reader that
    wants some connections only skips the frames of the others with it (the report's
    second pass).  `n` is at least 54; `view` as for _ether_ipv4_tcp."""
    etype, vihl, total, frag, proto = _be16(view, 12), view[14], _be16(view, 16), \
        _be16(view, 20), view[23]
    if etype != 0x0800 or vihl != 0x45 or proto != 6 or frag & 0x3FFF:
        return -1
    ipmax = (wire if wire > n else n) - 14
    if total == 0 or total > ipmax:
        total = ipmax
    hlen = (view[46] >> 4) << 2
    if hlen < 20 or hlen > total - 20:
        return -1
    if hlen != 20 and not (hlen == 32 and n >= 66 and _be32(view, 54) == 0x0101080A):
        return -1
    return _be16(view, 34) << 16 | _be16(view, 36)
