"""Reports in a real browser: headless Chromium driven by Playwright.

Each report is opened from a file:// URL with the network effectively unused (inline
plotly.js), every chart is drawn, and the test fails on any console error, page error
or dialog (an alert() from injected markup would be one).  Screenshots land in
tests/artifacts/.  Skipped when chromium or playwright is missing.
"""

from __future__ import annotations

import functools
import shutil
from pathlib import Path

import pytest

from tcpforensics.analysis import analyze
from tcpforensics.report import write_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

pytestmark = pytest.mark.browser
sync_api = pytest.importorskip("playwright.sync_api")
if not Path(CHROMIUM).exists():
    pytest.skip("chromium not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Page:
    """One opened report with every console message, page error and dialog recorded."""

    def __init__(self, browser, path: Path) -> None:
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.problems: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.problems.append(f"pageerror: {e}"))
        self.page.on("dialog", self._dialog)
        self.page.on("request", self._request)
        self.page.goto(path.resolve().as_uri(), wait_until="load", timeout=60_000)

    def _console(self, msg) -> None:
        if msg.type in ("error", "warning") and "WebGL" not in msg.text:
            self.problems.append(f"console {msg.type}: {msg.text}")

    def _dialog(self, dialog) -> None:
        self.problems.append(f"dialog: {dialog.message}")
        dialog.dismiss()

    def _request(self, req) -> None:
        if not req.url.startswith(("file:", "data:", "blob:", "about:")):
            self.problems.append(f"remote request: {req.url}")

    def draw_all(self) -> tuple[int, int]:
        """Draw every chart and wait until each holds its SVG; (charts, with svg)."""
        pg = self.page
        pg.evaluate("window.tcpforensicsDrawAll()")
        n = pg.evaluate("document.querySelectorAll('div.chart[data-fig]').length")
        pg.wait_for_function(
            "n => document.querySelectorAll('div.chart[data-fig] svg.main-svg').length >= n"
            " || document.querySelectorAll('.chart-error').length > 0",
            arg=n, timeout=60_000)
        with_svg = pg.evaluate(
            "Array.from(document.querySelectorAll('div.chart[data-fig]'))"
            ".filter(d => d.querySelector('svg.main-svg')).length")
        return n, with_svg

    def close(self) -> None:
        self.page.close()


@functools.lru_cache(maxsize=8)
def _analysis(path: Path):
    return analyze(str(path))


def _lab(rel: str) -> Path:
    path = ROOT / "sample_pcaps" / rel
    if not path.exists():
        pytest.skip(f"lab capture {rel} not available")
    return path


@pytest.mark.parametrize("rel", ["demo.pcap", "nagle/nagle-rr.client.pcap.gz",
                                 "slow_reader/slow-reader.server.pcap.gz",
                                 "churn/churn.client.pcap.gz"])
def test_lab_report_in_browser(browser, rel: str) -> None:
    path = _lab(rel)
    analysis = _analysis(path)
    stem = rel.split("/")[-1].split(".")[0]
    out = write_report(analysis, ARTIFACTS / f"{stem}.html", source=str(path))
    page = Page(browser, out)
    try:
        charts, with_svg = page.draw_all()
        assert charts >= 1 and with_svg == charts
        text = page.page.inner_text("body")
        assert "TCP report" in text and "Flows (" in text
        verdict = page.page.inner_text("#verdict").strip()
        assert len(verdict) > 20
        for f in analysis.finding_results[:3]:
            assert f.title in text
        page.page.screenshot(path=str(ARTIFACTS / f"{stem}.png"), full_page=False)
        if analysis.flow_results:
            first = page.page.query_selector("article.flow")
            if first is not None:
                first.screenshot(path=str(ARTIFACTS / f"{stem}-flow.png"))
        assert page.problems == []
    finally:
        page.close()


def test_flow_table_sorts_and_filters(browser) -> None:
    path = _lab("refused/refused.client.pcap.gz")  # three short flows: a quick page
    analysis = _analysis(path)
    if len(analysis.flow_results) < 3:
        pytest.skip("needs a capture with several flows")
    out = write_report(analysis, ARTIFACTS / "table.html", source=str(path), top=1)
    page = Page(browser, out)
    try:
        pg = page.page
        visible = "Array.from(document.querySelectorAll('#flow-table tbody tr'))" \
                  ".filter(r => r.style.display !== 'none')"
        total = pg.evaluate(f"{visible}.length")
        assert total == min(len(analysis.flow_results), 2000)
        # Sort by ID ascending (one click), then descending (second click).
        pg.click("#flow-table thead th:nth-child(1)")
        ids = pg.evaluate(f"{visible}.map(r => +r.cells[0].dataset.v)")
        assert ids == sorted(ids)
        pg.click("#flow-table thead th:nth-child(1)")
        ids = pg.evaluate(f"{visible}.map(r => +r.cells[0].dataset.v)")
        assert ids == sorted(ids, reverse=True)
        # Filter by one client address: only that flow's rows remain.
        client = analysis.flow_results[1].client
        pg.fill("#flow-filter", client)
        rows = pg.evaluate(f"{visible}.map(r => r.cells[1].textContent)")
        assert rows and all(client in r for r in rows)
        assert str(len(rows)) in pg.inner_text("#flow-count")
        assert page.problems == []
    finally:
        page.close()


def test_hostile_capture_runs_nothing(browser, tmp_path: Path) -> None:
    from test_report_captures import EVIL_IFNAME, EVIL_SHB, hostile_pcapng

    cap = hostile_pcapng(tmp_path / "evil.pcapng")
    analysis = analyze(str(cap))
    out = write_report(analysis, ARTIFACTS / "hostile.html", source=str(cap))
    page = Page(browser, out)
    try:
        page.draw_all()
        pg = page.page
        assert pg.evaluate("document.querySelectorAll('img, svg[onload]').length") == 0
        text = pg.inner_text("#capture")
        assert EVIL_SHB in text and EVIL_IFNAME in text  # shown as text, not run
        pg.screenshot(path=str(ARTIFACTS / "hostile.png"), full_page=False)
        assert page.problems == []
    finally:
        page.close()


def test_report_without_plotly_network_degrades_cleanly(browser, tmp_path: Path) -> None:
    """A cdn-mode report opened offline says charts need plotly.js, and nothing breaks."""
    path = _lab("demo.pcap")
    out = write_report(_analysis(path), tmp_path / "cdn.html", source=str(path),
                       plotly="cdn")
    page = Page.__new__(Page)
    page.page = browser.new_page()
    page.problems = []
    page.page.on("pageerror", lambda e: page.problems.append(f"pageerror: {e}"))
    page.page.route("**/*", lambda route: route.abort() if route.request.url.startswith(
        "http") else route.continue_())
    try:
        page.page.goto(out.as_uri(), wait_until="load")
        page.page.evaluate("window.tcpforensicsDrawAll()")
        assert page.page.query_selector(".chart-error") is not None
        assert page.problems == []
    finally:
        page.page.close()


def test_scenario_report_every_chart_kind(browser) -> None:
    """The hand-built scenario has every mark (SACK, zero window, probes, dup-ACKs, fast
    retransmission), cwnd replicas, loss epochs and stalls: all draw without errors."""
    from test_report import XSS_IMG, XSS_SCRIPT, bulk_events, scenario

    out = write_report(scenario([XSS_SCRIPT, XSS_IMG]), ARTIFACTS / "scenario.html",
                       events=bulk_events())
    page = Page(browser, out)
    try:
        charts, with_svg = page.draw_all()
        assert charts >= 8 and with_svg == charts
        pg = page.page
        # Clicking a finding's flow link opens the flow's detail section.
        pg.click("#findings a[href='#flow-0']")
        assert pg.evaluate("location.hash") == "#flow-0"
        # Legend entries of the time-sequence graph include the marked events.
        legend = pg.inner_text("#f0d0-tsg")
        for name in ("fast retransmission", "duplicate ACK", "zero window", "SACK blocks"):
            assert name in legend
        pg.query_selector("#flow-0").screenshot(path=str(ARTIFACTS / "scenario-flow.png"))
        assert page.problems == []
    finally:
        page.close()
