"""The decoder and the TCP core fill their last Segment and SegmentVerdict again for the
next packet once nothing else holds them (compiled build: no object is made and destroyed
per packet).  Whoever keeps one must find it unchanged, and the output must not depend on
whether the objects were kept."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tcpforensics.flows import FlowTable
from tcpforensics.io.reader import open_capture
from tcpforensics.model import Segment, SegmentVerdict
from tcpforensics.packet_loop import PacketLoop

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = [ROOT / "sample_pcaps" / "demo.pcap",
            *sorted((ROOT / "sample_pcaps").glob("slow_reader/*.pcap*"))[:1]]


def _fields(obj: Segment | SegmentVerdict) -> tuple:
    return tuple(getattr(obj, name) for name in type(obj).FIELDS)


def test_kept_segments_and_verdicts_stay_as_they_were():
    for path in CAPTURES:
        cap = open_capture(str(path))
        table = FlowTable()
        kept, every = [], 0
        while (seg := cap.next_decoded()) is not None:
            if type(seg) is str:
                continue
            verdict = table.feed_verdict(seg)
            every += 1
            if every % 3 == 0:  # keep some, let the others go (those are filled again)
                kept.append((seg, _fields(seg), verdict, _fields(verdict)))
        cap.close()
        assert len(kept) > 20
        for seg, seg_fields, verdict, verdict_fields in kept:
            assert _fields(seg) == seg_fields
            assert _fields(verdict) == verdict_fields
        assert len({id(k[0]) for k in kept}) == len(kept)
        assert len({id(k[2]) for k in kept}) == len(kept)


def test_what_a_sink_sees_does_not_depend_on_keeping_the_objects():
    """PacketLoop.run lets go of each packet's segment and verdict; a sink that copies
    their fields and one that keeps the objects see the same packets."""
    path = CAPTURES[0]

    def seen(keep: bool) -> list[tuple]:
        out, objects = [], []

        def sink(seg: Segment, flow: object, verdict: SegmentVerdict) -> None:
            out.append((_fields(seg), _fields(verdict)))
            if keep:
                objects.append((seg, verdict))

        table = FlowTable()
        loop = PacketLoop(table, Counter(), lambda flow: None)
        cap = open_capture(str(path))
        loop.run(cap, sink)
        cap.close()
        if keep:  # the kept objects still hold what the sink saw
            assert [(_fields(s), _fields(v)) for s, v in objects] == out
        return out

    copied = seen(keep=False)
    assert len(copied) > 100
    assert copied == seen(keep=True)
