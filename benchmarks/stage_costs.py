"""Per-packet CPU cost of each stage of the pipeline, measured by adding stages one by one.

    python benchmarks/stage_costs.py capture.pcap [--repeat 3]

Prints, for each cumulative pipeline (read; +decode; +flow table and TCP core; +cwnd
observer; +stall observer; full analyze()), the best process CPU time over the repeats
and the per-packet cost the stage adds.  Set TCPFORENSICS_PURE=1 to measure the
pure-Python reference instead of the compiled build.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _read(path):
    from tcpforensics.io.reader import open_capture

    with open_capture(path) as cap:
        for _raw in cap:
            pass


def _decode(path):
    from tcpforensics.io.decode import decode
    from tcpforensics.io.reader import open_capture

    with open_capture(path) as cap:
        for raw in cap:
            decode(raw)


def _pipeline(path, observers):
    from tcpforensics.analysis import observer_factories
    from tcpforensics.flows import FlowTable
    from tcpforensics.io.decode import decode
    from tcpforensics.io.reader import open_capture

    factories = observer_factories()[:observers]
    table = FlowTable(observer_makers=factories)
    with open_capture(path) as cap:
        for raw in cap:
            seg = decode(raw)
            if seg.__class__ is str:
                continue
            flow, verdict = table.feed(seg)
            for obs in flow.observers:
                obs.observe(seg, verdict)
            table.pop_finished()
    for flow in table.flush():
        result = flow.conn.result()
        for obs in flow.observers:
            obs.finish(result)


def _analyze(path):
    import tcpforensics

    tcpforensics.analyze(path)


STAGES = (
    ("read", _read),
    ("+decode", _decode),
    ("+flow table, TCP core", lambda p: _pipeline(p, 0)),
    ("+cwnd observer", lambda p: _pipeline(p, 1)),
    ("+stall observer", lambda p: _pipeline(p, 2)),
    ("analyze() (all, with diagnosis)", _analyze),
)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    from tcpforensics.engine import engine_name
    from tcpforensics.io.reader import open_capture

    with open_capture(args.capture) as cap:
        packets = sum(1 for _ in cap)
    _analyze(args.capture)  # warm imports and caches
    print(f"{args.capture}: {packets:,} records, engine {engine_name()}")
    prev = 0.0
    for name, fn in STAGES:
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.process_time()
            fn(args.capture)
            best = min(best, time.process_time() - t0)
        added = best - prev if not name.startswith("analyze") else best
        print(f"  {name:34} {best:7.3f} s  {1e6 * best / packets:6.2f} us/pkt"
              f"  (stage adds {1e6 * added / packets:6.2f} us/pkt)")
        prev = best
    return 0


if __name__ == "__main__":
    sys.exit(main())
