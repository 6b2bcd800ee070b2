"""The flow table: bidirectional TCP flows, port reuse, idle expiry, bounded memory.

Flow ids are 0, 1, 2, ... in order of first packet and match tshark's `tcp.stream`:
like Wireshark, a SYN (without ACK) whose ISN differs from the one already known for
its sender on that 4-tuple starts a new flow and carries `reused_ports`.

Finished flows are handed out by `pop_finished()` as soon as they end: replaced by port
reuse, closed (RST or both FINs acknowledged) and quiet for `closed_linger` seconds of
capture time, idle for `idle_timeout`, or evicted (least recently active first) when
more than `max_flows` are live.  Expiry uses a heap of deadlines that is only looked at
when capture time passes the earliest one, so the per-packet cost is O(1) when nothing
ends.  (Wireshark never expires conversations: a tuple seen again after its flow
expired gets a new id here, flagged reused_ports when it starts with a SYN carrying a
new ISN, as Wireshark does; the crosscheck disables expiry to compare like with like.)
"""

from __future__ import annotations

import heapq
import struct
import zlib
from collections import OrderedDict, deque
from collections.abc import Callable, Sequence
from typing import Any

import cython

from .model import ACK, SYN, Segment, SegmentVerdict
from .tcp.connection import Connection, new_connection

if cython.compiled:  # C only: starts a flow's cache misses at once (see prefetch.pxd)
    from cython.cimports.tcpforensics.prefetch import prefetch_flow

_NEVER = float("inf")  # FlowTable._due of an empty heap
GRAVEYARD = 65536  # expired tuples remembered for reused_ports (about 250 bytes each)
STALE_SWEEP = 4096  # ended flows' heap entries tolerated before a sweep (when half the heap)
# Slots of the flow cache (a power of two): when flows interleave packet by packet the
# previous segment's flow is the wrong guess, and the tuple's dictionary lookup (build
# the 4-tuple, hash it, compare tuples) costs about 1,400 instructions a packet, and
# with thousands of live flows several cache misses.  The cache starts at FLOW_CACHE
# slots and doubles whenever the live flows pass a quarter of them (a direct-mapped
# cache loses the flows that share a slot), up to FLOW_CACHE_MAX (2 MiB of slots).
FLOW_CACHE = 4096
FLOW_CACHE_MAX = 1 << 18
# grave_key's layouts: both addresses, then both ports
_KEY4 = struct.Struct(">4s4sHH")
_KEY16 = struct.Struct(">16s16sHH")
_PORTS = struct.Struct(">HH")


def flow_key(seg: Segment) -> tuple:
    """The 4-tuple of a segment's flow, the same for both directions."""
    src = seg.src
    dst = seg.dst
    if src < dst or src == dst and seg.sport <= seg.dport:
        return (src, seg.sport, dst, seg.dport)
    return (dst, seg.dport, src, seg.sport)


def grave_key(key: tuple) -> bytes:
    """A flow key as one bytes object (addresses, then ports): the graveyard holds up to
    GRAVEYARD of them, and a key tuple with its addresses and ports took 4 objects more
    (455 bytes an entry with an (address, port, ISN) tuple for value, now about 250).
    Both addresses have the same length, so the layout is unambiguous.  One struct call
    (concatenation and two int.to_bytes calls cost about 3,000 instructions a key)."""
    size = len(key[0])
    if size == 4:
        return _KEY4.pack(key[0], key[2], key[1], key[3])
    if size == 16:
        return _KEY16.pack(key[0], key[2], key[1], key[3])
    return key[0] + key[2] + _PORTS.pack(key[1], key[3])


def cache_slot(src: bytes, sport: int, dst: bytes, dport: int, mask: int) -> int:
    """A flow's slot in a flow cache of mask + 1 slots, the same for both directions
    (addresses keep their hash cached, so this costs a few instructions).  Only a guess:
    the slot's flow is checked with `Connection.owns`."""
    return (hash(src) ^ hash(dst) ^ sport ^ dport) & mask


def shard_of(src: bytes, sport: int, dst: bytes, dport: int, shards: int) -> int:
    """Shard of a flow: a process-independent hash of its direction-free 4-tuple."""
    a = src + sport.to_bytes(2, "big")
    b = dst + dport.to_bytes(2, "big")
    lo, hi = (a, b) if a <= b else (b, a)
    return zlib.crc32(lo + hi) % shards


class Flow:
    __slots__ = ("id", "key", "conn", "observers", "last_ts", "done", "_entries")

    def __init__(self, fid: int, key: tuple, conn: Connection, ts: float) -> None:
        self._start(fid, key, conn, ts)

    def _start(self, fid: int, key: tuple, conn: Connection, ts: float) -> None:
        self.id = fid
        self.key = key
        self.conn = conn
        # a tuple: its items are inline (one cache line less per packet than a list)
        self.observers: tuple = ()
        self.last_ts = ts
        self.done = False
        self._entries = 0  # heap entries referring to this flow

    def __repr__(self) -> str:
        return f"Flow(id={self.id}, last_ts={self.last_ts})"

    def release(self) -> None:
        """Drop the per-flow state once the flow's result is taken: stale heap entries
        keep the Flow itself until their deadline (up to `idle_timeout` of capture
        time), and a many-flow capture must not keep every ended flow's state that long."""
        self.conn = None
        self.observers = ()


class FlowTable:
    def __init__(self, *, idle_timeout: float = 300.0, closed_linger: float = 60.0,
                 max_flows: int = 200_000, max_lingering: int = 1000,
                 observer_makers: Sequence[Callable[[Flow], Any]] = ()) -> None:
        self.idle_timeout = float(idle_timeout)
        self.closed_linger = float(closed_linger)
        self.max_flows = max(1, int(max_flows))
        # Closed flows wait `closed_linger` for late segments (retransmitted FINs, the
        # last ACKs).  At most `max_lingering` wait at once; past it the one closed
        # longest ago ends early (counted in closed_early): memory stays bounded under
        # a high rate of connection closes.
        self.max_lingering = max(1, int(max_lingering))
        self.closed_early = 0
        self.lingering = 0  # closed flows not yet ended
        self._closed_order: deque[Flow] = deque()
        # each new flow's observers, one per maker, in order (the makers are called from
        # here: compiled, no Python-level function per flow)
        self.observer_makers = tuple(observer_makers)
        self.evicted = 0
        self.created = 0
        self._live: dict[tuple, Flow] = {}
        # recently expired tuples (grave_key) -> their client's side and ISN (_bury),
        # oldest first.  An OrderedDict: dropping the oldest entry of a plain dict
        # (del d[next(iter(d))]) scans the deleted slots at its front, ~70 us per flow
        # once full (a SYN flood's hot spot)
        self._grave: OrderedDict[bytes, int] = OrderedDict()
        self._heap: list[tuple[float, int, Flow]] = []
        # the earliest deadline in the heap (_NEVER: empty), kept as a number of its own:
        # pop_finished reads it on every packet (compiled, a C double of the table, where
        # heap[0][0] reads the list, its items, the tuple and the float: four cache lines)
        self._due = _NEVER
        # heap entries of ended flows, about: they are skipped when popped, but until
        # their deadline (up to idle_timeout of capture time) each keeps its Flow, so a
        # burst of short connections is swept out of the heap now and then (_sweep)
        self._stale = 0
        self._finished: list[Flow] = []
        self._now = float("-inf")
        # the flow of the last segment fed: the verdict's flow, and a cheap first guess
        # for the next segment's
        self.current: Flow | None = None
        # cache_slot() -> a live flow of that slot (None: empty); a shortcut to `_live`
        self._cache: list[Flow | None] = [None] * FLOW_CACHE
        self._cache_mask = FLOW_CACHE - 1

    def __len__(self) -> int:
        return len(self._live)

    # -- per packet -------------------------------------------------------------------
    def feed(self, seg: Segment) -> tuple[Flow, SegmentVerdict]:
        """The segment's flow and the TCP core's verdict on it."""
        verdict = self.feed_verdict(seg)
        return self.current, verdict

    @cython.nonecheck(True)  # compiled: reading a None seg raises, as in Python
    def feed_verdict(self, seg: Segment) -> SegmentVerdict:
        """The TCP core's verdict on the segment; its flow is then `current`."""
        flow = self.current
        if flow is None or flow.done or not flow.conn.owns(seg):
            # not the flow of the previous segment: try the flow cache, then the tuple
            slot = cache_slot(seg.src, seg.sport, seg.dst, seg.dport, self._cache_mask)
            flow = self._cache[slot]
            if flow is None or flow.done or not flow.conn.owns(seg):
                flow = self._live.get(flow_key(seg))
                if flow is not None:
                    self._cache[slot] = flow
            if cython.compiled and flow is not None:
                prefetch_flow(flow.conn, flow.observers)
        if flow is None:
            flow = self._start(seg)
        elif seg.flags & (SYN | ACK) == SYN:
            conn = flow.conn
            fwd = conn.eps[conn.direction(seg)]
            if fwd.base_set and seg.seq != fwd.base_seq:
                self._end(flow, remember=False)
                flow = self._new(flow.key, seg, True)
        self.current = flow
        ts = seg.ts
        if ts > self._now:
            self._now = ts
        flow.last_ts = ts
        conn = flow.conn
        was_closed = conn.closed
        verdict = conn.process(seg)
        if conn.closed and not was_closed:
            self._push(flow, ts + self.closed_linger)
            self._linger(flow)
        return verdict

    def _grow_cache(self) -> None:
        """Twice the flow cache's slots, filled with the live flows (once per doubling:
        at most 7 times)."""
        mask = 2 * self._cache_mask + 1
        cache: list[Flow | None] = [None] * (mask + 1)
        for key, flow in self._live.items():
            cache[cache_slot(key[0], key[1], key[2], key[3], mask)] = flow
        self._cache = cache
        self._cache_mask = mask

    def _linger(self, flow: Flow) -> None:
        order = self._closed_order
        order.append(flow)
        self.lingering += 1
        while order and order[0].done:
            order.popleft()
        if self.lingering > self.max_lingering:
            while order:
                oldest = order.popleft()
                if not oldest.done:
                    self.closed_early += 1
                    self._end(oldest)
                    break

    def _start(self, seg: Segment) -> Flow:
        """A new flow for a tuple without a live one."""
        key = flow_key(seg)
        reused = False
        if self._grave:
            buried = self._grave.pop(grave_key(key), -1)
            if buried >= 0:
                # the tuple's previous flow already ended here, but Wireshark still
                # knows it: a SYN from its client with another ISN is flagged
                # reused_ports all the same
                side = buried & 1
                base = (buried >> 1) - 1
                if seg.flags & (SYN | ACK) == SYN and base >= 0 and seg.seq != base \
                        and seg.src == key[2 * side] and seg.sport == key[2 * side + 1]:
                    reused = True
        return self._new(key, seg, reused)

    def _new(self, key: tuple, seg: Segment, reused: bool) -> Flow:
        fid = self.created
        self.created += 1
        # compiled: a C call of tp_new and _start, not a call through the type
        flow = Flow.__new__(Flow)
        flow._start(fid, key, new_connection(fid, seg, reused), seg.ts)
        self._live[key] = flow
        if len(self._live) > (self._cache_mask + 1) >> 2 and self._cache_mask < FLOW_CACHE_MAX - 1:
            self._grow_cache()
        self._cache[cache_slot(key[0], key[1], key[2], key[3], self._cache_mask)] = flow
        if self._stale > STALE_SWEEP and 2 * self._stale > len(self._heap):
            self._sweep()
        self._push(flow, seg.ts + self.idle_timeout)
        if self.observer_makers:
            flow.observers = tuple([make(flow) for make in self.observer_makers])
        if len(self._live) > self.max_flows:
            self._evict_one(flow)
        return flow

    def _sweep(self) -> None:
        """Drop the heap entries of ended flows (popping skips them: same expiries)."""
        heap = self._heap
        heap[:] = [entry for entry in heap if not entry[2].done]
        heapq.heapify(heap)
        self._due = heap[0][0] if heap else _NEVER
        self._stale = 0

    def _push(self, flow: Flow, deadline: float) -> None:
        flow._entries += 1
        heapq.heappush(self._heap, (deadline, flow.id, flow))
        if deadline < self._due:
            self._due = deadline

    def _end(self, flow: Flow, remember: bool = True) -> None:
        if not flow.done:
            flow.done = True
            self._stale += flow._entries
            if flow.conn.closed:
                self.lingering -= 1
            key = flow.key
            if self._live.get(key) is flow:
                del self._live[key]
                if remember:
                    self._bury(flow)
            # an ended flow leaves the cache at once: it must not keep the flow's state
            slot = cache_slot(key[0], key[1], key[2], key[3], self._cache_mask)
            if self._cache[slot] is flow:
                self._cache[slot] = None
            self._finished.append(flow)

    def _bury(self, flow: Flow) -> None:
        """Remember the client's ISN of an expired flow (bounded) for reuse detection."""
        conn = flow.conn
        c = conn.eps[0]
        key = flow.key
        # one number: the client's ISN + 1 (0: none seen) above the key's side it is on
        side = 0 if key[0] == conn.caddr and key[1] == conn.cport else 1
        grave = self._grave
        grave[grave_key(key)] = (c.base_seq + 1 if c.base_set else 0) << 1 | side
        if len(grave) > GRAVEYARD:
            grave.popitem(last=False)

    def _deadline(self, flow: Flow) -> float:
        return flow.last_ts + (self.closed_linger if flow.conn.closed else self.idle_timeout)

    def _evict_one(self, keep: Flow) -> None:
        heap = self._heap
        while heap:
            _dl, _fid, flow = heapq.heappop(heap)
            flow._entries -= 1
            if flow.done or flow is keep:
                continue  # `keep` goes back after the search: re-pushing it here could spin
            real = self._deadline(flow)
            if real > _dl and heap and real > heap[0][0]:
                if flow._entries == 0:
                    self._push(flow, real)  # active since: look further
                continue
            self.evicted += 1
            self._end(flow)
            break
        self._due = heap[0][0] if heap else _NEVER
        if keep._entries == 0 and not keep.done:
            self._push(keep, self._deadline(keep))

    # -- expiry -----------------------------------------------------------------------
    def advance(self, ts: float) -> None:
        """Capture time moves on without a segment for this table (another shard's)."""
        if ts > self._now:
            self._now = ts

    def pop_finished(self) -> list[Flow]:
        """Flows that ended since the last call (cheap when none did).  The list is
        the caller's to keep only when it is not empty."""
        if self._due <= self._now:
            now = self._now
            heap = self._heap
            while heap and heap[0][0] <= now:
                _dl, _fid, flow = heapq.heappop(heap)
                flow._entries -= 1
                if flow.done:
                    continue
                real = self._deadline(flow)
                if real <= now:
                    self._end(flow)
                elif flow._entries == 0:
                    self._push(flow, real)
            self._due = heap[0][0] if heap else _NEVER
        out = self._finished
        if out:  # else hand out the empty list itself: no allocation on every packet
            self._finished = []
        return out

    def flush(self) -> list[Flow]:
        """Every flow not yet handed out, in id order (end of capture)."""
        out = self._finished
        self._finished = []
        for flow in self._live.values():
            flow.done = True
            out.append(flow)
        self._live = {}
        self._cache = [None] * (self._cache_mask + 1)
        self._heap = []
        self._due = _NEVER
        out.sort(key=lambda f: f.id)
        return out
