"""Plain data shared by every stage of the pipeline.

These types are the seams between modules: io produces RawPacket, decode turns it
into Segment, the TCP core turns a Segment into a SegmentVerdict.  They hold data
only, so the pure stages (tcp/, cwnd/, diagnose/) can be driven from hand-built
values in tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntFlag

import cython

# --- TCP header flag bits (as on the wire) -------------------------------------------
FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80
NS = 0x100  # AccECN / ECN nonce bit, the low bit of the reserved field

_FLAG_LETTERS = ((SYN, "S"), (FIN, "F"), (RST, "R"), (PSH, "P"), (ACK, "A"), (URG, "U"),
                 (ECE, "E"), (CWR, "C"), (NS, "N"))


def flags_text(flags: int) -> str:
    """Flags as letters in a fixed order, e.g. SYN|ACK -> 'SA' (events contract)."""
    return "".join(letter for bit, letter in _FLAG_LETTERS if flags & bit)


# --- Record accounting ----------------------------------------------------------------
# Every capture record lands in exactly one of these buckets (tcp or one skip reason).
SKIP_REASONS = ("non_ip", "non_tcp", "malformed", "truncated", "fragment")


@cython.freelist(8)  # (here, not in model.pxd: Cython ignores it there in this mode)
@cython.cclass
class RawPacket:
    """One capture record as the reader saw it; `frame` is 1-based like Wireshark's.

    The reader makes one per record, so the compiled build makes it a C struct with typed
    fields (model.pxd), like Segment.  It used to be a NamedTuple: the constructor
    (positional order, `iface` defaulting to 0), field-wise equality and the repr are
    kept.  `ts_ns` is an int that may exceed 64 bits (hostile pcapng time resolutions).
    """

    __slots__ = ("frame", "ts_ns", "linktype", "caplen", "wirelen", "data", "iface")

    def __init__(self, frame, ts_ns, linktype, caplen, wirelen, data, iface=0):
        self.frame = frame
        self.ts_ns = ts_ns
        self.linktype = linktype
        self.caplen = caplen
        self.wirelen = wirelen
        self.data = data
        self.iface = iface

    def __repr__(self):
        return _fields_repr(self, RawPacket.__slots__)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _fields(self, RawPacket.__slots__) == _fields(other, RawPacket.__slots__)

    __hash__ = None  # compared by value, like Segment


# --- Analysis flags (Wireshark tcp.analysis.* names) -----------------------------------
class Analysis(IntFlag):
    """Per-segment analysis flags, named exactly as Wireshark names them."""

    NONE = 0
    RETRANSMISSION = 1 << 0
    FAST_RETRANSMISSION = 1 << 1
    SPURIOUS_RETRANSMISSION = 1 << 2
    OUT_OF_ORDER = 1 << 3
    LOST_SEGMENT = 1 << 4
    ACK_LOST_SEGMENT = 1 << 5
    DUPLICATE_ACK = 1 << 6
    ZERO_WINDOW = 1 << 7
    ZERO_WINDOW_PROBE = 1 << 8
    ZERO_WINDOW_PROBE_ACK = 1 << 9
    WINDOW_FULL = 1 << 10
    WINDOW_UPDATE = 1 << 11
    KEEP_ALIVE = 1 << 12
    KEEP_ALIVE_ACK = 1 << 13
    REUSED_PORTS = 1 << 14


#: Contract order and names of the analysis flags (events `analysis` column, counters).
ANALYSIS_NAMES: tuple[tuple[Analysis, str], ...] = tuple(
    (flag, flag.name.lower()) for flag in Analysis if flag.name and flag is not Analysis.NONE
)


def analysis_text(bits: int) -> str:
    """The set flags joined by '|' in contract order ('' when none)."""
    if not bits:
        return ""
    return "|".join(name for flag, name in ANALYSIS_NAMES if bits & flag)


# --- Decoded segment --------------------------------------------------------------------
# Segment and SegmentVerdict are created once per packet and read by every stage, so the
# compiled build makes them C structs with typed fields (model.pxd).  Cython cannot turn
# a dataclass into such a class, so they are written out by hand with the behaviour the
# dataclass had: same constructor (positional order, keyword defaults), field-wise
# __eq__ between objects of the same class, a dataclass-style __repr__, unhashable.
@cython.freelist(8)  # (here, not in model.pxd: Cython ignores it there in this mode)
@cython.no_gc  # its fields (bytes, numbers, tuples of numbers) can form no cycle
@cython.cclass
class Segment:
    """One decoded TCP segment.  Addresses are packed bytes (4 or 16); `ts` is seconds.

    `length` is the TCP payload length the IP header claims (not what was captured), so
    snaplen-truncated captures still analyze correctly.  Absent options are None.
    `sacks` holds (left, right) absolute 32-bit sequence pairs.  `win` is the raw,
    unscaled window field; `ip_id` (IPv4 identification) tells network duplicates apart;
    `captured_payload` is how many payload bytes are present in the capture.

    `tsval`, `tsecr`, `ip_id` and `ttl` are stored as plain integers, -1 when absent
    (`raw_tsval` ...), so the compiled build keeps them in C fields and boxes no number
    per packet; the hot path reads the `raw_` fields, everything else the properties of
    the same names without the prefix, which give None when absent.
    """

    __slots__ = ("frame", "ts", "src", "dst", "sport", "dport", "seq", "ack", "flags", "win",
                 "length", "mss", "wscale", "sack_perm", "sacks", "raw_tsval", "raw_tsecr",
                 "tfo", "mptcp", "raw_ip_id", "raw_ttl", "captured_payload", "urg_ptr")
    # the fields as the constructor, __eq__ and __repr__ name them
    FIELDS = ("frame", "ts", "src", "dst", "sport", "dport", "seq", "ack", "flags", "win",
              "length", "mss", "wscale", "sack_perm", "sacks", "tsval", "tsecr", "tfo",
              "mptcp", "ip_id", "ttl", "captured_payload", "urg_ptr")

    def __init__(self, frame, ts, src, dst, sport, dport, seq, ack, flags, win, length,
                 mss=None, wscale=None, sack_perm=False, sacks=(), tsval=None, tsecr=None,
                 tfo=False, mptcp=False, ip_id=None, ttl=None, captured_payload=0,
                 urg_ptr=0):
        self.frame = frame
        self.ts = ts
        self.src = src
        self.dst = dst
        self.sport = sport
        self.dport = dport
        self.seq = seq
        self.ack = ack
        self.flags = flags
        self.win = win
        self.length = length
        self.mss = mss
        self.wscale = wscale
        self.sack_perm = sack_perm
        self.sacks = sacks
        self.raw_tsval = -1 if tsval is None else tsval
        self.raw_tsecr = -1 if tsecr is None else tsecr
        self.tfo = tfo
        self.mptcp = mptcp
        self.raw_ip_id = -1 if ip_id is None else ip_id
        self.raw_ttl = -1 if ttl is None else ttl
        self.captured_payload = captured_payload
        self.urg_ptr = urg_ptr

    @property
    def tsval(self) -> int | None:
        return None if self.raw_tsval < 0 else self.raw_tsval

    @tsval.setter
    def tsval(self, value: int | None) -> None:
        self.raw_tsval = -1 if value is None else value

    @property
    def tsecr(self) -> int | None:
        return None if self.raw_tsecr < 0 else self.raw_tsecr

    @tsecr.setter
    def tsecr(self, value: int | None) -> None:
        self.raw_tsecr = -1 if value is None else value

    @property
    def ip_id(self) -> int | None:
        return None if self.raw_ip_id < 0 else self.raw_ip_id

    @ip_id.setter
    def ip_id(self, value: int | None) -> None:
        self.raw_ip_id = -1 if value is None else value

    @property
    def ttl(self) -> int | None:
        return None if self.raw_ttl < 0 else self.raw_ttl

    @ttl.setter
    def ttl(self, value: int | None) -> None:
        self.raw_ttl = -1 if value is None else value

    def __repr__(self):
        return _fields_repr(self, Segment.FIELDS)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _fields(self, Segment.FIELDS) == _fields(other, Segment.FIELDS)

    __hash__ = None  # mutable, compared by value (as the dataclass was)


# --- Output of the TCP core for one segment ---------------------------------------------
@cython.freelist(8)
@cython.no_gc  # numbers and strings only: no cycle
@cython.cclass
class SegmentVerdict:
    """What the passive TCP core concluded about one segment.

    `direction` is 0 for client->server, 1 for server->client.  Sequence numbers are
    relative (64-bit unwrapped, 0 = ISN of that direction's sender).  `ack_rtt` is in
    seconds with Karn's rule applied; `retrans_cause` is one of rto | fast | reordering |
    network_duplicate | unneeded; `state` is the sender endpoint's state after this
    segment; `acked_bytes` counts newly cumulatively acknowledged bytes of the peer's
    data, `sacked_bytes` the peer's bytes newly covered by SACK blocks in this segment;
    `dsack` tells that the segment carries a D-SACK block.

    `ack_rtt` and `bytes_in_flight` are stored as numbers, -1 when there is none
    (`raw_ack_rtt`, `raw_bytes_in_flight`, read by the hot path); the properties give
    None then, as for Segment's optional fields.
    """

    __slots__ = ("direction", "rel_seq", "rel_ack", "win_scaled", "analysis", "raw_ack_rtt",
                 "raw_bytes_in_flight", "retrans_cause", "state", "acked_bytes",
                 "sacked_bytes", "dsack")
    FIELDS = ("direction", "rel_seq", "rel_ack", "win_scaled", "analysis", "ack_rtt",
              "bytes_in_flight", "retrans_cause", "state", "acked_bytes", "sacked_bytes",
              "dsack")

    def __init__(self, direction, rel_seq, rel_ack, win_scaled, analysis=0, ack_rtt=None,
                 bytes_in_flight=None, retrans_cause=None, state="", acked_bytes=0,
                 sacked_bytes=0, dsack=False):
        self.direction = direction
        self.rel_seq = rel_seq
        self.rel_ack = rel_ack
        self.win_scaled = win_scaled
        self.analysis = analysis
        self.raw_ack_rtt = -1.0 if ack_rtt is None else ack_rtt
        self.raw_bytes_in_flight = -1 if bytes_in_flight is None else bytes_in_flight
        self.retrans_cause = retrans_cause
        self.state = state
        self.acked_bytes = acked_bytes
        self.sacked_bytes = sacked_bytes
        self.dsack = dsack

    @property
    def ack_rtt(self) -> float | None:
        return None if self.raw_ack_rtt < 0.0 else self.raw_ack_rtt

    @ack_rtt.setter
    def ack_rtt(self, value: float | None) -> None:
        self.raw_ack_rtt = -1.0 if value is None else value

    @property
    def bytes_in_flight(self) -> int | None:
        return None if self.raw_bytes_in_flight < 0 else self.raw_bytes_in_flight

    @bytes_in_flight.setter
    def bytes_in_flight(self, value: int | None) -> None:
        self.raw_bytes_in_flight = -1 if value is None else value

    def __repr__(self):
        return _fields_repr(self, SegmentVerdict.FIELDS)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _fields(self, SegmentVerdict.FIELDS) == _fields(other, SegmentVerdict.FIELDS)

    __hash__ = None  # mutable, compared by value (as the dataclass was)


def _fields(obj: object, names: tuple[str, ...]) -> tuple:
    return tuple(getattr(obj, name) for name in names)


def _fields_repr(obj: object, names: tuple[str, ...]) -> str:
    """`Name(field=value, ...)`, the dataclass repr."""
    inner = ", ".join(f"{name}={getattr(obj, name)!r}" for name in names)
    return f"{obj.__class__.__qualname__}({inner})"


class SegmentObserver:
    """Base of the per-flow observers (the cwnd estimator, the stall detector).

    The packet loop calls `observe` for every segment of the observer's flow with the
    TCP core's verdict, and `finish` once when the flow ends, to write conclusions into
    its result.  Compiled, a subclass's `observe` is a direct C call from the loop.
    """

    def observe(self, seg: Segment, verdict: SegmentVerdict) -> None:
        raise NotImplementedError

    def finish(self, result: FlowResult) -> None:
        raise NotImplementedError


# A flow makes about a dozen while it runs (and a packed flow as many again each time it
# is read back): compiled, a C struct made without a Python-level __init__ and without
# the cyclic collector's tracking, its time a C double (no float object).  Written out
# by hand like Segment, with the behaviour of the dataclass it was.
@cython.no_gc  # a number, a number, a string: no cycle
@cython.cclass
class StateChange:
    """One endpoint entering a connection state at capture time `ts` (endpoint 0 is the
    client, 1 the server)."""

    __slots__ = ("ts", "endpoint", "state")
    FIELDS = ("ts", "endpoint", "state")

    def __init__(self, ts, endpoint, state):
        self.ts = ts
        self.endpoint = endpoint
        self.state = state

    def __repr__(self):
        return _fields_repr(self, StateChange.FIELDS)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _fields(self, StateChange.FIELDS) == _fields(other, StateChange.FIELDS)

    __hash__ = None  # mutable, compared by value (as the dataclass was)


_NEW_DICT = object()  # Endpoint's default `counters`: a new empty dict


# Two per flow (and two each time a packed flow is read back): compiled, a C struct made
# without a Python-level __init__ or an attribute dict (the TCP core fills it field by
# field).  Written out by hand like Segment, with the behaviour of the dataclass it was;
# the fields keep whatever objects they are given.
@cython.no_gc  # numbers, strings and dicts of numbers and strings: no cycle
@cython.cclass
class Endpoint:
    """Per-direction summary of one flow; counters are of segments *sent by* it.
    `role` is client | server; `mss` and `wscale` None when the SYN had no such option;
    `cca` what the cwnd observer concluded (None: nothing)."""

    __slots__ = ("addr", "role", "packets", "payload_bytes", "mss", "wscale",
                 "sack_permitted", "timestamps", "counters", "cca")
    FIELDS = ("addr", "role", "packets", "payload_bytes", "mss", "wscale", "sack_permitted",
              "timestamps", "counters", "cca")

    def __init__(self, addr, role, packets=0, payload_bytes=0, mss=None, wscale=None,
                 sack_permitted=False, timestamps=False, counters=_NEW_DICT, cca=None):
        self.addr = addr
        self.role = role
        self.packets = packets
        self.payload_bytes = payload_bytes
        self.mss = mss
        self.wscale = wscale
        self.sack_permitted = sack_permitted
        self.timestamps = timestamps
        self.counters = {} if counters is _NEW_DICT else counters
        self.cca = cca

    def __repr__(self):
        return _fields_repr(self, Endpoint.FIELDS)

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _fields(self, Endpoint.FIELDS) == _fields(other, Endpoint.FIELDS)

    __hash__ = None  # mutable, compared by value (as the dataclass was)


# --- Results of an analysis (plain data; analysis.py assembles them) --------------------
@dataclass(slots=True)
class Stall:
    """An interval where data was waiting, with its cause (DESIGN.md stall kinds)."""

    kind: str  # nagle_delayed_ack | rto | zero_window | receive_window | app_limited | handshake
    endpoint: str  # "addr:port" of the endpoint whose data waited
    start: float
    duration: float
    detail: dict = field(default_factory=dict)


@dataclass(slots=True)
class Finding:
    id: str
    kind: str
    severity: str  # info | warning | critical
    title: str
    detail: str
    recommendation: str
    flows: list[int] = field(default_factory=list)
    endpoint: str | None = None
    metrics: dict = field(default_factory=dict)
    impact: float = 0.0  # seconds lost x flows affected; ranks findings


@dataclass
class FlowResult:
    """Everything known about one finished flow.

    The TCP core fills the connection fields and `tcp` facts; the cwnd observer fills
    each endpoint's `cca` and `cwnd`; the stall observer fills `stalls`; the findings
    pass fills `findings` with ids.
    """

    id: int
    client: str
    server: str
    start: float
    end: float
    state: str
    handshake: str  # complete | partial | none
    syn_rtt: float | None
    rtt: dict  # min, median, max, samples
    endpoints: list[Endpoint]
    states: list[StateChange] = field(default_factory=list)
    stalls: list[Stall] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)
    tcp: dict = field(default_factory=dict)  # facts for diagnosis, see tcp/connection.py
    cwnd: list[dict] = field(default_factory=list)  # per endpoint: rounds series (report)


@dataclass
class CaptureInfo:
    path: str
    format: str = "pcap"
    linktypes: list[int] = field(default_factory=list)
    records: int = 0
    tcp_segments: int = 0
    skipped: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SKIP_REASONS, 0))
    first_ts: float | None = None
    last_ts: float | None = None
    snaplen: int | None = None
    warnings: list[str] = field(default_factory=list)  # where reading stopped, and why
    comments: list[str] = field(default_factory=list)  # capture-supplied text: escape it!
    interfaces: list[dict] = field(default_factory=list)  # name/description/linktype
    evicted_flows: int = 0  # live flows forced out of the flow table by its size bound
    closed_early_flows: int = 0  # closed flows ended before their linger (max_lingering)
    folded_flows: dict[str, int] = field(default_factory=dict)  # tallied, not listed
    # connection attempts over every flow, listed or not (diagnose/handshakes.py)
    handshakes: dict = field(default_factory=dict)
