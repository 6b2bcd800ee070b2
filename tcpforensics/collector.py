"""CPython's cyclic garbage collector, paused while a capture is analyzed.

An analysis allocates tens of container objects per flow (the TCP core's and observers'
state, then the flow's result) that live for thousands of packets. The collector visits
each of them again every time it promotes them through its generations, and the objects
of a finished flow are visited once more by every full collection: on a capture of many
short connections that was about a third of the packet loop with the default thresholds.
Nothing the pipeline builds while it runs forms a reference cycle (tests/test_collector.py
collects after a pass over the sample captures and finds no garbage), so reference counting
frees every object on time and the collector has nothing to find.

It is still there as a safety valve against a reference cycle that a new code path or an
odd capture could start making once per packet: when the tracked objects allocated since
the last collection pass `_bound`, the young generations are collected; each collection
that finds nothing doubles the bound, so on a clean run the valve costs about one visit per
long-lived object.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_FIRST_BOUND = 1_000_000  # tracked allocations between valve checks that collect
_MAX_BOUND = 64_000_000

_depth = 0  # analyses in progress that paused the collector (nested or in threads)
_bound = _FIRST_BOUND


@contextmanager
def paused() -> Iterator[None]:
    """Turn automatic collection off inside the block, back on after the outermost one.

    A caller that turned the collector off itself keeps it off, and the valve stays quiet.
    """
    global _depth
    if _depth == 0 and not gc.isenabled():
        yield
        return
    _depth += 1
    gc.disable()
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            if gc.get_freeze_count() == 0:  # (else the caller froze objects: leave them)
                # Everything the analysis allocated and still holds joins the oldest
                # generation as it is (freeze and unfreeze move whole lists): else the
                # first collection after the pause visits each of those objects once.
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def collect_if_due() -> None:
    """The valve: collect the young generations once enough tracked objects piled up."""
    global _bound
    if _depth and gc.get_count()[0] > _bound and gc.collect(1) == 0:
        _bound = min(_bound * 2, _MAX_BOUND)
