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
from ..io.decode import decode
from ..model import ACK, FIN, RST, SYN
from ..packet_loop import SegmentSink
from .marks import ACK_MARKS, DATA_MARKS, MARK_FIN, MARK_RST, MARK_SYN

if cython.compiled:
    from cython.cimports.libc.math import rint
    from cython.cimports.tcpforensics.arrays import push4, push_d, push_q, push_u
else:
    from ..arrays import push4, push_d, push_q, push_u

_SEQ_MOD = 1 << 32
_HALF = 1 << 31

# FirstPassTap lets go past these: the columns take about 50 bytes per segment and
# 3 KB per flow, so at most about 80 MB.
FIRST_PASS_MAX_SEGMENTS = 1_500_000
FIRST_PASS_MAX_FLOWS = 1000


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
        # While filing, the integer fields of a data segment (seq, end, marks, length) and
        # of an ACK (ack, window edge, marks, newly acked) go as one record of four into
        # d_rec / a_rec: one place written per segment instead of four (a many-flow
        # capture fills thousands of columns at once, and the scattered writes missed the
        # cache).  `unpack()` moves them into their columns before they are read.
        self.d_rec, self.a_rec = array("q"), array("q")

    def unpack(self) -> Columns:
        """Move the filed records into d_seq, d_end, d_mark, d_len and a_ack, a_win,
        a_mark, a_acked (appending, in order); the columns are complete afterwards."""
        if len(self.d_rec):
            unpack_records(self.d_rec, self.d_seq, self.d_end, self.d_mark, self.d_len)
            self.d_rec = array("q")
        if len(self.a_rec):
            unpack_records(self.a_rec, self.a_ack, self.a_win, self.a_mark, self.a_acked)
            self.a_rec = array("q")
        return self


def unpack_records(rec: array, a: array, b: array, marks: array, d: array) -> None:
    """Records of four integers into columns a, b, marks (unsigned 32-bit) and d."""
    for i in range(0, len(rec), 4):
        push_q(a, get_q(rec, i))
        push_q(b, get_q(rec, i + 1))
        push_u(marks, get_q(rec, i + 2))
        push_q(d, get_q(rec, i + 3))


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


def set_q(a: array, i: int, x: int) -> int:
    if cython.compiled:
        a.data.as_longlongs[i] = x
    else:
        a[i] = x
    return 0


if not cython.compiled:
    get_d = get_q = get_u = array.__getitem__


def rel_seq_near(ack_abs: int, rel_ack: int, value: int) -> int:
    """Place an absolute 32-bit sequence number near a known (absolute, relative) pair."""
    delta = ((value - ack_abs + _HALF) % _SEQ_MOD) - _HALF
    return rel_ack + delta


class ColumnStore:
    """Columns of a fixed set of flows: flow id -> (columns of direction 0, of 1).

    Times are stored relative to `t0` (the capture start), so the charts share the
    time axis of the summary and of Wireshark's default time display.
    """

    def __init__(self, flow_ids=(), t0: float = 0.0) -> None:
        self.t0 = t0
        self.flows = {fid: (Columns(), Columns()) for fid in flow_ids}

    def add(self, seg, flow_id: int, v) -> None:
        """File one segment of flow `flow_id` (ignored when the flow is not collected)."""
        dirs = self.flows.get(flow_id)
        if dirs is not None:
            file_segment(dirs, seg, v, self.t0)

    def file_wanted(self, capture, starts: dict, until: float, late_run: int) -> None:
        """The report's second pass: file the segments of the wanted connections only.

        `starts` maps each wanted connection's canonical key (address, port, address,
        port; lower end first, as in the flow table) to the (start, id) of the analysis
        flows on it.  Only their segments go through a private flow table and TCP core
        (the verdicts equal the analysis' ones: a connection's verdicts depend on its own
        segments only); on a reused port pair a local flow maps to the analysis flow
        that started nearest to it.  Reading stops after `late_run` consecutive
        segments later than `until` (absolute seconds), so a capture whose clock steps
        back (merged files) is not cut short.
        """
        # a cheap first test on the port pair, before the full key is built
        ports = set()
        for key in starts:
            ports.add(key[1] << 16 | key[3])
            ports.add(key[3] << 16 | key[1])
        table = FlowTable()
        local = {}  # local flow id -> analysis flow id
        late = 0
        for raw in capture:
            result = decode(raw)
            if result.__class__ is str:
                continue
            seg = result
            ts = seg.ts
            if ts > until:
                late += 1
                if late > late_run:
                    break
            else:
                late = 0
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
            fid = local.get(flow.id, -1)
            if fid == -1:
                fid = _nearest_start(cands, ts)
                local[flow.id] = fid
            dirs = self.flows.get(fid)
            if dirs is not None:
                file_segment(dirs, seg, verdict, self.t0)
            table.pop_finished()


def file_segment(dirs: tuple, seg, v, t0: float) -> None:
    """File one segment and its verdict into its flow's columns (`dirs`: direction 0, 1)."""
    t = seg.ts - t0
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
    bits = v.analysis | extra
    d = v.direction
    own: Columns = dirs[1] if d else dirs[0]
    if span or bits & DATA_MARKS:
        rel_seq = v.rel_seq
        push_d(own.d_t, t)
        push4(own.d_rec, rel_seq, rel_seq + span, bits & DATA_MARKS, length)
        inflight = v.raw_bytes_in_flight
        if inflight >= 0 and length:
            push_d(own.f_t, t)
            push_q(own.f_v, inflight)
    if flags & ACK:
        peer: Columns = dirs[0] if d else dirs[1]  # an ACK answers the other side's data
        rel_ack = v.rel_ack
        push_d(peer.a_t, t)
        push4(peer.a_rec, rel_ack, rel_ack + v.win_scaled, bits & ACK_MARKS, v.acked_bytes)
        sacks = seg.sacks
        if sacks:
            ack = seg.ack
            for left, right in sacks:
                push_d(peer.s_t, t)
                push_q(peer.s_l, rel_seq_near(ack, rel_ack, left))
                push_q(peer.s_r, rel_seq_near(ack, rel_ack, right))
        rtt = v.raw_ack_rtt
        if rtt >= 0.0:
            push_d(peer.r_t, t)
            push_d(peer.r_v, rtt)


def _nearest_start(cands: list, ts: float) -> int:
    """The id of the (start, id) pair whose start is nearest to `ts` (first on ties)."""
    best = cands[0]
    for c in cands:
        if abs(c[0] - ts) < abs(best[0] - ts):
            best = c
    return best[1]


class FirstPassTap(SegmentSink):
    """Columns of every flow, collected during the analysis pass (a segment sink).

    The packet loop hands it every segment with its flow and verdict (`take`; a direct
    call in the compiled build; calling the tap works too).  The first segment sets the
    time origin (the capture's first TCP segment, as in the report).  `flows` maps flow
    id -> (columns of direction 0, of 1), as in ColumnStore.  Once the capture has more
    than `max_flows` flows or `max_segments` segments it frees what it holds and stops
    collecting (`active` turns False).
    """

    def __init__(self, max_segments: int = FIRST_PASS_MAX_SEGMENTS,
                 max_flows: int = FIRST_PASS_MAX_FLOWS) -> None:
        self.t0 = 0.0
        self.flows = {}
        self.max_segments = max_segments
        self.max_flows = max_flows
        self.segments = 0
        self.active = True
        # the flow of the previous segment: most segments follow one of the same flow
        self.last_fid = -1
        self.last_dirs = None

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
        if fid == self.last_fid:
            dirs = self.last_dirs
        else:
            dirs = self.flows.get(fid)
            if dirs is None:
                if len(self.flows) >= self.max_flows:
                    self.stop()
                    return
                dirs = (Columns(), Columns())
                self.flows[fid] = dirs
            self.last_fid = fid
            self.last_dirs = dirs
        if self.segments > self.max_segments:
            self.stop()
            return
        file_segment(dirs, seg, v, self.t0)

    def stop(self) -> None:
        """Free the columns and collect no more."""
        self.active = False
        self.flows = {}
        self.last_fid = -1
        self.last_dirs = None


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
