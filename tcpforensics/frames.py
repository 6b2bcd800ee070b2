"""Tables of an Analysis: column specs, plain row builders, and pandas DataFrames.

One spec per table (`TABLES`) is the single source of truth for column names and types:
`frames` turns it into pandas dtypes, `export` into a pyarrow schema and CSV headers,
`docs/schema.md` documents it.  The row builders return columns as plain lists so the
exporters need no pandas.  Version `TABLE_SCHEMA_VERSION` whenever a column changes
(only ever by adding columns at the end).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from .model import FlowResult, analysis_text, flags_text

if TYPE_CHECKING:  # pandas is imported lazily: the CLI's JSON path should not pay for it
    import pandas as pd

    from .analysis import Analysis, Options, Source

#: Version of the flat tables (CSV / Parquet / DataFrames); JSON has its own "schema".
TABLE_SCHEMA_VERSION = "tcpforensics-tables/1"

#: Endpoint counters in contract order (DESIGN.md endpoint object).
ENDPOINT_COUNTERS = (
    "retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
    "lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window", "zero_window_probe",
    "window_full", "window_update", "keep_alive", "rst", "fin",
)

# Column kinds:  int   -> int64, never missing
#                Int   -> nullable int64 (pandas "Int64")
#                float -> float64, NaN when missing
#                str   -> string, never missing;  Str -> string, may be missing
#                bool  -> bool
#                json  -> string holding compact JSON (nested data, e.g. metrics)
#                strs / ints -> list of strings / ints (Parquet list; CSV joined by "|")
Column = tuple[str, str]

CAPTURE_COLUMNS: tuple[Column, ...] = (
    ("path", "str"), ("format", "str"), ("linktypes", "ints"), ("records", "int"),
    ("tcp_segments", "int"), ("non_ip", "int"), ("non_tcp", "int"), ("malformed", "int"),
    ("truncated", "int"), ("fragment", "int"), ("first_ts", "float"), ("last_ts", "float"),
    ("snaplen", "Int"), ("flows", "int"), ("evicted_flows", "int"), ("warnings", "strs"),
)

FLOW_COLUMNS: tuple[Column, ...] = (
    ("flow", "int"), ("client", "str"), ("server", "str"), ("start", "float"),
    ("end", "float"), ("duration", "float"), ("state", "str"), ("handshake", "str"),
    ("syn_rtt", "float"), ("rtt_min", "float"), ("rtt_median", "float"), ("rtt_max", "float"),
    ("rtt_samples", "int"), ("client_packets", "int"), ("client_bytes", "int"),
    ("server_packets", "int"), ("server_bytes", "int"), ("retransmissions", "int"),
    ("client_cca", "Str"), ("server_cca", "Str"), ("stalls", "int"), ("stall_time", "float"),
    ("findings", "strs"),
)

ENDPOINT_COLUMNS: tuple[Column, ...] = (
    ("flow", "int"), ("addr", "str"), ("role", "str"), ("packets", "int"),
    ("payload_bytes", "int"), ("mss", "Int"), ("wscale", "Int"), ("sack_permitted", "bool"),
    ("timestamps", "bool"),
    *((name, "int") for name in ENDPOINT_COUNTERS),
    ("cca", "Str"), ("cca_confidence", "float"), ("cca_evidence", "json"),
)

STALL_COLUMNS: tuple[Column, ...] = (
    ("flow", "int"), ("kind", "str"), ("endpoint", "str"), ("start", "float"),
    ("duration", "float"), ("end", "float"), ("detail", "json"),
)

FINDING_COLUMNS: tuple[Column, ...] = (
    ("id", "str"), ("kind", "str"), ("severity", "str"), ("title", "str"), ("detail", "str"),
    ("recommendation", "str"), ("flows", "ints"), ("endpoint", "Str"), ("metrics", "json"),
    ("impact", "float"),
)

EVENT_COLUMNS: tuple[Column, ...] = (
    ("frame", "int"), ("ts", "float"), ("flow", "int"), ("src", "str"), ("dst", "str"),
    ("seq", "int"), ("ack", "int"), ("len", "int"), ("flags", "str"), ("win", "int"),
    ("rtt", "float"), ("bytes_in_flight", "Int"), ("cwnd_est", "Int"), ("analysis", "str"),
)

#: The per-analysis tables, in the order exporters write them.
TABLES: dict[str, tuple[Column, ...]] = {
    "capture": CAPTURE_COLUMNS,
    "flows": FLOW_COLUMNS,
    "endpoints": ENDPOINT_COLUMNS,
    "stalls": STALL_COLUMNS,
    "findings": FINDING_COLUMNS,
}

SEVERITIES = ("info", "warning", "critical")


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def _opt_float(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _columns(spec: tuple[Column, ...]) -> dict[str, list]:
    return {name: [] for name, _ in spec}


# --- Row builders (plain lists, no pandas) ----------------------------------------------
def capture_rows(analysis: Analysis) -> dict[str, list]:
    c = analysis.capture
    skipped = c.skipped or {}
    return {
        "path": [str(c.path)], "format": [c.format], "linktypes": [list(c.linktypes)],
        "records": [c.records], "tcp_segments": [c.tcp_segments],
        "non_ip": [skipped.get("non_ip", 0)], "non_tcp": [skipped.get("non_tcp", 0)],
        "malformed": [skipped.get("malformed", 0)], "truncated": [skipped.get("truncated", 0)],
        "fragment": [skipped.get("fragment", 0)], "first_ts": [_opt_float(c.first_ts)],
        "last_ts": [_opt_float(c.last_ts)], "snaplen": [c.snaplen],
        "flows": [len(analysis.flow_results)], "evicted_flows": [c.evicted_flows],
        "warnings": [list(c.warnings)],
    }


def _endpoint_by_role(flow: FlowResult, role: str):
    for e in flow.endpoints:
        if e.role == role:
            return e
    return None


def flow_rows(flows: Iterable[FlowResult]) -> dict[str, list]:
    cols = _columns(FLOW_COLUMNS)
    for f in flows:
        cli = _endpoint_by_role(f, "client")
        srv = _endpoint_by_role(f, "server")
        rtt = f.rtt or {}
        cols["flow"].append(f.id)
        cols["client"].append(f.client)
        cols["server"].append(f.server)
        cols["start"].append(float(f.start))
        cols["end"].append(float(f.end))
        cols["duration"].append(float(f.end) - float(f.start))
        cols["state"].append(f.state)
        cols["handshake"].append(f.handshake)
        cols["syn_rtt"].append(_opt_float(f.syn_rtt))
        cols["rtt_min"].append(_opt_float(rtt.get("min")))
        cols["rtt_median"].append(_opt_float(rtt.get("median")))
        cols["rtt_max"].append(_opt_float(rtt.get("max")))
        cols["rtt_samples"].append(int(rtt.get("samples") or 0))
        cols["client_packets"].append(cli.packets if cli else 0)
        cols["client_bytes"].append(cli.payload_bytes if cli else 0)
        cols["server_packets"].append(srv.packets if srv else 0)
        cols["server_bytes"].append(srv.payload_bytes if srv else 0)
        cols["retransmissions"].append(
            sum(int(e.counters.get("retransmission", 0)) for e in f.endpoints))
        cols["client_cca"].append(_cca_name(cli))
        cols["server_cca"].append(_cca_name(srv))
        cols["stalls"].append(len(f.stalls))
        cols["stall_time"].append(float(sum(s.duration for s in f.stalls)))
        cols["findings"].append(list(f.findings))
    return cols


def _cca_name(endpoint) -> str | None:
    if endpoint is None or not endpoint.cca:
        return None
    return endpoint.cca.get("name")


def endpoint_rows(flows: Iterable[FlowResult]) -> dict[str, list]:
    cols = _columns(ENDPOINT_COLUMNS)
    for f in flows:
        for e in f.endpoints:
            cols["flow"].append(f.id)
            cols["addr"].append(e.addr)
            cols["role"].append(e.role)
            cols["packets"].append(e.packets)
            cols["payload_bytes"].append(e.payload_bytes)
            cols["mss"].append(e.mss)
            cols["wscale"].append(e.wscale)
            cols["sack_permitted"].append(bool(e.sack_permitted))
            cols["timestamps"].append(bool(e.timestamps))
            counters = e.counters
            for name in ENDPOINT_COUNTERS:
                cols[name].append(int(counters.get(name, 0)))
            cca = e.cca or None
            cols["cca"].append(cca.get("name") if cca else None)
            cols["cca_confidence"].append(_opt_float(cca.get("confidence")) if cca
                                          else float("nan"))
            cols["cca_evidence"].append(_json_text(cca.get("evidence")) if cca else None)
    return cols


def stall_rows(flows: Iterable[FlowResult]) -> dict[str, list]:
    cols = _columns(STALL_COLUMNS)
    for f in flows:
        for s in f.stalls:
            cols["flow"].append(f.id)
            cols["kind"].append(s.kind)
            cols["endpoint"].append(s.endpoint)
            cols["start"].append(float(s.start))
            cols["duration"].append(float(s.duration))
            cols["end"].append(float(s.start) + float(s.duration))
            cols["detail"].append(_json_text(s.detail) if s.detail else None)
    return cols


def finding_rows(analysis: Analysis) -> dict[str, list]:
    cols = _columns(FINDING_COLUMNS)
    for f in analysis.finding_results:
        cols["id"].append(f.id)
        cols["kind"].append(f.kind)
        cols["severity"].append(f.severity)
        cols["title"].append(f.title)
        cols["detail"].append(f.detail)
        cols["recommendation"].append(f.recommendation)
        cols["flows"].append([int(x) for x in f.flows])
        cols["endpoint"].append(f.endpoint)
        cols["metrics"].append(_json_text(f.metrics) if f.metrics is not None else None)
        cols["impact"].append(float(f.impact))
    return cols


def table_rows(analysis: Analysis, table: str) -> dict[str, list]:
    """Columns (name -> list of values) of one of `TABLES` for an analysis."""
    if table == "capture":
        return capture_rows(analysis)
    if table == "flows":
        return flow_rows(analysis.flow_results)
    if table == "endpoints":
        return endpoint_rows(analysis.flow_results)
    if table == "stalls":
        return stall_rows(analysis.flow_results)
    if table == "findings":
        return finding_rows(analysis)
    raise ValueError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")


# --- Events (one row per TCP segment) ---------------------------------------------------
def addr_text(ip: bytes, port: int) -> str:
    """'198.18.0.1:40000' or '[2001:db8::1]:443' (brackets keep the port unambiguous)."""
    if len(ip) == 4:
        return f"{ip[0]}.{ip[1]}.{ip[2]}.{ip[3]}:{port}"
    return f"[{socket.inet_ntop(socket.AF_INET6, ip)}]:{port}"


def _flow_id(flow: Any) -> int:
    fid = getattr(flow, "id", None)
    if fid is None:
        fid = flow.conn.id
    return int(fid)


def _cwnd_observer(flow: Any):
    for observer in getattr(flow, "observers", None) or ():
        if hasattr(observer, "cwnd_estimate"):
            return observer
    return None


_PURGE_EVERY = 1 << 16  # rows between purges of the events address cache


def iter_event_rows(source: Source, options: Options | None = None) -> Iterator[tuple]:
    """Yield one tuple per TCP segment in capture order, in `EVENT_COLUMNS` order.

    Missing values are None.  Addresses are formatted once per flow and cached by flow
    id (ids are never reused within a run), so the per-packet cost is a dict lookup;
    entries of finished flows are dropped now and then.
    """
    from .analysis import Options, iter_events

    opts = options or Options(observers=True)  # cwnd_est needs the cwnd observer
    cache: dict[int, tuple] = {}
    for n, (seg, flow, v) in enumerate(iter_events(source, opts), 1):
        fid = _flow_id(flow)
        entry = cache.get(fid)
        if entry is None:
            a = addr_text(seg.src, seg.sport)
            b = addr_text(seg.dst, seg.dport)
            observer = _cwnd_observer(flow)
            # entry[d] is the sender of direction d
            entry = (a, b, observer, flow) if v.direction == 0 else (b, a, observer, flow)
            cache[fid] = entry
        d = v.direction
        observer = entry[2]
        cwnd = observer.cwnd_estimate(d) if observer is not None else None
        yield (seg.frame, seg.ts, fid, entry[d], entry[1 - d], v.rel_seq, v.rel_ack,
               seg.length, flags_text(seg.flags), v.win_scaled, v.ack_rtt, v.bytes_in_flight,
               cwnd, analysis_text(v.analysis))
        if n % _PURGE_EVERY == 0:  # forget finished flows: memory stays bounded by live flows
            cache = {k: e for k, e in cache.items() if not getattr(e[3], "done", False)}


# --- pandas -----------------------------------------------------------------------------
def pandas_dtype(kind: str) -> Any:
    """The pandas dtype of a column kind (documented in docs/schema.md)."""
    import pandas as pd

    return {
        "int": "int64", "Int": "Int64", "float": "float64", "bool": "bool",
        "str": pd.StringDtype(), "Str": pd.StringDtype(), "json": pd.StringDtype(),
        "strs": "object", "ints": "object",
    }[kind]


def frame(columns: dict[str, list], spec: tuple[Column, ...]) -> pd.DataFrame:
    """A DataFrame with the documented dtypes, from plain columns (also when empty)."""
    import pandas as pd

    data = {}
    for name, kind in spec:
        values = columns.get(name, [])
        dtype = pandas_dtype(kind)
        if kind in ("strs", "ints"):
            series = pd.Series(values, dtype="object", name=name)
        else:
            series = pd.Series(values, dtype=dtype, name=name)
        data[name] = series
    return pd.DataFrame(data, columns=[name for name, _ in spec])


def capture_frame(analysis: Analysis) -> pd.DataFrame:
    return frame(capture_rows(analysis), CAPTURE_COLUMNS)


def flows_frame(analysis: Analysis) -> pd.DataFrame:
    """One row per flow, ordered by flow id (see docs/schema.md, table `flows`)."""
    return frame(flow_rows(analysis.flow_results), FLOW_COLUMNS)


def endpoints_frame(analysis: Analysis) -> pd.DataFrame:
    """One row per flow direction (client, then server)."""
    return frame(endpoint_rows(analysis.flow_results), ENDPOINT_COLUMNS)


def stalls_frame(analysis: Analysis) -> pd.DataFrame:
    """One row per stall interval."""
    return frame(stall_rows(analysis.flow_results), STALL_COLUMNS)


def findings_frame(analysis: Analysis) -> pd.DataFrame:
    """One row per finding, in the order diagnosis ranked them."""
    return frame(finding_rows(analysis), FINDING_COLUMNS)


def events_frame(source: Source, options: Options | None = None) -> pd.DataFrame:
    """One row per TCP segment (the events contract), read from the capture again."""
    names = [name for name, _ in EVENT_COLUMNS]
    rows = list(iter_event_rows(source, options))
    columns = {name: [] for name in names}
    if rows:
        for name, values in zip(names, zip(*rows, strict=True), strict=True):
            columns[name] = list(values)
    return frame(columns, EVENT_COLUMNS)


# --- Severity gate (--fail-on) ----------------------------------------------------------
def severity_rank(severity: str) -> int:
    try:
        return SEVERITIES.index(severity.lower())
    except ValueError:
        raise ValueError(f"unknown severity {severity!r}; expected one of "
                         f"{', '.join(SEVERITIES)}") from None


def severity_at_least(findings: Iterable[Any], severity: str) -> bool:
    """True if any finding (Finding or dict) is at or above `severity` (for --fail-on)."""
    threshold = severity_rank(severity)
    for f in findings:
        level = f["severity"] if isinstance(f, dict) else f.severity
        if level in SEVERITIES and SEVERITIES.index(level) >= threshold:
            return True
    return False
