"""decode() on hand-built frames: link layers, IP variants, TCP options, edge cases."""

from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from make_broken_captures import IP_A, IP_B, ether, ipv4, ipv6, tcp_header

from tcpforensics.io import decode
from tcpforensics.model import ACK, NS, PSH, SKIP_REASONS, SYN, RawPacket, Segment

TS = 1_700_000_000_250_000_000
V6_A = b"\x20\x01" + b"\x00" * 13 + b"\x01"
V6_B = b"\x20\x01" + b"\x00" * 13 + b"\x02"


def raw(data: bytes, linktype: int = 1, wirelen: int | None = None, frame: int = 7
        ) -> RawPacket:
    return RawPacket(frame, TS, linktype, len(data), len(data) if wirelen is None else wirelen,
                     data)


def seg(data: bytes, linktype: int = 1, wirelen: int | None = None) -> Segment:
    result = decode(raw(data, linktype, wirelen))
    assert isinstance(result, Segment), result
    return result


TCP = tcp_header(sport=40000, dport=5001, seq=0xFFFFFFF0, ack=77, flags=ACK | PSH, win=501,
                 urg=9)
PAYLOAD = b"hello, world"


# --- the common case ------------------------------------------------------------------------
def test_ethernet_ipv4_tcp_fields() -> None:
    s = seg(ether(ipv4(TCP + PAYLOAD, ip_id=4242, ttl=63)))
    assert (s.frame, s.ts) == (7, TS / 1e9)
    assert (s.src, s.dst, s.sport, s.dport) == (IP_A, IP_B, 40000, 5001)
    assert (s.seq, s.ack, s.flags, s.win, s.urg_ptr) == (0xFFFFFFF0, 77, ACK | PSH, 501, 9)
    assert (s.length, s.captured_payload, s.ip_id, s.ttl) == (12, 12, 4242, 63)
    assert s.mss is None and s.tsval is None and s.sacks == () and not s.sack_perm


def test_ethernet_padding_does_not_count_as_payload() -> None:
    frame = ether(ipv4(TCP)) + b"\x00" * 6  # padded to the 60-byte minimum
    s = seg(frame)
    assert (s.length, s.captured_payload) == (0, 0)


def test_snaplen_cut_payload_keeps_ip_length() -> None:
    frame = ether(ipv4(TCP + b"z" * 1400))
    s = seg(frame[:54 + 10], wirelen=len(frame))
    assert (s.length, s.captured_payload) == (1400, 10)


def test_tso_zero_total_length_uses_frame_length() -> None:
    frame = ether(ipv4(TCP + b"z" * 5000, total=0))
    s = seg(frame[:200], wirelen=len(frame))
    assert s.length == 5000 and s.captured_payload == 200 - 54


def test_total_length_beyond_frame_is_clipped() -> None:
    frame = ether(ipv4(TCP + PAYLOAD, total=20 + 20 + 900))
    assert seg(frame).length == len(PAYLOAD)


# --- link layers ------------------------------------------------------------------------------
IP4 = ipv4(TCP + PAYLOAD)
IP6 = ipv6(TCP + PAYLOAD)


@pytest.mark.parametrize("frame,linktype,src", [
    (ether(IP4), 1, IP_A),
    (ether(struct.pack("!HH", 0x0064, 0x0800) + IP4, 0x8100), 1, IP_A),
    (ether(struct.pack("!HHHH", 10, 0x8100, 20, 0x0800) + IP4, 0x88A8), 1, IP_A),
    (ether(struct.pack("!HHHH", 10, 0x8100, 20, 0x86DD) + IP6, 0x9100), 1, V6_A),
    (ether(IP6, 0x86DD), 1, V6_A),
    (ether(b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + IP4, len(IP4) + 8), 1, IP_A),  # 802.3+SNAP
    (ether(struct.pack("!I", (16 << 12) | 0x100 | 64) + IP4, 0x8847), 1, IP_A),  # MPLS
    (ether(struct.pack("!BBHHH", 0x11, 0, 1, len(IP4) + 2, 0x0021) + IP4, 0x8864), 1, IP_A),
    (struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, 0x0800) + IP4, 113, IP_A),  # SLL
    (struct.pack("!HHH8sH", 0, 1, 6, b"\x02" * 8, 0x86DD) + IP6, 113, V6_A),
    (struct.pack("!HHIHBB8s", 0x0800, 0, 2, 1, 0, 6, b"\x02" * 8) + IP4, 276, IP_A),
    (struct.pack("<I", 2) + IP4, 0, IP_A),  # null, little-endian host
    (struct.pack(">I", 2) + IP4, 0, IP_A),  # null, big-endian host
    (struct.pack("<I", 24) + IP6, 0, V6_A),  # NetBSD/OpenBSD AF_INET6
    (struct.pack("<I", 28) + IP6, 0, V6_A),  # FreeBSD
    (struct.pack("<I", 30) + IP6, 0, V6_A),  # Darwin
    (struct.pack(">I", 2) + IP4, 108, IP_A),  # OpenBSD loop: network order
    (struct.pack(">I", 24) + IP6, 108, V6_A),
    (IP4, 101, IP_A), (IP6, 101, V6_A), (IP4, 12, IP_A), (IP4, 14, IP_A),
    (IP4, 228, IP_A), (IP6, 229, V6_A),
    (b"\xff\x03\x00\x21" + IP4, 9, IP_A),  # PPP, HDLC framing
    (b"\x21" + IP4, 9, IP_A),  # PPP, address/control and protocol compressed
    (b"\xff\x03\x00\x57" + IP6, 9, V6_A),
    (struct.pack("!BBHHH", 0x11, 0, 1, len(IP4) + 2, 0x0021) + IP4, 51, IP_A),  # PPPoE
    (b"\x0f\x00\x08\x00" + IP4, 104, IP_A),  # Cisco HDLC
    (b"\x50" + b"\x00" * 12 + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + IP4, 10, IP_A),  # FDDI
], ids=lambda v: f"lt{v}" if isinstance(v, int) else "")
def test_link_layers(frame: bytes, linktype: int, src: bytes) -> None:
    s = seg(frame, linktype)
    assert s.src == src and s.sport == 40000 and s.length == len(PAYLOAD)


def test_radiotap_80211_qos_data_frame() -> None:
    radiotap = struct.pack("<BBHI", 0, 0, 8, 0)
    mac = struct.pack("<BBH6s6s6sH", 0x88, 0x01, 0, b"\x01" * 6, b"\x02" * 6, b"\x03" * 6, 0)
    qos = b"\x00\x00"
    frame = radiotap + mac + qos + b"\xaa\xaa\x03\x00\x00\x00\x08\x00" + IP4
    assert seg(frame, 127).dport == 5001
    protected = radiotap + mac[:1] + b"\x41" + mac[2:] + qos + b"\x00" * 30
    assert decode(raw(protected, 127)) == "non_ip"


# --- IP variants ---------------------------------------------------------------------------------
def test_ipv4_options() -> None:
    opts = b"\x94\x04\x00\x00" + b"\x01\x01\x01\x00"  # router alert, NOPs, EOL
    s = seg(ether(ipv4(TCP + PAYLOAD, options=opts)))
    assert s.length == len(PAYLOAD) and s.dport == 5001


def test_ipv6_extension_headers() -> None:
    tail = TCP + PAYLOAD
    dest = struct.pack("!BB", 6, 0) + b"\x01\x04\x00\x00\x00\x00"  # dest-opts -> TCP
    ah = struct.pack("!BBHII", 60, 4, 0, 0x100, 1) + b"\x00" * 12  # AH (24 bytes) -> dest
    routing = struct.pack("!BBBB", 51, 0, 0, 0) + b"\x00" * 4  # routing -> AH
    hop = struct.pack("!BB", 43, 0) + b"\x01\x04\x00\x00\x00\x00"  # hop-by-hop -> routing
    s = seg(ether(ipv6(hop + routing + ah + dest + tail, nxt=0), 0x86DD))
    assert (s.src, s.length, s.ttl, s.ip_id) == (V6_A, len(PAYLOAD), 64, None)


def test_ipv6_atomic_fragment_is_a_segment_real_fragment_is_not() -> None:
    atomic = struct.pack("!BBHI", 6, 0, 0, 99)
    assert seg(ether(ipv6(atomic + TCP + PAYLOAD, nxt=44), 0x86DD)).length == len(PAYLOAD)
    first = struct.pack("!BBHI", 6, 0, 1, 99)  # offset 0, M=1
    later = struct.pack("!BBHI", 6, 0, 8 << 3, 99)  # offset 8, M=0
    for frag in (first, later):
        assert decode(raw(ether(ipv6(frag + TCP + PAYLOAD, nxt=44), 0x86DD))) == "fragment"


def test_ipv6_zero_payload_length_uses_frame_length() -> None:
    body = TCP + b"q" * 3000
    frame = ether(ipv6(body, plen=0), 0x86DD)
    assert seg(frame[:300], wirelen=len(frame)).length == 3000


@pytest.mark.parametrize("frag,expected", [
    (0x2000, "fragment"),  # MF, offset 0: first fragment
    (0x0010, "fragment"),  # offset 128 bytes, last fragment
    (0x4000, "tcp"),  # DF only
    (0x0000, "tcp"),
])
def test_ipv4_fragments(frag: int, expected: str) -> None:
    result = decode(raw(ether(ipv4(TCP + PAYLOAD, frag=frag))))
    assert (result if isinstance(result, str) else "tcp") == expected


@pytest.mark.parametrize("frame,linktype,bucket", [
    (ether(b"\x00\x01\x08\x00\x06\x04\x00\x01" + b"\x00" * 20, 0x0806), 1, "non_ip"),  # ARP
    (ether(ipv4(b"\x00" * 8 + b"data", proto=17)), 1, "non_tcp"),  # UDP
    (ether(ipv4(b"\x08\x00" + b"\x00" * 10, proto=1)), 1, "non_tcp"),  # ICMP
    (ether(ipv6(b"", nxt=59), 0x86DD), 1, "non_tcp"),  # no next header
    (b"\x00" * 40, 147, "non_ip"),  # a user link type we do not decode
    (ether(IP4)[:20], 1, "truncated"),  # IP header cut
    (ether(IP4)[:13], 1, "truncated"),  # Ethernet header cut
    (ether(IP4)[:34 + 10], 1, "truncated"),  # TCP header cut after 10 bytes
    (ether(IP4)[:34 + 15], 1, "truncated"),  # cut inside the window field
    (ether(b"\x55" + IP4[1:]), 1, "malformed"),  # IPv4 ethertype, version 5
    (ether(b"\x44" + IP4[1:]), 1, "malformed"),  # IHL 4
    (ether(ipv4(TCP, total=10)), 1, "malformed"),  # total length below the header
    (ether(ipv4(tcp_header(doff=3) + PAYLOAD)), 1, "malformed"),  # data offset < 5
    (ether(ipv4(TCP[:12], total=32)) + b"\x00" * 8, 1, "malformed"),  # IP payload < 20
    (b"\x00" * 10, 113, "truncated"),
    (struct.pack("<I", 99) + IP4, 0, "non_ip"),  # unknown address family
    (b"\x70" + IP4[1:], 101, "non_ip"),  # raw link type, version 7
    (IP4, -1, "malformed"),  # record of an undescribed pcapng interface
], ids=lambda v: v if isinstance(v, str) else ("" if isinstance(v, bytes) else f"lt{v}"))
def test_skip_buckets(frame: bytes, linktype: int, bucket: str) -> None:
    assert decode(raw(frame, linktype)) == bucket


def test_header_cut_after_window_is_a_segment() -> None:
    frame = ether(IP4)
    s = seg(frame[:34 + 16], wirelen=len(frame))
    assert (s.seq, s.ack, s.flags, s.win) == (0xFFFFFFF0, 77, ACK | PSH, 501)
    assert (s.length, s.captured_payload, s.urg_ptr) == (len(PAYLOAD), 0, 0)


def test_header_longer_than_datagram_keeps_fixed_fields() -> None:
    # data offset claims 28 bytes, IP says 20: tshark calls it a short segment
    frame = ether(ipv4(tcp_header(seq=5, doff=7)[:20], total=40)) + b"\x00" * 8
    s = seg(frame)
    assert (s.seq, s.length, s.captured_payload) == (5, 0, 0)


# --- tunnels --------------------------------------------------------------------------------------
INNER = ipv4(TCP + PAYLOAD, src=bytes([10, 0, 0, 1]), dst=bytes([10, 0, 0, 2]))


@pytest.mark.parametrize("frame", [
    ether(ipv4(INNER, proto=4)),  # IP in IP
    ether(ipv6(INNER, nxt=4), 0x86DD),
    ether(ipv4(struct.pack("!HH", 0, 0x0800) + INNER, proto=47)),  # GRE
    ether(ipv4(struct.pack("!HHI", 0x2000, 0x0800, 7) + INNER, proto=47)),  # GRE + key
    ether(ipv4(struct.pack("!HHHH", 5555, 4789, 0, 0) + b"\x08\x00\x00\x00\x00\x00\x01\x00"
               + ether(INNER), proto=17)),  # VXLAN
    ether(ipv4(struct.pack("!HHHH", 5555, 2152, 0, 0) + struct.pack("!BBHI", 0x30, 0xFF,
                                                                     len(INNER), 1)
               + INNER, proto=17)),  # GTP-U
], ids=["ipip", "4in6", "gre", "gre-key", "vxlan", "gtpu"])
def test_tunnels_yield_inner_segment(frame: bytes) -> None:
    s = seg(frame)
    assert s.src == bytes([10, 0, 0, 1]) and s.length == len(PAYLOAD)


# --- TCP options ----------------------------------------------------------------------------------
def _opts(options: bytes, flags: int = ACK) -> Segment:
    return seg(ether(ipv4(tcp_header(flags=flags, options=options) + PAYLOAD)))


def test_syn_options() -> None:
    opts = (struct.pack("!BBH", 2, 4, 1460) + b"\x04\x02" + struct.pack("!BBII", 8, 10, 123, 0)
            + b"\x01" + b"\x03\x03\x07")
    s = _opts(opts, SYN)
    assert (s.mss, s.wscale, s.sack_perm, s.tsval, s.tsecr) == (1460, 7, True, 123, 0)
    assert s.flags == SYN and s.length == len(PAYLOAD)


def test_timestamps_fast_layout() -> None:
    s = _opts(b"\x01\x01" + struct.pack("!BBII", 8, 10, 0xDEADBEEF, 42))
    assert (s.tsval, s.tsecr) == (0xDEADBEEF, 42)


def test_sack_blocks() -> None:
    opts = b"\x01\x01" + struct.pack("!BBIIII", 5, 18, 100, 200, 300, 400)
    s = _opts(opts)
    assert s.sacks == ((100, 200), (300, 400))


def test_tfo_mptcp_and_ns_flag() -> None:
    assert _opts(b"\x22\x0a" + b"c" * 8).tfo  # TFO cookie, kind 34
    assert _opts(b"\xfe\x06\xf9\x89\x00\x00").tfo  # experimental TFO
    assert not _opts(b"\xfe\x06\x12\x34\x00\x00").tfo  # other experiment
    assert _opts(b"\x1e\x04\x00\x81").mptcp  # MP_CAPABLE-ish
    assert seg(ether(ipv4(tcp_header(flags=NS | ACK) + PAYLOAD))).flags == NS | ACK


def test_options_cut_by_snaplen_keep_what_is_there() -> None:
    opts = struct.pack("!BBH", 2, 4, 1400) + struct.pack("!BBII", 8, 10, 5, 6)
    frame = ether(ipv4(tcp_header(flags=SYN, options=opts)))
    s = seg(frame[:54 + 6], wirelen=len(frame))  # MSS present, timestamps cut
    assert s.mss == 1400 and s.tsval is None and s.length == 0


def test_bogus_option_length_stops_parsing_without_error() -> None:
    s = _opts(struct.pack("!BBH", 2, 4, 536) + b"\x08\x01\x00\x00")
    assert s.mss == 536 and s.tsval is None


# --- properties -----------------------------------------------------------------------------------
LINKTYPES = [0, 1, 9, 10, 12, 14, 50, 51, 101, 104, 105, 108, 113, 127, 129, 178, 228, 229,
             242, 276, -1, 147]


def _check(result: Segment | str) -> None:
    if isinstance(result, str):
        assert result in SKIP_REASONS
        return
    assert isinstance(result, Segment)
    assert 0 <= result.captured_payload <= result.length
    assert 0 <= result.sport < 65536 and 0 <= result.dport < 65536
    assert len(result.src) in (4, 16) and len(result.dst) == len(result.src)
    assert 0 <= result.flags < 512


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=200), st.sampled_from(LINKTYPES), st.integers(0, 70000))
def test_arbitrary_bytes_never_raise(data: bytes, linktype: int, wirelen: int) -> None:
    _check(decode(RawPacket(1, 0, linktype, len(data), wirelen, data)))


_VALID = [ether(IP4), ether(IP6, 0x86DD), ether(ipv4(INNER, proto=4)),
          ether(ipv4(tcp_header(flags=SYN, options=b"\x02\x04\x05\xb4\x04\x02\x08\x0a"
                                + b"\x00" * 8 + b"\x01\x03\x03\x07")))]


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(_VALID), st.lists(st.tuples(st.integers(0, 120), st.integers(0, 255)),
                                         max_size=6), st.integers(0, 120))
def test_mutated_valid_frames_never_raise(frame: bytes, flips: list, cut: int) -> None:
    data = bytearray(frame)
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    data = bytes(data[:len(data) - cut if cut < len(data) else 0])
    _check(decode(RawPacket(1, 0, 1, len(data), len(frame), data)))


# --- field by field against tshark on real captures ----------------------------------------
def _shared_dir():
    from pathlib import Path
    sibling = Path(__file__).resolve().parents[2] / "shared"
    return sibling if sibling.is_dir() else Path("/work/shared")


PCAPS = _shared_dir() / "pcaps"
# (test_shared_pcaps_counts.py compares every shared capture; these few run on their own)
FIELD_FILES = [
    "tcptrace/input/dsack.dmp",  # SACK / D-SACK blocks, timestamps
    "tcpdump/tests/mptcp-v1.pcap",  # SLL, MPTCP options
    "PcapPlusPlus/Tests/Pcap++Test/PcapExamples/four_ipv6_http_streams.pcap",  # raw IPv6
]
@pytest.mark.skipif(not PCAPS.is_dir(), reason="shared captures not available")
@pytest.mark.parametrize("name", FIELD_FILES, ids=lambda n: n.rsplit("/", 1)[-1])
def test_fields_match_tshark(name: str) -> None:
    import shutil
    if not shutil.which("tshark"):
        pytest.skip("tshark not installed")
    from test_shared_pcaps_counts import segment_fields, tshark_tcp_fields

    from tcpforensics.io import open_capture
    path = PCAPS / name
    ours = {}
    with open_capture(path) as cap:
        for r in cap:
            s = decode(r)
            if isinstance(s, Segment):
                ours[s.frame] = segment_fields(s)
    theirs = tshark_tcp_fields(path, "tcp && !icmp && !icmpv6")
    assert len(ours) > 0 and ours.keys() == theirs.keys()
    bad = [(k, ours[k], theirs[k]) for k in ours if ours[k] != theirs[k]]
    assert not bad, bad[:5]


def test_deep_nesting_is_bounded() -> None:
    # endless LLC/SNAP, VLAN and IP-in-IP nesting end in a bucket, not a RecursionError
    snap = b"\x00" * 12 + (b"\x00\x10" + b"\xaa\xaa\x03\x00\x00\x00") * 5000
    assert decode(raw(snap)) == "non_ip"
    vlans = ether(struct.pack("!HH", 1, 0x8100) * 5000, 0x8100)
    assert decode(raw(vlans)) == "malformed"
    nested = TCP
    for _ in range(50):
        nested = ipv4(nested, proto=4)
    assert decode(raw(ether(nested))) == "non_tcp"
