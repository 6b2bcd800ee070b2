"""Congestion-control inference accuracy over the lab corpus (sample_pcaps/manifest.json).

For every capture whose manifest entry names the congestion control of its data
sender(s) (bulk, competing and the single-flow scenarios), run the analysis and compare
the endpoint's `cca` with the truth.  Prints, per vantage, the confusion matrix, the
accuracy on decided flows (name != unknown) and the coverage (decided / all), split into
the cells used for tuning and the held-out cells (rates and RTTs never tuned on).
Application-limited and receive-window-limited captures are scored separately: there
the right answer is "unknown".

    python benchmarks/cca_accuracy.py [--manifest sample_pcaps/manifest.json]
        [--jobs 2] [--json OUT] [--features OUT.jsonl] [--reclassify FEATURES.jsonl]

`--features` saves the estimator's raw features per data sender, so the classifier can be
re-run on them with `--reclassify` (seconds instead of minutes) while tuning.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tcpforensics.cwnd import estimator as _est  # noqa: E402
from tcpforensics.cwnd.classify import classify  # noqa: E402

NAMES = ("reno", "cubic", "bbr", "unknown", "none")
#: Held-out cells: these rates and RTTs were never looked at while tuning.
HOLDOUT_RTTS = {10, 120}
HOLDOUT_RATES = {20}
#: Scenarios whose right answer is "unknown" (sender not window-limited).
UNKNOWN_SCENARIOS = {"app_limited", "slow_reader", "rwnd_limited"}


def is_holdout(params: dict) -> bool:
    return params.get("rtt_ms") in HOLDOUT_RTTS or params.get("rate_mbit") in HOLDOUT_RATES


def _analyze(path: str) -> list[dict]:
    """Run the analysis; return one row per data sender with its cca and raw features."""
    import tcpforensics.analysis as analysis

    captured: dict[int, dict] = {}
    original = _est.classify

    def spy(features: dict) -> dict | None:
        result = original(features)
        captured[id(result)] = features
        return result

    _est.classify = spy
    try:
        res = analysis.analyze(path)
    finally:
        _est.classify = original
    rows = []
    for flow in res.flow_results:
        for ep in flow.endpoints:
            feats = captured.get(id(ep.cca)) if ep.cca is not None else None
            rows.append({"addr": ep.addr, "payload_bytes": ep.payload_bytes, "cca": ep.cca,
                         "features": _jsonable(feats) if feats is not None else None})
    return rows


def _jsonable(obj):
    return json.loads(json.dumps(obj, default=str))


def collect(manifest: Path, jobs: int) -> list[dict]:
    entries = json.loads(manifest.read_text())["captures"]
    base = manifest.parent
    todo = []
    for e in entries:
        truth = (e.get("truth") or {}).get("cca") or {}
        if not truth:
            continue
        path = base / e["file"]
        if path.exists():
            todo.append((e, str(path)))
    out = []
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for (e, _path), rows in zip(todo, pool.map(_analyze, [p for _, p in todo]),
                                    strict=True):
            by_addr = {r["addr"]: r for r in rows}
            for addr, algo in e["truth"]["cca"].items():
                r = by_addr.get(addr, {})
                out.append({"file": e["file"], "scenario": e["scenario"],
                            "vantage": e["vantage"], "params": e.get("params", {}),
                            "sender": addr, "truth": algo, "cca": r.get("cca"),
                            "features": r.get("features")})
    return out


def reclassify(rows: list[dict]) -> list[dict]:
    for r in rows:
        if r.get("features") is not None:
            r["cca"] = classify(r["features"])
    return rows


def _name(cca: dict | None) -> str:
    return cca["name"] if cca else "none"


def score(rows: list[dict]) -> dict:
    """Confusion matrix, accuracy on decided flows, coverage; bbr-vs-loss-based."""
    conf: dict[str, Counter] = defaultdict(Counter)
    decided = right = 0
    bbr_pairs = bbr_right = 0
    for r in rows:
        got = _name(r["cca"])
        conf[r["truth"]][got] += 1
        if got in ("reno", "cubic", "bbr"):
            decided += 1
            right += got == r["truth"]
            bbr_pairs += 1
            bbr_right += (got == "bbr") == (r["truth"] == "bbr")
    n = len(rows)
    return {
        "flows": n, "decided": decided,
        "accuracy": right / decided if decided else None,
        "coverage": decided / n if n else None,
        "bbr_vs_loss_based": bbr_right / bbr_pairs if bbr_pairs else None,
        "confusion": {t: dict(c) for t, c in conf.items()},
    }


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:5.1f}%"


def report(rows: list[dict]) -> dict:
    summary = {}
    window_limited = [r for r in rows if r["scenario"] in ("bulk", "competing")]
    for vantage in ("sender", "receiver"):
        for split in ("tuning", "held-out", "all"):
            sel = [r for r in window_limited if r["vantage"] == vantage and (
                split == "all" or (split == "held-out") == is_holdout(r["params"]))]
            s = score(sel)
            summary[f"{vantage}/{split}"] = s
            print(f"\n== {vantage} vantage, {split} cells: {s['flows']} flows, "
                  f"accuracy on decided {_fmt(s['accuracy'])}, coverage {_fmt(s['coverage'])}, "
                  f"bbr vs loss-based {_fmt(s['bbr_vs_loss_based'])}")
            print("truth \\ got " + "".join(f"{n:>9}" for n in NAMES))
            for t in ("reno", "cubic", "bbr"):
                c = s["confusion"].get(t, {})
                print(f"{t:<12}" + "".join(f"{c.get(n, 0):>9}" for n in NAMES))
    limited = [r for r in rows if r["scenario"] in UNKNOWN_SCENARIOS]
    unk = sum(1 for r in limited if _name(r["cca"]) in ("unknown", "none"))
    summary["limited"] = {"flows": len(limited), "unknown": unk}
    print(f"\n== application/receive-window-limited captures: {unk}/{len(limited)} unknown")
    for r in limited:
        cca = r["cca"] or {}
        print(f"   {r['file']:<48} {_name(r['cca']):<8} "
              f"{(cca.get('evidence') or {}).get('reason', '')}")
    other = [r for r in rows if r["scenario"] not in UNKNOWN_SCENARIOS | {"bulk", "competing"}]
    if other:
        print("\n== other scenarios with a known sender algorithm")
        for r in other:
            cca = r["cca"] or {}
            print(f"   {r['file']:<48} truth {r['truth']:<6} got {_name(r['cca']):<8} "
                  f"{(cca.get('evidence') or {}).get('reason', '')}")
    return summary


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", type=Path, default=ROOT / "sample_pcaps" / "manifest.json")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--json", type=Path, help="write the summary as JSON")
    ap.add_argument("--features", type=Path, help="save per-sender features (JSON lines)")
    ap.add_argument("--reclassify", type=Path, help="re-run the classifier on saved features")
    ap.add_argument("--errors", action="store_true", help="list misclassified flows")
    args = ap.parse_args(argv)
    if args.reclassify:
        rows = [json.loads(line) for line in args.reclassify.read_text().splitlines() if line]
        rows = reclassify(rows)
    else:
        if not args.manifest.exists():
            print(f"no manifest at {args.manifest}", file=sys.stderr)
            return 2
        rows = collect(args.manifest, args.jobs)
        if args.features:
            with args.features.open("w") as fh:
                for r in rows:
                    fh.write(json.dumps(r, default=str) + "\n")
    summary = report(rows)
    if args.errors:
        print("\n== misclassified (window-limited scenarios)")
        for r in rows:
            got = _name(r["cca"])
            if r["scenario"] in ("bulk", "competing") and got != r["truth"]:
                ev = (r["cca"] or {}).get("evidence") or {}
                p = r["params"]
                print(f"   {r['file']:<44} {r['vantage']:<8} truth {r['truth']:<5} got {got:<7}"
                      f" rtt {p.get('rtt_ms')} rate {p.get('rate_mbit')} q {p.get('queue_bdp')}"
                      f" loss {p.get('loss')} beta {ev.get('beta')}/{ev.get('beta_smooth')}"
                      f" n {ev.get('loss_epochs_measured')} win {ev.get('median_window_pkts')}"
                      f" dips {ev.get('probe_rtt_dips')} {ev.get('reason', '')}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
