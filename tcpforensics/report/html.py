"""Render an Analysis as one self-contained HTML file.

The page is built by Jinja2 templates with autoescaping on: every string that came
from a capture (file names, pcapng comments, interface names, addresses) is escaped by
the template engine, never pasted into markup by hand.  Chart data travels as one JSON
document inside a non-executable `<script type="application/json">` block, with `<`,
`>` and `&` escaped so no capture text can close the block.  A Content-Security-Policy
with a per-report nonce stops any script we did not write, as a second line of defence.
"""

from __future__ import annotations

import datetime as _dt
import importlib.util
import json
import math
import os
import re
import secrets
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jinja2 import Environment
from markupsafe import Markup, escape

from .. import collector
from ..analysis import has_report_details
from ..errors import TcpForensicsError
from ..model import Finding, FlowResult, Segment, SegmentVerdict
from ..results import ResultStore
from . import figures
from .columns import numbers_json
from .flow_table import SEVERITY_RANK, flow_rows
from .series import Budget, FirstPassSeries, FlowSeries, SeriesCollector, collect, with_details
from .templating import OPTIONS, PrecompiledLoader

MAX_DETAILED = 20  # flows with full per-segment charts, whatever --top asks
MAX_TABLE_ROWS = 2000  # flows listed in the table (worst first)
MAX_OVERVIEW = 40  # flows in the "flows over time" chart
MAX_SUMMARY_FINDINGS = 8

_env: Environment | None = None


def _environment() -> Environment:
    global _env
    if _env is None:
        # The loader takes the templates' precompiled code when it is current.
        env = Environment(loader=PrecompiledLoader(), **OPTIONS)
        env.filters.update(seconds=fmt_seconds, bytes=fmt_bytes, rate=fmt_rate,
                           num=fmt_num, reltime=fmt_reltime, prose=prose)
        _env = env
    return _env


# --- number formatting (filters) --------------------------------------------------------
def fmt_seconds(v: Any) -> str:
    """A duration with a unit a person reads at a glance (µs, ms, s, min, h)."""
    if v is None or not isinstance(v, int | float) or not math.isfinite(v):
        return "\u2013"
    a = abs(v)
    if a == 0:
        return "0 s"
    if a < 1e-3:
        return f"{v * 1e6:.0f} \u00b5s"
    if a < 1:
        return f"{v * 1e3:.3g} ms" if a < 0.1 else f"{v * 1e3:.0f} ms"
    if a < 120:
        return f"{v:.3g} s" if a < 10 else f"{v:.1f} s"
    if a < 7200:
        return f"{v / 60:.1f} min"
    return f"{v / 3600:.1f} h"


def fmt_reltime(v: Any) -> str:
    """A time since capture start, precise enough to find the packet in Wireshark."""
    if v is None or not isinstance(v, int | float) or not math.isfinite(v):
        return "\u2013"
    return f"{v:.6f} s" if abs(v) < 1000 else f"{v:.3f} s"


def fmt_bytes(v: Any) -> str:
    if v is None or not isinstance(v, int | float):
        return "\u2013"
    a = float(v)
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(a) >= size:
            return f"{a / size:.3g} {unit}"
    return f"{int(a)} B"


def fmt_rate(v: Any) -> str:
    if v is None or not isinstance(v, int | float) or not math.isfinite(v):
        return "\u2013"
    for unit, size in (("Gbit/s", 1e9), ("Mbit/s", 1e6), ("kbit/s", 1e3)):
        if abs(v) >= size:
            return f"{v / size:.3g} {unit}"
    return f"{v:.0f} bit/s"


def fmt_num(v: Any) -> str:
    if isinstance(v, bool) or v is None:
        return str(v).lower() if isinstance(v, bool) else "\u2013"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if not math.isfinite(v):
            return "\u2013"
        return f"{v:.4g}"
    return str(v)


_CODE_SPAN = re.compile(r"`([^`<>]{1,200})`")


def prose(text: Any) -> Markup:
    """Finding text with `code` spans shown as code.  Escapes first, then marks up
    only the backtick pairs, so nothing in `text` can become a tag."""
    escaped = str(escape("" if text is None else text))
    return Markup(_CODE_SPAN.sub(r"<code>\1</code>", escaped))


def fmt_value(v: Any, limit: int = 20) -> str:
    """Any metric value as short text: numbers formatted, lists and dicts flattened."""
    if isinstance(v, str):
        return v
    if isinstance(v, dict):
        items = list(v.items())
        text = ", ".join(f"{k} {fmt_value(x, 5)}" for k, x in items[:limit])
        return text + (f", \u2026 ({len(items)} keys)" if len(items) > limit else "")
    if isinstance(v, list | tuple):
        if not v:
            return "\u2013"
        text = ", ".join(fmt_value(x, 5) for x in v[:limit])
        return text + (f", \u2026 ({len(v)} values)" if len(v) > limit else "")
    return fmt_num(v)


def cca_summary(cca: dict | None) -> str:
    """One sentence on why the congestion control was named, from its evidence."""
    if not cca:
        return ""
    ev = cca.get("evidence")
    ev = ev if isinstance(ev, dict) else {}
    name = str(cca.get("name", "unknown"))
    if name == "unknown":
        reason = ev.get("reason")
        return f"Not named: {reason}." if reason else "Not named: too little evidence."
    parts = []
    beta = ev.get("beta")
    epochs = ev.get("loss_epochs_measured", ev.get("loss_epochs"))
    if isinstance(beta, int | float):
        parts.append(f"window after each loss \u2248 {beta:.2f} of the window before"
                     + (f" over {epochs} loss epochs" if isinstance(epochs, int) else "")
                     + " (CUBIC backs off to 0.7, Reno to 0.5, BBR does not back off)")
    fit = ev.get("replica_fit")
    if isinstance(fit, dict) and fit:
        nums = {k: x for k, x in fit.items() if isinstance(x, int | float)}
        if nums:
            best = min(nums, key=nums.get)
            parts.append(f"closest replica: {best} (fit error {fmt_value(nums)}; lower is "
                         "closer)")
    dips = ev.get("probe_rtt_dips")
    if isinstance(dips, int) and dips:
        parts.append(f"{dips} ProbeRTT dips (BBR drains to 4 packets about every 10 s)")
    growth = ev.get("growth_pkts_per_round")
    if isinstance(growth, int | float) and growth > 0:
        parts.append(f"growth between losses {growth:.2f} packets per round trip")
    return "; ".join(parts) + "." if parts else ""


# --- safe embedding ------------------------------------------------------------------
def _finite(obj: Any) -> Any:
    """Replace NaN/inf (not valid JSON) by None, recursively."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        if obj and all(type(x) is int for x in obj[:64]) and all(type(x) is int for x in obj):
            return obj
        return [_finite(x) for x in obj]
    return obj


_SPLICE_MIN = 16  # lists at least this long are tried with numbers_json


def _dumps(obj: Any) -> str:
    """`json.dumps(obj)` (compact, no NaN), with the chart series encoded faster.

    Long lists of numbers are encoded by `columns.numbers_json` (the same text, several
    times faster than json's float repr) and spliced into json.dumps' output in place
    of a placeholder string; a list that two traces share is encoded once.  The
    placeholders carry a random token, so no text from the capture can collide.
    """
    token = secrets.token_hex(8)
    placeholder_of: dict[int, str] = {}  # id(list) -> its placeholder
    texts: dict[str, str] = {}

    def swap(o: Any) -> Any:
        if type(o) is dict:
            return {k: swap(v) for k, v in o.items()}
        if type(o) is list or type(o) is tuple:
            if type(o) is list and len(o) >= _SPLICE_MIN:
                ph = placeholder_of.get(id(o))
                if ph is None:
                    text = numbers_json(o)
                    if text is not None:
                        ph = placeholder_of[id(o)] = f"{token}:{len(texts)}"
                        texts[ph] = text
                if ph is not None:
                    return ph
            return [swap(v) for v in o]
        return o

    text = json.dumps(swap(obj), separators=(",", ":"), allow_nan=False, default=str)
    if not texts:
        return text
    return re.sub(f'"({token}:[0-9]+)"', lambda m: texts[m.group(1)], text)


def json_for_script(obj: Any) -> Markup:
    """JSON that is safe inside a <script> block: no '<', '>', '&' or line separators."""
    try:
        # Chart data rarely holds NaN/inf: encode as it is, and walk it only if it does.
        text = _dumps(obj)
    except (ValueError, TypeError):
        text = json.dumps(_finite(obj), separators=(",", ":"), allow_nan=False, default=str)
    text = (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))
    return Markup(text)


def _plotly_js_bytes() -> bytes:
    """The plotly.js bundle as embedded in the report, UTF-8: the bundle
    plotly.offline.get_plotlyjs() returns, read without importing plotly (its import
    costs more than reading the file)."""
    spec = importlib.util.find_spec("plotly")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("plotly is not installed")
    path = Path(spec.submodule_search_locations[0]) / "package_data" / "plotly.min.js"
    # As a text read would: universal newlines (these bytes never occur inside a
    # multi-byte UTF-8 sequence, so replacing them in the bytes is the same).
    # (Each test is one fast scan of the 3.5 MB; replace() would scan and copy.)
    js = path.read_bytes()
    if b"\r" in js:
        js = js.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    # The bundle holds no "</script"; make sure a future one cannot end our block early.
    if b"</script" in js or b"</SCRIPT" in js:
        js = js.replace(b"</script", b"<\\/script").replace(b"</SCRIPT", b"<\\/SCRIPT")
    return js


def _plotly_cdn_url() -> str:
    from plotly.offline import get_plotlyjs_version

    return f"https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js"


# --- model helpers ---------------------------------------------------------------------
def _sev(findings: list[Finding]) -> str:
    best = max((SEVERITY_RANK.get(f.severity, 0) for f in findings), default=0)
    return {3: "critical", 2: "warning", 1: "info"}.get(best, "none")


@dataclass
class _FlowFacts:
    id: int
    # where the flow is: the sequence and the position.  A packed results store rebuilds
    # a flow on each read, so for one only these are kept, not the flow: the report of a
    # many-flow capture then holds its flows' facts, not every flow at once.
    flows: Any
    index: int
    kept: FlowResult | None  # the flow itself when holding it costs nothing (a list)
    findings: list[Finding]
    stalled: float
    score: float
    severity: str
    retrans: int
    dupacks: int
    zerowin: int
    bytes_total: int
    end: float

    @property
    def flow(self) -> FlowResult:
        return self.kept if self.kept is not None else self.flows[self.index]


def stalled_time(flow: FlowResult) -> float:
    """Seconds of the flow covered by at least one stall (causes may overlap, e.g. a
    zero window inside a receive-window-limited stretch: count that time once)."""
    spans = sorted((s.start, s.start + s.duration) for s in flow.stalls
                   if isinstance(s.duration, int | float) and math.isfinite(s.duration)
                   and s.duration > 0 and math.isfinite(s.start))
    total, cur_a, cur_b = 0.0, None, None
    for a, b in spans:
        if cur_b is None or a > cur_b:
            if cur_b is not None:
                total += cur_b - cur_a
            cur_a, cur_b = a, b
        else:
            cur_b = max(cur_b, b)
    if cur_b is not None:
        total += cur_b - cur_a
    return total


def _counter(flow: FlowResult, name: str) -> int:
    total = 0
    for e in flow.endpoints:
        v = e.counters.get(name)
        if v:
            total += int(v)
    return total


def _flow_facts(flow: FlowResult, by_id: dict[str, Finding],
                by_flow: dict[int, list[Finding]], flows: Any = None, index: int = 0,
                keep: bool = True) -> _FlowFacts:
    fnds = list(by_flow.get(flow.id, []))
    for fid in flow.findings:
        f = by_id.get(fid)
        if f is not None and f not in fnds:
            fnds.append(f)
    stalled = stalled_time(flow)
    retrans = _counter(flow, "retransmission")
    # Rank: severity first, then this flow's share of the findings' impact, then stalls.
    share = sum(f.impact / max(len(f.flows), 1) for f in fnds)
    severity = _sev(fnds)
    score = SEVERITY_RANK.get(severity, 0) * 1e6 + share + stalled + retrans * 1e-3
    return _FlowFacts(
        id=flow.id, flows=flows, index=index, kept=flow if keep else None,
        findings=fnds, stalled=stalled, score=score, severity=severity,
        retrans=retrans, dupacks=_counter(flow, "duplicate_ack"),
        zerowin=_counter(flow, "zero_window"),
        bytes_total=sum(e.payload_bytes for e in flow.endpoints), end=flow.end,
    )


def _cca_text(cca: dict | None) -> str:
    if not cca:
        return ""
    name = str(cca.get("name", "unknown"))
    conf = cca.get("confidence")
    if name == "unknown" or not isinstance(conf, int | float):
        return name
    return f"{name} ({conf:.0%})"


def _duration(flow: FlowResult) -> float:
    return max(flow.end - flow.start, 0.0)


def _rate(payload: int, flow: FlowResult) -> float | None:
    d = _duration(flow)
    return payload * 8 / d if d > 0 and payload else None


def _all_facts(analysis: Any) -> dict[int, _FlowFacts]:
    return _facts_and_stalls(analysis)[0]


def _facts_and_stalls(analysis: Any) -> tuple[dict[int, _FlowFacts], list[dict]]:
    """Every flow's facts and the stall summary's rows, from one read of each flow (a
    packed results store decodes a flow on every read).  (The second pass reads every
    flow once more for its addresses: keeping them here cost 30 MB on 166k flows.)"""
    by_id = {f.id: f for f in analysis.finding_results}
    by_flow: dict[int, list[Finding]] = defaultdict(list)
    for f in analysis.finding_results:
        for fid in f.flows:
            by_flow[fid].append(f)
    flows = analysis.flow_results
    keep = not isinstance(flows, ResultStore)
    facts, stalls = {}, _StallTally()
    for i, fr in enumerate(flows):
        facts[fr.id] = _flow_facts(fr, by_id, by_flow, flows, i, keep)
        stalls.add(fr)
    return facts, stalls.rows()


def choose_flows(analysis: Any, flows: list[int] | None, top: int,
                 facts: dict[int, _FlowFacts] | None = None) -> tuple[list[int], dict]:
    """Flow ids to detail and why each was chosen.

    `flows` given: exactly those (that exist).  Otherwise the `top` worst by severity and
    impact; when fewer flows have problems, the largest transfers fill the remaining slots
    so a clean capture still shows what its main flows did.
    """
    if facts is None:
        facts = _all_facts(analysis)
    if flows:
        chosen = [fid for fid in dict.fromkeys(flows) if fid in facts][:MAX_DETAILED]
        return chosen, {fid: "selected with --flow" for fid in chosen}
    top = max(0, min(top, MAX_DETAILED))
    ranked = sorted(facts.values(), key=lambda x: (-x.score, x.id))
    chosen, why = [], {}
    for x in ranked:
        if len(chosen) >= top:
            break
        if x.score > 0 and (x.findings or x.stalled > 0 or x.retrans):
            chosen.append(x.id)
            why[x.id] = (f"{x.severity} finding" if x.findings else "stalls/retransmissions")
    for x in sorted(facts.values(), key=lambda x: (-x.bytes_total, x.id)):
        if len(chosen) >= top:
            break
        if x.id not in why and x.bytes_total > 0:
            chosen.append(x.id)
            why[x.id] = "one of the largest transfers"
    return chosen, why


# --- context ---------------------------------------------------------------------------
class _StallTally:
    """The "where the time went" rows: stall time, count, flows and longest, by kind."""

    def __init__(self) -> None:
        self.acc: dict[str, dict] = {}

    def add(self, flow: FlowResult) -> None:
        acc = self.acc
        seen: set[str] = set()
        for s in flow.stalls:
            row = acc.setdefault(s.kind, {"kind": s.kind, "seconds": 0.0, "count": 0,
                                          "flows": 0, "max": 0.0})
            row["seconds"] += max(s.duration, 0.0)
            row["count"] += 1
            row["max"] = max(row["max"], s.duration)
            if s.kind not in seen:
                seen.add(s.kind)
                row["flows"] += 1

    def rows(self) -> list[dict]:
        rows = sorted(self.acc.values(), key=lambda r: -r["seconds"])
        for r in rows:
            r["label"] = figures.STALL_LABELS.get(r["kind"], r["kind"])
        return rows


def _verdict(analysis: Any, facts: dict[int, _FlowFacts], stall_rows: list[dict]) -> dict:
    cap = analysis.capture
    n_flows = len(analysis.flow_results)
    serious = [f for f in analysis.finding_results if f.severity in ("critical", "warning")]
    if not n_flows:
        text = "No TCP flows in this capture."
        if cap.records and not cap.tcp_segments:
            text += f" All {cap.records:,} records were skipped (see below)."
        return {"severity": "info", "text": text}
    lost = sum(x.stalled for x in facts.values())
    bad_flows = {fid for f in serious for fid in f.flows}
    if not serious:
        text = f"No problems found in {n_flows:,} TCP flow{'s' if n_flows != 1 else ''}"
        info = [f for f in analysis.finding_results]
        text += f" ({len(info)} informational note{'s' if len(info) != 1 else ''})." if info \
            else "."
        return {"severity": "ok", "text": text}
    sev = _sev(serious)
    # Lead with the costliest finding of the worst severity (findings come ranked by impact).
    top = next(f for f in serious if f.severity == sev)
    where = (f"flow {top.flows[0]}" if len(top.flows) == 1 else
             f"{len(top.flows):,} flows") if top.flows else "the capture"
    others = len(serious) - 1
    text = (f"{top.title} ({where}). {len(bad_flows):,} of {n_flows:,} flows affected"
            + (f"; {others} more finding{'s' if others != 1 else ''}" if others else "")
            + (f"; {fmt_seconds(lost)} of stalls in total." if lost > 0 else "."))
    return {"severity": sev, "text": text, "top": top.id,
            "fix": first_sentence(top.recommendation)}


_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]])[.;:]\s+(?=[A-Z(])")


def first_sentence(text: str | None, limit: int = 240) -> str:
    """The first sentence of a recommendation, for the verdict line."""
    if not text:
        return ""
    m = _SENTENCE_END.search(text)
    head = text[:m.start() + 1] if m else text
    return head if len(head) <= limit else head[:limit].rsplit(" ", 1)[0] + "\u2026"


def _finding_view(f: Finding, detailed: set[int], max_flows: int = 40) -> dict:
    metrics = []
    for k, v in (f.metrics or {}).items():
        metrics.append((str(k), fmt_value(v)))
    return {
        "id": f.id, "kind": f.kind, "severity": f.severity, "title": f.title,
        "detail": f.detail, "recommendation": f.recommendation, "endpoint": f.endpoint,
        "impact": f.impact, "metrics": metrics[:24],
        "flows": [{"id": fid, "detailed": fid in detailed} for fid in f.flows[:max_flows]],
        "more_flows": max(len(f.flows) - max_flows, 0),
    }


def _group_findings(findings: list[dict]) -> list[list[dict]]:
    """Findings grouped by kind, groups in the rank order of their first member."""
    groups: dict[str, list[dict]] = {}
    for f in findings:
        groups.setdefault(f["kind"], []).append(f)
    return list(groups.values())


def _flow_row(x: _FlowFacts, t0: float, detailed: set[int]) -> dict:
    fr = x.flow
    c = fr.endpoints[0] if fr.endpoints else None
    s = fr.endpoints[1] if len(fr.endpoints) > 1 else None
    rtt = fr.rtt or {}
    return {
        "id": fr.id, "client": fr.client, "server": fr.server,
        "start": fr.start - t0, "duration": _duration(fr), "state": fr.state,
        "handshake": fr.handshake,
        "pkts_c": c.packets if c else 0, "pkts_s": s.packets if s else 0,
        "bytes_c": c.payload_bytes if c else 0, "bytes_s": s.payload_bytes if s else 0,
        "rate_c": _rate(c.payload_bytes, fr) if c else None,
        "rate_s": _rate(s.payload_bytes, fr) if s else None,
        "rtt_min": rtt.get("min"), "rtt_med": rtt.get("median"), "rtt_max": rtt.get("max"),
        "retrans": x.retrans, "dupacks": x.dupacks, "zerowin": x.zerowin,
        "stalled": x.stalled,
        "cca_c": _cca_text(c.cca) if c else "", "cca_s": _cca_text(s.cca) if s else "",
        "severity": x.severity, "findings": [(f.id, f.severity, f.kind) for f in x.findings],
        "detailed": fr.id in detailed,
    }


def _overview_row(x: _FlowFacts, t0: float) -> dict:
    fr = x.flow
    return {
        "id": fr.id, "start": fr.start - t0, "duration": _duration(fr),
        "severity": x.severity,
        "label": f"flow {fr.id}: {fr.client} \u2192 {fr.server}, "
                 f"{fmt_seconds(_duration(fr))}, {x.severity}",
    }


def _endpoint_view(e: Any) -> dict:
    cca = e.cca if isinstance(e.cca, dict) and e.cca else None
    evidence = []
    if cca:
        ev = cca.get("evidence")
        for k, v in (ev if isinstance(ev, dict) else {}).items():
            evidence.append((str(k), fmt_value(v)))
    counters = [(k, v) for k, v in sorted(e.counters.items()) if v]
    return {
        "addr": e.addr, "role": e.role, "packets": e.packets, "payload": e.payload_bytes,
        "mss": e.mss, "wscale": e.wscale, "sack": e.sack_permitted, "ts": e.timestamps,
        "counters": counters, "cca": cca, "cca_text": _cca_text(cca), "evidence": evidence,
        "cca_why": cca_summary(cca),
    }


def _loss_epochs(cw: dict | None, t0: float) -> list[dict]:
    rows = []
    for ep in (cw or {}).get("loss_epochs") or []:
        if not isinstance(ep, dict):
            continue
        row = {}
        for k, v in ep.items():
            if k in ("t", "start", "end") and isinstance(v, int | float):
                row[k] = fmt_reltime(v - t0)
            else:
                row[k] = fmt_num(v) if not isinstance(v, str) else v
        rows.append(row)
        if len(rows) >= 50:
            break
    return rows


def _detail_view(x: _FlowFacts, series: FlowSeries | None, why: str, t0: float,
                 figs: dict[str, dict], source_ok: bool) -> dict:
    fr = x.flow
    roles = ("client", "server")
    addrs = (fr.client, fr.server)
    eps = [_endpoint_view(e) for e in fr.endpoints]
    cwnd_by_addr = {str(c.get("addr")): c for c in fr.cwnd if isinstance(c, dict)}
    directions = []
    if series is not None:
        for ds in series.directions:
            sender, receiver = addrs[ds.sender], addrs[1 - ds.sender]
            # A direction is worth charts when it carried data (not just ACKs).
            if ds.payload_bytes <= 0 and not ds.marks_total:
                continue
            base = f"f{fr.id}d{ds.sender}"
            cw = cwnd_by_addr.get(sender)
            ep = eps[ds.sender] if ds.sender < len(eps) else None
            decided = bool(ep and ep["cca"] and ep["cca"].get("name") not in (None, "unknown"))
            charts = []
            for suffix, fig in (
                    ("tsg", figures.time_sequence(ds, fr, sender, receiver, t0)),
                    ("inflight", figures.inflight(ds, cw, fr, sender, t0, decided)),
                    ("rtt", figures.rtt_throughput(ds, fr, sender, t0))):
                # A chart with no data says nothing: leave it out.
                if any(tr.get("x") for tr in fig["data"]):
                    figs[f"{base}-{suffix}"] = fig
                    charts.append(f"{base}-{suffix}")
            directions.append({
                "sender": sender, "receiver": receiver, "role": roles[ds.sender],
                "segments": ds.segments_total, "payload": ds.payload_bytes,
                "marks_total": ds.marks_total, "marks_shown": ds.marks_shown,
                "downsampled": ds.downsampled, "charts": charts,
                "vantage": (cw or {}).get("vantage"),
                "loss_epochs": _loss_epochs(cw, t0),
                "cca": ep,
                "stalled": sum(s.duration for s in fr.stalls if s.endpoint == sender),
            })
        # The direction whose data waited comes first, then the bigger one.
        directions.sort(key=lambda d: (-d["stalled"], -d["payload"]))
    elif fr.cwnd:
        # No per-segment pass: still show the cwnd observer's rounds.
        for cw in fr.cwnd:
            if not isinstance(cw, dict) or not (cw.get("rounds") or {}).get("t"):
                continue
            fid = f"f{fr.id}-cwnd-{len(directions)}"
            fig = {"data": figures.cwnd_traces(cw, t0),
                   "layout": figures._layout(f"Congestion window: {cw.get('addr')}")}
            figs[fid] = fig
            directions.append({"sender": cw.get("addr"), "receiver": "", "role": "",
                               "charts": [fid], "segments": None, "payload": None,
                               "marks_total": 0, "marks_shown": 0, "downsampled": False,
                               "vantage": cw.get("vantage"),
                               "loss_epochs": _loss_epochs(cw, t0), "cca": None})
    tl = f"f{fr.id}-timeline"
    figs[tl] = figures.timeline(fr, t0, roles)
    states = [{"t": s.ts - t0, "who": roles[s.endpoint] if s.endpoint in (0, 1) else
               str(s.endpoint), "state": s.state} for s in sorted(fr.states, key=lambda s: s.ts)]
    per_kind: dict[str, list[float]] = {}
    for st in fr.stalls:
        if isinstance(st.duration, int | float) and math.isfinite(st.duration):
            per_kind.setdefault(st.kind, []).append(st.duration)
    stall_kinds = sorted(({"label": figures.STALL_LABELS.get(k, k), "kind": k,
                           "seconds": sum(v), "count": len(v)} for k, v in per_kind.items()),
                         key=lambda r: -r["seconds"])
    stalls = [{"kind": s.kind, "label": figures.STALL_LABELS.get(s.kind, s.kind),
               "endpoint": s.endpoint, "start": s.start - t0, "duration": s.duration}
              for s in sorted(fr.stalls, key=lambda s: -s.duration)[:30]]
    tcp_facts = []
    for k, v in (fr.tcp or {}).items():
        tcp_facts.append((str(k), fmt_value(v)[:300]))
    return {
        "id": fr.id, "client": fr.client, "server": fr.server, "why": why,
        "wireshark": wireshark_filter(fr.client, fr.server),
        "start": fr.start - t0, "end": fr.end - t0, "duration": _duration(fr),
        "state": fr.state, "handshake": fr.handshake, "syn_rtt": fr.syn_rtt,
        "rtt": fr.rtt or {}, "severity": x.severity, "stalled": x.stalled,
        "findings": [(f.id, f.severity, f.title) for f in x.findings],
        "endpoints": eps, "directions": directions, "timeline": tl, "states": states[:60],
        "more_states": max(len(states) - 60, 0), "stalls": stalls,
        "more_stalls": max(len(fr.stalls) - 30, 0), "tcp": tcp_facts[:40],
        "stall_kinds": stall_kinds,
        "source_ok": source_ok,
    }


def wireshark_filter(client: str, server: str) -> str:
    """A Wireshark display filter that selects one connection (for the detail header)."""
    from .series import parse_endpoint

    parts = []
    for text in (client, server):
        parsed = parse_endpoint(text)
        if parsed is None:
            return ""
        host, _, port = text.rpartition(":")
        field = "ipv6.addr" if len(parsed[0]) == 16 else "ip.addr"
        parts.append(f"{field}=={host.strip('[]')} && tcp.port=={port}")
    return " && ".join(parts)


def _capture_view(analysis: Any, source: Any) -> dict:
    cap = analysis.capture
    first, last = cap.first_ts, cap.last_ts
    duration = (last - first) if first is not None and last is not None else None
    path = cap.path or (os.fspath(source) if isinstance(source, str | os.PathLike) else "")
    skipped = [(k, v) for k, v in (cap.skipped or {}).items() if v]
    started = None
    if first is not None:
        try:
            started = _dt.datetime.fromtimestamp(first, tz=_dt.UTC).strftime(
                "%Y-%m-%d %H:%M:%S.%f UTC")
        except (OverflowError, OSError, ValueError):
            started = None
    ifaces = []
    for i in cap.interfaces or []:
        if isinstance(i, dict):
            ifaces.append({str(k): str(v) for k, v in i.items() if v not in (None, "")})
    return {
        "path": path, "name": os.path.basename(path) if path else "(stream)",
        "format": cap.format, "linktypes": cap.linktypes, "records": cap.records,
        "tcp_segments": cap.tcp_segments, "skipped": skipped,
        "skipped_total": sum(v for _, v in skipped), "duration": duration,
        "started": started, "snaplen": cap.snaplen, "warnings": list(cap.warnings or []),
        "comments": list(cap.comments or [])[:50], "interfaces": ifaces[:50],
        "evicted": cap.evicted_flows, "flows": len(analysis.flow_results),
    }


def build_context(analysis: Any, *, source: Any = None, plotly: str = "inline",
                  flows: list[int] | None = None, top: int = 5,
                  budget: Budget | None = None,
                  events: Iterable[tuple[Segment, int, SegmentVerdict]] | None = None,
                  first_pass: FirstPassSeries | None = None) -> dict:
    """Everything the template needs (also handy for tests).

    `events`, when given, replaces the second pass over `source`: (segment, flow id,
    verdict) triples, e.g. from a hand-built scenario or a caller that kept them.
    `first_pass`, the segment sink the analysis ran with, replaces it too when it kept
    the columns (small captures); otherwise the second pass reads `source`.
    """
    if plotly not in ("inline", "cdn"):
        raise ValueError("plotly must be 'inline' or 'cdn'")
    cap = analysis.capture
    t0 = cap.first_ts if cap.first_ts is not None else min(
        (f.start for f in analysis.flow_results), default=0.0)
    by_id = {f.id: f for f in analysis.finding_results}
    facts, stall_rows = _facts_and_stalls(analysis)
    chosen, why = choose_flows(analysis, flows, top, facts)
    detailed = set(chosen)

    source_ok = isinstance(source, str | os.PathLike) and str(source) != "-" and \
        os.path.exists(source)
    second_pass_error = None
    series: dict[int, FlowSeries] | None = None
    if first_pass is not None and events is None:
        series = first_pass.series(chosen, t0, budget)
    # flows the analysis kept without the report's details (Options.detail_results): the
    # second pass rebuilds them from their segments
    lacking = [fid for fid in chosen if not has_report_details(facts[fid].flow)] \
        if getattr(analysis, "details_dropped", 0) and events is None else []
    if series is not None and not lacking:
        source_ok = True  # the analysis pass kept the columns: no second read
    elif events is not None:
        source_ok = True
        collector = SeriesCollector(chosen, t0)
        for seg, fid, verdict in events:
            collector.add(seg, fid, verdict)
        series = collector.build(budget)
    elif source_ok and chosen:
        wanted = chosen if series is None else lacking
        until = max(facts[fid].end for fid in wanted) + 1.0
        rebuilt: dict[int, list[FlowResult]] | None = {} if lacking else None
        try:
            collected = collect(source, [facts[fid].flow for fid in wanted], t0=t0,
                                until=until, budget=budget, all_flows=analysis.flow_results,
                                series=series is None, details=rebuilt)
            series = collected if series is None else series
        except (TcpForensicsError, OSError) as exc:
            # The capture changed or vanished since the analysis: report what we have.
            source_ok = series is not None
            second_pass_error = str(exc)
        for fid in lacking:
            full = with_details(facts[fid].flow, (rebuilt or {}).get(fid, ()))
            if full is not None:
                facts[fid].kept = full
    elif series is not None:
        source_ok = True  # (no capture to read again: those flows stay without details)
    series = series or {}

    figs: dict[str, dict] = {}
    if stall_rows:
        figs["stall-summary"] = figures.stall_summary(stall_rows)
    ranked = sorted(facts.values(), key=lambda x: (-x.score, x.id))
    table = [_flow_row(x, t0, detailed) for x in ranked[:MAX_TABLE_ROWS]]
    overview = [_overview_row(x, t0) for x in ranked[:MAX_OVERVIEW]]
    if len(analysis.flow_results) > 1:
        figs["flows-overview"] = figures.flows_overview(overview)
    details = [_detail_view(facts[fid], series.get(fid), why.get(fid, ""), t0, figs, source_ok)
               for fid in chosen]
    findings = [_finding_view(f, detailed) for f in analysis.finding_results]
    groups = _group_findings(findings)
    # The summary shows the costliest finding of each kind; the rest are counted.
    top_findings = []
    for group in groups[:MAX_SUMMARY_FINDINGS]:
        first = _finding_view(by_id[group[0]["id"]], detailed, 8) if group[0]["id"] in by_id \
            else dict(group[0])
        first["similar"] = len(group) - 1
        top_findings.append(first)
    sev_counts = {s: sum(1 for f in analysis.finding_results if f.severity == s)
                  for s in ("critical", "warning", "info")}
    try:
        from .. import __version__ as version
    except ImportError:  # pragma: no cover - during partial installs
        version = "?"
    return {
        "version": version,
        "generated": _dt.datetime.now(tz=_dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "capture": _capture_view(analysis, source),
        "verdict": _verdict(analysis, facts, stall_rows),
        "findings": findings, "finding_groups": groups, "top_findings": top_findings,
        "sev_counts": sev_counts, "stall_rows": stall_rows, "stall_total": sum(
            x.stalled for x in facts.values()),
        "table": table, "table_total": len(analysis.flow_results),
        "table_rows": flow_rows(table, fmt_seconds, fmt_num, fmt_bytes, fmt_rate),
        "details": details, "detail_count": len(details), "source_ok": source_ok,
        "second_pass_error": second_pass_error,
        "figures": figs, "plotly": plotly, "top": top,
    }


def render_report(analysis: Any, *, source: str | os.PathLike | None = None,
                  plotly: str = "inline", flows: list[int] | None = None, top: int = 5,
                  budget: Budget | None = None,
                  events: Iterable[tuple[Segment, int, SegmentVerdict]] | None = None,
                  first_pass: FirstPassSeries | None = None) -> str:
    """The report of `analysis` as one HTML document (a string).

    `source` is the capture path; with it, the detailed flows get per-segment charts
    from a second pass over the capture.  `plotly="cdn"` loads plotly.js from its CDN
    instead of inlining it (a much smaller file that needs the network to draw charts).
    """
    head, js, tail = _render_parts(analysis, source=source, plotly=plotly, flows=flows,
                                   top=top, budget=budget, events=events,
                                   first_pass=first_pass)
    return head if js is None else head + js.decode("utf-8") + tail


def _render_parts(analysis: Any, **kwargs: Any) -> tuple[str, bytes | None, str]:
    """The report as (text before the inline plotly.js, plotly.js as UTF-8, text after);
    (the whole text, None, "") when plotly.js is not inlined.

    The 3.5 MB bundle stays bytes: write_report copies it to the file as it is, where
    decoding it, joining it into the page and encoding the page again cost more than
    rendering the rest.
    """
    plotly = kwargs.get("plotly", "inline")
    ctx = build_context(analysis, **kwargs)
    nonce = secrets.token_urlsafe(18)
    ctx["nonce"] = nonce
    ctx["figures_json"] = json_for_script(ctx.pop("figures"))
    marker = ""
    if plotly == "inline":
        # a random marker where the bundle goes: no text from the capture can equal it
        marker = f"plotly.js-{secrets.token_hex(16)}"
        ctx["plotly_js"] = Markup(marker)
        ctx["plotly_src"] = None
    else:
        ctx["plotly_js"] = None
        ctx["plotly_src"] = _plotly_cdn_url()
    script_src = f"'nonce-{nonce}'" + (" https://cdn.plot.ly" if plotly == "cdn" else "")
    ctx["csp"] = (f"default-src 'none'; script-src {script_src}; style-src 'unsafe-inline'; "
                  "img-src data: blob:; font-src data:; connect-src 'none'; "
                  "base-uri 'none'; form-action 'none'")
    text = _environment().get_template("report.html.j2").render(**ctx)
    if not marker:
        return text, None, ""
    head, found, tail = text.partition(marker)
    if not found:  # the template left the bundle out
        return text, None, ""
    return head, _plotly_js_bytes(), tail


def write_report(analysis: Any, out_path: str | os.PathLike, **kwargs: Any) -> Path:
    """Render the report and write it to `out_path` (parent folders created)."""
    out = Path(out_path)
    with collector.paused():  # a full collection here would visit every flow's objects
        head, js, tail = _render_parts(analysis, **kwargs)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(head.encode("utf-8"))
        if js is not None:
            f.write(js)
            f.write(tail.encode("utf-8"))
    os.replace(tmp, out)
    return out
