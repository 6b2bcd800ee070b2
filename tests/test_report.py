"""The HTML report from hand-built analyses: structure, escaping, selection, bounds.

The scenario below is a small bulk transfer written out segment by segment (handshake,
one loss repaired by fast retransmit with SACK, a zero-window pause, FIN exchange), so
the report's per-segment charts are exercised without depending on the capture reader.
Reports of real captures are covered by test_report_captures.py and test_browser.py.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tcpforensics.analysis import Analysis
from tcpforensics.model import (
    ACK,
    FIN,
    PSH,
    SYN,
    CaptureInfo,
    Endpoint,
    Finding,
    FlowResult,
    Segment,
    SegmentVerdict,
    Stall,
    StateChange,
)
from tcpforensics.model import Analysis as Flag
from tcpforensics.report import build_context, render_report, write_report
from tcpforensics.report.html import json_for_script, prose

ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
C_IP, S_IP = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
CLIENT, SERVER = "198.18.0.1:40000", "198.18.0.2:5001"
XSS_SCRIPT = "<script>alert('comment')</script>"
XSS_IMG = '<img src=x onerror="alert(1)">'


def bulk_events(flow_id: int = 0, t0: float = 1.0, n: int = 300, mss: int = 1448,
                loss_at: int = 80, zw_at: int = 200, pause: float = 0.25,
                rtt: float = 0.02) -> list[tuple[Segment, int, SegmentVerdict]]:
    """A client->server bulk transfer seen at the client, as (segment, flow, verdict)."""
    isn = (4_294_000_000, 7_000)  # client ISN near the wrap, so relative math is tested
    ev: list[tuple[float, int, int, int, int, int, int, int, float | None, int | None, int,
                   tuple]] = []

    def put(ts, d, rel_seq, rel_ack, flags, length, win, bits=0, rtt_s=None, bif=None,
            acked=0, sacks=()):
        ev.append((ts, d, rel_seq, rel_ack, flags, length, win, bits, rtt_s, bif, acked,
                   sacks))

    put(t0, 0, 0, 0, SYN, 0, 64240)
    put(t0 + rtt, 1, 0, 1, SYN | ACK, 0, 65160, rtt_s=rtt)
    put(t0 + rtt, 0, 1, 1, ACK, 0, 64256)
    t = t0 + rtt + 0.001
    sent_end = 1
    acked = 1
    win = 262144
    dup = 0
    shift = 0.0
    for i in range(n):
        seq = 1 + i * mss
        if i == zw_at:
            # Receiver closes its window; the sender waits, probes, then resumes.
            at = t + shift + i * 0.0004 + rtt
            put(at, 1, 1, acked, ACK, 0, 0, bits=int(Flag.ZERO_WINDOW))
            put(at + pause * 0.8, 0, sent_end - 1, 1, ACK, 0, 64256,
                bits=int(Flag.ZERO_WINDOW_PROBE))
            put(at + pause, 1, 1, acked, ACK, 0, win, bits=int(Flag.WINDOW_UPDATE))
            shift += pause + rtt
        ts = t + shift + i * 0.0004
        bits = 0
        sent_end = max(sent_end, seq + mss)
        put(ts, 0, seq, 1, ACK | PSH, mss, 64256, bits=bits, bif=sent_end - acked)
        if i == loss_at:
            continue  # lost on the way: the receiver never ACKs it directly
        if loss_at < i <= loss_at + 3:
            dup += 1
            left = 1 + (loss_at + 1) * mss
            put(ts + rtt, 1, 1, acked, ACK, 0, win, bits=int(Flag.DUPLICATE_ACK),
                sacks=((left, seq + mss),))
            if dup == 3:
                rs = 1 + loss_at * mss
                put(ts + rtt + 0.0001, 0, rs, 1, ACK, mss, 64256,
                    bits=int(Flag.RETRANSMISSION | Flag.FAST_RETRANSMISSION),
                    bif=sent_end - acked)
                new = seq + mss
                put(ts + 2 * rtt, 1, 1, new, ACK, 0, win, acked=new - acked, rtt_s=rtt)
                acked = new
            continue
        if i % 2 == 1 and i > loss_at + 3 or (i < loss_at and i % 2 == 1):
            new = seq + mss
            put(ts + rtt, 1, 1, new, ACK, 0, win, rtt_s=rtt * (1 + (i % 7) / 20),
                acked=new - acked)
            acked = new
    end_t = ev[-1][0] + 0.01
    put(end_t, 0, sent_end, 1, FIN | ACK, 0, 64256)
    put(end_t + rtt, 1, 1, sent_end + 1, FIN | ACK, 0, win, acked=sent_end + 1 - acked)
    put(end_t + rtt, 0, sent_end + 1, 2, ACK, 0, 64256)
    ev.sort(key=lambda e: e[0])
    out = []
    for frame, (ts, d, rel_seq, rel_ack, flags, length, w, bits, rtt_s, bif, acked_b,
                sacks) in enumerate(ev, 1):
        src, dst, sp, dp = (C_IP, S_IP, 40000, 5001) if d == 0 else (S_IP, C_IP, 5001, 40000)
        own, peer = isn[d], isn[1 - d]
        seg = Segment(frame, ts, src, dst, sp, dp, (own + rel_seq) % 2**32,
                      (peer + rel_ack) % 2**32 if flags & ACK else 0, flags, w >> 7, length,
                      sacks=tuple(((peer + a) % 2**32, (peer + b) % 2**32) for a, b in sacks))
        out.append((seg, flow_id, SegmentVerdict(d, rel_seq, rel_ack, w, bits, rtt_s, bif,
                                                 acked_bytes=acked_b)))
    return out


def scenario(comments: list[str] | None = None, extra_flows: int = 30) -> Analysis:
    """An analysis matching bulk_events() plus a Nagle flow and some clean flows."""
    ev = bulk_events()
    last = ev[-1][0].ts
    zw = next(s.ts for s, _, v in ev if v.analysis & Flag.ZERO_WINDOW)
    cli = Endpoint(CLIENT, "client", packets=330, payload_bytes=300 * 1448, mss=1460,
                   wscale=7, sack_permitted=True, timestamps=True,
                   counters={"retransmission": 1, "fast_retransmission": 1,
                             "zero_window_probe": 1, "fin": 1},
                   cca={"name": "cubic", "confidence": 0.82,
                        "evidence": {"beta": [0.71], "loss_epochs": 1, "growth": "cubic"}})
    srv = Endpoint(SERVER, "server", packets=160, payload_bytes=0, mss=1460, wscale=7,
                   sack_permitted=True, timestamps=True,
                   counters={"duplicate_ack": 3, "zero_window": 1, "window_update": 1,
                             "fin": 1})
    rounds_t = [1.03 + 0.02 * k for k in range(20)]
    cw = [14480 * min(1 + k, 10) for k in range(20)]
    bulk = FlowResult(
        0, CLIENT, SERVER, 1.0, last, "CLOSED", "complete", 0.02,
        {"min": 0.02, "median": 0.022, "max": 0.026, "samples": 150}, [cli, srv],
        states=[StateChange(1.0, 0, "SYN_SENT"), StateChange(1.02, 1, "SYN_RECEIVED"),
                StateChange(1.02, 0, "ESTABLISHED"), StateChange(1.04, 1, "ESTABLISHED"),
                StateChange(last - 0.03, 0, "FIN_WAIT_1"), StateChange(last - 0.01, 1, "LAST_ACK"),
                StateChange(last, 0, "TIME_WAIT"), StateChange(last, 1, "CLOSED")],
        stalls=[Stall("zero_window", CLIENT, zw, 0.25, {"probes": 1})],
        findings=["F1", "F2"],
        cwnd=[{"addr": CLIENT, "vantage": "sender",
               "rounds": {"t": rounds_t, "cwnd": cw, "inflight": cw,
                          "delivered": cw, "limited": ["cwnd"] * 19 + ["rwnd"]},
               "replicas": {"reno": [c * 0.9 for c in cw], "cubic": cw},
               "loss_epochs": [{"t": 1.07, "cwnd_before": 60000, "cwnd_after": 42000,
                                "beta": 0.7}]}],
    )
    nagle = FlowResult(
        1, "198.18.0.1:40002", "198.18.0.2:8080", 1.5, 3.5, "ESTABLISHED", "complete", 0.001,
        {"min": 0.001, "median": 0.04, "max": 0.041, "samples": 50},
        [Endpoint("198.18.0.1:40002", "client", packets=100, payload_bytes=5000),
         Endpoint("198.18.0.2:8080", "server", packets=100, payload_bytes=5000)],
        stalls=[Stall("nagle_delayed_ack", "198.18.0.1:40002", 1.5 + k * 0.05, 0.04)
                for k in range(40)],
        findings=["F3"])
    flows = [bulk, nagle]
    for k in range(extra_flows):
        ep = f"198.18.0.{10 + k}:{50000 + k}"
        flows.append(FlowResult(
            2 + k, ep, "198.18.0.2:443", 2.0 + k * 0.01, 2.05 + k * 0.01, "CLOSED", "complete",
            0.001, {"min": 0.001, "median": 0.001, "max": 0.002, "samples": 3},
            [Endpoint(ep, "client", packets=5, payload_bytes=300),
             Endpoint("198.18.0.2:443", "server", packets=5, payload_bytes=3000)]))
    findings = [
        Finding("F1", "zero_window", "critical", "Receiver stopped reading: zero window",
                "The server advertised a zero window for 250 ms; the client could not send.",
                "Make the server application read its socket faster, or raise SO_RCVBUF.",
                [0], SERVER, {"zero_window_s": 0.25, "probes": 1}, impact=0.25),
        Finding("F3", "nagle_delayed_ack", "warning", "Nagle + delayed ACK stalls",
                "40 small writes each waited ~40 ms for the delayed ACK.",
                "Set TCP_NODELAY on the client socket, or coalesce writes.",
                [1], "198.18.0.1:40002", {"stalls": 40, "median_ms": 40.0}, impact=1.6),
        Finding("F2", "retransmissions", "info", "One segment retransmitted",
                "Segment lost once and repaired by fast retransmit (SACK).", "None needed.",
                [0], CLIENT, {"retransmissions": 1}, impact=0.0),
    ]
    findings.sort(key=lambda f: -f.impact)
    info = CaptureInfo("/captures/bulk & nagle.pcapng", format="pcapng", linktypes=[1],
                       records=600, tcp_segments=590, first_ts=1.0, last_ts=max(last, 3.5),
                       snaplen=262144, comments=list(comments or []),
                       interfaces=[{"name": "eth0", "description": "lab uplink"}])
    info.skipped.update(non_tcp=8, malformed=2)
    return Analysis(capture=info, flow_results=flows, finding_results=findings)


class _Collect(HTMLParser):
    """Collects tags, attributes and text so tests can assert on structure."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._in_script: dict | None = None
        self._buf: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "script":
            self._in_script, self._buf = a, []

    def handle_endtag(self, tag):
        if tag == "script" and self._in_script is not None:
            self.scripts.append((self._in_script, "".join(self._buf)))
            self._in_script = None

    def handle_data(self, data):
        if self._in_script is not None:
            self._buf.append(data)
        else:
            self.text.append(data)


def parse(html: str) -> _Collect:
    p = _Collect()
    p.feed(html)
    p.close()
    return p


def figures_of(doc: _Collect) -> dict:
    blob = next(body for attrs, body in doc.scripts if attrs.get("id") == "report-figures")
    return json.loads(blob)


@pytest.fixture(scope="module")
def cdn_report() -> str:
    return render_report(scenario([XSS_SCRIPT, XSS_IMG]), plotly="cdn", events=bulk_events())


def test_summary_leads_with_worst_finding_and_verdict(cdn_report: str) -> None:
    doc = parse(cdn_report)
    text = " ".join(doc.text)
    verdict = cdn_report.index('id="verdict"')
    # The verdict and the top findings come before the flow table and the details.
    assert verdict < cdn_report.index('id="flow-table"') < cdn_report.index('id="flow-0"')
    assert "Nagle + delayed ACK stalls" in text  # highest impact first
    cards = cdn_report.index('class="cards"')
    assert cdn_report.index("Nagle + delayed ACK stalls", cards) < cdn_report.index(
        "Receiver stopped reading", cards)
    assert "Set TCP_NODELAY on the client socket" in text
    # The verdict names the worst-severity finding (critical), though another costs more.
    head = cdn_report[verdict:verdict + 600]
    assert "Critical" in head and "Receiver stopped reading" in head
    # Capture facts: skipped records by reason, durations and counts.
    assert "non_tcp 8" in text and "malformed 2" in text
    assert "TCP flows" in text and "32" in text


def test_time_lost_per_stall_cause() -> None:
    ctx = build_context(scenario(), plotly="cdn", events=bulk_events())
    rows = {r["kind"]: r for r in ctx["stall_rows"]}
    assert rows["nagle_delayed_ack"]["count"] == 40
    assert rows["nagle_delayed_ack"]["seconds"] == pytest.approx(1.6)
    assert rows["zero_window"]["seconds"] == pytest.approx(0.25)
    assert [r["kind"] for r in ctx["stall_rows"]] == ["nagle_delayed_ack", "zero_window"]


def test_flow_table_rows_and_links(cdn_report: str) -> None:
    doc = parse(cdn_report)
    rows = [a for t, a in doc.tags if t == "tr" and a.get("id", "").startswith("row-")]
    assert len(rows) == 32
    # Worst first: flows with findings lead the table.
    assert rows[0]["data-sev"] in ("critical", "warning")
    assert {rows[0]["id"], rows[1]["id"]} == {"row-0", "row-1"}
    hrefs = {a.get("href") for t, a in doc.tags if t == "a"}
    assert "#flow-0" in hrefs and "#finding-F1" in hrefs


def test_detailed_flow_charts_have_marked_events(cdn_report: str) -> None:
    figs = figures_of(parse(cdn_report))
    tsg = figs["f0d0-tsg"]
    names = {tr["name"] for tr in tsg["data"]}
    for wanted in ("fast retransmission", "duplicate ACK", "zero window", "SACK blocks",
                   "zero-window probe", "window update"):
        assert wanted in names, wanted
    # The SACK blocks sit above the cumulative ACK of the same moment (relative space).
    sack = next(tr for tr in tsg["data"] if tr["name"] == "SACK blocks")
    ys = [y for y in sack["y"] if y is not None]
    assert min(ys) == 1 + 81 * 1448
    # The zero-window stall is shaded on the sender's graphs.
    assert tsg["layout"]["shapes"] and tsg["layout"]["shapes"][0]["x1"] > tsg["layout"][
        "shapes"][0]["x0"]
    inflight = figs["f0d0-inflight"]
    names = {tr["name"] for tr in inflight["data"]}
    assert {"cwnd estimate (per round)", "reno replica prediction",
            "cubic replica prediction", "bytes in flight (per segment)"} <= names
    rtt = figs["f0d0-rtt"]
    assert any(tr["name"] == "RTT sample (ACK)" and tr["y"] for tr in rtt["data"])
    tl = figs["f0-timeline"]
    states = [s for tr in tl["data"] for s in tr.get("text", [])]
    assert "TIME_WAIT" in states and "ESTABLISHED" in states
    # The server sent no data, so it gets no time-sequence graph of its own.
    assert "f0d1-tsg" not in figs


def test_capture_text_is_escaped(cdn_report: str) -> None:
    assert XSS_SCRIPT not in cdn_report and XSS_IMG not in cdn_report
    assert "&lt;script&gt;alert(&#39;comment&#39;)&lt;/script&gt;" in cdn_report
    assert "&lt;img src=x onerror=" in cdn_report
    doc = parse(cdn_report)
    assert not any(t == "img" for t, _ in doc.tags)
    assert not any("onerror" in a for _, a in doc.tags)
    # Every executable script carries the nonce of the page's Content-Security-Policy.
    csp = next(a["content"] for t, a in doc.tags if a.get("http-equiv") ==
               "Content-Security-Policy")
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    for attrs, _ in doc.scripts:
        assert attrs.get("type") == "application/json" or attrs.get("nonce") == nonce


def test_hostile_strings_everywhere_stay_inert() -> None:
    evil = "</script><script>alert(1)</script><!--"
    a = scenario([evil])
    a.capture.path = f"/tmp/{evil}.pcap"
    a.capture.interfaces = [{"name": XSS_IMG, "description": evil}]
    a.capture.warnings = [evil]
    a.finding_results[0].title = evil
    a.finding_results[0].metrics = {evil: evil}
    a.flow_results[0].stalls[0].endpoint = evil  # ends up in chart hover text and shapes
    html = render_report(a, plotly="cdn", events=bulk_events())
    assert "<script>alert(1)" not in html and "<img" not in html
    doc = parse(html)
    scripts = [attrs for attrs, _ in doc.scripts]
    assert len(scripts) == 3  # figures JSON, plotly (cdn), our code
    figs = figures_of(doc)
    assert isinstance(figs, dict)
    assert evil in json.dumps(figs)  # the text survives as data, just not as markup


def test_prose_marks_up_code_spans_only() -> None:
    out = str(prose("run `ip -s link` then <b>`tc -s qdisc`</b> & `<i>`"))
    assert "<code>ip -s link</code>" in out and "<code>tc -s qdisc</code>" in out
    assert "<b>" not in out and "<i>" not in out and "&amp;" in out


def test_json_for_script_escapes_closing_tags() -> None:
    s = str(json_for_script({"a": "</script><!-- & \u2028"}))
    assert "<" not in s and ">" not in s and "&" not in s and "\u2028" not in s
    assert json.loads(s) == {"a": "</script><!-- & \u2028"}
    assert json.loads(str(json_for_script({"x": float("nan")}))) == {"x": None}


def test_inline_mode_is_self_contained() -> None:
    html = render_report(scenario(), events=bulk_events())
    doc = parse(html)
    for tag, attrs in doc.tags:
        for key in ("src", "href"):
            value = attrs.get(key) or ""
            assert not re.match(r"(?i)(https?:)?//", value), (tag, key, value)
    body = max((b for _, b in doc.scripts), key=len)
    assert "Plotly" in body and len(body) > 1_000_000
    assert not any(attrs.get("src") for attrs, _ in doc.scripts)


def test_cdn_mode_is_small_and_loads_plotly_from_cdn(cdn_report: str) -> None:
    assert len(cdn_report) < 600_000
    doc = parse(cdn_report)
    srcs = [a.get("src") for a, _ in doc.scripts if a.get("src")]
    assert len(srcs) == 1 and srcs[0].startswith("https://cdn.plot.ly/plotly-")


def test_flow_selection_top_and_explicit() -> None:
    a = scenario()
    ctx = build_context(a, plotly="cdn", top=1)
    assert [d["id"] for d in ctx["details"]] == [0]  # critical outranks warning
    ctx = build_context(a, plotly="cdn", top=3)
    # Two flows have problems; the third slot goes to the largest clean transfer.
    assert [d["id"] for d in ctx["details"]][:2] == [0, 1]
    assert ctx["details"][2]["why"] == "one of the largest transfers"
    ctx = build_context(a, plotly="cdn", flows=[5, 999, 5])
    assert [d["id"] for d in ctx["details"]] == [5]
    assert ctx["details"][0]["why"] == "selected with --flow"


def test_without_source_says_charts_are_missing() -> None:
    html = render_report(scenario(), plotly="cdn", source=None)
    assert 'id="no-source"' in html
    figs = figures_of(parse(html))
    assert "f0d0-tsg" not in figs
    assert "f0-timeline" in figs and "f0-cwnd-0" in figs  # what the analysis already has


def test_empty_capture_renders() -> None:
    info = CaptureInfo("empty.pcap", records=3, tcp_segments=0)
    info.skipped["non_ip"] = 3
    html = render_report(Analysis(capture=info), plotly="cdn")
    assert "No TCP flows in this capture" in html
    assert "non_ip 3" in " ".join(parse(html).text)


def test_write_report_creates_folders(tmp_path: Path) -> None:
    out = write_report(scenario(), tmp_path / "a" / "b" / "r.html", plotly="cdn",
                       events=bulk_events())
    assert out.exists() and out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(out.parent.glob("*.tmp"))


def test_bad_plotly_mode_is_rejected() -> None:
    with pytest.raises(ValueError):
        render_report(scenario(), plotly="remote")


def test_tsg_y_range_ignores_a_window_that_dwarfs_the_data() -> None:
    from tcpforensics.report.figures import time_sequence
    from tcpforensics.report.series import SeriesCollector

    small = [(s, f, v) for s, f, v in bulk_events(n=4, loss_at=99, zw_at=99)]
    coll = SeriesCollector([0], t0=1.0)
    for seg, fid, v in small:
        v.win_scaled = 4_000_000  # a huge advertised window over ~6 kB of data
        coll.add(seg, fid, v)
    ds = coll.build()[0].directions[0]
    flow = scenario().flow_results[0]
    fig = time_sequence(ds, flow, CLIENT, SERVER, 1.0)
    lo, hi = fig["layout"]["yaxis"]["range"]
    assert hi < 4 * 1448 * 2 and lo < 1
    # The bulk transfer's window stays close to the data: plain autorange.
    big = build_context(scenario(), plotly="cdn", events=bulk_events())
    assert "f0d0-tsg" in big["details"][0]["directions"][0]["charts"]
    ctx_fig = time_sequence(SeriesCollector([0], 1.0).build()[0].directions[0], flow, CLIENT,
                            SERVER, 1.0)
    assert "range" not in ctx_fig["layout"]["yaxis"]  # no data at all: nothing to pin


def test_findings_of_one_kind_are_grouped() -> None:
    a = scenario()
    base = a.finding_results[-1]
    for k in range(20):
        a.finding_results.append(Finding(
            f"L{k}", "loss_bound_throughput", "info", f"Loss caps flow {2 + k}", "d", "r",
            [2 + k], None, {}, impact=0.0))
    ctx = build_context(a, plotly="cdn")
    kinds = [f["kind"] for f in ctx["top_findings"]]
    assert kinds.count("loss_bound_throughput") == 1 and len(kinds) == len(set(kinds))
    card = next(f for f in ctx["top_findings"] if f["kind"] == "loss_bound_throughput")
    assert card["similar"] == 19
    html = render_report(a, plotly="cdn")
    # Every finding keeps its anchor, the grouped ones inside a collapsed list.
    for k in range(20):
        assert f'id="finding-L{k}"' in html
    assert 'id="similar-loss_bound_throughput"' in html and "19 more loss_bound_throughput" in html
    assert base.id in html


def test_value_and_cca_texts() -> None:
    from tcpforensics.report.html import cca_summary, fmt_seconds, fmt_value

    assert fmt_value({"reno": 0.25612, "cubic": 0.19}) == "reno 0.2561, cubic 0.19"
    assert fmt_value(list(range(30))).endswith("(30 values)")
    assert fmt_value([]) == "\u2013" and fmt_value(1234567) == "1,234,567"
    assert fmt_seconds(0.0425) == "42.5 ms" and fmt_seconds(0.00002) == "20 \u00b5s"
    assert fmt_seconds(3600 * 5) == "5.0 h" and fmt_seconds(None) == "\u2013"
    text = cca_summary({"name": "cubic", "confidence": 0.8, "evidence": {
        "beta": 0.655, "loss_epochs_measured": 6, "replica_fit": {"reno": 0.26, "cubic": 0.19,
                                                                  "bbr": 0.39}}})
    assert "0.66 of the window before over 6 loss epochs" in text
    assert "closest replica: cubic" in text
    assert cca_summary({"name": "unknown", "evidence": {"reason": "application-limited"}}) \
        == "Not named: application-limited."
    assert cca_summary(None) == ""


def test_odd_analysis_values_do_not_break_the_report() -> None:
    """A passive tool meets odd data: NaN durations, gaps in series, unknown endpoints."""
    a = scenario(extra_flows=2)
    f0 = a.flow_results[0]
    f0.stalls.append(Stall("mystery", "10.0.0.9:1", 1.1, float("nan")))
    f0.states.append(StateChange(1.2, 5, "WEIRD"))
    f0.endpoints[0].cca = {"name": "cubic", "confidence": None, "evidence": ["not", "a dict"]}
    f0.endpoints[1].counters = {"retransmission": 0, "odd": 3}
    cw = f0.cwnd[0]
    cw["rounds"]["t"][3] = None
    cw["replicas"]["bbr"] = [1, 2]  # wrong length: left out
    cw["replicas"]["odd"] = {"t": [1.05, None], "cwnd": [1, 2]}
    cw["loss_epochs"].append("not a dict")
    a.flow_results[1].end = a.flow_results[1].start - 1  # clock went backwards
    a.finding_results[0].metrics = {"nested": {"a": [1, {"b": 2}]}, "nan": float("nan")}
    html = render_report(a, plotly="cdn", events=bulk_events())
    figs = figures_of(parse(html))
    assert "f0d0-inflight" in figs
    names = {tr["name"] for tr in figs["f0d0-inflight"]["data"]}
    assert "bbr replica prediction" not in names and "odd replica prediction" in names
    assert "WEIRD" in json.dumps(figs["f0-timeline"])


def test_first_sentence_for_the_verdict() -> None:
    from tcpforensics.report.html import first_sentence

    assert first_sentence("Set TCP_NODELAY on the socket. Then retest.") == \
        "Set TCP_NODELAY on the socket."
    assert first_sentence("Raise net.ipv4.tcp_rmem (e.g. 4096 131072 6291456). Also x.") == \
        "Raise net.ipv4.tcp_rmem (e.g. 4096 131072 6291456)."
    assert first_sentence("") == "" and first_sentence(None) == ""
    assert len(first_sentence("word " * 200)) <= 241
    ctx = build_context(scenario(), plotly="cdn")
    assert ctx["verdict"]["fix"].startswith("Make the server application read its socket")


def test_stalled_time_counts_overlaps_once() -> None:
    from tcpforensics.report.html import stalled_time

    f = scenario().flow_results[0]
    f.stalls = [Stall("receive_window", CLIENT, 1.0, 2.0), Stall("zero_window", CLIENT, 1.5, 0.5),
                Stall("rto", CLIENT, 4.0, 0.25), Stall("rto", CLIENT, 5.0, float("nan"))]
    assert stalled_time(f) == pytest.approx(2.25)
    ctx = build_context(scenario(), plotly="cdn")
    assert ctx["stall_total"] == pytest.approx(1.6 + 0.25)


def test_wireshark_filter() -> None:
    from tcpforensics.report.html import wireshark_filter

    assert wireshark_filter(CLIENT, SERVER) == (
        "ip.addr==198.18.0.1 && tcp.port==40000 && ip.addr==198.18.0.2 && tcp.port==5001")
    assert wireshark_filter("[2001:db8::1]:1", "[2001:db8::2]:443").startswith(
        "ipv6.addr==2001:db8::1 && tcp.port==1")
    assert wireshark_filter("garbage", SERVER) == ""


def test_unreadable_source_on_second_pass_still_reports(tmp_path: Path) -> None:
    bad = tmp_path / "not-a-capture.pcap"
    bad.write_bytes(b"this is not a capture file at all")
    html = render_report(scenario(), plotly="cdn", source=str(bad))
    assert 'id="no-source"' in html and "Reading it again failed" in html
