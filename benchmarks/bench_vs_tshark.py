"""Speed and memory of `tcpforensics analyze` against tshark on the same capture.

Prints packets/s, MB/s and peak RSS for each tool and the ratio.  Makes a synthetic
capture when none is given (benchmarks/make_synthetic.py).  Nothing here is asserted:
numbers go to the README and the closing notes.

    python benchmarks/bench_vs_tshark.py /path/to/capture.pcap
    python benchmarks/bench_vs_tshark.py --synthetic 1000000
    python benchmarks/bench_vs_tshark.py --synthetic 1000000 --skip-tshark --command report
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _measure(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (KiB) of a child process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, rusage = os.wait4(proc.pid, 0)[1:]
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if err.strip():
        print(f"  [{cmd[0]} stderr] {err.strip().splitlines()[-1][:200]}", file=sys.stderr)
    return elapsed, rusage.ru_maxrss


def _count_packets(path: str) -> int:
    sys.path.insert(0, str(HERE.parent))
    from tcpforensics.io.reader import open_capture

    with open_capture(path) as cap:
        n = 0
        for _ in cap:
            n += 1
    return n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("capture", nargs="?")
    parser.add_argument("--synthetic", type=int, default=0, metavar="PACKETS")
    parser.add_argument("--skip-tshark", action="store_true")
    parser.add_argument("--command", default="analyze", choices=("analyze", "report", "events"))
    args = parser.parse_args(argv)

    tmp = None
    path = args.capture
    if not path:
        tmp = tempfile.mkdtemp(prefix="tf-bench-")
        path = os.path.join(tmp, "synthetic.pcap")
        subprocess.run([sys.executable, str(HERE / "make_synthetic.py"), "--packets",
                        str(args.synthetic or 1_000_000), "--out", path], check=True)
    size_mb = os.path.getsize(path) / 1e6
    packets = _count_packets(path)
    print(f"capture: {path}  {packets:,} packets  {size_mb:.1f} MB")

    rows = []
    if not args.skip_tshark and shutil.which("tshark"):
        secs, rss = _measure(["tshark", "-n", "-r", path, "-Y", "tcp.analysis.flags"])
        rows.append(("tshark single-pass -Y tcp.analysis.flags", secs, rss))
    out = os.path.join(tmp or tempfile.gettempdir(), "bench-out")
    ours = [sys.executable, "-m", "tcpforensics", args.command, path, "-q"]
    ours += ["-o", out + (".html" if args.command == "report" else "")]
    secs, rss = _measure(ours)
    rows.append((f"tcpforensics {args.command}", secs, rss))

    print(f"{'tool':45} {'seconds':>8} {'packets/s':>11} {'MB/s':>7} {'peak RSS MiB':>13}")
    for name, secs, rss in rows:
        print(f"{name:45} {secs:8.2f} {packets / secs:11,.0f} {size_mb / secs:7.1f} "
              f"{rss / 1024:13.0f}")
    if len(rows) == 2:
        print(f"ratio (tshark seconds / tcpforensics seconds): {rows[0][1] / rows[1][1]:.2f}x")
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
