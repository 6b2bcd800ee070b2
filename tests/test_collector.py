"""The garbage collector is paused during an analysis (tcpforensics/collector.py).

That is only safe because the pipeline makes no reference cycles: reference counting then
frees everything, and the collector has nothing to find. These tests check that premise
on real and mutated captures, and check the pause and its safety valve themselves.
"""

from __future__ import annotations

import gc
import importlib.util
import json
import os
import random
import subprocess
import sys
import weakref
from pathlib import Path

import pytest

import tcpforensics
from tcpforensics import collector

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO / "sample_pcaps"
CAPTURES = [SAMPLES / "demo.pcap",
            SAMPLES / "churn" / "churn.server.pcap.gz",
            SAMPLES / "blackhole" / "blackhole.client.pcap.gz",
            SAMPLES / "nagle" / "nagle-rr.client.pcap.gz",
            SAMPLES / "bulk" / "demo-lossy.client.pcap.gz"]


# Run in a fresh interpreter: other tests leave threads (Dask's, for one) whose own
# cyclic garbage would be counted here.
# The modules the pipeline imports on first need (socket to write an IPv6 address,
# statistics for a median) are imported first: building their enum classes leaves cyclic
# garbage once per process, which is the import's, not the analysis'.
_COUNT_GARBAGE = """
import gc, json, sys
import socket, statistics
import tcpforensics
from tcpforensics.analysis import Options, lean_options
from tcpforensics.errors import CaptureError
out = []
for path in sys.argv[1:]:
    for options in (Options(), lean_options(plain_results=2, packed_memory=4096)):
        gc.collect()
        gc.disable()  # (so that no automatic collection hides any garbage)
        try:
            analysis = tcpforensics.analyze(path, options=options)
        except CaptureError:
            out.append(None)
        else:
            analysis.to_dict()
            while_held = gc.collect()
            del analysis
            out.append([while_held, gc.collect()])
        gc.enable()
print(json.dumps(out))
"""


def _garbage_after(paths: list[Path]) -> list:
    """Per capture and per option set (full, then packed): cyclic garbage found while the
    analysis is held and after it is dropped, or None when the capture is unreadable."""
    proc = subprocess.run([sys.executable, "-c", _COUNT_GARBAGE, *map(str, paths)],
                          capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    return json.loads(proc.stdout)


def test_an_analysis_leaves_no_reference_cycles() -> None:
    present = [p for p in CAPTURES if p.exists()]
    if not present:
        pytest.skip("sample captures missing")
    assert _garbage_after(present) == [[0, 0]] * (2 * len(present))


def test_mutated_captures_leave_no_reference_cycles(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("fuzz_pipeline",
                                                  REPO / "tests" / "fuzz_pipeline.py")
    fp = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("fuzz_pipeline", fp)
    spec.loader.exec_module(fp)
    seeds = fp.default_seeds()
    if not seeds:
        pytest.skip("no seed captures")
    rng = random.Random(6)
    paths = []
    for n in range(25):
        case = fp.make_case(rng, seeds)
        path = tmp_path / f"case{n}{case.suffix}"
        path.write_bytes(case.blob)
        paths.append(path)
    counts = _garbage_after(paths)
    analyzed = [c for c in counts if c is not None]
    assert len(analyzed) >= 30
    assert all(c == [0, 0] for c in analyzed)


def test_pause_turns_automatic_collection_off_and_back_on() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():  # an analysis inside another (a report's, a batch's)
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_what_the_analysis_kept_is_not_left_for_the_next_collection() -> None:
    capture = CAPTURES[1]
    if not capture.exists():
        pytest.skip(f"{capture} missing")
    gc.collect()
    analysis = tcpforensics.analyze(capture)
    # the results went straight to the oldest generation: no young collection visits them
    result = analysis.flow_results[0]
    assert any(o is result for o in gc.get_objects(generation=2))
    assert not any(o is result for o in gc.get_objects(generation=0))


def test_pause_keeps_objects_the_caller_froze_frozen() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        with collector.paused():
            pass
        assert gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()


def test_pause_leaves_a_collector_the_caller_turned_off_alone() -> None:
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_pause_turns_collection_back_on_after_an_error() -> None:
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the collector frees it


def test_the_valve_collects_cycles_once_enough_objects_piled_up(monkeypatch) -> None:
    monkeypatch.setattr(collector, "_bound", 10_000)
    with collector.paused():
        cycle = _Node()
        alive = weakref.ref(cycle)
        del cycle
        collector.collect_if_due()  # too few allocations yet: nothing collected
        assert alive() is not None
        piled = [[] for _ in range(20_000)]
        collector.collect_if_due()
        assert alive() is None
        del piled


def test_the_valve_backs_off_when_it_finds_nothing(monkeypatch) -> None:
    monkeypatch.setattr(collector, "_bound", 10_000)
    with collector.paused():
        piled = [[] for _ in range(20_000)]
        collector.collect_if_due()
        assert collector._bound == 20_000
        del piled


def test_the_valve_is_quiet_outside_an_analysis(monkeypatch) -> None:
    monkeypatch.setattr(collector, "_bound", 10)
    cycle = _Node()
    alive = weakref.ref(cycle)
    del cycle
    gc.disable()  # (so only the valve could collect it)
    try:
        piled = [[] for _ in range(100)]
        collector.collect_if_due()
        assert alive() is not None
        del piled
    finally:
        gc.enable()
        gc.collect()
