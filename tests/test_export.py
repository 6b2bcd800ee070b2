"""Exports: JSON contract, JSONL, CSV, Parquet (schema), and the events stream."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tcpforensics import export, frames
from tcpforensics.errors import UsageError

sys.path.insert(0, str(Path(__file__).parent))
from test_frames import sample_analysis, shared_pcap  # noqa: E402

EVENT_HEADER = ["frame", "ts", "flow", "src", "dst", "seq", "ack", "len", "flags", "win", "rtt",
                "bytes_in_flight", "cwnd_est", "analysis"]


def test_json_is_the_contract(tmp_path: Path) -> None:
    a = sample_analysis()
    out = tmp_path / "a.json"
    export.write_analysis(a, "json", out)
    doc = json.loads(out.read_text())
    assert doc["schema"] == "tcpforensics/1"
    assert doc == json.loads(json.dumps(a.to_dict()))
    assert doc["flows"][0]["endpoints"][0]["retransmission"] == 2


def test_jsonl_one_flow_per_line(tmp_path: Path) -> None:
    a = sample_analysis()
    out = tmp_path / "a.jsonl"
    export.write_analysis(a, "jsonl", out)
    lines = out.read_text().splitlines()
    assert len(lines) == len(a.flow_results)
    assert [json.loads(line) for line in lines] == json.loads(json.dumps(a.to_dict()["flows"]))


def test_csv_single_file_is_the_flows_table(tmp_path: Path) -> None:
    out = tmp_path / "flows.csv"
    export.write_analysis(sample_analysis(), "csv", out)
    with open(out, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [name for name, _ in frames.FLOW_COLUMNS]
    assert rows[0]["findings"] == "F1" and rows[1]["findings"] == ""
    assert rows[1]["syn_rtt"] == ""  # missing, not "nan"
    assert rows[0]["retransmissions"] == "3"
    assert float(rows[0]["start"]) == 1.0


def test_csv_directory_holds_every_table(tmp_path: Path) -> None:
    written = export.write_analysis(sample_analysis(), "csv", tmp_path / "out")
    assert sorted(Path(p).name for p in written) == sorted(f"{t}.csv" for t in frames.TABLES)
    findings = pd.read_csv(tmp_path / "out" / "findings.csv", keep_default_na=False)
    # quoting survives commas, quotes and newlines
    assert findings.loc[0, "title"] == 'RTO, "quoted"'
    assert findings.loc[0, "detail"] == "d,etail\nline two"
    endpoints = pd.read_csv(tmp_path / "out" / "endpoints.csv")
    assert len(endpoints) == 4 and list(endpoints["duplicate_ack"]) == [1, 3, 0, 0]


def test_parquet_directory_schema_and_readers(tmp_path: Path) -> None:
    a = sample_analysis()
    export.write_analysis(a, "parquet", tmp_path / "pq")
    for table, spec in frames.TABLES.items():
        path = tmp_path / "pq" / f"{table}.parquet"
        t = pq.read_table(path)
        assert t.schema.equals(export.arrow_schema(table), check_metadata=True)
        assert t.schema.metadata[b"tcpforensics.schema"] == b"tcpforensics-tables/1"
        assert t.column_names == [name for name, _ in spec]
        df = pd.read_parquet(path)
        assert list(df.columns) == [name for name, _ in spec]
    flows = pq.read_table(tmp_path / "pq" / "flows.parquet")
    assert flows.schema.field("findings").type.value_type == pa.string()
    assert flows.column("findings").to_pylist() == [["F1"], []]
    assert flows.column("syn_rtt").to_pylist()[1] is None
    eps = pq.read_table(tmp_path / "pq" / "endpoints.parquet")
    assert eps.column("mss").to_pylist() == [1460, 1460, None, None]
    fi = pd.read_parquet(tmp_path / "pq" / "findings.parquet")
    assert list(fi.loc[0, "flows"]) == [0]
    # read back with the documented dtypes: identical to the DataFrame views
    for table, build in (("flows", frames.flows_frame), ("endpoints", frames.endpoints_frame),
                         ("stalls", frames.stalls_frame), ("findings", frames.findings_frame)):
        pd.testing.assert_frame_equal(export.read_parquet(tmp_path / "pq" / f"{table}.parquet"),
                                      build(a))


def test_parquet_to_stdout_and_single_file(tmp_path: Path) -> None:
    single = tmp_path / "flows.parquet"
    export.write_analysis(sample_analysis(), "parquet", single)
    assert pq.read_table(single).num_rows == 2
    here = str(Path(__file__).parent)
    code = (f"import sys; sys.path.insert(0, {here!r}); from test_frames import sample_analysis;"
            "from tcpforensics.export import write_analysis;"
            "write_analysis(sample_analysis(), 'parquet', '-')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True,
                         cwd=Path(__file__).parents[1]).stdout
    assert pq.read_table(io.BytesIO(out)).column("flow").to_pylist() == [0, 1]


def test_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        export.write_analysis(sample_analysis(), "xml", tmp_path / "x")
    with pytest.raises(UsageError):
        export.write_events("whatever.pcap", "parquet", tmp_path / "x")


# --- on real captures -----------------------------------------------------------------
def manifest_count(rel: str, name: str) -> int:
    """A tshark count from the shared MANIFEST.tsv 'other_flags' column (e.g. syn=17)."""
    manifest = shared_pcap(rel).parents[2] / "MANIFEST.tsv"
    with open(manifest, newline="") as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["local_path"] == rel:
                flags = dict(kv.split("=") for kv in row["other_flags"].split(";") if "=" in kv)
                return int(flags.get(name, 0))
    pytest.skip(f"{rel} not in MANIFEST.tsv")


def test_events_csv_on_a_real_capture(tmp_path: Path) -> None:
    from tcpforensics.analysis import analyze

    path = shared_pcap("tcptrace/input/fast_reuse.dmp")
    out = tmp_path / "events.csv"
    n = export.write_events(path, "csv", out)
    with open(out, newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        rows = list(reader)
    assert header == EVENT_HEADER
    a = analyze(path)
    assert n == len(rows) == a.capture.tcp_segments
    frames_seen = [int(r[0]) for r in rows]
    assert frames_seen == sorted(frames_seen)
    assert {int(r[2]) for r in rows} == {f.id for f in a.flow_results}
    valid = {name for _, name in __import__("tcpforensics.model", fromlist=["x"]).ANALYSIS_NAMES}
    for r in rows:
        assert set(r[8]) <= set("SFRPAUECN")
        assert r[13] == "" or set(r[13].split("|")) <= valid
    # Every SYN (tshark counts them in MANIFEST.tsv) opens a new flow at relative seq 0;
    # the capture starts inside one more connection, whose first row is a plain ACK.
    first = {}
    for r in rows:
        first.setdefault(r[2], r)
    opened = [r for r in first.values() if r[8] == "S"]
    assert len(opened) == manifest_count("tcptrace/input/fast_reuse.dmp", "syn")
    assert all(r[5] == "0" and r[6] == "0" for r in opened)
    assert len(first) == len(opened) + 1
    # port reuse: the same 4-tuple shows up under several flow ids
    assert len({(r[3], r[4]) for r in rows}) < len(first)


def test_events_jsonl_matches_csv(tmp_path: Path) -> None:
    path = shared_pcap("tcptrace/input/long_rtt.dmp")
    export.write_events(path, "csv", tmp_path / "e.csv")
    export.write_events(path, "jsonl", tmp_path / "e.jsonl")
    with open(tmp_path / "e.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    objs = [json.loads(line) for line in (tmp_path / "e.jsonl").read_text().splitlines()]
    assert len(rows) == len(objs) > 0
    for r, o in zip(rows, objs, strict=True):
        assert list(o) == EVENT_HEADER
        assert int(r["frame"]) == o["frame"] and r["src"] == o["src"]
        assert r["analysis"] == o["analysis"]
        assert (r["rtt"] == "") == (o["rtt"] is None)


def test_real_capture_round_trips_through_every_format(tmp_path: Path) -> None:
    from tcpforensics.analysis import analyze

    a = analyze(shared_pcap("tcptrace/input/http.dmp"))
    export.write_analysis(a, "parquet", tmp_path / "pq")
    export.write_analysis(a, "csv", tmp_path / "csv")
    export.write_analysis(a, "jsonl", tmp_path / "f.jsonl")
    want = frames.flows_frame(a)
    got_pq = pd.read_parquet(tmp_path / "pq" / "flows.parquet")
    got_csv = pd.read_csv(tmp_path / "csv" / "flows.csv")
    assert list(got_pq["flow"]) == list(want["flow"]) == list(got_csv["flow"])
    assert list(got_pq["client_bytes"]) == list(want["client_bytes"])
    assert list(got_csv["server_bytes"]) == list(want["server_bytes"])
    lines = (tmp_path / "f.jsonl").read_text().splitlines()
    assert [json.loads(x)["id"] for x in lines] == list(want["flow"])


@pytest.mark.parametrize("rel", ["tcptrace/input/http.dmp", "tcptrace/input/fast_reuse.dmp"])
def test_events_columns_agree_with_tshark(tmp_path: Path, rel: str) -> None:
    """frame, relative seq/ack, len and scaled window are what Wireshark shows."""
    import shutil

    if shutil.which("tshark") is None:
        pytest.skip("tshark not installed")
    path = shared_pcap(rel)
    buf = io.StringIO()
    export.write_events(path, "csv", buf)
    buf.seek(0)
    ours = {int(r["frame"]): r for r in csv.DictReader(buf)}
    out = subprocess.run(
        ["tshark", "-n", "-r", str(path), "-Y", "tcp", "-T", "fields", "-e", "frame.number",
         "-e", "tcp.seq", "-e", "tcp.ack", "-e", "tcp.len", "-e", "tcp.window_size"],
        capture_output=True, text=True, check=True).stdout
    theirs = [line.split("\t") for line in out.splitlines()]
    assert sorted(ours) == [int(t[0]) for t in theirs]
    for frame, seq, ack, length, win in theirs:
        r = ours[int(frame)]
        assert (r["seq"], r["len"], r["win"]) == (seq, length, win), frame
        if ack:  # tshark leaves ack empty when the ACK flag is off
            assert r["ack"] == ack, frame


# --- one flow's JSON without the dicts (export.FlowJson) ---------------------------------
def _compact(separators: tuple[str, str] = (", ", ": ")):
    from tcpforensics.analysis import _json_default

    return json.JSONEncoder(separators=separators, default=_json_default).encode


@pytest.mark.parametrize("packed", [False, True], ids=["plain", "packed"])
def test_flow_json_is_the_contract_flow_encoded(packed: bool) -> None:
    """write_json encodes each flow itself: the text json gives flow_dict, on flows of
    every kind the sample captures hold (plain, and read back from packed bytes)."""
    from tcpforensics.analysis import Options, analyze, flow_dict, lean_options

    root = Path(__file__).resolve().parents[1] / "sample_pcaps"
    captures = [root / "demo.pcap", *sorted(root.glob("*/*.pcap.gz"))[::3]]
    compact = _compact()
    encode = export.FlowJson(compact).flow
    n = 0
    for capture in captures:
        opts = lean_options(plain_results=0) if packed else Options(report_details=False)
        for f in analyze(capture, options=opts).flow_results:
            assert encode(f) == compact(flow_dict(f)), (capture.name, f.id)
            n += 1
    assert n > 50


def test_flow_json_writes_odd_values_as_json_does() -> None:
    from tcpforensics.analysis import flow_dict
    from tcpforensics.model import Endpoint, FlowResult, Stall, StateChange

    class Name(str):
        pass

    odd = Endpoint("10.0.0.1:1", Name("client"), packets=True, payload_bytes=2**70,
                   mss=None, wscale=-0.0, counters={"retransmission": 2.9, "x\u00e9": True,
                                                     "zero_window": 1})
    clash = Endpoint("10.0.0.2:2", "server", counters={"cca": 3, "fin": 1})
    keyed = Endpoint("10.0.0.2:2", "server", counters={7: 1}, cca={"kind": ("a", b"\x01")})
    states = [StateChange(t, i % 2, s) for i, (t, s) in enumerate([
        (0.0, "A"), (-0.0, "B"), (-0.0, "C"), (1.5, "D"), (1.5, "E"), (3, "F"), (3.0, "G"),
        (float("nan"), "H"), (float("nan"), "I"), (float("inf"), "J"), (-float("inf"), "K"),
        (1.5, "\u2028\"quoted\"")])]
    flow = FlowResult(id=3, client="c\n", server="s", start=1.0, end=float("nan"),
                      state="CLOSED", handshake="none", syn_rtt=None,
                      rtt={"median": 0.1, "samples": 2}, endpoints=[odd, clash, keyed],
                      states=states,
                      stalls=[Stall("rto", "s", 1.0, 0.5), Stall("rto", "s", 2, 1, {"b": 2})],
                      findings=("F1", Name("F2")))
    for separators in ((", ", ": "), (",", ":")):  # the JSON's, and JSONL's
        compact = _compact(separators)
        encode = export.FlowJson(compact, separators).flow
        assert encode(flow) == compact(flow_dict(flow))
        assert encode(flow) == compact(flow_dict(flow))  # the endpoints' texts memoized


def test_flow_json_memo_keeps_equal_counters_apart() -> None:
    """Counters are written from a memo of their items: equal numbers of other types
    write the same text, unequal ones do not share one, unhashable ones still work."""
    from tcpforensics.analysis import flow_dict
    from tcpforensics.model import Endpoint, FlowResult

    def flow(counters: dict) -> FlowResult:
        return FlowResult(id=1, client="c", server="s", start=1.0, end=2.0, state="CLOSED",
                          handshake="none", syn_rtt=None, rtt={},
                          endpoints=[Endpoint("c", "client", counters=counters)])

    compact = _compact()
    encode = export.FlowJson(compact).flow
    for counters in ({"fin": 1, "x": 0}, {"fin": True, "x": 0.0}, {"fin": 1.9, "x": 0},
                     {"fin": 2, "x": 0}, {"fin": 1, "x": 0}, {"x": 0, "fin": 1},
                     {"fin": 1, "x": [1][0]}, {"fin": 1, "odd": 0}):
        f = flow(counters)
        assert encode(f) == compact(flow_dict(f)), counters
    with pytest.raises(TypeError):  # as flow_dict's int() of it
        encode(flow({"fin": [1]}))
