"""Batch analysis on a real Dask LocalCluster, shard mode, lazy flows, JSON logs."""

from __future__ import annotations

import json
import logging
import os
import shutil
import struct
import sys
from pathlib import Path

import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from tcpforensics import batch, frames
from tcpforensics.analysis import analyze
from tcpforensics.export import arrow_schema

sys.path.insert(0, str(Path(__file__).parent))
from test_frames import shared_pcap  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

# Small public captures with several flows each; fast_reuse reuses one 4-tuple 17 times,
# the hard case for flow ids in shard mode.
SHARED = ["tcptrace/input/http.dmp", "tcptrace/input/fast_reuse.dmp",
          "tcptrace/input/long_rtt.dmp"]


def sample_captures(limit: int = 2) -> list[Path]:
    """Small lab captures from sample_pcaps/manifest.json, one per scenario (may be none)."""
    manifest = REPO / "sample_pcaps" / "manifest.json"
    try:
        entries = json.loads(manifest.read_text()).get("captures", [])
    except (OSError, ValueError, AttributeError):
        return []
    smallest: dict[str, Path] = {}
    for entry in entries:
        path = REPO / "sample_pcaps" / str(entry.get("file", ""))
        if not entry.get("file") or not path.is_file():
            continue
        scenario = str(entry.get("scenario", path.parent.name))
        if scenario not in smallest or path.stat().st_size < smallest[scenario].stat().st_size:
            smallest[scenario] = path
    return sorted(smallest.values(), key=lambda p: p.stat().st_size)[:limit]


@pytest.fixture(scope="module")
def captures() -> list[Path]:
    return [shared_pcap(rel) for rel in SHARED] + sample_captures()


@pytest.fixture(scope="module")
def cluster():
    """One real two-worker LocalCluster shared by the tests that pass its address."""
    from distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                     dashboard_address=None, silence_logs=logging.CRITICAL,
                     scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"})
    yield c.scheduler_address
    c.close()


@pytest.fixture(scope="module")
def single(captures) -> dict[str, object]:
    """Single-process reference analyses."""
    return {str(p): analyze(p) for p in captures}


TABLE_FRAMES = {"flows": frames.flows_frame, "endpoints": frames.endpoints_frame,
                "stalls": frames.stalls_frame, "findings": frames.findings_frame,
                "capture": frames.capture_frame}


def assert_batch_matches_single(out: Path, summary, single: dict) -> None:
    keys = {c["path"]: c["key"] for c in summary.captures}
    for table, build in TABLE_FRAMES.items():
        got = batch.read_table(out, table)
        for path, analysis in single.items():
            mine = got[got["capture"] == keys[os.path.abspath(path)]].drop(columns="capture")
            want = build(analysis)
            if table == "capture":  # path is how each run was given the file
                mine, want = mine.drop(columns="path"), want.drop(columns="path")
            pd.testing.assert_frame_equal(mine.reset_index(drop=True), want,
                                          obj=f"{table} of {Path(path).name}")


# --- the embedded cluster -------------------------------------------------------------
def test_batch_on_embedded_cluster_matches_single_process(tmp_path, captures, single) -> None:
    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"this is not a capture file at all" * 40)
    paths = [str(captures[0]), str(garbage), *map(str, captures[1:])]
    out = tmp_path / "out"
    summary = batch.run_batch(paths, out, workers=2)
    assert summary.workers == 2
    status = {Path(c["path"]).name: c["status"] for c in summary.captures}
    assert status.pop("garbage.pcap") == "failed"
    assert set(status.values()) == {"done"}
    bad = summary.failed[0]
    assert bad["error"] and "\n" not in bad["error"]
    assert_batch_matches_single(out, summary, single)
    # summary file agrees with the returned summary
    doc = json.loads((out / "summary.json").read_text())
    assert doc["schema"] == "tcpforensics-batch/1"
    assert doc["totals"]["failed"] == 1 and doc["totals"]["done"] == len(captures)
    assert doc["totals"]["flows"] == sum(len(a.flow_results) for a in single.values())
    # no done-marker for the failed capture, one per good capture
    assert sorted(p.stem for p in (out / "_done").glob("*.json")) == sorted(
        c["key"] for c in summary.done)


def test_parquet_dataset_readable_with_documented_schema(tmp_path, captures, cluster) -> None:
    out = tmp_path / "out"
    summary = batch.run_batch([str(p) for p in captures[:2]], out, scheduler=cluster)
    assert len(summary.done) == 2
    for table in frames.TABLES:
        dataset = ds.dataset(out / table, format="parquet", partitioning="hive")
        t = dataset.to_table()
        want = arrow_schema(table)
        for f in want:
            assert t.schema.field(f.name).type == f.type, (table, f.name)
        assert "capture" in t.column_names
        # each partition file carries the exact versioned schema
        for file in (out / table).glob("capture=*/*.parquet"):
            assert pq.read_schema(file).equals(want, check_metadata=True)
        df = pd.read_parquet(out / table)
        assert set(df["capture"].astype(str)) <= {c["key"] for c in summary.done}
    flows = pd.read_parquet(out / "flows")
    assert len(flows) == sum(c["flows"] for c in summary.done)


def test_rerun_skips_done_captures(tmp_path, captures, cluster) -> None:
    local = tmp_path / "caps"
    local.mkdir()
    copies = [Path(shutil.copy(p, local / p.name)) for p in captures[:2]]
    out = tmp_path / "out"
    first = batch.run_batch([str(p) for p in copies], out, scheduler=cluster)
    assert [c["status"] for c in first.captures] == ["done", "done"]
    part = next((out / "flows").glob(f"capture={first.captures[0]['key']}/*.parquet"))
    written = part.stat().st_mtime_ns

    again = batch.run_batch([str(p) for p in copies], out, scheduler=cluster)
    assert [c["status"] for c in again.captures] == ["skipped", "skipped"]
    assert part.stat().st_mtime_ns == written
    assert [c["flows"] for c in again.captures] == [c["flows"] for c in first.captures]

    # a changed file is analyzed again; the other is still skipped
    os.utime(copies[1], ns=(copies[1].stat().st_atime_ns, copies[1].stat().st_mtime_ns + 10**9))
    third = batch.run_batch([str(p) for p in copies], out, scheduler=cluster)
    assert [c["status"] for c in third.captures] == ["skipped", "done"]
    # an interrupted capture (marker gone) is redone and its partition replaced, not doubled
    (out / "_done" / f"{first.captures[0]['key']}.json").unlink()
    fourth = batch.run_batch([str(p) for p in copies], out, scheduler=cluster)
    assert [c["status"] for c in fourth.captures] == ["done", "skipped"]
    flows = batch.read_table(out, "flows")
    assert len(flows) == sum(c["flows"] for c in fourth.captures)


def test_shard_mode_matches_single_process(tmp_path, captures, single, cluster) -> None:
    out = tmp_path / "out"
    summary = batch.run_batch([str(p) for p in captures], out, scheduler=cluster, shard=True)
    assert summary.shard and not summary.failed
    assert_batch_matches_single(out, summary, single)


def test_fail_on_gate(tmp_path, captures, single, cluster) -> None:
    paths = [str(p) for p in captures[:2]]
    summary = batch.run_batch(paths, tmp_path / "out", scheduler=cluster, fail_on="info")
    expected = any(frames.severity_at_least(single[p].finding_results, "info") for p in paths)
    assert summary.gate_failed == expected == summary.fail_on_hit
    worst = {c["key"]: c["worst"] for c in summary.captures}
    assert all(w is None or w in frames.SEVERITIES for w in worst.values())
    with pytest.raises(ValueError):
        batch.run_batch(paths, tmp_path / "x", scheduler=cluster, fail_on="fatal")


def test_cli_batch_exit_codes(tmp_path, captures, single, cluster) -> None:
    from tcpforensics.cli import main

    garbage = tmp_path / "garbage.pcap"
    garbage.write_bytes(b"\x00" * 100)
    path = str(captures[0])
    args = ["batch", path, str(garbage), "--out", str(tmp_path / "out"), "--scheduler", cluster,
            "--quiet"]
    gate = frames.severity_at_least(single[path].finding_results, "info")
    assert main([*args, "--fail-on", "info"]) == (1 if gate else 0)
    assert (tmp_path / "out" / "summary.json").exists()
    assert main(["batch", str(garbage), "--out", str(tmp_path / "o2"), "--scheduler", cluster,
                 "--quiet"]) != 0  # nothing could be analyzed


# --- shard logic in process (no cluster) ------------------------------------------------
@pytest.mark.parametrize("rel", ["tcptrace/input/http.dmp", "tcptrace/input/fast_reuse.dmp"])
def test_shards_partition_flows_and_merge_to_the_single_run(rel: str) -> None:
    path = str(shared_pcap(rel))
    want = analyze(path)
    parts = [batch.analyze_shard(path, i, 3) for i in range(3)]
    sizes = [len(p[1]) for p in parts]
    assert sum(sizes) == len(want.flow_results)
    if rel.endswith("http.dmp"):  # 61 distinct 4-tuples: every shard gets some
        assert min(sizes) > 0
    else:  # one 4-tuple reused 17 times: all its incarnations stay in one shard
        assert sorted(sizes) == [0, 0, len(want.flow_results)]
    for info, _ in parts:  # every shard still counts every record
        assert info.records == want.capture.records
        assert info.skipped == want.capture.skipped
    merged = batch.merge_shards(parts, source=path)
    for build in TABLE_FRAMES.values():
        pd.testing.assert_frame_equal(build(merged), build(want))
    assert json.loads(merged.to_json()) == json.loads(want.to_json())  # the whole contract


def write_pcap(path: Path, packets: list[tuple]) -> None:
    """Ethernet/IPv4/TCP pcap; packet = (ts, src, sport, dst, dport, seq, ack, flags, len)."""
    with open(path, "wb") as fh:
        fh.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, src, sport, dst, dport, seq, ack, flags, n in packets:
            body = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0,
                               0) + b"x" * n
            ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 0, 0, 64, 6, 0,
                             bytes(src), bytes(dst))
            frame = bytes.fromhex("020000000002020000000001" "0800") + ip + body
            sec = int(ts)
            fh.write(struct.pack("<IIII", sec, round((ts - sec) * 1e6), len(frame), len(frame)))
            fh.write(frame)


SYN, FIN, PSH, ACK = 0x02, 0x01, 0x08, 0x10


@pytest.mark.parametrize("closed", [True, False], ids=["closed_linger", "idle_timeout"])
def test_shard_expiry_follows_the_whole_capture_clock(tmp_path, closed: bool) -> None:
    """Flow X ends (closed + linger, or idle) while only another shard's flow Y has
    packets; a later segment on X's 4-tuple must start a new flow, as in a single pass."""
    a, b = (10, 0, 0, 1), (10, 0, 0, 2)
    sx = batch.shard_of(bytes(a), 1000, bytes(b), 80, 2)
    py = next(p for p in range(2000, 3000) if batch.shard_of(bytes(a), p, bytes(b), 80, 2) != sx)
    late = 80.0 if closed else 400.0  # past the 60 s linger / 300 s idle defaults
    pkts = [(0, a, 1000, b, 80, 100, 0, SYN, 0), (0.01, b, 80, a, 1000, 500, 101, SYN | ACK, 0),
            (0.02, a, 1000, b, 80, 101, 501, ACK, 0)]
    if closed:
        pkts += [(1, a, 1000, b, 80, 101, 501, FIN | ACK, 0),
                 (1.01, b, 80, a, 1000, 501, 102, FIN | ACK, 0),
                 (1.02, a, 1000, b, 80, 102, 502, ACK, 0)]
    pkts += [(30, a, py, b, 80, 7000, 0, SYN, 0), (30.01, b, 80, a, py, 9000, 7001, SYN | ACK, 0),
             (30.02, a, py, b, 80, 7001, 9001, ACK, 0),
             (late - 10, a, py, b, 80, 7001, 9001, PSH | ACK, 10),
             (late, a, 1000, b, 80, 102, 502, ACK, 0)]
    path = tmp_path / "expiry.pcap"
    write_pcap(path, pkts)
    want = analyze(path)
    assert len(want.flow_results) == 3  # the late segment is a flow of its own
    merged = batch.merge_shards([batch.analyze_shard(str(path), i, 2) for i in range(2)],
                                source=str(path))
    for build in TABLE_FRAMES.values():
        pd.testing.assert_frame_equal(build(merged), build(want))
    assert json.loads(merged.to_json()) == json.loads(want.to_json())


def test_shard_of_ignores_direction() -> None:
    a, b = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
    for shards in (2, 3, 7):
        assert batch.shard_of(a, 40000, b, 80, shards) == batch.shard_of(b, 80, a, 40000, shards)
    spread = {batch.shard_of(a, port, b, 80, 4) for port in range(40000, 40064)}
    assert spread == {0, 1, 2, 3}


# --- lazy flows ---------------------------------------------------------------------------
def test_iter_flows_yields_every_flow_lazily() -> None:
    path = shared_pcap("tcptrace/input/http.dmp")
    want = {f.id: f for f in analyze(path).flow_results}
    got = list(batch.iter_flows(path))
    assert sorted(f.id for f in got) == sorted(want)
    for f in got:
        w = want[f.id]
        assert (f.client, f.server, f.start, f.end) == (w.client, w.server, w.start, w.end)
        assert [e.packets for e in f.endpoints] == [e.packets for e in w.endpoints]
        assert f.findings == []  # no cross-flow diagnosis on the lazy path
    # stopping early is fine (the reader is closed, nothing else is read)
    it = batch.iter_flows(path)
    assert next(it).id in want
    it.close()


def test_capture_keys_unique_and_safe(tmp_path) -> None:
    keys = batch.capture_keys(["/a/x y.pcap", "/b/x y.pcap", "/a/x y.pcap", "/c/_hidden"])
    assert len(keys) == 3
    values = list(keys.values())
    assert values[0] == "x_y.pcap" and values[1].startswith("x_y.pcap-")
    assert not values[2].startswith(("_", "."))


def test_json_log_formatter() -> None:
    record = logging.makeLogRecord({"name": "tcpforensics.batch", "levelno": logging.WARNING,
                                    "levelname": "WARNING", "msg": "capture failed",
                                    "event": "capture_failed", "path": "/x.pcap"})
    doc = json.loads(batch.JsonLogFormatter().format(record))
    assert doc["level"] == "warning" and doc["msg"] == "capture failed"
    assert doc["event"] == "capture_failed" and doc["path"] == "/x.pcap"
