"""File formats: JSON (the contract), JSONL, CSV and Parquet; the events stream.

`write_analysis` writes one analysis; `write_flows_jsonl` streams flows as they finish
(for `iter_flows`); `write_events` streams one row per TCP segment.  Table layouts
come from `frames.TABLES` and are documented in docs/schema.md.

Output targets (`out`): "-" is stdout.  For csv and parquet a path ending in the format's
suffix gets the flows table only; any other path is a directory that receives every
table (capture, flows, endpoints, stalls, findings) as `<table>.csv` / `<table>.parquet`.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import cython

from .errors import UsageError
from .frames import (
    EVENT_COLUMNS,
    TABLE_SCHEMA_VERSION,
    TABLES,
    Column,
    iter_event_rows,
    table_rows,
)
from .model import Endpoint, StateChange

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from .analysis import Analysis, Options, Source
    from .model import FlowResult

ANALYSIS_FORMATS = ("json", "jsonl", "csv", "parquet")
EVENT_FORMATS = ("csv", "jsonl")


# --- output plumbing --------------------------------------------------------------------
@contextlib.contextmanager
def _text_out(out: str | os.PathLike | IO[str]) -> Iterator[IO[str]]:
    if hasattr(out, "write"):
        yield out  # type: ignore[misc]
    elif str(out) == "-":
        yield sys.stdout
        sys.stdout.flush()
    else:
        # newline="" lets csv.writer control line endings; harmless for JSON
        with open(out, "w", encoding="utf-8", newline="") as fh:
            yield fh


def _is_single_file(out: str | os.PathLike, suffix: str) -> bool:
    return str(out) == "-" or str(out).lower().endswith(suffix) or hasattr(out, "write")


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return str(value)


def flow_dict(flow: FlowResult) -> dict:
    """A flow as the JSON contract renders it (same as inside `Analysis.to_dict()`)."""
    from .analysis import flow_dict as render  # (the contract lives in analysis.py)

    return render(flow)


# --- one flow's JSON, written directly ----------------------------------------------------
# `write_json` spends most of its time on the flows: building each flow's dicts
# (analysis.flow_dict) and encoding them cost about as much as the whole findings pass.
# FlowJson writes the same text as `compact(flow_dict(flow))` without the dicts, and
# writes a timestamp repeated by consecutive state changes once (float repr is the
# single biggest cost).  tests/test_export.py holds it to flow_dict on the sample
# captures: a field added to the contract must be added here too.  The module is
# compiled (engine.COMPILED_MODULES; export.pxd types FlowJson).
_FLOAT_SPECIAL = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}  # as json writes

#: endpoint fields besides the counters: an endpoint with a counter of one of these
#: names (flow_dict's dict would merge the two), or not named by a string, is written
#: the general way
_ENDPOINT_FIELDS = frozenset({"addr", "role", "packets", "payload_bytes", "mss", "wscale",
                              "sack_permitted", "timestamps", "cca"})

# The objects' layouts, written with json's default separators (", " and ": " occur
# nowhere else in them) and "{}" where a value goes: FlowJson cuts them into the text
# between the values, with the separators it is asked for.
_FLOW = ('{"id": {}, "client": {}, "server": {}, "start": {}, "end": {}, "state": {}, '
         '"handshake": {}, "syn_rtt": {}, "rtt": {}, "endpoints": [{}], "stalls": [{}], '
         '"findings": [{}], "states": [{}]}')
_ENDPOINT = ('{"addr": {}, "role": {}, "packets": {}, "payload_bytes": {}, "mss": {}, '
             '"wscale": {}, "sack_permitted": {}, "timestamps": {}, {}, "cca": {}}')
_STATE = '{"ts": {}, "endpoint": {}, "state": {}}'
_STALL = '{"kind": {}, "endpoint": {}, "start": {}, "duration": {}{}}'

#: distinct counter sets whose text FlowJson keeps (most flows share a few: all zero
#: but a FIN each side, say); past it the memo starts over
_COUNTERS_MEMO_BOUND = 4096
_TAILS_BOUND = 1024  # state changes' texts kept per endpoint (a few dozen states exist)
_STRINGS_BOUND = 4096  # strings' texts kept (most flows add one: the client address)
#: flows write_json hands to the file in one write (a write costs as much as the
#: text of a few dozen values)
_FLOWS_PER_WRITE = 64


def float_text(v: float) -> str:
    """A float as json writes it: its repr, or NaN, Infinity, -Infinity.

    repr is the shortest decimal that reads back as v (the nearest such if there are
    several), and CPython works it out with big-number arithmetic (dtoa) in about 7k
    instructions: more than anything else in a flow's JSON.  For the floats written
    most, from 1e-4 up to 2**31 (times, durations, RTTs), the same text is found here
    with a few integer operations; where that cannot be sure it leaves it to repr.
    """
    if 1e-4 <= v < 2147483648.0:  # (no exponent in repr's text from 1e-4 up to 1e16)
        # Most timestamps of a microsecond capture: if v is the float nearest to
        # n / 10**6 (n / 1e6 is rounded correctly), any other decimal of as few digits
        # lies 1e-6 or more from it, over two float steps below 2**31: repr is n / 10**6.
        n = int(v * 1e6 + 0.5)  # the nearest millionth (truncation: v > 0)
        if n / 1e6 == v:
            return _fixed_text(n, 6)
        text = _shortest_decimal(v)
        if text is not None:
            return text
    text = repr(v)
    if v - v == 0.0:  # finite (for inf and nan it is nan)
        return text
    return _FLOAT_SPECIAL.get(text, text)


def int_text(v: int) -> str:
    """repr of an int (not of a subclass), compiled by C conversion where it fits in
    64 bits (about a third of repr's instructions)."""
    try:
        n = v  # (compiled: a C long long, too small for some)
    except OverflowError:
        return repr(v)
    return f"{n}"


#: the fewest decimals whose step 10**-q is below 2**-s, by s: the digits of 2**s
_DECIMALS = tuple(len(str(1 << s)) for s in range(70))
_POW2 = tuple(1 << s for s in range(70))
_POW5 = tuple(5**q for q in range(24))
#: the largest `shift` _shortest_decimal takes on (v down to 1e-4): its products stay
#: below 2**94, its decimals below 2**57 (tests/test_export_float.py)
_MAX_SHIFT = 66


def _shortest_decimal(v: float) -> str | None:
    """repr(v) for 1e-4 <= v < 2**31 (times, durations, RTTs), worked out exactly with
    integers; None where it leaves the choice to repr.

    v is big / 2**shift exactly, and the floats next to it lie 2**-shift away, so the
    decimals that read back as v are those less than half that from it.  With q
    decimals, the fewest whose step is below 2**-shift, the nearest such decimal always
    reads back as v; with q - 1 the nearest may too (its steps are wider than a float's,
    so at most one can), and then it is the shortest: fewer decimals are among those of
    q - 1.  repr's text is that decimal, without trailing zeros.

    Compiled, the numbers are C integers: 64 bits but for the product `tail`, which
    takes up to 94 and is 128 bits wide there (export.pxd).
    """
    # the smallest shift with v * 2**shift >= 2**52 (v below 2**31 needs 22 or more,
    # v below 1 needs 53 or more)
    if v >= 1.0:
        shift = 22
        scale = 4194304.0  # 2**shift
    else:
        shift = 53
        scale = 9007199254740992.0
    while v * scale < 4503599627370496.0:  # 2**52 (the products are exact)
        scale *= 2.0
        shift += 1
    if shift > _MAX_SHIFT:
        return None
    big = int(v * scale)  # 53 bits
    if big == 4503599627370496:  # 2**52
        return None  # a power of two: the float below lies nearer than the one above
    decimals = _DECIMALS[shift] - 1
    five = _POW5[decimals]
    for _ in range(2):  # q - 1 decimals, then q
        # v * 10**decimals = big * 5**decimals / 2**low_bits = n + rest / 2**low_bits,
        # big cut in two so that only the low part's product is wide
        low_bits = shift - decimals
        high = big >> low_bits
        low = big - (high << low_bits)
        tail = low * five
        n = high * five + (tail >> low_bits)
        twice = 2 * (tail - ((tail >> low_bits) << low_bits))
        half = _POW2[low_bits]  # twice the rest against the whole step
        if twice > half:  # nearer to n + 1
            n += 1
            twice = 2 * half - twice
        elif twice == half and n % 2:
            # halfway between two decimals (both read back as v if either does, as
            # only those of q decimals can): repr takes the even one
            n += 1
        # the distance from v, twice / (2 * 2**low_bits * 10**decimals), against half a
        # float step, 1 / 2**(shift + 1): the powers of two cancel
        if twice < five:
            return _fixed_text(n, decimals)
        if twice == five:
            return None  # on the edge: whether it reads back as v is up to rounding
        decimals += 1
        five *= 5
    return None


def _fixed_text(n: int, decimals: int) -> str:
    """n / 10**decimals (n > 0, decimals > 0) as repr writes it: no trailing zeros, but
    one digit after the point."""
    while decimals > 1 and n % 10 == 0:
        n //= 10
        decimals -= 1
    if cython.compiled:
        return _fixed_text_c(n, decimals)
    digits = str(n).rjust(decimals + 1, "0")  # one digit before the point at least
    return digits[:-decimals] + "." + digits[-decimals:]


def _fixed_text_c(n: int, decimals: int) -> str:
    """_fixed_text's text written digit by digit in a C buffer (compiled build only:
    tests/test_export_float.py runs both builds against repr)."""
    buf = cython.declare(cython.char[48])  # n < 2**63: 19 digits, decimals < 24
    # (n is unsigned there: its divisions by 10 need no correction for a sign)
    pos = 48
    for _ in range(decimals):
        pos -= 1
        buf[pos] = ord("0") + n % 10
        n //= 10
    pos -= 1
    buf[pos] = ord(".")
    while True:
        pos -= 1
        buf[pos] = ord("0") + n % 10
        n //= 10
        if n == 0:
            break
    return buf[pos:48].decode("ascii")


class FlowJson:
    """Encodes flows as `compact(flow_dict(flow))` would (`compact`: a json encoder with
    the same `separators` that the values this does not know are handed to)."""

    def __init__(self, compact: Any, separators: tuple[str, str] = (", ", ": ")) -> None:
        from .analysis import _ENDPOINT_COUNTERS, _endpoint_dict

        item, key = separators

        def pieces(layout: str) -> tuple[str, ...]:
            return tuple(layout.replace(", ", item).replace(": ", key).split("{}"))

        self.compact = compact
        self.item_sep = item
        self.key_sep = key
        self.flow_pieces = pieces(_FLOW)
        self.endpoint_pieces = pieces(_ENDPOINT)
        self.state_pieces = pieces(_STATE)
        self.stall_pieces = pieces(_STALL)
        self.detail_key = f'{item}"detail"{key}'
        self.contract_counters = frozenset(_ENDPOINT_COUNTERS)
        self.counter_keys = [(name, f'"{name}"{key}') for name in _ENDPOINT_COUNTERS]
        self.endpoint_dict = _endpoint_dict
        self.string = json.encoder.encode_basestring_ascii  # what the encoder uses
        # the counters' texts by `counts_key`, and the names that key stands for (equal
        # counts give equal text; the key is much cheaper to work out than the text)
        self.counters_memo: dict[int, str] = {}
        self.counter_layout: tuple | None = None
        self.tails: tuple[dict, dict] = ({}, {})  # by endpoint: state -> state_tail's text
        # string -> its JSON text: a flow writes its addresses twice, and states,
        # roles, servers and finding ids recur from flow to flow
        self.strings: dict[str, str] = {}

    def value(self, v: Any) -> str:
        """One value as the encoder writes it (scalars here, the rest by the encoder)."""
        t = type(v)
        if t is str:
            text = self.strings.get(v)
            if text is None:
                if len(self.strings) >= _STRINGS_BOUND:
                    self.strings.clear()
                text = self.strings[v] = self.string(v)
            return text
        if t is float:
            return float_text(v)
        if t is int:
            return int_text(v)
        if v is None:
            return "null"
        if v is True:
            return "true"
        if v is False:
            return "false"
        return self.compact(v)

    def mapping(self, d: Any) -> str:
        """A dict of scalars (the RTT summary) as the encoder writes it."""
        if type(d) is not dict:
            return self.value(d)
        parts = ["{"]
        for k, v in d.items():
            if type(k) is not str:  # json turns other keys into strings its own way
                return self.compact(d)
            if len(parts) > 1:
                parts.append(self.item_sep)
            parts.append(self.value(k))
            parts.append(self.key_sep)
            parts.append(self.value(v))
        parts.append("}")
        return "".join(parts)

    # (the methods call self.value(...) each time rather than through a local name:
    # compiled, that is a C call, a bound method would be a Python one)
    def flow(self, f: FlowResult) -> str:
        p = self.state_pieces
        sep = self.item_sep
        states = []  # the state changes' text in pieces, joined with the rest at the end
        last_ts, last_text = None, ""
        first_ts, first_text = None, ""
        for s in f.states:
            if type(s) is StateChange:  # (compiled, `change` is typed: C struct fields)
                change = s
                ts, endpoint, state = change.ts, change.endpoint, change.state
            else:
                ts, endpoint, state = s.ts, s.endpoint, s.state
            # state changes come in pairs at one timestamp: its text is written once
            # (equal floats have one text, but for +0.0 and -0.0)
            if type(ts) is not float or ts != last_ts or not ts:
                last_text = self.value(ts)
                last_ts = ts if type(ts) is float else None
                if not states:
                    first_ts, first_text = last_ts, last_text
            if states:
                states.append(sep)
            states.append(p[0])
            states.append(last_text)
            states.append(self.state_tail(endpoint, state))
        # the flow starts at its first state change and mostly ends at its last
        start, end = f.start, f.end
        start_text = (first_text if type(start) is float and start == first_ts and start
                      else self.value(start))
        end_text = (last_text if type(end) is float and end == last_ts and end
                    else self.value(end))
        p = self.flow_pieces
        text = [
            p[0], self.value(f.id), p[1], self.value(f.client), p[2], self.value(f.server),
            p[3], start_text, p[4], end_text, p[5], self.value(f.state),
            p[6], self.value(f.handshake), p[7], self.value(f.syn_rtt),
            p[8], self.mapping(f.rtt),
            p[9], sep.join([self.endpoint(e) for e in f.endpoints]),
            p[10], sep.join([self.stall(s) for s in f.stalls]),
            p[11], sep.join([self.value(x) for x in f.findings]), p[12]]
        text += states
        text.append(p[13])
        return "".join(text)

    def state_tail(self, endpoint: Any, state: Any) -> str:
        """A state change's text after its timestamp (a few distinct ones per capture)."""
        tails = None  # the texts kept for this endpoint (0 or 1), by state
        if type(endpoint) is int and type(state) is str and (endpoint == 0 or endpoint == 1):
            tails = self.tails[endpoint]
            text = tails.get(state)
            if text is not None:
                return text
        p = self.state_pieces
        text = p[1] + self.value(endpoint) + p[2] + self.value(state) + p[3]
        if tails is not None and len(tails) < _TAILS_BOUND:
            tails[state] = text
        return text

    def endpoint(self, e: Any) -> str:
        if type(e) is not Endpoint:
            return self.compact(self.endpoint_dict(e))
        return self.endpoint_fields(e)

    def endpoint_fields(self, e: Endpoint) -> str:
        """An Endpoint's text (compiled, its fields are read as C struct fields)."""
        counters = self.counters(e.counters)
        if counters is None:
            return self.compact(self.endpoint_dict(e))
        p = self.endpoint_pieces
        return "".join([
            p[0], self.value(e.addr), p[1], self.value(e.role), p[2], self.value(e.packets),
            p[3], self.value(e.payload_bytes), p[4], self.value(e.mss),
            p[5], self.value(e.wscale), p[6], self.value(e.sack_permitted),
            p[7], self.value(e.timestamps), p[8], counters, p[9], self.value(e.cca), p[10]])

    def counters(self, counters: Any) -> str | None:
        """An endpoint's counters as flow_dict writes them, or None where the endpoint
        is to be written the general way (see `_ENDPOINT_FIELDS`)."""
        key = self.counts_key(counters) if type(counters) is dict else -1
        if key >= 0:
            text = self.counters_memo.get(key)
            if text is not None:
                return text
        if not _ENDPOINT_FIELDS.isdisjoint(counters):
            return None
        text_parts = [f"{key_text}{int(counters.get(name, 0))!r}"
                      for name, key_text in self.counter_keys]
        contract = self.contract_counters
        for name, n in counters.items():  # extensions beyond the contract counters
            if name not in contract:
                if type(name) is not str:  # json would write it as a string: see above
                    return None
                text_parts.append(f"{self.string(name)}{self.key_sep}{int(n)!r}")
        text = self.item_sep.join(text_parts)
        if key >= 0:
            if len(self.counters_memo) >= _COUNTERS_MEMO_BOUND:
                self.counters_memo.clear()
            self.counters_memo[key] = text
        return text

    def counts_key(self, counters: dict) -> int:
        """The counts as one number, 3 bits each, where the names are those of the first
        endpoint's counters in the same order and each count an int below 8 (most
        endpoints: their text depends on nothing else); -1 otherwise."""
        layout = self.counter_layout
        if layout is None:
            layout = self.counter_layout = tuple(counters)
        if len(counters) != len(layout) or len(layout) > 21:  # (21 * 3 bits: 63)
            return -1
        key = 0
        for i, (name, n) in enumerate(counters.items()):
            if name is not layout[i] and name != layout[i]:
                return -1
            if type(n) is not int or not 0 <= n < 8:
                return -1
            count = n
            key = key << 3 | count
        return key

    def stall(self, s: Any) -> str:
        p = self.stall_pieces
        detail = self.detail_key + self.value(s.detail) if s.detail else ""
        return "".join([p[0], self.value(s.kind), p[1], self.value(s.endpoint),
                        p[2], self.value(s.start), p[3], self.value(s.duration), p[4],
                        detail, p[5]])


# --- analysis ---------------------------------------------------------------------------
def write_analysis(analysis: Analysis, fmt: str, out: str | os.PathLike | IO = "-") -> list[str]:
    """Write an analysis in `fmt`; returns the paths written ('-' for stdout)."""
    if fmt == "json":
        with _text_out(out) as fh:
            write_json(analysis, fh)
        return [str(out) if not hasattr(out, "write") else "-"]
    if fmt == "jsonl":
        write_flows_jsonl(analysis.flow_results, out)
        return [str(out) if not hasattr(out, "write") else "-"]
    if fmt == "csv":
        if _is_single_file(out, ".csv"):
            with _text_out(out) as fh:
                write_csv_table(table_rows(analysis, "flows"), TABLES["flows"], fh)
            return [str(out) if not hasattr(out, "write") else "-"]
        return _write_dir(analysis, Path(out), "csv")
    if fmt == "parquet":
        if _is_single_file(out, ".parquet"):
            table = arrow_table(analysis, "flows")
            if str(out) == "-":
                _write_parquet(table, sys.stdout.buffer)
            else:
                _write_parquet(table, out)
            return [str(out) if not hasattr(out, "write") else "-"]
        return _write_dir(analysis, Path(out), "parquet")
    raise UsageError(f"unknown format {fmt!r}; expected one of {', '.join(ANALYSIS_FORMATS)}")


def write_json(analysis: Analysis, fh: IO[str]) -> None:
    """The analysis JSON contract, streamed: one flow per line, the rest indented.

    Same document as `json.dumps(analysis.to_dict(), indent=2)`, laid out so that it
    is cheap to write for many flows: with an indent json uses its pure-Python encoder
    (about 5x slower), and the flows are encoded one at a time instead of building the
    whole document in memory first.
    """
    from .analysis import SCHEMA, _capture_dict, _finding_dict

    def indented(value: Any) -> str:
        return json.dumps(value, indent=2, default=_json_default).replace("\n", "\n  ")

    compact = json.JSONEncoder(separators=(", ", ": "), default=_json_default).encode
    fh.write(f'{{\n  "schema": {json.dumps(SCHEMA)},\n'
             f'  "capture": {indented(_capture_dict(analysis.capture))},\n  "flows": [')
    sep = "\n    "
    flow_json = FlowJson(compact).flow
    chunk: list[str] = []  # flows' texts written _FLOWS_PER_WRITE at a time
    for flow in analysis.flow_results:
        chunk.append(sep)
        chunk.append(flow_json(flow))
        sep = ",\n    "
        if len(chunk) >= 2 * _FLOWS_PER_WRITE:
            fh.write("".join(chunk))
            chunk.clear()
    fh.write("".join(chunk))
    fh.write("\n  ]" if analysis.flow_results else "]")
    findings = [_finding_dict(f) for f in analysis.finding_results]
    fh.write(f',\n  "findings": {indented(findings)}\n}}\n')


def _write_dir(analysis: Analysis, out: Path, fmt: str) -> list[str]:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output directory {out}: {exc.strerror}") from None
    written = []
    for name, spec in TABLES.items():
        path = out / f"{name}.{fmt}"
        if fmt == "csv":
            with open(path, "w", encoding="utf-8", newline="") as fh:
                write_csv_table(table_rows(analysis, name), spec, fh)
        else:
            _write_parquet(arrow_table(analysis, name), path)
        written.append(str(path))
    return written


def write_flows_jsonl(flows: Iterable[FlowResult], out: str | os.PathLike | IO = "-") -> int:
    """One contract flow object per line, written as the flows arrive; returns the count."""
    n = 0
    separators = (",", ":")
    compact = json.JSONEncoder(separators=separators, default=_json_default).encode
    flow_json = FlowJson(compact, separators).flow  # = compact(flow_dict(flow))
    with _text_out(out) as fh:
        for flow in flows:
            fh.write(flow_json(flow) + "\n")
            n += 1
    return n


# --- CSV --------------------------------------------------------------------------------
def _csv_cell(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind in ("strs", "ints"):
        return "|".join(str(v) for v in value)
    if kind == "float":
        return "" if math.isnan(value) else repr(float(value))
    if kind == "bool":
        return "true" if value else "false"
    return value


def _csv_column(values: list, kind: str) -> list:
    """A column's cells as `_csv_cell` writes them, converted in one go."""
    if kind in ("int", "Int", "str", "Str", "json"):
        return values  # as they are: the writer itself writes None as an empty cell
    return [_csv_cell(v, kind) for v in values]


def write_csv_table(columns: dict[str, list], spec: tuple[Column, ...], fh: IO[str]) -> int:
    """Header plus rows; missing values are empty cells, lists are joined by '|'."""
    writer = csv.writer(fh, lineterminator="\n")
    names = [name for name, _ in spec]
    writer.writerow(names)
    data = [_csv_column(columns[name], kind) for name, kind in spec]
    n = len(data[0]) if data else 0
    # column by column, then the rows in one call: the writer's loop runs in C
    writer.writerows(zip(*data, strict=True))
    return n


# --- Parquet ----------------------------------------------------------------------------
def arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "int": pa.int64(), "Int": pa.int64(), "float": pa.float64(), "bool": pa.bool_(),
        "str": pa.string(), "Str": pa.string(), "json": pa.string(),
        # "element" is the Parquet name of list items: the schema reads back unchanged
        "strs": pa.list_(pa.field("element", pa.string())),
        "ints": pa.list_(pa.field("element", pa.int64())),
    }[kind]


def arrow_schema(table: str) -> pa.Schema:
    """The versioned Parquet schema of one table (docs/schema.md)."""
    import pyarrow as pa

    fields = [pa.field(name, arrow_type(kind), nullable=kind in ("Int", "Str", "json", "float"))
              for name, kind in TABLES[table]]
    return pa.schema(fields, metadata={b"tcpforensics.schema": TABLE_SCHEMA_VERSION.encode(),
                                       b"tcpforensics.table": table.encode()})


def arrow_table_from_columns(columns: dict[str, list], table: str) -> pa.Table:
    import pyarrow as pa

    schema = arrow_schema(table)
    arrays = [pa.array(columns[f.name], type=f.type, from_pandas=True) for f in schema]
    return pa.Table.from_arrays(arrays, schema=schema)


def arrow_table(analysis: Analysis, table: str) -> pa.Table:
    return arrow_table_from_columns(table_rows(analysis, table), table)


def read_parquet(path: str | os.PathLike, table: str | None = None) -> pd.DataFrame:
    """Read a table file written by `write_analysis` back with the documented dtypes.

    The table name comes from the file's metadata unless given.
    """
    import pyarrow.parquet as pq

    from .frames import frame

    data = pq.read_table(path)
    if table is None:
        meta = data.schema.metadata or {}
        table = meta.get(b"tcpforensics.table", b"").decode()
    if table not in TABLES:
        raise UsageError(f"{path}: not a tcpforensics table file")
    cols = {name: data.column(name).to_pylist() for name in data.column_names}
    return frame(cols, TABLES[table])


def _write_parquet(table: pa.Table, where: Any) -> None:
    try:
        import pyarrow.parquet as pq
    except ImportError:  # optional dependency
        raise UsageError("parquet output needs pyarrow: pip install 'tcpforensics[parquet]'"
                         ) from None
    pq.write_table(table, where, compression="zstd")


# --- events -----------------------------------------------------------------------------
def write_events(source: Source, fmt: str = "csv", out: str | os.PathLike | IO = "-",
                 options: Options | None = None) -> int:
    """Stream one row per TCP segment (events contract) in capture order; returns rows."""
    if fmt not in EVENT_FORMATS:
        raise UsageError(f"unknown events format {fmt!r}; expected csv or jsonl")
    names = [name for name, _ in EVENT_COLUMNS]
    rows = iter_event_rows(source, options)
    n = 0
    with _text_out(out) as fh:
        if fmt == "csv":
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(names)
            writerow = writer.writerow
            for row in rows:
                # Only rtt, bytes_in_flight and cwnd_est can be None; csv writes '' for None.
                writerow(row)
                n += 1
        else:
            buf = io.StringIO()
            dumps = json.dumps
            for row in rows:
                buf.write(dumps(dict(zip(names, row, strict=True)), separators=(",", ":")))
                buf.write("\n")
                n += 1
                if n % 4096 == 0:
                    fh.write(buf.getvalue())
                    buf.seek(0)
                    buf.truncate()
            fh.write(buf.getvalue())
    return n
