"""The rows of the report's flow table, written as HTML here rather than by Jinja.

The table lists up to 2,000 flows (html.MAX_TABLE_ROWS). Through the template each row
cost about 0.15 ms: some forty attribute look-ups, filter calls and escapes, each a few
Python calls deep. On a capture of many connections that was a third of the report's own
work. Written here a row costs under a third of that, and the HTML is the same as the
template wrote (tests/test_report_flow_table.py renders both and compares).

Every text is escaped as Jinja's autoescape escapes it (markupsafe); numbers are written
as str() writes them, which is what the template wrote for them too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from markupsafe import Markup, escape

# a finding severity's rank: the report ranks flows by it, and the flow table's Findings
# column sorts by it (html.py takes it from here: html imports this module)
SEVERITY_RANK = {"critical": 3, "warning": 2, "info": 1}


def _escape(text: str) -> str:
    """`text` escaped as markupsafe.escape escapes it (which builds a Markup object
    through two Python calls, about ten times the cost of these replaces)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") \
        .replace("'", "&#39;").replace('"', "&#34;")


def _text(value: Any) -> str:
    """`value` as the template's {{ value }} wrote it."""
    kind = type(value)
    if kind is str:
        return _escape(value)
    if kind is int or kind is float:
        return str(value)  # digits, '.', '-', 'e', 'inf', 'nan': nothing to escape
    return str(escape(value))  # anything else as Jinja writes it (__html__ honoured)


def flow_rows(rows: Iterable[dict], seconds: Callable[[Any], str], num: Callable[[Any], str],
              size: Callable[[Any], str], rate: Callable[[Any], str]) -> Markup:
    """The <tr> elements of the flow table, one per row of html._flow_row, in order.

    The number formats are the template's filters (seconds, num, bytes, rate), passed in
    so this module does not import html.py.
    """
    t = _text
    out = []
    add = out.append
    for r in rows:
        fid = t(r["id"])
        sev = t(r["severity"])
        start, duration = r["start"], r["duration"]
        link = f'<a href="#flow-{fid}">{fid}</a>' if r["detailed"] else fid
        state = t(r["state"])
        if r["handshake"] != "complete":
            state += f' <span class="muted">({t(r["handshake"])} handshake)</span>'
        pkts_c, pkts_s, bytes_c, bytes_s = r["pkts_c"], r["pkts_s"], r["bytes_c"], r["bytes_s"]
        best = max(r["rate_c"] or 0, r["rate_s"] or 0)  # (the template's [a, b]|max)
        rtt_min, rtt_med, rtt_max = r["rtt_min"], r["rtt_med"], r["rtt_max"]
        if rtt_med is None:
            rtt = '-1" class="r">&ndash;'
        else:
            med = t(seconds(rtt_med))
            rtt = (f'{t(rtt_med)}" class="r" title="min {t(seconds(rtt_min))}, median {med}, '
                   f'max {t(seconds(rtt_max))}">{med}')
        retrans, dupacks, zerowin, stalled = r["retrans"], r["dupacks"], r["zerowin"], \
            r["stalled"]
        cca_c, cca_s = r["cca_c"], r["cca_s"]
        cca = (f"c: {t(cca_c)}" if cca_c else "") + ("<br>" if cca_c and cca_s else "") + \
            (f"s: {t(cca_s)}" if cca_s else "")
        badges = "".join(
            f'<a class="badge sev-{t(s)}" href="#finding-{t(i)}" title="{t(k)}">{t(i)} {t(k)}</a> '
            for i, s, k in r["findings"])
        add(f'      <tr id="row-{fid}" class="sev-row-{sev}" data-sev="{sev}">\n'
            f'        <td data-v="{fid}">{link}</td>\n'
            f'        <td class="mono">{t(r["client"])}</td>'
            f'<td class="mono">{t(r["server"])}</td>\n'
            f'        <td data-v="{t(start)}" class="r">{start:.3f}</td>\n'
            f'        <td data-v="{t(duration)}" class="r">{t(seconds(duration))}</td>\n'
            f'        <td>{state}</td>\n'
            f'        <td data-v="{t(pkts_c + pkts_s)}" class="r">{t(num(pkts_c))} / '
            f'{t(num(pkts_s))}</td>\n'
            f'        <td data-v="{t(bytes_c + bytes_s)}" class="r">{t(size(bytes_c))} / '
            f'{t(size(bytes_s))}</td>\n'
            f'        <td data-v="{t(best)}" class="r">{t(rate(best)) if best else "–"}</td>\n'
            f'        <td data-v="{rtt}</td>\n'
            f'        <td data-v="{t(retrans)}" class="r{" hot" if retrans else ""}">'
            f'{t(num(retrans))}</td>\n'
            f'        <td data-v="{t(dupacks)}" class="r">{t(num(dupacks))}</td>\n'
            f'        <td data-v="{t(zerowin)}" class="r{" hot" if zerowin else ""}">'
            f'{t(num(zerowin))}</td>\n'
            f'        <td data-v="{t(stalled)}" class="r">'
            f'{t(seconds(stalled)) if stalled else "–"}</td>\n'
            f'        <td>{cca}</td>\n'
            f'        <td data-v="{SEVERITY_RANK.get(r["severity"], 0)}">{badges}</td>\n'
            '      </tr>\n')
    return Markup("".join(out))
