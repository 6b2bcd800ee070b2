"""lab command line.

  python -m lab list
  python -m lab run SCENARIO... [--out DIR]      pcaps + <name>.labels.json in DIR
  python -m lab all --out DIR                    every scenario in the table
  python -m lab corpus [SCENARIO...] [--missing] [--dest sample_pcaps]
                                                 gzip'd captures + manifest.json
  python -m lab verify [--dest sample_pcaps]     measured vs. scenario, from the captures
  python -m lab linkbench RATE...                link limits (bulk cubic, 10 ms, 2 BDP)
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import signal
import sys
import time
from pathlib import Path

from lab import labels, netns
from lab.runner import REPO, LabError, run_scenario
from lab.scenarios import SCENARIOS

SAMPLE = REPO / "sample_pcaps"
DEMO_RUN = "demo-lossy"
# used by tests/test_lab.py only; not part of the corpus
NOT_IN_CORPUS = {"bulk-quick"}


def _rows(names: list[str]) -> list[dict]:
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        raise SystemExit(f"lab: unknown scenario(s): {', '.join(unknown)} "
                         "(see `python -m lab list`)")
    return [SCENARIOS[n] for n in names]


def _need_lab() -> None:
    why = netns.preflight()
    if why:
        print(f"lab: cannot run here: {why}", file=sys.stderr)
        raise SystemExit(2)


def cmd_run(names: list[str], out: Path) -> int:
    _need_lab()
    out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for row in _rows(names):
        t = time.time()
        try:
            run = run_scenario(row, out)
        except LabError as e:
            print(f"{row['name']}: FAILED: {e}", file=sys.stderr)
            failed += 1
            continue
        files = {side: Path(p).name for side, p in run["captures"].items()}
        ents = labels.entries(run, files)
        (out / f"{row['name']}.labels.json").write_text(json.dumps(ents, indent=1))
        _print_summary(row, ents, time.time() - t)
    return 1 if failed else 0


def _print_summary(row: dict, ents: list[dict], secs: float) -> None:
    parts = [f"{row['name']} ({secs:.0f} s):"]
    for e in ents:
        m = e["truth"]["measured"]
        s = f"{e['side']}/{e['vantage']} rtt={m.get('handshake_rtt_ms')}ms"
        if m.get("pair_mbit"):
            s += f" rate={m['pair_mbit']:.2f}/{m.get('busy_mbit') or 0:.2f}Mbit"
        if m.get("data_loss_rate") is not None:
            s += f" loss={m['data_loss_rate']:.4f}"
        parts.append(s)
    print(" ".join(parts), flush=True)


def _load_manifest(dest: Path) -> dict:
    p = dest / "manifest.json"
    if p.exists():
        return json.loads(p.read_text())
    return {"version": 1, "captures": []}


def _save_manifest(dest: Path, man: dict) -> None:
    man["captures"].sort(key=lambda e: (e["scenario"], e["run"], e["side"]))
    tmp = dest / "manifest.json.tmp"
    tmp.write_text(json.dumps(man, indent=1) + "\n")
    os.replace(tmp, dest / "manifest.json")


def _gzip(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(dst.suffix + ".tmp")
    # mtime 0 and no file name: identical input gives identical bytes
    with open(src, "rb") as fi, open(tmp, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as fo:
        shutil.copyfileobj(fi, fo)
    os.replace(tmp, dst)


def cmd_corpus(names: list[str], dest: Path, missing: bool, work: Path) -> int:
    _need_lab()
    dest.mkdir(parents=True, exist_ok=True)
    work.mkdir(parents=True, exist_ok=True)
    if not names:
        names = [n for n in SCENARIOS if n not in NOT_IN_CORPUS]
    man = _load_manifest(dest)
    have = {e["run"] for e in man["captures"]}
    failed = 0
    for row in _rows(names):
        if missing and row["name"] in have:
            continue
        t = time.time()
        try:
            run = run_scenario(row, work)
        except LabError as e:
            print(f"{row['name']}: FAILED: {e}", file=sys.stderr, flush=True)
            failed += 1
            continue
        files = {side: f"{row['kind']}/{row['name']}.{side}.pcap.gz"
                 for side in run["captures"]}
        if row["name"] == DEMO_RUN:
            # the README demo: the data sender's capture, uncompressed, at the top level
            sender = "client" if run["data_from_client"] else "server"
            files[sender] = "demo.pcap"
        ents = labels.entries(run, files)
        for side, p in run["captures"].items():
            if files[side].endswith(".gz"):
                _gzip(Path(p), dest / files[side])
            else:
                shutil.copyfile(p, dest / files[side])
            Path(p).unlink()
        man = _load_manifest(dest)
        man["captures"] = [e for e in man["captures"] if e["run"] != row["name"]] + ents
        _save_manifest(dest, man)
        _print_summary(row, ents, time.time() - t)
    total = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
    print(f"corpus: {len(_load_manifest(dest)['captures'])} captures, {total / 1e6:.1f} MB",
          flush=True)
    return 1 if failed else 0


def cmd_verify(dest: Path) -> int:
    """Compare each manifest entry's measured values with its scenario."""
    man = _load_manifest(dest)
    bad = 0
    for e in man["captures"]:
        p, m = e["params"], e["truth"]["measured"]
        notes = []
        rate = p.get("rate_mbit")
        if m.get("handshake_rtt_ms") is not None and p.get("rtt_ms"):
            # path RTT = propagation + serialization of SYN and SYN/ACK (74 B each)
            want = p["rtt_ms"] + 2 * 74 * 8 / (rate * 1e6) * 1000
            err = m["handshake_rtt_ms"] / want - 1
            notes.append(f"rtt {m['handshake_rtt_ms']:.2f}/{want:.2f}ms ({err:+.1%})")
            bad += abs(err) > 0.10
        if m.get("pair_mbit") and e["scenario"] in ("bulk", "competing", "wscale_off",
                                                     "sack_off", "timestamps_off", "midstream",
                                                     "ss_restart"):
            err = m["pair_mbit"] / rate - 1
            notes.append(f"rate {m['pair_mbit']:.2f}/{rate}Mbit ({err:+.1%})")
            bad += abs(err) > 0.10
        ld = e["truth"]["link"]["data_direction"]
        if p.get("loss") and ld["data_frames_in"]:
            err = ld["random_loss_rate"] / p["loss"] - 1
            notes.append(f"random loss {ld['random_loss_rate']:.4f}/{p['loss']} ({err:+.1%})")
            # fewer than ten expected losses cannot show a rate to 10 %
            bad += abs(err) > 0.10 and ld["data_frames_in"] * p["loss"] >= 10
        if m.get("data_loss_rate") is not None and e["vantage"] == "sender":
            # every frame the link dropped is missing at the receiver, and nothing else
            drops = ld["random_drops"] + ld["queue_drops"] + (ld.get("outage_drops") or 0)
            seen = round(m["data_loss_rate"] * m["data_segments_sent"])
            notes.append(f"lost between captures {seen} (link dropped {drops})")
            bad += abs(seen - drops) > max(2, 0.1 * drops)
        print(f"{e['file']}: " + "; ".join(notes))
    print(f"verify: {bad} value(s) off by more than 10%")
    return 1 if bad else 0


def cmd_linkbench(rates: list[float], out: Path) -> int:
    _need_lab()
    from lab import measure
    out.mkdir(parents=True, exist_ok=True)
    print("rate_mbit throughput_mbit pair_mbit handshake_ms late_mean_us late_p>1ms")
    for rate in rates:
        row = {"name": f"linkbench-{rate:g}", "kind": "bulk", "cca": "cubic", "rtt_ms": 10,
               "rate_mbit": rate, "queue_bdp": 2, "loss": 0.0, "direction": "upload",
               "duration_s": 6, "seed": 1}
        run = run_scenario(row, out)
        src = run["client"]["conns"][0]["local"]
        s = measure.read_capture(run["captures"]["server"])
        c = measure.read_capture(run["captures"]["client"])
        br = measure.bottleneck_rate(s, src)
        d = run["link"]["a_to_b"]
        h = d["release_late_hist"]
        late = sum(h[k] for k in ("<2ms", "<5ms", ">=5ms")) / max(1, d["frames_out"])
        print(f"{rate:g} {br['throughput_mbit']:.2f} {br['pair_mbit']:.2f} "
              f"{measure.handshake_rtt(c) * 1000:.2f} {d['release_late_mean_us']} {late:.4f}",
              flush=True)
        for p in run["captures"].values():
            Path(p).unlink()
    return 0


def _stop(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m lab", description="tcpforensics ground-truth lab")
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list")
    r = sub.add_parser("run")
    r.add_argument("scenarios", nargs="+")
    r.add_argument("--out", type=Path, default=Path("lab-out"))
    a = sub.add_parser("all")
    a.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("corpus")
    c.add_argument("scenarios", nargs="*")
    c.add_argument("--dest", type=Path, default=SAMPLE)
    c.add_argument("--work", type=Path, default=Path("/tmp/tf-lab-work"))
    c.add_argument("--missing", action="store_true", help="only runs not yet in the manifest")
    v = sub.add_parser("verify")
    v.add_argument("--dest", type=Path, default=SAMPLE)
    b = sub.add_parser("linkbench")
    b.add_argument("rates", nargs="+", type=float)
    b.add_argument("--out", type=Path, default=Path("/tmp/tf-lab-bench"))
    args = ap.parse_args(argv)
    # stop cleanly on SIGTERM/SIGINT (even when started in the background with SIGINT
    # ignored): SystemExit unwinds through the runner, which removes its namespaces
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    if args.cmd == "list":
        for name, row in SCENARIOS.items():
            print(f"{name}\t{row['kind']}")
        return 0
    if args.cmd == "run":
        return cmd_run(args.scenarios, args.out)
    if args.cmd == "all":
        return cmd_run(list(SCENARIOS), args.out)
    if args.cmd == "corpus":
        return cmd_corpus(args.scenarios, args.dest, args.missing, args.work)
    if args.cmd == "verify":
        return cmd_verify(args.dest)
    return cmd_linkbench(args.rates, args.out)


if __name__ == "__main__":
    sys.exit(main())
