"""How the cost of a packet grows with the flows live at once.

    python benchmarks/live_flows.py                      # 200, 2,000, 6,000, 20,000 flows
    python benchmarks/live_flows.py --flows 200 20000 --packets 500000 --tshark

For each count of live flows it writes (once, under benchmarks/out/) a synthetic capture
of that many long flows interleaved packet by packet, none of which ends within the
capture (`make_synthetic.py --concurrent K --segments 100000`), then times, in a child
process, the packet loop alone and the end of the capture (every flow's result, the
findings), and measures `analyze`'s peak RSS as a command.  The same instructions a
packet (callgrind) cost more time the more flow state is live: this is the measure of
the per-flow state's layout.  Nothing is asserted: the numbers go to the README.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))
from bench_vs_tshark import OUT, measure, tools  # noqa: E402 - paths set just above

# Run in a child: the loop's CPU time and the end's, apart (analysis._Run, as analyze()).
_PHASES = """
import json, sys, time
from tcpforensics import collector
from tcpforensics.analysis import _Run, _diagnose, lean_options
run = _Run(sys.argv[1], lean_options())
loop, capture = run.loop, run.capture
with collector.paused():
    t0 = time.process_time()
    loop.feed_all(capture)  # PacketLoop.run() but its end (flush)
    t1 = time.process_time()
    loop.flush()
    run._close()
    _diagnose(run.finished(), run.info)
    t2 = time.process_time()
print(json.dumps({"loop": t1 - t0, "end": t2 - t1, "flows": len(run.finished())}))
"""


def capture_of(flows: int, packets: int) -> Path:
    path = OUT / f"live-{flows}-{packets}.pcap"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, str(HERE / "make_synthetic.py"), "--packets",
                        str(packets), "--concurrent", str(flows), "--segments", "100000",
                        "--out", str(path)], check=True, stdout=subprocess.DEVNULL)
    return path


def _child_env() -> dict[str, str]:
    """The environment with the tcpforensics this process imports first on the path."""
    import tcpforensics

    home = str(Path(tcpforensics.__file__).resolve().parent.parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (home, env.get("PYTHONPATH")) if p)
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, nargs="+", default=[200, 2000, 6000, 20000])
    parser.add_argument("--packets", type=int, default=1_000_000)
    parser.add_argument("--tshark", action="store_true", help="time tshark on each as well")
    args = parser.parse_args(argv)
    print(f"{'live flows':>10} {'loop s':>7} {'us/pkt':>7} {'end s':>6} {'us/flow':>8} "
          f"{'analyze RSS MiB':>15}" + (f" {'tshark s':>8}" if args.tshark else ""))
    for flows in args.flows:
        path = capture_of(flows, args.packets)
        phases = json.loads(subprocess.run(
            [sys.executable, "-c", _PHASES, str(path)], check=True, capture_output=True,
            text=True, env=_child_env()).stdout)
        runs = {name: argv for name, argv in tools(str(path), ["analyze"], not args.tshark,
                                                   str(OUT))}
        analyze = measure(runs["tcpforensics analyze"], "analyze")
        line = (f"{flows:10,} {phases['loop']:7.2f} {phases['loop'] / args.packets * 1e6:7.2f} "
                f"{phases['end']:6.2f} {phases['end'] / max(1, phases['flows']) * 1e6:8.1f} "
                f"{analyze.rss_kib / 1024:15.0f}")
        if args.tshark:
            line += f" {measure(runs['tshark -Y tcp.analysis.flags'], 'tshark').cpu:8.2f}"
        print(line, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
