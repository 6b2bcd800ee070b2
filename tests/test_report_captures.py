"""Reports of real captures: the lab's sample_pcaps, a shared public capture, and a
pcapng written here byte by byte whose comments and interface names carry markup."""

from __future__ import annotations

import json
import re
import struct
from pathlib import Path

import pytest

from tcpforensics.analysis import analyze
from tcpforensics.report import build_context, render_report, write_report

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "sample_pcaps"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

EVIL_SHB = "<script>alert('shb')</script>"
EVIL_IFNAME = '<img src=x onerror="alert(\'ifname\')">'
EVIL_IFDESC = "</script><script>alert('ifdesc')</script><!--"
EVIL_PKT = "<svg onload=alert('pkt')>"


def shared_dir() -> Path | None:
    for candidate in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")):
        if (candidate / "pcaps").is_dir():
            return candidate
    return None


def sample(rel: str) -> Path:
    path = SAMPLES / rel
    if not path.exists():
        pytest.skip(f"lab capture {rel} not available")
    return path


def manifest() -> dict:
    path = SAMPLES / "manifest.json"
    if not path.exists():
        pytest.skip("sample_pcaps/manifest.json not available")
    return json.loads(path.read_text())


# --- a pcapng written by hand -----------------------------------------------------------
def _opt(code: int, value: bytes) -> bytes:
    pad = (-len(value)) % 4
    return struct.pack("<HH", code, len(value)) + value + b"\0" * pad


def _block(btype: int, body: bytes) -> bytes:
    total = 12 + len(body)
    return struct.pack("<II", btype, total) + body + struct.pack("<I", total)


def _csum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _frame(src: bytes, dst: bytes, sport: int, dport: int, seq: int, ack: int, flags: int,
           payload: bytes = b"", mss: int | None = None) -> bytes:
    opts = struct.pack("!BBH", 2, 4, mss) if mss else b""
    off = (20 + len(opts)) // 4
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0)
    tcp += opts + payload
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", _csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", _csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + tcp


def hostile_pcapng(path: Path) -> Path:
    """A small HTTP-like exchange whose capture metadata is hostile markup."""
    shb = struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1)
    shb += _opt(1, EVIL_SHB.encode()) + _opt(0, b"")
    idb = struct.pack("<HHI", 1, 0, 65535)
    idb += _opt(2, EVIL_IFNAME.encode()) + _opt(3, EVIL_IFDESC.encode())
    idb += _opt(9, b"\x06") + _opt(0, b"")
    c, s = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
    syn, ackf, psh, fin = 0x02, 0x10, 0x08, 0x01
    req, resp = b"GET / HTTP/1.1\r\n\r\n", b"x" * 1000
    frames = [
        (0.000, _frame(c, s, 40000, 80, 100, 0, syn, mss=1460)),
        (0.010, _frame(s, c, 80, 40000, 500, 101, syn | ackf, mss=1460)),
        (0.010, _frame(c, s, 40000, 80, 101, 501, ackf)),
        (0.011, _frame(c, s, 40000, 80, 101, 501, ackf | psh, req)),
        (0.021, _frame(s, c, 80, 40000, 501, 101 + len(req), ackf | psh, resp)),
        (0.022, _frame(c, s, 40000, 80, 101 + len(req), 1501, ackf | fin)),
        (0.032, _frame(s, c, 80, 40000, 1501, 102 + len(req), ackf | fin)),
        (0.032, _frame(c, s, 40000, 80, 102 + len(req), 1502, ackf)),
    ]
    blocks = [_block(0x0A0D0D0A, shb), _block(1, idb)]
    base_us = 1_700_000_000 * 1_000_000
    for i, (dt, data) in enumerate(frames):
        ts = base_us + int(dt * 1e6)
        body = struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(data), len(data))
        body += data + b"\0" * ((-len(data)) % 4)
        body += (_opt(1, EVIL_PKT.encode()) if i == 3 else b"") + _opt(0, b"")
        blocks.append(_block(6, body))
    path.write_bytes(b"".join(blocks))
    return path


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> Path:
    return hostile_pcapng(tmp_path_factory.mktemp("hostile") / "<i>evil<i>.pcapng")


def test_hostile_pcapng_metadata_is_escaped(hostile: Path) -> None:
    analysis = analyze(str(hostile))
    texts = " ".join(analysis.capture.comments) + json.dumps(analysis.capture.interfaces)
    assert "alert('shb')" in texts and "ifname" in texts  # the reader kept the text
    html = render_report(analysis, source=str(hostile), plotly="cdn")
    for evil in (EVIL_SHB, EVIL_IFNAME, EVIL_IFDESC, EVIL_PKT, "<i>evil<i>"):
        assert evil not in html
    assert re.search(r"<(img|svg|i)[\s>]", html) is None
    assert "&lt;script&gt;alert(&#39;shb&#39;)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=" in html
    # Exactly our three scripts: figures JSON, plotly from the CDN, the page code.
    assert len(re.findall(r"<script\b", html)) == 3
    ARTIFACTS.mkdir(exist_ok=True)
    write_report(analysis, ARTIFACTS / "hostile.html", source=str(hostile))


def test_demo_report_shows_the_lab_truth() -> None:
    path = sample("demo.pcap")
    truth = next(c for c in manifest()["captures"] if c["file"] == "demo.pcap")["truth"]
    analysis = analyze(str(path))
    ctx = build_context(analysis, source=str(path), plotly="cdn")
    kinds = {f["kind"] for f in ctx["findings"]}
    assert set(truth["expect_findings"]) <= kinds
    # The data sender's direction of the worst flow is detailed with per-segment charts.
    d = ctx["details"][0]
    sender = truth.get("data_sender")
    assert any(x["sender"] == sender for x in d["directions"]) if sender else d["directions"]
    direction = d["directions"][0]
    assert direction["segments"] > 100 and direction["payload"] > 100_000
    html = render_report(analysis, source=str(path), plotly="cdn")
    for f in analysis.finding_results[:3]:
        assert f.title.replace("'", "&#39;").replace("&", "&amp;") in html or f.title in html


@pytest.mark.parametrize("rel", ["nagle/nagle-rr.client.pcap.gz",
                                 "slow_reader/slow-reader.server.pcap.gz",
                                 "churn/churn.client.pcap.gz",
                                 "wscale_off/wscale-off.client.pcap.gz"])
def test_lab_reports_lead_with_the_expected_finding(rel: str) -> None:
    path = sample(rel)
    truth = next(c for c in manifest()["captures"] if c["file"] == rel)["truth"]
    analysis = analyze(str(path))
    ctx = build_context(analysis, source=str(path), plotly="cdn")
    expected = set(truth["expect_findings"])
    shown = {f["kind"] for f in ctx["top_findings"]}
    assert expected & shown, (expected, shown)
    assert ctx["verdict"]["severity"] in ("warning", "critical")
    assert ctx["details"], "the worst flows get a detail section"
    html = render_report(analysis, source=str(path), plotly="cdn")
    assert len(html) < 3_000_000


def test_shared_capture_report() -> None:
    base = shared_dir()
    path = base / "pcaps" / "tcptrace" / "input" / "6syns.dmp" if base else None
    if path is None or not path.exists():
        pytest.skip("shared captures not available")
    analysis = analyze(str(path))
    html = render_report(analysis, source=str(path), plotly="cdn")
    assert 'id="flow-table"' in html and "6syns.dmp" in html


@pytest.mark.parametrize("rel, pick", [("demo.pcap", None),
                                       ("churn/churn.client.pcap.gz", [3, 500, 999]),
                                       ("refused/refused.client.pcap.gz", [0, 1, 2])])
def test_filtered_second_pass_matches_full_pass(rel: str, pick: list[int] | None) -> None:
    """The fast pass (only the wanted connections through the TCP core) gives the same
    series as running every segment through iter_events."""
    from tcpforensics.report.series import SeriesCollector, _collect_all, collect

    path = sample(rel)
    analysis = analyze(str(path))
    wanted = [f for f in analysis.flow_results if pick is None or f.id in pick]
    assert wanted
    t0 = analysis.capture.first_ts
    fast = collect(str(path), wanted, t0=t0, all_flows=analysis.flow_results)
    full = _collect_all(str(path), SeriesCollector([f.id for f in wanted], t0), None, None)
    assert fast.keys() == full.keys()
    for fid in fast:
        for a, b in zip(fast[fid].directions, full[fid].directions, strict=True):
            assert a == b
    assert any(d.segments_total for s in fast.values() for d in s.directions) or \
        rel.startswith("refused")


def test_filtered_second_pass_with_reused_ports() -> None:
    """fast_reuse.dmp reuses one port pair for several connections (tshark: 513
    reused_ports flags): each must get its own segments in the fast pass."""
    from tcpforensics.report.series import SeriesCollector, _collect_all, collect

    base = shared_dir()
    path = base / "pcaps" / "tcptrace" / "input" / "fast_reuse.dmp" if base else None
    if path is None or not path.exists():
        pytest.skip("shared captures not available")
    analysis = analyze(str(path))
    keys = [(f.client, f.server) for f in analysis.flow_results]
    assert len(keys) > len(set(keys))  # the capture really reuses a port pair
    t0 = analysis.capture.first_ts
    fast = collect(str(path), analysis.flow_results, t0=t0, all_flows=analysis.flow_results)
    full = _collect_all(str(path), SeriesCollector([f.id for f in analysis.flow_results], t0),
                        None, None)
    for fid in fast:
        assert fast[fid].directions == full[fid].directions
