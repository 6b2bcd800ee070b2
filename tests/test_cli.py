"""The command line as a user meets it: contract exit codes, one-line errors, JSON shape."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "sample_pcaps" / "demo.pcap"
COUNTERS = ("retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
            "lost_segment", "ack_lost_segment", "duplicate_ack", "zero_window",
            "zero_window_probe", "window_full", "window_update", "keep_alive", "rst", "fin")


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tcpforensics", *args], input=stdin,
                          capture_output=True, cwd=ROOT, timeout=300)


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    err = proc.stderr.decode()
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize("args", [
    ("analyze", "does-not-exist.pcap"),
    ("analyze", "tests"),  # a directory
    ("analyze", "README.md"),  # not a capture
    ("report", "does-not-exist.pcap"),
    ("events", "does-not-exist.pcap"),
])
def test_unreadable_input_exits_2_with_one_line(args):
    proc = run(*args)
    assert proc.returncode == 2
    assert "error" in one_line_error(proc)


def test_usage_error_exits_2_with_one_line():
    proc = run("analyze")
    assert proc.returncode == 2
    one_line_error(proc)
    proc = run("analyze", str(DEMO), "--format", "xml")
    assert proc.returncode == 2


def test_empty_stdin_is_a_clear_error():
    proc = run("analyze", "-", stdin=b"")
    assert proc.returncode == 2
    one_line_error(proc)


@pytest.fixture(scope="module")
def demo_json() -> dict:
    proc = run("analyze", str(DEMO), "--format", "json")
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def test_analyze_json_follows_the_contract(demo_json):
    doc = demo_json
    assert doc["schema"] == "tcpforensics/1"
    cap = doc["capture"]
    assert cap["format"] == "pcap"
    assert cap["records"] == cap["tcp_segments"] + sum(cap["skipped"].values())
    assert set(cap["skipped"]) == {"non_ip", "non_tcp", "malformed", "truncated", "fragment"}
    assert doc["flows"], "the demo capture has TCP flows"
    for flow in doc["flows"]:
        assert flow["handshake"] in ("complete", "partial", "none")
        assert len(flow["endpoints"]) == 2
        roles = {e["role"] for e in flow["endpoints"]}
        assert roles == {"client", "server"}
        for ep in flow["endpoints"]:
            for name in COUNTERS:
                assert isinstance(ep[name], int) and ep[name] >= 0
            assert ep["cca"] is None or ep["cca"]["name"] in ("cubic", "reno", "bbr", "unknown")
        for stall in flow["stalls"]:
            assert stall["kind"] in ("nagle_delayed_ack", "rto", "zero_window",
                                     "receive_window", "app_limited", "handshake")
            assert stall["duration"] >= 0
    ids = {f["id"] for f in doc["findings"]}
    for flow in doc["flows"]:
        assert set(flow["findings"]) <= ids
    for finding in doc["findings"]:
        assert finding["severity"] in ("info", "warning", "critical")


def test_stdin_gives_the_same_analysis_as_the_file(demo_json):
    proc = run("analyze", "-", "--format", "json", stdin=DEMO.read_bytes())
    assert proc.returncode == 0, proc.stderr.decode()
    doc = json.loads(proc.stdout)
    assert doc["capture"]["records"] == demo_json["capture"]["records"]
    assert [f["endpoints"] for f in doc["flows"]] == [f["endpoints"] for f in demo_json["flows"]]


def test_fail_on_gates_on_severity(demo_json):
    severities = {f["severity"] for f in demo_json["findings"]}
    proc = run("analyze", str(DEMO), "--fail-on", "info", "-o", "/dev/null")
    assert proc.returncode == (1 if severities else 0)
    if "critical" not in severities:
        proc = run("analyze", str(DEMO), "--fail-on", "critical", "-o", "/dev/null")
        assert proc.returncode == 0


def test_events_csv_has_one_row_per_tcp_segment(demo_json):
    proc = run("events", str(DEMO), "--format", "csv")
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode().splitlines()
    assert lines[0].split(",") == ["frame", "ts", "flow", "src", "dst", "seq", "ack", "len",
                                   "flags", "win", "rtt", "bytes_in_flight", "cwnd_est",
                                   "analysis"]
    assert len(lines) - 1 == demo_json["capture"]["tcp_segments"]


def test_report_writes_a_self_contained_html(tmp_path):
    out = tmp_path / "demo.html"
    proc = run("report", str(DEMO), "-o", str(out))
    assert proc.returncode == 0, proc.stderr.decode()
    html = out.read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    # Opens offline: no script, stylesheet or image is loaded from the network.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", html, re.I)
