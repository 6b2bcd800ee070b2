"""Plotly figure specs (plain dicts) for the report.

Figures are built as plain `{"data": [...], "layout": {...}}` dicts rather than
`plotly.graph_objects` so that building a report stays fast; the page hands them to
`Plotly.newPlot` as they are.  All series arrive already bounded by series.py.
"""

from __future__ import annotations

from array import array
from typing import Any

from ..model import Analysis as Flag
from ..model import FlowResult
from .series import MARK_FIN, MARK_RST, MARK_SYN, DirectionSeries

STALL_LABELS = {
    "nagle_delayed_ack": "Nagle + delayed ACK",
    "rto": "Retransmission timeout",
    "zero_window": "Zero window",
    "receive_window": "Receive window limit",
    "app_limited": "Application limited",
    "handshake": "Handshake retries",
}
STALL_COLORS = {
    "nagle_delayed_ack": "#e6a700",
    "rto": "#d62728",
    "zero_window": "#6a3d9a",
    "receive_window": "#9467bd",
    "app_limited": "#7f7f7f",
    "handshake": "#8c564b",
}
STATE_COLORS = {
    "SYN_SENT": "#aec7e8", "SYN_RECEIVED": "#aec7e8", "SYN_RCVD": "#aec7e8",
    "ESTABLISHED": "#2ca02c", "FIN_WAIT_1": "#ffbb78", "FIN_WAIT_2": "#ff9f4a",
    "CLOSE_WAIT": "#f7b6d2", "CLOSING": "#ff7f0e", "LAST_ACK": "#e377c2",
    "TIME_WAIT": "#c49c94", "CLOSED": "#c7c7c7", "RESET": "#d62728", "LISTEN": "#dbdb8d",
}
SEVERITY_COLORS = {"critical": "#c62828", "warning": "#ef8f00", "info": "#1f77b4",
                   "none": "#9e9e9e"}

# Sender-side marks on the time-sequence graph: (bit, legend name, symbol, color).
# The first matching entry wins, so a fast retransmission is not drawn twice.
_DATA_MARKS = (
    (int(Flag.SPURIOUS_RETRANSMISSION), "spurious retransmission", "circle-open", "#9467bd"),
    (int(Flag.FAST_RETRANSMISSION), "fast retransmission", "diamond", "#ff7f0e"),
    (int(Flag.RETRANSMISSION), "retransmission", "x", "#d62728"),
    (int(Flag.LOST_SEGMENT), "gap before (previous segment unseen)", "triangle-down",
     "#e377c2"),
    (int(Flag.OUT_OF_ORDER), "out of order", "star", "#8c564b"),
    (int(Flag.ZERO_WINDOW_PROBE), "zero-window probe", "square", "#000000"),
    (int(Flag.KEEP_ALIVE), "keep-alive", "circle", "#7f7f7f"),
    (int(Flag.WINDOW_FULL), "window full", "triangle-up-open", "#6a3d9a"),
    (MARK_RST, "RST", "hexagram", "#d62728"),
    (MARK_SYN, "SYN", "line-ew-open", "#17becf"),
    (MARK_FIN, "FIN", "line-ew-open", "#bcbd22"),
)
# Receiver-side marks, drawn on the ACK line (or the window line for zero window).
_ACK_MARKS = (
    (int(Flag.ZERO_WINDOW), "zero window", "x-thin-open", "#000000", "win"),
    (int(Flag.DUPLICATE_ACK), "duplicate ACK", "triangle-up", "#e6a700", "ack"),
    (int(Flag.ACK_LOST_SEGMENT), "ACK of unseen segment", "triangle-left", "#e377c2", "ack"),
    (int(Flag.WINDOW_UPDATE), "window update", "line-ns-open", "#bcbd22", "win"),
    (MARK_RST, "RST", "hexagram", "#d62728", "ack"),
)

# Per-flow charts share one left margin, so their time axes line up on the page.
FLOW_MARGIN = {"l": 150, "r": 20, "t": 40, "b": 45}
_UNSHADED = frozenset({"receive_window", "app_limited"})
_TIME_AXIS = {"title": {"text": "time since capture start (s)"}, "zeroline": False}
_MAX_SHAPES = 60  # stall bands per chart (merged beyond that)
_MAX_BARS = 300  # stall bars per timeline row


def _layout(title: str, height: int = 380, **extra) -> dict:
    layout = {
        "title": {"text": title, "x": 0.01, "font": {"size": 14}},
        "height": height,
        "margin": {"l": 70, "r": 20, "t": 40, "b": 45},
        "hovermode": "closest",
        "legend": {"orientation": "h", "y": -0.18, "font": {"size": 11}},
        "xaxis": dict(_TIME_AXIS),
        "font": {"family": "system-ui, -apple-system, Segoe UI, sans-serif", "size": 12},
        "plot_bgcolor": "#ffffff",
        "paper_bgcolor": "#ffffff",
    }
    layout.update(extra)
    return layout


def _ibars(t: list[float], lo: list[int], hi: list[int]) -> tuple[list, list]:
    """Vertical bars from lo to hi at each t, as one line trace separated by gaps."""
    # Slice assignment fills the columns at C speed (and, like zip(strict=True), refuses
    # columns of different lengths).
    n = len(t)
    xs: list = [None] * (3 * n)
    ys: list = [None] * (3 * n)
    xs[0::3] = xs[1::3] = t
    ys[0::3] = lo
    ys[1::3] = hi
    return xs, ys


def merge_intervals(intervals: list[tuple[float, float]], cap: int
                    ) -> list[tuple[float, float, int]]:
    """Merge (start, end) intervals until at most `cap` remain: (start, end, merged count).

    Overlapping intervals always merge; then the tolerance for gaps doubles until the
    cap holds, so thousands of short stalls become a few readable bands (SVG shapes and
    bars are expensive for the browser).
    """
    if not intervals:
        return []
    iv = sorted(intervals)
    span = max(e for _, e in iv) - iv[0][0]
    tol = 0.0
    while True:
        out: list[list] = []
        for a, b in iv:
            if out and a <= out[-1][1] + tol:
                out[-1][1] = max(out[-1][1], b)
                out[-1][2] += 1
            else:
                out.append([a, b, 1])
        if len(out) <= cap or span <= 0:
            return [(a, b, n) for a, b, n in out[:cap]]
        tol = span / 1000 if tol == 0 else tol * 2


def _stall_shapes(flow: FlowResult, endpoint: str | None, t0: float) -> list[dict]:
    by_kind: dict[str, list[tuple[float, float]]] = {}
    for s in flow.stalls:
        # Window- and application-limited periods can span most of a flow; shading them
        # would hide the sharp events.  They stay on the timeline chart.
        if s.kind in _UNSHADED:
            continue
        if endpoint is None or s.endpoint == endpoint:
            by_kind.setdefault(s.kind, []).append((s.start - t0, s.start - t0 + max(s.duration,
                                                                                    0.0)))
    shapes = []
    for kind, iv in by_kind.items():
        for a, b, _ in merge_intervals(iv, _MAX_SHAPES // max(len(by_kind), 1)):
            shapes.append({
                "type": "rect", "xref": "x", "yref": "paper", "x0": round(a, 6),
                "x1": round(b, 6), "y0": 0, "y1": 1,
                "fillcolor": STALL_COLORS.get(kind, "#999999"), "opacity": 0.12,
                "line": {"width": 0}, "layer": "below",
            })
    return shapes


def time_sequence(ds: DirectionSeries, flow: FlowResult, sender: str, receiver: str,
                  t0: float) -> dict:
    """Stevens-style time-sequence graph of one data direction."""
    data, acks, sacks = ds.data, ds.acks, ds.sacks
    traces: list[dict] = []
    xs, ys = _ibars(data["t"], data["seq"], data["end"])
    traces.append({
        "type": "scatter", "mode": "lines", "name": f"segments sent by {sender}",
        "x": xs, "y": ys, "line": {"color": "#1f4e99", "width": 1.5},
        "hovertemplate": "t=%{x:.6f} s<br>seq %{y}<extra>segment</extra>",
    })
    if acks["t"]:
        traces.append({
            "type": "scatter", "mode": "lines", "name": f"ACKs from {receiver}",
            "x": acks["t"], "y": acks["ack"], "line": {"color": "#2ca02c", "width": 1.5,
                                                       "shape": "hv"},
            "hovertemplate": "t=%{x:.6f} s<br>ack %{y}<extra>ACK</extra>",
        })
        traces.append({
            "type": "scatter", "mode": "lines", "name": "receive window edge (ack + rwnd)",
            "x": acks["t"], "y": acks["win"], "line": {"color": "#b5a300", "width": 1.2,
                                                       "shape": "hv", "dash": "dot"},
            "hovertemplate": "t=%{x:.6f} s<br>window edge %{y}<extra>rwnd</extra>",
        })
    if sacks["t"]:
        sx, sy = _ibars(sacks["t"], sacks["l"], sacks["r"])
        traces.append({
            "type": "scatter", "mode": "lines", "name": "SACK blocks",
            "x": sx, "y": sy, "line": {"color": "#9467bd", "width": 3}, "opacity": 0.6,
            "hoverinfo": "skip",
        })
    traces += _mark_traces(data["t"], data["seq"], data["mark"], _DATA_MARKS)
    ack_marks = acks["mark"]
    marked = [i for i, m in enumerate(ack_marks) if m]  # few: scan the rest once only
    for bit, name, symbol, color, where in _ACK_MARKS:
        col = acks["win"] if where == "win" else acks["ack"]
        hits = [i for i in marked if ack_marks[i] & bit]
        xs2 = [acks["t"][i] for i in hits]
        ys2 = [col[i] for i in hits]
        if xs2:
            traces.append(_marker_trace(name, xs2, ys2, symbol, color, 9))
    yaxis = {"title": {"text": "relative sequence number (bytes)"}, "tickformat": "~s",
             "zeroline": False}
    y_range = _seq_range(data, acks)
    if y_range is not None:
        yaxis["range"] = y_range
    layout = _layout(f"Time-sequence graph: {sender} \u2192 {receiver}", height=460,
                     yaxis=yaxis, xaxis=_flow_xaxis(flow, t0), margin=dict(FLOW_MARGIN))
    layout["shapes"] = _stall_shapes(flow, sender, t0)
    return {"data": traces, "layout": layout}


def _seq_range(data: dict, acks: dict) -> list[float] | None:
    """Initial y range: the data and ACKs, plus the window edge unless it dwarfs them.

    A window far above a small transfer would flatten the segments into a line; the edge
    stays in the figure (double-click autoscales to it).
    """
    values = data["seq"] + acks["ack"]
    if not values:
        return None
    lo, top = min(values), max(data["end"] + acks["ack"])
    win = max(acks["win"], default=top)
    span = max(top - lo, 1)
    if win - lo <= 3 * span:
        return None  # autorange shows everything well
    pad = span * 0.08 + 1
    return [lo - pad, top + span * 0.5 + pad]


def _flow_xaxis(flow: FlowResult, t0: float) -> dict:
    """The flow's lifetime (padded) as the time axis, shared by all its charts."""
    a, b = flow.start - t0, flow.end - t0
    pad = max((b - a) * 0.02, 1e-4)
    return dict(_TIME_AXIS, range=[round(a - pad, 6), round(b + pad, 6)])


def _marker_trace(name: str, xs: list, ys: list, symbol: str, color: str,
                  size: int = 8) -> dict:
    return {
        "type": "scatter", "mode": "markers", "name": name, "x": xs, "y": ys,
        "marker": {"symbol": symbol, "color": color, "size": size,
                   "line": {"width": 1.5, "color": color}},
        "hovertemplate": f"{name}<br>t=%{{x:.6f}} s<br>%{{y}}<extra></extra>",
    }


def _mark_traces(t: list, y: list, marks: list, table: tuple) -> list[dict]:
    groups: dict[int, tuple[list, list]] = {}
    for x, v, m in zip(t, y, marks, strict=True):
        if not m:
            continue
        for bit, *_ in table:
            if m & bit:
                groups.setdefault(bit, ([], []))
                groups[bit][0].append(x)
                groups[bit][1].append(v)
                break
    out = []
    for bit, name, symbol, color in table:
        if bit in groups:
            out.append(_marker_trace(name, *groups[bit], symbol, color))
    return out


def inflight(ds: DirectionSeries, cwnd: dict | None, flow: FlowResult, sender: str,
             t0: float, replicas_visible: bool = True) -> dict:
    """Bytes in flight per segment with the cwnd estimate and the replicas' predictions."""
    traces: list[dict] = []
    if ds.inflight.get("t"):
        traces.append({
            "type": "scatter", "mode": "markers", "name": "bytes in flight (per segment)",
            "x": ds.inflight["t"], "y": ds.inflight["bytes"],
            "marker": {"size": 3, "color": "#1f77b4", "opacity": 0.6},
            "hovertemplate": "t=%{x:.6f} s<br>%{y} bytes in flight<extra></extra>",
        })
    if cwnd:
        traces += cwnd_traces(cwnd, t0, replicas_visible)
    layout = _layout(f"Bytes in flight and congestion window: {sender}", height=380,
                     yaxis={"title": {"text": "bytes"}, "tickformat": "~s",
                            "rangemode": "tozero"}, xaxis=_flow_xaxis(flow, t0),
                     margin=dict(FLOW_MARGIN))
    layout["shapes"] = _stall_shapes(flow, sender, t0)
    for ep in (cwnd or {}).get("loss_epochs") or []:
        t = _num(ep.get("t", ep.get("start"))) if isinstance(ep, dict) else None
        if t is not None and len(layout["shapes"]) < 2 * _MAX_SHAPES:
            layout["shapes"].append({
                "type": "line", "xref": "x", "yref": "paper", "x0": round(t - t0, 6),
                "x1": round(t - t0, 6), "y0": 0, "y1": 1,
                "line": {"color": "#d62728", "width": 1, "dash": "dash"},
            })
    return {"data": traces, "layout": layout}


def _num(v) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _plain(value: Any) -> Any:
    """Whole numbers as ints (the observer stores rounds as doubles; the chart shows bytes)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _thin(n: int, limit: int = 2000) -> range:
    step = max(1, -(-n // limit))
    return range(0, n, step)


def cwnd_traces(cwnd: dict, t0: float, replicas_visible: bool = True) -> list[dict]:
    """Traces for the cwnd observer's per-round estimate and replica predictions.

    When no congestion control could be named (application- or window-limited flows),
    the replicas' predictions say little and would dwarf the data, so they start hidden
    (one click on the legend shows them).
    """
    rounds = cwnd.get("rounds") or {}
    traces: list[dict] = []
    ts = rounds.get("t") or []
    if not isinstance(ts, list | array) or not ts:  # the observer keeps arrays of doubles
        return traces
    # Rounds without a usable time are dropped (the observer may leave gaps).
    keep = [i for i in _thin(len(ts)) if isinstance(ts[i], int | float)]
    tr = [round(float(ts[i]) - t0, 6) for i in keep]

    def col(name: str) -> list | None:
        values = rounds.get(name)
        if isinstance(values, list | array) and len(values) == len(ts):
            return [_plain(values[i]) for i in keep]
        return None

    est = col("cwnd")
    if est is not None:
        traces.append({
            "type": "scatter", "mode": "lines", "name": "cwnd estimate (per round)",
            "x": tr, "y": est, "line": {"color": "#d62728", "width": 2, "shape": "hv"},
            "hovertemplate": "t=%{x:.6f} s<br>cwnd \u2248 %{y} bytes<extra></extra>",
        })
        limited = col("limited")
        if limited is not None:
            for kind, color in (("rwnd", "#6a3d9a"), ("app", "#7f7f7f")):
                xs = [x for x, lim in zip(tr, limited, strict=True) if _limited_is(lim, kind)]
                ys = [y for y, lim in zip(est, limited, strict=True) if _limited_is(lim, kind)]
                if xs:
                    label = "receive-window limited" if kind == "rwnd" else "application limited"
                    traces.append(_marker_trace(f"round {label}", xs, ys, "circle-open",
                                                color, 6))
    colors = {"reno": "#8c564b", "cubic": "#17becf", "bbr": "#e377c2"}
    for name, pred in (cwnd.get("replicas") or {}).items():
        xs, ys = None, None
        if isinstance(pred, list | array) and len(pred) == len(ts):
            xs, ys = tr, [_plain(pred[i]) for i in keep]
        elif isinstance(pred, dict):
            pt, pc = pred.get("t"), pred.get("cwnd")
            if isinstance(pt, list) and isinstance(pc, list) and len(pt) == len(pc):
                sel = [i for i in _thin(len(pt)) if isinstance(pt[i], int | float)]
                xs = [round(float(pt[i]) - t0, 6) for i in sel]
                ys = [pc[i] for i in sel]
        if xs:
            traces.append({
                "type": "scatter", "mode": "lines", "name": f"{name} replica prediction",
                "x": xs, "y": ys,
                "line": {"color": colors.get(str(name), "#999999"), "width": 1.3,
                         "dash": "dash"},
                "hovertemplate": f"{name}: %{{y}} bytes<extra></extra>",
                **({} if replicas_visible else {"visible": "legendonly"}),
            })
    return traces


def _limited_is(value, kind: str) -> bool:
    if not isinstance(value, str):
        return False
    v = value.lower()
    return v.startswith("rwnd") or v.startswith("receive") if kind == "rwnd" else \
        v.startswith("app")


def rtt_throughput(ds: DirectionSeries, flow: FlowResult, sender: str, t0: float) -> dict:
    """RTT samples (top) and sent/acknowledged throughput (bottom), sharing the time axis."""
    traces: list[dict] = []
    if ds.rtt["t"]:
        traces.append({
            "type": "scatter", "mode": "markers", "name": "RTT sample (ACK)",
            "x": ds.rtt["t"], "y": ds.rtt["ms"], "marker": {"size": 4, "color": "#ff7f0e"},
            "hovertemplate": "t=%{x:.6f} s<br>RTT %{y:.3f} ms<extra></extra>",
        })
    tp = ds.throughput
    if tp["t"]:
        traces.append({
            "type": "scatter", "mode": "lines", "name": "sent (incl. retransmissions)",
            "x": tp["t"], "y": tp["sent_bps"], "yaxis": "y2",
            "line": {"color": "#1f77b4", "width": 1.2, "shape": "hvh"},
            "hovertemplate": "t=%{x:.3f} s<br>sent %{y:.3s}bit/s<extra></extra>",
        })
        traces.append({
            "type": "scatter", "mode": "lines", "name": "acknowledged (goodput)",
            "x": tp["t"], "y": tp["acked_bps"], "yaxis": "y2",
            "line": {"color": "#2ca02c", "width": 1.6, "shape": "hvh"},
            "hovertemplate": "t=%{x:.3f} s<br>acked %{y:.3s}bit/s<extra></extra>",
        })
    layout = _layout(f"RTT and throughput: data from {sender}", height=420,
                     yaxis={"title": {"text": "RTT (ms)"}, "domain": [0.56, 1.0],
                            "rangemode": "tozero"},
                     yaxis2={"title": {"text": "bit/s"}, "domain": [0.0, 0.44],
                             "anchor": "x", "tickformat": "~s", "rangemode": "tozero"},
                     xaxis=_flow_xaxis(flow, t0), margin=dict(FLOW_MARGIN))
    layout["xaxis"]["anchor"] = "y2"
    rtt = flow.rtt or {}
    if rtt.get("min") is not None and ds.rtt["t"]:
        layout["shapes"] = [{
            "type": "line", "xref": "paper", "yref": "y", "x0": 0, "x1": 1,
            "y0": rtt["min"] * 1000, "y1": rtt["min"] * 1000,
            "line": {"color": "#999999", "width": 1, "dash": "dot"},
        }]
    return {"data": traces, "layout": layout}


def timeline(flow: FlowResult, t0: float, roles: tuple[str, str]) -> dict:
    """Connection states of both endpoints and the stall intervals on one time axis."""
    rows: dict[str, list] = {}
    end = flow.end
    by_ep: dict[int, list] = {0: [], 1: []}
    for sc in sorted(flow.states, key=lambda s: s.ts):
        by_ep.setdefault(sc.endpoint, []).append(sc)
    traces: list[dict] = []
    labels: list[str] = []
    for ep, changes in by_ep.items():
        if not changes:
            continue
        label = f"{roles[ep] if ep < len(roles) else ep}: TCP state"
        labels.append(label)
        xs, base, text, colors, hover = [], [], [], [], []
        for i, sc in enumerate(changes):
            stop = changes[i + 1].ts if i + 1 < len(changes) else max(end, sc.ts)
            dur = max(stop - sc.ts, 0.0)
            base.append(round(sc.ts - t0, 6))
            xs.append(round(dur, 6) if dur > 0 else 1e-9)
            text.append(sc.state)
            colors.append(STATE_COLORS.get(sc.state, "#cccccc"))
            hover.append(f"{sc.state} at {sc.ts - t0:.6f} s for {dur:.6f} s")
        traces.append({
            "type": "bar", "orientation": "h", "y": [label] * len(xs), "x": xs, "base": base,
            "marker": {"color": colors, "line": {"width": 1, "color": "#ffffff"}},
            "text": text, "textposition": "inside", "insidetextanchor": "middle",
            "hovertext": hover, "hoverinfo": "text", "showlegend": False, "name": label,
        })
    for s in flow.stalls:
        who = roles[0] if s.endpoint == flow.client else roles[1] if s.endpoint == flow.server \
            else s.endpoint
        key = f"{who}: {STALL_LABELS.get(s.kind, s.kind).lower()}"
        rows.setdefault(key, []).append(s)
    for label, stalls in rows.items():
        labels.append(label)
        merged = merge_intervals([(s.start - t0, s.start - t0 + max(s.duration, 0.0))
                                  for s in stalls], _MAX_BARS)
        traces.append({
            "type": "bar", "orientation": "h", "y": [label] * len(merged),
            "x": [round(max(b - a, 1e-6), 6) for a, b, _ in merged],
            "base": [round(a, 6) for a, _, _ in merged],
            "marker": {"color": STALL_COLORS.get(stalls[0].kind, "#999999")},
            "hovertext": [f"{stalls[0].kind} at {a:.6f} s, {(b - a) * 1000:.1f} ms"
                          + (f" ({n} stalls merged)" if n > 1 else "") for a, b, n in merged],
            "hoverinfo": "text", "showlegend": False, "name": label,
        })
    height = 90 + 38 * max(len(labels), 1)
    layout = _layout("Connection states and stalls", height=height,
                     barmode="overlay", bargap=0.25, xaxis=_flow_xaxis(flow, t0),
                     yaxis={"autorange": "reversed", "automargin": True,
                            "categoryorder": "array", "categoryarray": labels,
                            "tickfont": {"size": 11}})
    layout["margin"] = dict(FLOW_MARGIN)
    return {"data": traces, "layout": layout}


def stall_summary(per_kind: list[dict]) -> dict:
    """Horizontal bars: seconds lost per stall cause across the capture."""
    kinds = [row["kind"] for row in per_kind]
    traces = [{
        "type": "bar", "orientation": "h",
        "y": [STALL_LABELS.get(k, k) for k in kinds],
        "x": [round(row["seconds"], 6) for row in per_kind],
        "marker": {"color": [STALL_COLORS.get(k, "#999999") for k in kinds]},
        "text": [f"{row['seconds']:.3f} s in {row['count']} stalls, {row['flows']} flows"
                 for row in per_kind],
        "textposition": "auto", "hoverinfo": "text", "showlegend": False,
    }]
    layout = _layout("Time lost per stall cause (all flows)", height=80 + 40 * max(len(kinds), 1),
                     yaxis={"autorange": "reversed", "automargin": True},
                     xaxis={"title": {"text": "seconds (summed over flows)"},
                            "rangemode": "tozero"})
    layout["margin"] = {"l": 20, "r": 20, "t": 40, "b": 45}
    return {"data": traces, "layout": layout}


def flows_overview(rows: list[dict]) -> dict:
    """Each shown flow as a bar over its lifetime, coloured by its worst severity."""
    traces = []
    for sev in ("critical", "warning", "info", "none"):
        sel = [r for r in rows if r["severity"] == sev]
        if not sel:
            continue
        traces.append({
            "type": "bar", "orientation": "h", "name": sev if sev != "none" else "no finding",
            "y": [f"flow {r['id']}" for r in sel],
            "x": [round(max(r["duration"], 1e-6), 6) for r in sel],
            "base": [round(r["start"], 6) for r in sel],
            "marker": {"color": SEVERITY_COLORS[sev]},
            "hovertext": [r["label"] for r in sel], "hoverinfo": "text",
        })
    order = [f"flow {r['id']}" for r in rows]
    layout = _layout("Flows over time (worst first)", height=110 + 16 * max(len(rows), 1),
                     barmode="overlay",
                     yaxis={"autorange": "reversed", "automargin": True,
                            "categoryorder": "array", "categoryarray": order,
                            "tickfont": {"size": 10}},
                     legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 1,
                             "xanchor": "right"})
    layout["margin"] = {"l": 20, "r": 20, "t": 50, "b": 45}
    return {"data": traces, "layout": layout}
