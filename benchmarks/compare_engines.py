"""Compare the compiled build with the pure-Python reference, capture by capture.

For each capture, runs `analyze` (the JSON contract) and `iter_events` (every verdict)
once with the compiled modules and once with TCPFORENSICS_PURE=1 (in a child process),
and prints the first differences.  Exit status 1 when any capture differs.

    python benchmarks/compare_engines.py sample_pcaps/bulk/*.pcap.gz
    python benchmarks/compare_engines.py --events sample_pcaps/demo.pcap
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def fingerprint(path: str, events: bool) -> dict:
    """The analysis JSON (and a digest of every per-segment verdict) of one capture."""
    import tcpforensics
    from tcpforensics.model import analysis_text, flags_text

    try:
        out: dict = {"analysis": json.loads(tcpforensics.analyze(path).to_json(indent=None))}
    except tcpforensics.TcpForensicsError as exc:  # unreadable: both engines must say so
        return {"error": str(exc)}
    if events:
        digest = hashlib.sha256()
        count = 0
        for seg, flow, v in tcpforensics.iter_events(path):
            row = (seg.frame, seg.ts, flow.id, v.direction, v.rel_seq, v.rel_ack,
                   v.win_scaled, analysis_text(v.analysis), v.ack_rtt, v.bytes_in_flight,
                   v.retrans_cause, v.state, v.acked_bytes, v.sacked_bytes, v.dsack,
                   flags_text(seg.flags), seg.length, seg.sacks, seg.tsval, seg.tsecr)
            digest.update(repr(row).encode())
            count += 1
        out["events"] = [count, digest.hexdigest()]
    return out


def _pure(paths: list[str], events: bool) -> list[dict]:
    env = dict(os.environ, TCPFORENSICS_PURE="1", PYTHONPATH=str(ROOT))
    code = (f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); "
            "from benchmarks.compare_engines import fingerprint; "
            f"print(json.dumps([fingerprint(p, {events!r}) for p in sys.argv[1:]]))")
    proc = subprocess.run([sys.executable, "-c", code, *paths], env=env, capture_output=True,
                          text=True)
    if proc.returncode:
        raise RuntimeError(f"pure reference run failed: {proc.stderr.strip()[-2000:]}")
    return json.loads(proc.stdout)


def first_differences(a, b, where: str = "", limit: int = 5) -> list[str]:
    """Paths (and values) where two JSON values differ, at most `limit`."""
    out: list[str] = []

    def walk(x, y, at):
        if len(out) >= limit:
            return
        if isinstance(x, dict) and isinstance(y, dict):
            for k in sorted(set(x) | set(y), key=str):
                walk(x.get(k, "<missing>"), y.get(k, "<missing>"), f"{at}.{k}")
        elif isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
            for i, (p, q) in enumerate(zip(x, y, strict=True)):
                walk(p, q, f"{at}[{i}]")
        elif x != y:
            out.append(f"{at}: compiled={str(x)[:120]} pure={str(y)[:120]}")

    walk(a, b, where)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("captures", nargs="+")
    parser.add_argument("--events", action="store_true", help="also compare every verdict")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from tcpforensics.engine import compiled_modules

    print(f"compiled modules: {', '.join(compiled_modules()) or 'none'}")
    pure = _pure(args.captures, args.events)
    bad = 0
    for path, ref in zip(args.captures, pure, strict=True):
        got = json.loads(json.dumps(fingerprint(path, args.events)))
        diffs = first_differences(got, ref)
        if diffs:
            bad += 1
            print(f"DIFFERS {path}")
            for line in diffs:
                print(f"   {line}")
    print(f"{len(args.captures) - bad}/{len(args.captures)} captures identical")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
