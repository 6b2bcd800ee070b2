"""The per-packet loop: capture record -> decode -> flow table -> the flow's observers.

It is the innermost loop of every analysis, so it lives in a compiled module of its own
(see engine.COMPILED_MODULES): `run()` walks a whole capture without a Python-level
generator, tuple or method lookup per packet.  `step()` does the same work for one
record, for callers that stream (iter_events).  Flows that end are handed to `finish`
as soon as the flow table lets them go.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import cython

from .flows import shard_of
from .io.decode import decode
from .model import Segment, SegmentObserver

PROGRESS_EVERY = 1 << 16  # records between progress callbacks


class SegmentSink:
    """A segment sink the compiled loop calls directly: subclass it and override `take`.

    `run()` accepts any callable sink (seg, flow, verdict); a SegmentSink's `take` is
    called without building a Python call per segment (a C call in the compiled build).
    """

    def take(self, seg: Segment, flow: Any, verdict: Any) -> None:
        raise NotImplementedError


class PacketLoop:
    """Feeds records to a flow table and keeps the capture-level tallies."""

    def __init__(self, table: Any, skipped: dict, finish: Callable[[Any], None],
                 progress: Callable[[int], None] | None = None,
                 ending: Callable[[int], None] | None = None) -> None:
        self.table = table
        self.skipped = skipped  # reason -> records not analyzed (a Counter)
        self.finish = finish
        self.progress = progress
        # told how many flows the end of the capture is about to hand to `finish` at once
        # (results.ResultStore.end_together), before the first of them
        self.ending = ending
        self.seen = False  # whether any TCP segment was analyzed (then the times are set)
        self.first_ts = 0.0
        self.last_ts = 0.0
        # the last segment analyzed, its flow and the TCP core's verdict
        self.seg = None
        self.flow = None
        self.verdict = None
        # flow-hash sharding (batch.analyze_parallel): only flows of shard `shard` of
        # `shards` are analyzed; the others only move the capture clock
        self.shard = 0
        self.shards = 1
        self.shard_cache: dict = {}  # 4-tuple as seen -> whether it is in this shard
        # whether a flow drops its state once `finish` has taken its result (see run())
        self.release_finished = False

    def set_shard(self, shard: int, shards: int) -> None:
        self.shard = shard
        self.shards = shards

    def feed(self, raw: Any) -> bool:
        """Analyze one record; False when it was skipped (not TCP, damaged, another
        shard's)."""
        return self.feed_decoded(decode(raw), raw.frame)

    def feed_decoded(self, result: Any, frame: int) -> bool:
        """feed() of a record already decoded (a Segment or the reason to skip it)."""
        progress = self.progress
        if progress is not None and frame % PROGRESS_EVERY == 0:
            progress(frame)
        if type(result) is str:
            self.skipped[result] += 1  # the reason it was skipped
            return False
        seg = result
        ts = seg.ts
        if not self.seen:
            self.seen = True
            self.first_ts = ts
        self.last_ts = ts
        table = self.table
        if self.shards > 1 and not self._in_shard(seg):
            # a single pass would expire flows at this point in capture time too
            table.advance(ts)
            self.end_packet()
            return False
        verdict = table.feed_verdict(seg)
        flow = table.current
        for observer in flow.observers:
            if isinstance(observer, SegmentObserver):
                # compiled: typed (a cast, as the type was just tested), so `observe` is
                # a C call
                known = cython.cast(SegmentObserver, observer)
                known.observe(seg, verdict)
            else:
                observer.observe(seg, verdict)
        self.seg = seg
        self.flow = flow
        self.verdict = verdict
        return True

    def _in_shard(self, seg: Segment) -> bool:
        key = (seg.src, seg.sport, seg.dst, seg.dport)
        mine = self.shard_cache.get(key)
        if mine is None:
            mine = shard_of(seg.src, seg.sport, seg.dst, seg.dport, self.shards) == self.shard
            self.shard_cache[key] = mine
        return mine

    def end_packet(self) -> None:
        """Hand out the flows that ended with the last packet."""
        table = self.table
        if table._due > table._now and not table._finished:
            return  # what pop_finished would find: nothing (most packets; no call)
        finished = table.pop_finished()
        if finished:
            finish = self.finish
            for flow in finished:
                finish(flow)
                if self.release_finished:
                    flow.release()

    def run(self, capture: Any, sink: Callable[[Any, Any, Any], None] | None = None) -> None:
        """Every record of `capture`; `sink(seg, flow, verdict)` sees each TCP segment.

        Here nobody holds a flow past its end, so each ended flow drops its state at
        once (a many-flow capture would otherwise keep it until the flow's stale expiry
        entries come due); `sink` may keep a flow's id, not its state.
        """
        self.feed_all(capture, sink)
        self.flush()

    def feed_all(self, capture: Any, sink: Callable[[Any, Any, Any], None] | None = None
                 ) -> None:
        """run() but the end of capture (flush): every record, the flows that end on
        the way handed out."""
        self.release_finished = True
        direct = sink if isinstance(sink, SegmentSink) else None
        while True:
            result = capture.next_decoded()  # read and decode fused (see io.reader)
            if result is None:
                break
            if self.feed_decoded(result, capture.records):
                if direct is not None:
                    direct.take(self.seg, self.flow, self.verdict)
                elif sink is not None:
                    sink(self.seg, self.flow, self.verdict)
                self.end_packet()
                # let go of the packet's segment and verdict: unless a sink kept them,
                # decode and the TCP core then fill the same objects for the next one
                self.seg = None
                self.verdict = None
            result = None

    def flush(self) -> None:
        """End of capture: every flow still live, in id order."""
        finish = self.finish
        flows = self.table.flush()
        if self.ending is not None:
            self.ending(len(flows))
        for flow in flows:
            finish(flow)
            if self.release_finished:
                flow.release()
