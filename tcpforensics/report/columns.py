"""Per-segment columns for the report's charts: the part of series.py that runs per packet.

`ColumnStore.add` files one segment of a flow into compact arrays (times, relative
sequence numbers, marks...); `FirstPassTap` does the same for every flow while riding
along the analysis pass, within bounds.  Downsampling the columns into chart series is
series.py's job, once per flow.  Compiled in the fast build (columns.pxd gives the types).
"""

from __future__ import annotations

from array import array

import cython

from ..arrays import round6
from ..flows import FlowTable
from ..io.reader import OTHER_CONNECTION
from ..model import ACK, FIN, RST, SYN
from ..packet_loop import SegmentSink
from .marks import ACK_MARKS, DATA_MARKS, MARK_FIN, MARK_RST, MARK_SYN

if cython.compiled:
    from cython.cimports.cpython.array import resize
    from cython.cimports.libc.math import rint
    from cython.cimports.tcpforensics.arrays import push_d, push_q, push_u
else:
    from ..arrays import push_d, push_q, push_u

_SEQ_MOD = 1 << 32
_HALF = 1 << 31

# FirstPassTap lets go past these: its log takes 40-80 bytes per segment, so at most
# about 100 MB.  Flow ids count up from 0 in the analysis' flow table, so the bound on
# the ids is one on the number of flows.  A flow costs the log nothing of its own (its
# id is a record's slot); the bound only keeps the list that `columns()` indexes by id
# small (8 bytes an id).  Many short connections stay well inside both bounds, and
# reading the capture a second time would cost them about a third of the analysis.
FIRST_PASS_MAX_SEGMENTS = 1_500_000
FIRST_PASS_MAX_FLOWS = 1_000_000

# What a record of the segment log holds after its head word (the low byte of the head):
_DATA = 1  # the segment takes sequence space or has a data mark: rel_seq, length
_FLIGHT = 2  # bytes in flight at this send
_ACK = 4  # the ACK flag: rel_ack, scaled window, newly acked bytes
_SACKS = 8  # SACK blocks: their count, then left and right of each (relative)
_RTT = 16  # an RTT sample (in the times array, after the segment's time)
_DIR1 = 32  # the segment goes in direction 1 (its ACK part answers direction 0's data)
# ... and above the low byte its marks (below 1 << 24: marks.py), above bit 32 its slot.
_LOG_MARKS = DATA_MARKS | ACK_MARKS


class Columns:
    """Columns for the data sent in one direction and the ACKs that answer it."""

    def __init__(self) -> None:
        # data segments: time, relative seq, end (seq + span), marks, payload length
        self.d_t, self.d_seq, self.d_end = array("d"), array("q"), array("q")
        self.d_mark, self.d_len = array("I"), array("q")
        # ACKs of that data: time, relative ack, right window edge, marks, newly acked
        self.a_t, self.a_ack, self.a_win = array("d"), array("q"), array("q")
        self.a_mark, self.a_acked = array("I"), array("q")
        # SACK blocks (time, left, right), RTT samples, bytes in flight at each send
        self.s_t, self.s_l, self.s_r = array("d"), array("q"), array("q")
        self.r_t, self.r_v = array("d"), array("d")
        self.f_t, self.f_v = array("d"), array("q")


class SegmentLog:
    """The filed segments of a set of flows, in capture order, as variable-length records
    in two arrays: `rec` (integers) and `times` (the segment's time, then its RTT sample).
    The arrays grow by doubling ahead of the records: only their first `rec_used` and
    `times_used` items are filed (so filing is plain stores, no resize per segment).

    Filing appends to these two arrays only: on a many-flow capture, filing straight into
    every flow's columns wrote to thousands of growing arrays at once, and those scattered
    writes missed the cache on almost every packet.  `unpack` moves the records of the
    wanted flows into their columns once, after the pass.  A flow is known by its slot, a
    small number below 1 << 31 that the owner assigns.
    """

    def __init__(self) -> None:
        self.rec = array("q")
        self.times = array("d")
        self.rec_used = 0
        self.times_used = 0

    def add(self, slot: int, seg, v, t0: float) -> None:
        """File one segment and its verdict (times relative to `t0`)."""
        flags = seg.flags
        length = seg.length
        extra = 0
        span = length
        if flags & (SYN | FIN | RST):
            # SYN and FIN each take one sequence number
            if flags & SYN:
                extra |= MARK_SYN
                span += 1
            if flags & FIN:
                extra |= MARK_FIN
                span += 1
            if flags & RST:
                extra |= MARK_RST
        bits = (v.analysis | extra) & _LOG_MARKS
        kinds = _DIR1 if v.direction else 0
        inflight = v.raw_bytes_in_flight
        if span or bits & DATA_MARKS:
            kinds |= _DATA
            if inflight >= 0 and length:
                kinds |= _FLIGHT
        sacks = seg.sacks
        rtt = v.raw_ack_rtt
        if flags & ACK:
            kinds |= _ACK
            if sacks:
                kinds |= _SACKS
            if rtt >= 0.0:
                kinds |= _RTT
        # room for the whole record first, then plain stores (one size check per array)
        size = 1
        if kinds & _DATA:
            size += 3 if kinds & _FLIGHT else 2
        if kinds & _ACK:
            size += 3
            if kinds & _SACKS:
                size += 1 + 2 * len(sacks)
        rec = self.rec
        i = self.rec_used
        if i + size > len(rec):
            _grow(rec, i + size)
        self.rec_used = i + size
        set_q(rec, i, slot << 32 | bits << 8 | kinds)
        i += 1
        if kinds & _DATA:
            set_q(rec, i, v.rel_seq)
            set_q(rec, i + 1, length)
            i += 2
            if kinds & _FLIGHT:
                set_q(rec, i, inflight)
                i += 1
        if kinds & _ACK:
            rel_ack = v.rel_ack
            set_q(rec, i, rel_ack)
            set_q(rec, i + 1, v.win_scaled)
            set_q(rec, i + 2, v.acked_bytes)
            i += 3
            if kinds & _SACKS:
                ack = seg.ack
                set_q(rec, i, len(sacks))
                i += 1
                for left, right in sacks:
                    set_q(rec, i, rel_seq_near(ack, rel_ack, left))
                    set_q(rec, i + 1, rel_seq_near(ack, rel_ack, right))
                    i += 2
        times = self.times
        j = self.times_used
        if j + 2 > len(times):
            _grow(times, j + 2)
        set_d(times, j, seg.ts - t0)
        if kinds & _RTT:
            set_d(times, j + 1, rtt)
            j += 1
        self.times_used = j + 1

    def unpack(self, dirs_of: list) -> None:
        """Append each record of slot s to the columns `dirs_of[s]` (direction 0, 1);
        records of slots past the list's end or whose entry is None are skipped."""
        rec = self.rec
        times = self.times
        n = self.rec_used
        wanted = len(dirs_of)
        i = 0
        j = 0
        while i < n:
            head = get_q(rec, i)
            slot = head >> 32
            bits = (head >> 8) & 0xFFFFFF
            kinds = head & 0xFF
            i += 1
            t = get_d(times, j)
            j += 1
            dirs = dirs_of[slot] if slot < wanted else None
            if dirs is None:  # skip the record
                i += _body_words(rec, i, kinds)
                if kinds & _ACK and kinds & _RTT:
                    j += 1
                continue
            own: Columns = dirs[1] if kinds & _DIR1 else dirs[0]
            if kinds & _DATA:
                rel_seq = get_q(rec, i)
                length = get_q(rec, i + 1)
                i += 2
                span = length
                if bits & MARK_SYN:
                    span += 1
                if bits & MARK_FIN:
                    span += 1
                push_d(own.d_t, t)
                push_q(own.d_seq, rel_seq)
                push_q(own.d_end, rel_seq + span)
                push_u(own.d_mark, bits & DATA_MARKS)
                push_q(own.d_len, length)
                if kinds & _FLIGHT:
                    push_d(own.f_t, t)
                    push_q(own.f_v, get_q(rec, i))
                    i += 1
            if kinds & _ACK:
                peer: Columns = dirs[0] if kinds & _DIR1 else dirs[1]
                rel_ack = get_q(rec, i)
                push_d(peer.a_t, t)
                push_q(peer.a_ack, rel_ack)
                push_q(peer.a_win, rel_ack + get_q(rec, i + 1))
                push_u(peer.a_mark, bits & ACK_MARKS)
                push_q(peer.a_acked, get_q(rec, i + 2))
                i += 3
                if kinds & _SACKS:
                    count = get_q(rec, i)
                    i += 1
                    for _ in range(count):
                        push_d(peer.s_t, t)
                        push_q(peer.s_l, get_q(rec, i))
                        push_q(peer.s_r, get_q(rec, i + 1))
                        i += 2
                if kinds & _RTT:
                    push_d(peer.r_t, t)
                    push_d(peer.r_v, get_d(times, j))
                    j += 1

    def slots(self) -> list:
        """The slots filed, in the order of their first record."""
        seen = set()
        out = []
        rec = self.rec
        n = self.rec_used
        i = 0
        while i < n:
            head = get_q(rec, i)
            slot = head >> 32
            kinds = head & 0xFF
            if slot not in seen:
                seen.add(slot)
                out.append(slot)
            i += 1
            i += _body_words(rec, i, kinds)
        return out


def _body_words(rec: array, i: int, kinds: int) -> int:
    """How many words of `rec` the record whose body starts at `i` takes past its head."""
    n = 0
    if kinds & _DATA:
        n = 3 if kinds & _FLIGHT else 2
    if kinds & _ACK:
        n += 3
        if kinds & _SACKS:
            n += 1 + 2 * get_q(rec, i + n)  # the SACK count follows the ACK words
    return n


def get_d(a: array, i: int) -> float:
    if cython.compiled:
        return a.data.as_doubles[i]
    return a[i]


def get_q(a: array, i: int) -> int:
    if cython.compiled:
        return a.data.as_longlongs[i]
    return a[i]


def get_u(a: array, i: int) -> int:
    if cython.compiled:
        return a.data.as_uints[i]
    return a[i]


def set_d(a: array, i: int, x: float) -> int:
    if cython.compiled:
        a.data.as_doubles[i] = x
    else:
        a[i] = x
    return 0


def _grow(a: array, need: int) -> int:
    """Lengthen `a` (of 8-byte items) to `need` items or more: at least double it."""
    size = max(need, 2 * len(a), 256)
    if cython.compiled:
        resize(a, size)  # the new items are not set: SegmentLog writes before it reads
    else:
        a.frombytes(bytes(8 * (size - len(a))))
    return 0


def set_q(a: array, i: int, x: int) -> int:
    if cython.compiled:
        a.data.as_longlongs[i] = x
    else:
        a[i] = x
    return 0


if not cython.compiled:  # the plain array methods: no Python frame per item
    get_d = get_q = get_u = array.__getitem__
    set_d = set_q = array.__setitem__


def rel_seq_near(ack_abs: int, rel_ack: int, value: int) -> int:
    """Place an absolute 32-bit sequence number near a known (absolute, relative) pair."""
    delta = ((value - ack_abs + _HALF) % _SEQ_MOD) - _HALF
    return rel_ack + delta


class ColumnStore:
    """Columns of a fixed set of flows: `flows` maps flow id -> (columns of direction 0,
    of 1), complete after `unpack()`.

    Times are stored relative to `t0` (the capture start), so the charts share the
    time axis of the summary and of Wireshark's default time display.
    """

    def __init__(self, flow_ids=(), t0: float = 0.0) -> None:
        self.t0 = t0
        self.flows = {fid: (Columns(), Columns()) for fid in flow_ids}
        self.slot_of = {fid: slot for slot, fid in enumerate(self.flows)}
        self.log = SegmentLog()

    def add(self, seg, flow_id: int, v) -> None:
        """File one segment of flow `flow_id` (ignored when the flow is not collected)."""
        slot = self.slot_of.get(flow_id)
        if slot is not None:
            self.log.add(slot, seg, v, self.t0)

    def unpack(self) -> None:
        """Move the segments filed so far into the flows' columns."""
        if self.log.rec_used:
            self.log.unpack(list(self.flows.values()))
            self.log = SegmentLog()

    def file_wanted(self, capture, starts: dict, until: float, late_run: int,
                    table=None, ended=None) -> None:
        """The report's second pass: file the segments of the wanted connections only.

        `starts` maps each wanted connection's canonical key (address, port, address,
        port; lower end first, as in the flow table) to the (start, id) of the analysis
        flows on it.  Only their segments go through a private flow table and TCP core
        (the verdicts equal the analysis' ones: a connection's verdicts depend on its own
        segments only); on a reused port pair a local flow maps to the analysis flow
        that started nearest to it.  Reading stops after `late_run` consecutive
        segments later than `until` (absolute seconds), so a capture whose clock steps
        back (merged files) is not cut short.

        `table`, when given, is the private flow table (one with observers rebuilds the
        flows' report details); its flows' observers see each segment, and
        `ended(flow, analysis flow id)` gets each local flow once it ends (the ones
        still live when reading stops too).
        """
        # a cheap first test on the port pair, before the full key is built
        ports = set()
        bitmap = bytearray(8192)  # the ports wanted: the reader skips the other records
        for key in starts:
            ports.add(key[1] << 16 | key[3])
            ports.add(key[3] << 16 | key[1])
            for port in (key[1], key[3]):
                bitmap[port >> 3] |= 1 << (port & 7)
        wanted_ports = bytes(bitmap)
        if table is None:
            table = FlowTable()
        local = {}  # local flow id -> analysis flow id
        late = 0
        reader = capture  # (compiled: a Capture, so next_decoded_for is a C call)
        while True:
            # read and decode fused, as in the analysis; most records of other
            # connections come back undecoded, with only their time to read
            result = reader.next_decoded_for(wanted_ports)
            if result is None:
                break
            other = result is OTHER_CONNECTION
            if not other and result.__class__ is str:
                continue
            ts = reader.record_time() if other else result.ts
            if ts > until:
                late += 1
                if late > late_run:
                    break
            else:
                late = 0
            if other:
                continue
            seg = result
            sp = seg.sport
            dp = seg.dport
            if (sp << 16 | dp) not in ports:
                continue
            src = seg.src
            dst = seg.dst
            key = (src, sp, dst, dp) if src < dst or src == dst and sp <= dp else \
                (dst, dp, src, sp)
            cands = starts.get(key)
            if cands is None:
                continue
            flow, verdict = table.feed(seg)
            for observer in flow.observers:
                observer.observe(seg, verdict)
            fid = local.get(flow.id, -1)
            if fid == -1:
                fid = _nearest_start(cands, ts)
                local[flow.id] = fid
            slot = self.slot_of.get(fid)
            if slot is not None:
                self.log.add(slot, seg, verdict, self.t0)
            done = table.pop_finished()
            if ended is not None:
                for flow in done:
                    ended(flow, local.get(flow.id, -1))
        if ended is not None:
            for flow in table.flush():
                ended(flow, local.get(flow.id, -1))


def _nearest_start(cands: list, ts: float) -> int:
    """The id of the (start, id) pair whose start is nearest to `ts` (first on ties)."""
    best = cands[0]
    for c in cands:
        if abs(c[0] - ts) < abs(best[0] - ts):
            best = c
    return best[1]


class FirstPassTap(SegmentSink):
    """Every flow's segments, filed during the analysis pass (a segment sink).

    The packet loop hands it every segment with its flow and verdict (`take`; a direct
    call in the compiled build; calling the tap works too).  The first segment sets the
    time origin (the capture's first TCP segment, as in the report).  It files them in
    one SegmentLog, the flow id as the slot; `columns()` gives the columns of the flows
    asked for.  Once the capture has a flow id of `max_flows` or more or more than
    `max_segments` segments it frees what it holds and stops collecting (`active` turns
    False).
    """

    def __init__(self, max_segments: int = FIRST_PASS_MAX_SEGMENTS,
                 max_flows: int = FIRST_PASS_MAX_FLOWS) -> None:
        self.t0 = 0.0
        self.log = SegmentLog()
        self.max_segments = max_segments
        self.max_flows = min(max_flows, 1 << 31)  # the ids are the log's slots
        self.segments = 0
        self.active = True

    def __call__(self, seg, flow, v) -> None:
        self.take(seg, flow, v)

    def take(self, seg, flow, v) -> None:
        """File one segment (compiled: typed arguments, so the reads below are C reads)."""
        if not self.active:
            return
        if self.segments == 0:
            self.t0 = seg.ts
        self.segments += 1
        fid = flow.id
        if fid < 0 or fid >= self.max_flows or self.segments > self.max_segments:
            self.stop()
            return
        self.log.add(fid, seg, v, self.t0)

    def columns(self, flow_ids=None) -> dict:
        """Flow id -> (columns of direction 0, of 1) for each of `flow_ids` (empty columns
        for a flow not seen), or for every flow filed (in order of appearance)."""
        if flow_ids is None:
            flow_ids = self.log.slots()
        flows = {fid: (Columns(), Columns()) for fid in flow_ids}
        seen = [fid for fid in flows if 0 <= fid < self.max_flows]
        dirs_of = [None] * (max(seen) + 1 if seen else 0)
        for fid in seen:
            dirs_of[fid] = flows[fid]
        self.log.unpack(dirs_of)
        return flows

    def stop(self) -> None:
        """Free the log and collect no more."""
        self.active = False
        self.log = SegmentLog()


# --- downsampling kernels: series.py turns the columns into chart series with these ---
# They loop over every point of a direction (up to a million), so they live here, compiled;
# they replace numpy, whose import alone cost more than a small report.  Each states the
# numpy expression it equals (tests/test_report_fast_paths.py checks them against numpy).

def typecode_is(a: array, code: str) -> bool:
    """Whether `a` holds items of type `code` (one letter)."""
    if cython.compiled:
        return a.ob_descr.typecode == ord(code)
    return a.typecode == code


def value_at(a: array, is_double: bool, i: int) -> float:
    """`a[i]` as a double (a column of doubles or of 64-bit integers)."""
    if cython.compiled:
        return a.data.as_doubles[i] if is_double else a.data.as_longlongs[i]
    return float(a[i])


def _rint(x: float) -> int:
    """The nearest integer, halves to even (numpy's round)."""
    if cython.compiled:
        return int(rint(x))
    return round(x)


def keep_indices(lo: array, hi: array, marks: array | None, budget: int,
                 mark_budget: int) -> list:
    """Indices to keep: per bucket the lowest `lo` and the highest `hi`, plus marked points.

    `marks` (or None) flags the marked points (nonzero).  Sorted unique indices;
    everything when the series fits the budget.  Marked points beyond `mark_budget` are
    thinned evenly.  Values compare as doubles, the first of equal values wins and a NaN
    beats any number: numpy's argmin/argmax over buckets of consecutive points.
    """
    n = len(lo)
    if n <= budget:
        return list(range(n))
    lo_double = typecode_is(lo, "d")
    hi_double = typecode_is(hi, "d")
    buckets = max(1, budget // 2)
    k = -(-n // buckets)  # points per bucket; the last buckets may hold fewer, or none
    keep = [0, n - 1]
    for b in range(buckets):
        start = b * k
        if start >= n:
            break
        stop = min(start + k, n)
        low = high = start
        vlow = value_at(lo, lo_double, start)
        vhigh = value_at(hi, hi_double, start)
        for i in range(start + 1, stop):
            x = value_at(lo, lo_double, i)
            if x < vlow or (x != x and vlow == vlow):
                vlow = x
                low = i
            x = value_at(hi, hi_double, i)
            if x > vhigh or (x != x and vhigh == vhigh):
                vhigh = x
                high = i
        keep.append(low)
        keep.append(high)
    if marks is not None:
        keep.extend(marked_indices(marks, mark_budget))
    return sorted(set(keep))


def marked_indices(marks: array, limit: int) -> list:
    """Indices of the nonzero `marks`, thinned evenly to `limit` when there are more:
    `flatnonzero(marks)[linspace(0, count - 1, limit).round()]`."""
    n = len(marks)
    count = 0
    for i in range(n):
        if get_u(marks, i):
            count += 1
    ranks = []  # the ranks (among the marked points) to keep
    if count > limit:
        if limit == 1:
            ranks.append(0)
        elif limit > 1:
            step = (count - 1) / (limit - 1)
            for j in range(limit - 1):
                ranks.append(_rint(j * step))
            ranks.append(count - 1)
    out = []
    rank = 0
    p = 0
    for i in range(n):
        if get_u(marks, i):
            if count <= limit:
                out.append(i)
            elif p < len(ranks) and ranks[p] == rank:
                out.append(i)
                while p < len(ranks) and ranks[p] == rank:
                    p += 1
            rank += 1
    return out


def data_totals(lengths: array, marks: array, control: int) -> tuple:
    """(segments with payload, payload bytes, segments with a mark beyond `control`)."""
    segments = 0
    payload = 0
    marked = 0
    for i in range(len(lengths)):
        n = get_q(lengths, i)
        payload += n
        if n > 0:
            segments += 1
        if get_u(marks, i) & ~control:
            marked += 1
    return segments, payload, marked


def pick(a: array, idx: list) -> list:
    """`a[idx].tolist()` (integers)."""
    if typecode_is(a, "I"):
        return [get_u(a, i) for i in idx]
    return [get_q(a, i) for i in idx]


def pick_rounded(a: array, idx: list, scale: float, digits: int) -> list:
    """`[round(a[i] * scale, digits) for i in idx]` for a column of doubles."""
    return [round(get_d(a, i) * scale, digits) for i in idx]


def pick_times(a: array, idx: list) -> list:
    """`[round(a[i], 6) for i in idx]`: times to the microsecond (arrays.round6)."""
    return [round6(get_d(a, i)) for i in idx]


def time_span(t: array, w: array) -> tuple:
    """(count, min, max) of the times in `t` whose weight in `w` is positive (min and max
    are 0.0 when none)."""
    lo = 0.0
    hi = 0.0
    seen = 0
    for i in range(len(t)):
        if get_q(w, i) > 0:
            x = get_d(t, i)
            if seen == 0:
                lo = hi = x
            else:
                if x < lo:
                    lo = x
                if x > hi:
                    hi = x
            seen += 1
    return seen, lo, hi


def histogram(t: array, w: array, edges: list, positive_only: bool) -> list:
    """Summed weights per bin, as floats: `np.histogram(t, edges, weights=w)[0]` (bins
    half-open but the last, which holds its right edge; times outside are left out);
    with `positive_only`, of the points with a positive weight only."""
    nbins = len(edges) - 1
    if nbins <= 0:
        return []
    bounds = array("d", edges)
    sums = array("q", bytes(8 * nbins))
    first = get_d(bounds, 0)
    last = get_d(bounds, nbins)
    width = (last - first) / nbins
    for i in range(len(t)):
        weight = get_q(w, i)
        if positive_only and weight <= 0:
            continue
        x = get_d(t, i)
        if not (first <= x <= last):
            continue
        # a first guess from the width, then the exact bin against the edges themselves
        j = int((x - first) / width) if width > 0 else 0
        if j > nbins - 1:
            j = nbins - 1
        if j < 0:
            j = 0
        while j > 0 and x < get_d(bounds, j):
            j -= 1
        while j < nbins - 1 and x >= get_d(bounds, j + 1):
            j += 1
        set_q(sums, j, get_q(sums, j) + weight)
    return [float(x) for x in sums]


# --- chart numbers as JSON ---------------------------------------------------------------
# json.dumps spends most of its time in float repr (a shortest round-trip conversion for
# every float, over 100k of them in a report).  The chart times are rounded to the
# microsecond; for them the shortest round-trip string is the decimal with at most six
# digits after the point, which integer arithmetic gives much faster.

_INF = float("inf")


def float_json(x: float) -> str:
    """repr(x), as json.dumps writes a finite float.

    When x is the double nearest to a decimal with at most six digits after the point
    (n / 1e6 == |x| below) and 1e-4 <= |x| < 1e9, repr(x) is that decimal without its
    trailing zeros: no other decimal of as few digits rounds to x (doubles there are
    less than 1e-6 apart), and repr writes such magnitudes without an exponent.
    """
    a = -x if x < 0.0 else x
    if 1e-4 <= a < 1e9:
        n = _rint(a * 1e6)
        if n / 1e6 == a:
            if cython.compiled:
                return _decimal_text(x < 0.0, n)
            whole = n // 1000000
            frac = n % 1000000
            if frac == 0:
                text = str(whole) + ".0"
            else:
                text = str(whole) + "." + str(frac + 1000000)[1:].rstrip("0")
            return "-" + text if x < 0.0 else text
    return repr(x)


def _decimal_text(negative: bool, n: int) -> str:
    """float_json's text of n / 1e6 (n >= 0), written digit by digit in a C buffer
    (compiled build only)."""
    buf = cython.declare(cython.char[32])
    pos = 31
    whole = n // 1000000
    frac = n % 1000000
    digits = 6
    while digits > 1 and frac % 10 == 0:  # no trailing zeros, but one digit after the point
        frac //= 10
        digits -= 1
    for _ in range(digits):
        pos -= 1
        buf[pos] = ord("0") + frac % 10
        frac //= 10
    pos -= 1
    buf[pos] = ord(".")
    while True:
        pos -= 1
        buf[pos] = ord("0") + whole % 10
        whole //= 10
        if whole == 0:
            break
    if negative:
        pos -= 1
        buf[pos] = ord("-")
    return buf[pos:31].decode("ascii")


def numbers_json(values: list):
    """json.dumps(values) for a list of ints, floats and None; None when it holds
    anything else or a non-finite float (then json.dumps decides)."""
    parts = []
    prev = None  # the previous float and its text: bar charts repeat each x value
    prev_text = ""
    for x in values:
        if x is None:
            parts.append("null")
        elif type(x) is float:
            if x is not prev:
                value = x
                if not -_INF < value < _INF:
                    return None
                prev_text = float_json(value)
                prev = x
            parts.append(prev_text)
        elif type(x) is int:
            parts.append(str(x))
        else:
            return None
    return "[" + ",".join(parts) + "]"
