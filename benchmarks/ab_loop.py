"""Alternating runs of the packet loop between builds: how a code change moves its time.

    python benchmarks/ab_loop.py CAPTURE TREE [TREE ...] [--rounds 6]

Each TREE is a directory holding a built `tcpforensics` package (a clone at some commit,
built with `python setup.py build_ext --inplace`).  Each round runs, in a child process
per tree and in turn, the loop `analyze` runs (`PacketLoop.feed_all`, then the end of the
capture), and prints each tree's CPU seconds: least, median and every run.

The machines this project is measured on drift by up to 40% within an hour, so two
builds timed an hour apart say little; taking turns, they meet the same drift.  For
changes in instructions rather than in waiting for memory, callgrind's counts are the
steadier measure (README, Performance).  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

# Run in a child with the tree first on the path: the loop's CPU time (as analyze()).
_LOOP = """
import sys, time
from tcpforensics import collector
from tcpforensics.analysis import _Run, lean_options
run = _Run(sys.argv[1], lean_options())
with collector.paused():
    t0 = time.process_time()
    run.loop.feed_all(run.capture)
    run.loop.flush()
    print(time.process_time() - t0)
"""


def time_loop(tree: Path, capture: Path) -> float:
    """CPU seconds of one loop over the capture with the package in `tree`."""
    env = dict(os.environ, PYTHONPATH=str(tree))
    env.pop("TCPFORENSICS_PURE", None)
    out = subprocess.run([sys.executable, "-c", _LOOP, str(capture)], env=env,
                         capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", type=Path)
    parser.add_argument("trees", type=Path, nargs="+")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args(argv)
    for tree in args.trees:
        if not (tree / "tcpforensics" / "__init__.py").is_file():
            parser.error(f"{tree}: no tcpforensics package there")
    runs: dict[Path, list[float]] = {tree: [] for tree in args.trees}
    for _ in range(args.rounds):
        for tree in args.trees:
            runs[tree].append(time_loop(tree, args.capture))
    for tree, times in runs.items():
        times.sort()
        print(f"{tree}  least {times[0]:.3f} s  median {statistics.median(times):.3f} s  "
              f"runs {' '.join(f'{t:.2f}' for t in times)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
