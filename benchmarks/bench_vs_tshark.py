"""Speed and memory of `tcpforensics analyze` and `report` against tshark on the same capture.

Each tool runs as its own child process; wait4 gives its wall time, user+sys CPU time
and peak RSS.  Prints packets/s, MB/s, peak RSS, the tshark/tcpforensics ratio and the
report/analyze ratio.  Nothing is asserted: the numbers go to the README.

    python benchmarks/bench_vs_tshark.py                  # the 1M-packet lab bulk capture
    python benchmarks/bench_vs_tshark.py /tmp/bulk21.pcap --repeat 3
    python benchmarks/bench_vs_tshark.py /tmp/bulk21.pcap --pcapng   # and as pcapng
    python benchmarks/bench_vs_tshark.py --synthetic 1000000 --skip-tshark
    python benchmarks/bench_vs_tshark.py --memory 1000000 3000000 10000000
    python benchmarks/bench_vs_tshark.py --memory 200000 2000000 6000000 --short

Without a capture argument it uses benchmarks/out/bulk-1m.pcap and records it first
when missing (benchmarks/make_bulk_capture.py: needs root and network namespaces).
`--memory` instead writes one long synthetic many-flow capture (make_synthetic.py),
takes prefixes of the given lengths and prints the peak RSS of each of `--commands`
(default `analyze` and `report`) on each, to show that memory does not grow with the
capture's length.  Set TCPFORENSICS_PURE=1 to
measure the pure-Python reference instead of the compiled build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUT = HERE / "out"
BULK = OUT / "bulk-1m.pcap"
# Many flows at once and a long timeline: 200 concurrent flows of 2000 segments each.
SYNTHETIC_ARGS = ["--concurrent", "200", "--segments", "2000"]
# --short: many short connections (about 40 packets each), where per-flow costs and the
# number of finished flows dominate
SHORT_FLOW_ARGS = ["--concurrent", "200", "--segments", "20"]


@dataclass
class Run:
    name: str
    wall: float  # seconds
    cpu: float  # user + sys seconds
    rss_kib: int


def measure(cmd: list[str], name: str) -> Run:
    """Run `cmd` to completion; its wall time, CPU time and peak RSS from wait4."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # Measured as installed: pip byte-compiles a package when it installs it, so an
    # environment that forbids writing bytecode would add parsing every module to each run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    start = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, rusage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        text = err.read().decode(errors="replace").strip()
    if proc.returncode not in (0, 1):  # 1: tcpforensics --fail-on / tshark found nothing
        raise RuntimeError(f"{cmd} exited {proc.returncode}: {text[-400:]}")
    if text and not text.startswith("Running as user"):
        print(f"  [{name} stderr] {text.splitlines()[-1][:200]}", file=sys.stderr)
    return Run(name, wall, rusage.ru_utime + rusage.ru_stime, rusage.ru_maxrss)


def best_of(tools: list[tuple[str, list[str]]], repeat: int) -> list[Run]:
    """Per tool, the run with the least CPU time of `repeat` (the machine is shared; the
    least disturbed run is the closest to the tool's own cost), or for `--jobs` the least
    wall time; peak RSS is the maximum (for `--jobs`, of the parent process alone).

    The tools take turns (one run of each, `repeat` times over), so a machine whose speed
    drifts slows them alike, and the ratios between them hold; a first run of each, not
    counted, warms the page cache and writes the bytecode.
    """
    for name, cmd in tools:
        measure(cmd, name)
    runs: dict[str, list[Run]] = {name: [] for name, _ in tools}
    for _ in range(repeat):
        for name, cmd in tools:
            runs[name].append(measure(cmd, name))
    best = []
    for name, _ in tools:
        # several processes: the wall time is what they buy (their CPU times add up)
        key = (lambda r: r.wall) if "--jobs" in name else (lambda r: r.cpu)
        run = min(runs[name], key=key)
        run.rss_kib = max(r.rss_kib for r in runs[name])
        best.append(run)
    return best


def count_packets(path: str) -> int:
    """Records in a classic little/big-endian pcap, by walking the record headers."""
    with open(path, "rb") as f:
        magic = f.read(24)[:4]
        if magic not in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1",
                         b"\xa1\xb2\x3c\x4d"):
            return _count_with_reader(path)
        rec = struct.Struct("<IIII" if magic[0] in (0xD4, 0x4D) else ">IIII")
        n = 0
        while True:
            head = f.read(16)
            if len(head) < 16:
                return n
            f.seek(rec.unpack(head)[2], os.SEEK_CUR)
            n += 1


def _count_with_reader(path: str) -> int:
    sys.path.insert(0, str(ROOT))
    from tcpforensics.io.reader import open_capture

    with open_capture(path) as cap:
        return sum(1 for _ in cap)


def pcap_prefix(src: str, dst: str, packets: int) -> int:
    """Copy the global header and the first `packets` records of a classic pcap."""
    with open(src, "rb") as f, open(dst, "wb") as out:
        head = f.read(24)
        rec = struct.Struct("<IIII" if head[0] in (0xD4, 0x4D) else ">IIII")
        out.write(head)
        n = 0
        while n < packets:
            h = f.read(16)
            if len(h) < 16:
                break
            out.write(h + f.read(rec.unpack(h)[2]))
            n += 1
    return n


def tools(path: str, commands: list[str], skip_tshark: bool, work: str,
          jobs: int = 1) -> list[tuple]:
    """(name, argv) of every tool to run on `path`."""
    out = []
    if not skip_tshark and shutil.which("tshark"):
        out.append(("tshark -Y tcp.analysis.flags", ["tshark", "-n", "-r", path, "-Y",
                                                     "tcp.analysis.flags"]))
    for c in commands:
        dest = os.path.join(work, "bench-out" + (".html" if c == "report" else ""))
        out.append((f"tcpforensics {c}", [sys.executable, "-m", "tcpforensics", c, path, "-q",
                                          "-o", dest]))
    if jobs > 1:
        out.append((f"tcpforensics analyze --jobs {jobs}",
                    [sys.executable, "-m", "tcpforensics", "analyze", path, "-q", "--jobs",
                     str(jobs), "-o", os.path.join(work, "bench-out")]))
    return out


def print_table(rows: list[Run], packets: int, size_mb: float) -> None:
    print(f"{'tool':30} {'wall s':>7} {'cpu s':>7} {'packets/s':>10} {'(cpu)':>10} "
          f"{'MB/s':>6} {'peak RSS MiB':>12} {'us/pkt cpu':>10}")
    for r in rows:
        print(f"{r.name:30} {r.wall:7.2f} {r.cpu:7.2f} {packets / r.wall:10,.0f} "
              f"{packets / r.cpu:10,.0f} {size_mb / r.wall:6.1f} {r.rss_kib / 1024:12.0f} "
              f"{r.cpu / packets * 1e6:10.2f}")
    by = {r.name: r for r in rows}
    t = next((r for r in rows if r.name.startswith("tshark")), None)
    a, rep = by.get("tcpforensics analyze"), by.get("tcpforensics report")
    if t and a:
        print(f"tshark / analyze: {t.wall / a.wall:.2f}x wall, {t.cpu / a.cpu:.2f}x cpu")
    if a and rep:
        print(f"report / analyze: {rep.wall / a.wall:.2f}x wall, {rep.cpu / a.cpu:.2f}x cpu")
    for r in rows:
        if t and "--jobs" in r.name:
            print(f"tshark / {r.name.removeprefix('tcpforensics ')}: "
                  f"{t.wall / r.wall:.2f}x wall")


def bench(path: str, commands: list[str], skip_tshark: bool, repeat: int,
          jobs: int = 1) -> None:
    size_mb = os.path.getsize(path) / 1e6
    packets = count_packets(path)
    mode = "pure Python" if os.environ.get("TCPFORENSICS_PURE") == "1" else "compiled"
    print(f"capture: {path}  {packets:,} packets  {size_mb:.1f} MB  ({mode}, best of {repeat})")
    with tempfile.TemporaryDirectory(prefix="tf-bench-") as work:
        rows = best_of(tools(path, commands, skip_tshark, work, jobs), repeat)
    print_table(rows, packets, size_mb)


def synthetic(packets: int, path: Path, args: list[str] = SYNTHETIC_ARGS) -> str:
    """A synthetic many-flow capture of `packets` packets, written once and reused."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        subprocess.run([sys.executable, str(HERE / "make_synthetic.py"), "--packets",
                        str(packets), "--out", str(tmp), *args], check=True)
        os.replace(tmp, path)
    return str(path)


def memory(lengths: list[int], command: str, short: bool = False) -> None:
    """Peak RSS of `command` on prefixes of one long synthetic capture."""
    longest = max(lengths)
    args = SHORT_FLOW_ARGS if short else SYNTHETIC_ARGS
    name = f"synthetic-{'short-' if short else ''}{longest}.pcap"
    full = synthetic(longest, OUT / name, args)
    print(f"{command} on prefixes of {full} (make_synthetic.py {' '.join(args)})")
    print(f"{'packets':>11} {'MB':>7} {'wall s':>7} {'cpu s':>7} {'us/pkt cpu':>10} "
          f"{'peak RSS MiB':>12}")
    with tempfile.TemporaryDirectory(prefix="tf-bench-") as work:
        for n in sorted(lengths):
            path = full
            if n < longest:
                path = os.path.join(work, f"prefix-{n}.pcap")
                pcap_prefix(full, path, n)
            (_, argv), = tools(path, [command], True, work)
            r = measure(argv, command)
            print(f"{n:11,} {os.path.getsize(path) / 1e6:7.0f} {r.wall:7.1f} {r.cpu:7.1f} "
                  f"{r.cpu / n * 1e6:10.2f} {r.rss_kib / 1024:12.0f}", flush=True)
            if path != full:
                os.unlink(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("captures", nargs="*")
    parser.add_argument("--synthetic", type=int, default=0, metavar="PACKETS",
                        help="benchmark a synthetic many-flow capture of this many packets")
    parser.add_argument("--memory", type=int, nargs="+", metavar="PACKETS",
                        help="peak RSS on prefixes of one long synthetic capture")
    parser.add_argument("--commands", nargs="+", default=["analyze", "report"],
                        choices=("analyze", "report", "events"))
    parser.add_argument("--short", action="store_true",
                        help="with --memory: a capture of many short connections")
    parser.add_argument("--skip-tshark", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="runs per tool; the best counts")
    parser.add_argument("--jobs", type=int, default=1, metavar="N",
                        help="also time `analyze --jobs N` (N processes; compared by wall time)")
    parser.add_argument("--pcapng", action="store_true",
                        help="after each capture, the same records as pcapng (editcap -F "
                             "pcapng, into a temporary file): the format Wireshark writes")
    args = parser.parse_args(argv)

    if args.memory:
        for command in args.commands:
            memory(args.memory, command, args.short)
        return 0
    captures = list(args.captures)
    if args.synthetic:
        captures.append(synthetic(args.synthetic, OUT / f"synthetic-{args.synthetic}.pcap"))
    if not captures:
        if not BULK.exists():
            subprocess.run([sys.executable, str(HERE / "make_bulk_capture.py"), "--out",
                            str(BULK)], check=True)
        captures = [str(BULK)]
    for path in captures:
        bench(path, args.commands, args.skip_tshark, args.repeat, args.jobs)
        if args.pcapng:
            with tempfile.TemporaryDirectory() as tmp:
                ng = Path(tmp) / (Path(path).name.split(".")[0] + ".pcapng")
                subprocess.run(["editcap", "-F", "pcapng", path, str(ng)], check=True)
                bench(str(ng), args.commands, args.skip_tshark, args.repeat, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
