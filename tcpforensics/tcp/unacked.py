"""A sender's unacknowledged segments (Wireshark's per-direction list), with cheap bounds.

Wireshark keeps the segments the peer has not yet cumulatively acknowledged (at most
MAX_UNACKED per direction).  An ACK drops every segment it covers, measures the RTT to
the oldest one (first captured) ending exactly at the ACK, and clips the start of the
segments it covers in part; bytes in flight is the span from the lowest start to the
highest end.

The segments live in two parts:

* the tiled ones: in sequence order without overlap, the common case (each new segment
  starts at or after the end of the last).  An ACK pops from the front.  They are records
  of numbers in one array (`tiled`), not objects: with many flows interleaved each object
  an ACK walked over was a cache miss, where consecutive records share cache lines.
* the others (retransmissions, reordering): they may overlap anything.  They sit in a
  min-heap by end, so an ACK pops exactly what it covers, and their starts are shared
  `_Start` values in a min-heap: an ACK clips every start below it to the ACK, which
  merges those values into one (union-find).  The highest end needs no structure: an ACK
  only removes ends at or below it, so the highest end survives while anything does.

So every packet costs O(log n) amortized even when one segment is retransmitted
thousands of times against an ACK that never moves (a walk of the whole list per
packet made such a flow quadratic).  Only `overlaps()`, asked for a few retransmissions
to tell reordering from resending, still looks at each overlapping segment.
"""

from __future__ import annotations

import heapq
from array import array

import cython

if cython.compiled:
    from cython.cimports.tcpforensics.arrays import extend_d, get_d, set_d
else:
    from ..arrays import extend_d, get_d, set_d

#: Wireshark keeps at most this many unacknowledged segments per direction.
MAX_UNACKED = 10000
_COMPACT = 64  # acknowledged segments let stand at the front of `tiled` before a cleanup
_KEEP = 32  # records of room an emptied `tiled` keeps for the next segments
# A tiled segment is _SEG doubles in `tiled`: start, end, capture time, frame and whether
# it resent bytes (1.0 / 0.0).  Sequence numbers (relative) and frame numbers are integers
# far below 2**53, exact as doubles.
_SEG = 5
_NO_SEGMENTS = array("d")
_START, _END, _TS, _FRAME, _RETX = range(_SEG)


class Sent:
    """One captured segment not yet acknowledged that overlaps others: [start, end)
    relative (its current start is `node`'s), capture time, frame, and whether it resent
    sequence space already seen (Karn's rule)."""

    __slots__ = ("start", "end", "ts", "frame", "retx", "node")

    def __init__(self, start: int, end: int, ts: float, frame: int, retx: bool) -> None:
        self.start = start
        self.end = end
        self.ts = ts
        self.frame = frame
        self.retx = retx
        self.node: _Start | None = None  # start of an overlapping segment, shared


def _new_sent(start: int, end: int, ts: float, frame: int, retx: bool) -> Sent:
    """Sent(...) field by field: compiled, a C struct fill without an argument tuple."""
    sent = Sent.__new__(Sent)
    sent.start = start
    sent.end = end
    sent.ts = ts
    sent.frame = frame
    sent.retx = retx
    sent.node = None
    return sent


class _Start:
    """A start value shared by the overlapping segments clipped together by an ACK."""

    __slots__ = ("value", "count", "parent")

    def __init__(self, value: int) -> None:
        self.value = value
        self.count = 1  # live segments whose start this is (through `parent` links)
        self.parent: _Start | None = None  # merged into that one by a clip


def _root(node: _Start) -> _Start:
    root = node
    while root.parent is not None:
        root = root.parent
    while node is not root:  # path compression
        up = node.parent
        node.parent = root
        node = up
    return root


class Unacked:
    """The unacknowledged segments of one sender (see the module docstring)."""

    __slots__ = ("tiled", "head", "n", "count", "x_ends", "x_starts", "x_count", "x_last",
                 "tick", "acked_ts", "acked_retx")

    def __init__(self) -> None:
        # the tiled segments, _SEG numbers each: the first `n` records are held, the
        # array's room past them is reused (a copy of an empty template costs less
        # than array("d"), and every sender makes one)
        self.tiled = _NO_SEGMENTS[:]
        # segments [0, head) of `tiled` are acknowledged already: dropping them from the
        # front at every ACK would move the whole window each time, so they go in batches
        self.head = 0
        self.n = 0  # segments in `tiled` (acknowledged ones included)
        self.count = 0  # all segments held
        # the overlapping ones (the heaps exist while x_count > 0: most flows have none)
        self.x_ends: list[tuple] | None = None  # heap of (end, tick, Sent)
        self.x_starts: list[tuple] | None = None  # heap of (value, tick, _Start); count 0 = stale
        self.x_count = 0
        self.x_last = 0  # highest end of the overlapping ones (while x_count)
        self.tick = 0  # insertion order: ties in the heaps, oldest first
        self.acked_ts = 0.0  # set by ack(): capture time of the matched segment
        self.acked_retx = False  # ... and whether the ACK covered resent bytes

    def _end(self, k: int) -> int:
        """The end of tiled segment k."""
        return int(get_d(self.tiled, k * _SEG + _END))

    def _start(self, k: int) -> int:
        """The (current) start of tiled segment k."""
        return int(get_d(self.tiled, k * _SEG + _START))

    def _tile(self, start: int, end: int, ts: float, frame: int, retx: bool) -> None:
        tiled = self.tiled
        i = self.n * _SEG
        if i == len(tiled):
            extend_d(tiled, _SEG)
        set_d(tiled, i + _START, start)
        set_d(tiled, i + _END, end)
        set_d(tiled, i + _TS, ts)
        set_d(tiled, i + _FRAME, frame)
        set_d(tiled, i + _RETX, 1.0 if retx else 0.0)
        self.n += 1

    def add(self, start: int, end: int, ts: float, frame: int, retx: bool) -> None:
        if self.count >= MAX_UNACKED:
            return
        self.count += 1
        if self.head == self.n:  # no tiled segment held
            self.head = self.n = 0
            self._tile(start, end, ts, frame, retx)
            return
        if start >= self._end(self.n - 1):
            self._tile(start, end, ts, frame, retx)
            return
        # overlaps or precedes the tiled segments (a resend, reordering)
        if not self.x_count:
            self.x_ends = []
            self.x_starts = []
        self.tick += 1
        sent = _new_sent(start, end, ts, frame, retx)
        node = _Start(start)
        sent.node = node
        heapq.heappush(self.x_ends, (end, self.tick, sent))
        heapq.heappush(self.x_starts, (start, self.tick, node))
        if not self.x_count or end > self.x_last:
            self.x_last = end
        self.x_count += 1

    def ack(self, a: int) -> bool:
        """Drop the segments a cumulative ACK at relative `a` covers, clip the others.

        True when some segment ended exactly at `a`: then `acked_ts` is the capture time
        of the oldest such (first captured) and `acked_retx` tells whether any of the
        dropped segments resent bytes (Karn: no RTT sample from this ACK)."""
        found = False  # a segment ended at `a`: the oldest such is match_frame's
        match_frame = 0
        match_ts = 0.0
        retx = False
        tiled = self.tiled
        n = self.n
        i = self.head
        while i < n:
            end = self._end(i)
            if end > a:
                break
            if get_d(tiled, i * _SEG + _RETX) != 0.0:
                retx = True
            if end == a:
                found = True
                match_frame = int(get_d(tiled, i * _SEG + _FRAME))
                match_ts = get_d(tiled, i * _SEG + _TS)
            i += 1
        if i > self.head:
            self.count -= i - self.head
            if i == n:
                # all acknowledged: the records' room is used again (deleting the slice
                # cost about 400 instructions an ACK), unless it grew large
                if len(tiled) > _KEEP * _SEG:
                    del tiled[:]
                n = self.n = i = 0
            elif i >= _COMPACT and 2 * i >= n:
                del tiled[:i * _SEG]  # amortized: at least as many kept moves as drops
                n -= i
                self.n = n
                i = 0
            self.head = i
        if i < n and self._start(i) < a < self._end(i):
            set_d(tiled, i * _SEG + _START, a)
        if self.x_count:
            ends = self.x_ends
            while ends and ends[0][0] <= a:
                e = heapq.heappop(ends)[2]
                root = _root(e.node)
                root.count -= 1
                self.x_count -= 1
                self.count -= 1
                if e.retx:
                    retx = True
                if e.end == a and (not found or e.frame < match_frame):
                    found = True  # the oldest (first captured) exact match
                    match_frame = e.frame
                    match_ts = e.ts
            if self.x_count:
                self._clip(a)
            else:
                self.x_ends = None
                self.x_starts = None
        if not found:
            return False
        self.acked_ts = match_ts
        self.acked_retx = retx
        return True

    def _clip(self, a: int) -> None:
        """Every overlapping segment starting below `a` now starts at `a`."""
        starts = self.x_starts
        target = None
        while starts and starts[0][0] < a:
            node = heapq.heappop(starts)[2]
            if not node.count:
                continue  # every segment starting there is gone
            if target is None:
                target = node
                node.value = a
            else:
                node.parent = target
                target.count += node.count
                node.count = 0
        if target is not None:
            self.tick += 1
            heapq.heappush(starts, (a, self.tick, target))

    def first(self) -> int:
        """The lowest start held (count > 0)."""
        if self.x_count:
            starts = self.x_starts
            while not starts[0][2].count:
                heapq.heappop(starts)
            low = starts[0][0]
            if self.head < self.n:
                start = self._start(self.head)
                if start < low:
                    low = start
            return low
        return self._start(self.head)

    def last(self) -> int:
        """The highest end held (count > 0)."""
        if self.head < self.n:
            high = self._end(self.n - 1)
            if self.x_count and self.x_last > high:
                high = self.x_last
            return high
        return self.x_last

    def overlaps(self, start: int, end: int, frame: int) -> bool:
        """Whether a segment other than `frame`'s covers part of [start, end)."""
        lo = self.head
        hi = self.n
        while lo < hi:  # the first tiled segment ending after `start`
            mid = (lo + hi) // 2
            if self._end(mid) <= start:
                lo = mid + 1
            else:
                hi = mid
        while lo < self.n:
            if self._start(lo) >= end:
                break
            if int(get_d(self.tiled, lo * _SEG + _FRAME)) != frame:
                return True
            lo += 1
        if self.x_count and self.x_last > start:
            for item in self.x_ends:
                e = item[2]
                if start < e.end and _root(e.node).value < end and e.frame != frame:
                    return True
        return False
