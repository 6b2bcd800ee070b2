"""The flow table's rows written by report/flow_table.py equal what the Jinja loop wrote.

The rows moved out of the template for speed; ROW_LOOP below is the template's loop as it
was, rendered with the report's own Jinja environment (autoescape and the same filters),
so any difference in a row's HTML, escaping included, fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tcpforensics.analysis import analyze
from tcpforensics.report.flow_table import flow_rows
from tcpforensics.report.html import (
    _environment,
    build_context,
    fmt_bytes,
    fmt_num,
    fmt_rate,
    fmt_seconds,
)

SAMPLES = Path(__file__).resolve().parents[1] / "sample_pcaps"

ROW_LOOP = """\
    {% for r in table %}
      <tr id="row-{{ r.id }}" class="sev-row-{{ r.severity }}" data-sev="{{ r.severity }}">
        <td data-v="{{ r.id }}">{% if r.detailed %}<a href="#flow-{{ r.id }}">{{ r.id }}</a>{% else %}{{ r.id }}{% endif %}</td>
        <td class="mono">{{ r.client }}</td><td class="mono">{{ r.server }}</td>
        <td data-v="{{ r.start }}" class="r">{{ "%.3f"|format(r.start) }}</td>
        <td data-v="{{ r.duration }}" class="r">{{ r.duration|seconds }}</td>
        <td>{{ r.state }}{% if r.handshake != "complete" %} <span class="muted">({{ r.handshake }} handshake)</span>{% endif %}</td>
        <td data-v="{{ r.pkts_c + r.pkts_s }}" class="r">{{ r.pkts_c|num }} / {{ r.pkts_s|num }}</td>
        <td data-v="{{ r.bytes_c + r.bytes_s }}" class="r">{{ r.bytes_c|bytes }} / {{ r.bytes_s|bytes }}</td>
        {% set rate = [r.rate_c or 0, r.rate_s or 0]|max %}
        <td data-v="{{ rate }}" class="r">{{ rate|rate if rate else "–" }}</td>
        <td data-v="{{ r.rtt_med if r.rtt_med is not none else -1 }}" class="r"{% if r.rtt_med is not none %} title="min {{ r.rtt_min|seconds }}, median {{ r.rtt_med|seconds }}, max {{ r.rtt_max|seconds }}"{% endif %}>{% if r.rtt_med is not none %}{{ r.rtt_med|seconds }}{% else %}&ndash;{% endif %}</td>
        <td data-v="{{ r.retrans }}" class="r{% if r.retrans %} hot{% endif %}">{{ r.retrans|num }}</td>
        <td data-v="{{ r.dupacks }}" class="r">{{ r.dupacks|num }}</td>
        <td data-v="{{ r.zerowin }}" class="r{% if r.zerowin %} hot{% endif %}">{{ r.zerowin|num }}</td>
        <td data-v="{{ r.stalled }}" class="r">{{ r.stalled|seconds if r.stalled else "–" }}</td>
        <td>{% if r.cca_c %}c: {{ r.cca_c }}{% endif %}{% if r.cca_c and r.cca_s %}<br>{% endif %}{% if r.cca_s %}s: {{ r.cca_s }}{% endif %}</td>
        <td data-v="{{ {"critical": 3, "warning": 2, "info": 1}.get(r.severity, 0) }}">{% for fid, sev, kind in r.findings %}<a class="badge sev-{{ sev }}" href="#finding-{{ fid }}" title="{{ kind }}">{{ fid }} {{ kind }}</a> {% endfor %}</td>
      </tr>
    {% endfor %}
"""  # noqa: E501 (the template's lines as they were)


def jinja_rows(table: list[dict]) -> str:
    return _environment().from_string(ROW_LOOP).render(table=table)


def python_rows(table: list[dict]) -> str:
    return str(flow_rows(table, fmt_seconds, fmt_num, fmt_bytes, fmt_rate))


@pytest.mark.parametrize("rel", [
    "demo.pcap", "churn/churn.client.pcap.gz", "outage/outage-rto.server.pcap.gz",
    "refused/refused.client.pcap.gz", "slow_reader/slow-reader.client.pcap.gz",
    "midstream/midstream.client.pcap.gz",
    "competing/competing-3.client.pcap.gz", "rst_abort/rst-abort.client.pcap.gz",
    "nagle/nagle-rr.client.pcap.gz", "midstream/midstream.server.pcap.gz",
])
def test_rows_of_sample_captures_equal_the_template(rel: str) -> None:
    path = SAMPLES / rel
    if not path.exists():
        pytest.skip(f"sample capture {rel} not available")
    ctx = build_context(analyze(path), source=path, plotly="cdn", top=3)
    assert ctx["table"], "a capture with flows has table rows"
    assert python_rows(ctx["table"]) == jinja_rows(ctx["table"])
    assert ctx["table_rows"] == python_rows(ctx["table"])


def _row(**changes: object) -> dict:
    row = {"id": 7, "client": "198.18.0.1:40000", "server": "198.18.0.2:80", "start": 1.25,
           "duration": 0.5, "state": "CLOSED", "handshake": "complete", "pkts_c": 10,
           "pkts_s": 12, "bytes_c": 1500, "bytes_s": 2_000_000, "rate_c": 24000.0,
           "rate_s": 3.2e7, "rtt_min": 0.001, "rtt_med": 0.0125, "rtt_max": 0.2,
           "retrans": 3, "dupacks": 0, "zerowin": 1, "stalled": 0.75, "cca_c": "",
           "cca_s": "cubic (90%)", "severity": "warning",
           "findings": [("F1", "warning", "retransmissions"), ("F2", "info", "nagle")],
           "detailed": True}
    row.update(changes)
    return row


HOSTILE = "<script>alert('x')</script>&\"quoted\""


@pytest.mark.parametrize("row", [
    _row(),
    _row(detailed=False, handshake="partial", rtt_med=None, rtt_min=None, rtt_max=None,
         rate_c=None, rate_s=None, stalled=0.0, findings=[], severity="none", zerowin=0),
    _row(rate_c=0.0, rate_s=0, cca_c="reno (60%)", cca_s="bbr (80%)", retrans=0),
    _row(client=HOSTILE, server=HOSTILE, state=HOSTILE, handshake=HOSTILE, cca_c=HOSTILE,
         cca_s=HOSTILE, severity=HOSTILE, findings=[(HOSTILE, HOSTILE, HOSTILE)]),
    _row(start=-0.0, duration=float("inf"), rtt_med=float("nan"), stalled=1e-7,
         rate_s=float("inf"), bytes_c=0, pkts_c=0, id=0),
], ids=["plain", "missing-values", "zero-rates", "hostile-text", "odd-numbers"])
def test_hand_built_rows_equal_the_template(row: dict) -> None:
    assert python_rows([row]) == jinja_rows([row])


def test_capture_text_is_escaped() -> None:
    html = python_rows([_row(client=HOSTILE, findings=[("F1", "warning", HOSTILE)])])
    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;&#34;quoted&#34;" in html
