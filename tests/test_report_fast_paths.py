"""The report's fast paths (precompiled templates, vectorised rounding, plain-Python
series for small captures, one-pass JSON) give the same bytes as the paths they replace."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tcpforensics import analyze
from tcpforensics.report import html, templating
from tcpforensics.report.html import json_for_script, render_report
from tcpforensics.report.series import FirstPassSeries, rounded
from tcpforensics.report.templating import generated_module, module_name

PRECOMPILED = Path(templating.__file__).with_name("precompiled")


def test_precompiled_modules_are_current() -> None:
    import jinja2

    from tcpforensics.report.precompiled import JINJA2_VERSION

    if jinja2.__version__ != JINJA2_VERSION:
        # the report then compiles from source (checked below); regenerating is due
        pytest.skip(f"precompiled with Jinja2 {JINJA2_VERSION}, running {jinja2.__version__}")
    env = html._environment()
    names = env.loader.list_templates()
    for name in names:
        path = PRECOMPILED / f"{module_name(name)}.py"
        assert path.read_text(encoding="utf-8") == generated_module(env, name), (
            f"{path} is stale: run python -m tcpforensics.report.precompile")
    modules = {p.stem for p in PRECOMPILED.glob("*.py")} - {"__init__"}
    assert modules == {module_name(n) for n in names}


def test_loader_uses_precompiled_code_only_when_it_matches() -> None:
    env = html._environment()
    source, _, _ = env.loader.get_source(env, "report.html.j2")
    assert templating._precompiled_code("report.html.j2", source) is not None
    assert templating._precompiled_code("report.html.j2", source + " ") is None
    assert templating._precompiled_code("no-such.j2", source) is None


def test_precompiled_and_source_compiled_render_the_same(monkeypatch) -> None:
    demo = Path(__file__).parents[1] / "sample_pcaps" / "demo.pcap"
    first_pass = FirstPassSeries()
    analysis = analyze(demo, segment_sink=first_pass)
    monkeypatch.setattr(html.secrets, "token_urlsafe", lambda n: "N")

    def render() -> str:
        monkeypatch.setattr(html, "_env", None)  # a fresh environment and loader
        return render_report(analysis, source=demo, plotly="cdn", first_pass=first_pass)

    fast = render()
    monkeypatch.setattr(templating, "_precompiled_code", lambda name, source: None)
    slow = render()
    monkeypatch.setattr(html, "_env", None)
    assert "application/json" in fast
    assert fast == slow


@pytest.mark.parametrize("digits", [1, 4, 6])
def test_rounded_matches_python_round(digits: int) -> None:
    rng = np.random.default_rng(7)
    half = 0.5 * 10.0 ** -digits
    cases = [rng.random(20000) * 100, rng.standard_normal(20000) * 1e4,
             np.arange(-10000, 10000) * 1e-7, (np.arange(20000) + 0.5) / 10 ** digits,
             np.round(rng.random(20000) * 1000, digits) + half, np.arange(20000) / 128,
             np.array([0.0, -0.0, math.nan, math.inf, -math.inf, 1e300, -1e-300, 5e-324,
                       2.0 ** 52 + 0.5, 0.285, 2.675, 1.0000005, 123456789.1234565])]
    for a in cases:
        got = rounded(a, digits)
        want = [round(float(x), digits) for x in a]
        assert [repr(x) for x in got] == [repr(x) for x in want]
    assert rounded(np.zeros(0), digits) == []


def test_json_for_script_sanitizes_only_when_needed() -> None:
    clean = {"a": [1, 2.5, None, "x"], "b": {"c": (3, 4)}}
    assert str(json_for_script(clean)) == '{"a":[1,2.5,null,"x"],"b":{"c":[3,4]}}'
    dirty = {"a": [1, math.inf, {"b": -math.inf}], "c": np.float64("nan"), 5: object}
    assert json.loads(str(json_for_script(dirty))) == {
        "a": [1, None, {"b": None}], "c": None, "5": str(object)}


def test_small_series_path_matches_the_numpy_path(monkeypatch) -> None:
    """Columns within budget take a plain-Python path; it must build the same series."""
    from tcpforensics.report import series

    demo = Path(__file__).parents[1] / "sample_pcaps" / "demo.pcap"
    first_pass = FirstPassSeries()
    analyze(demo, segment_sink=first_pass)
    roomy = series.Budget(segments=10**6, acks=10**6, sacks=10**6, rtt=10**6,
                          inflight=10**6)
    compared = 0
    for dirs in first_pass.flows.values():
        for sender, columns in enumerate(dirs):
            for budget in (series.Budget(), roomy):
                if not series._fits(columns, budget):
                    continue
                small = series._build_small_direction(sender, columns, budget)
                with monkeypatch.context() as m:
                    m.setattr(series, "_fits", lambda c, b: False)
                    full = series._build_direction(sender, columns, budget)
                assert repr(small) == repr(full)  # repr: floats bit for bit
                compared += 1
    assert compared >= 4


def test_histogram_matches_numpy() -> None:
    from tcpforensics.report.series import _histogram

    rng = np.random.default_rng(3)
    edges = (0.25 + np.arange(41) * 0.05).tolist()
    values = np.concatenate([rng.random(5000) * 2.5, edges[:3], edges[-1:], [0.1, 2.3]])
    weights = rng.integers(0, 1500, len(values))
    want, _ = np.histogram(values, bins=np.array(edges), weights=weights)
    assert _histogram(values.tolist(), weights.tolist(), edges) == want.astype(float).tolist()


def test_small_capture_report_does_not_import_numpy(tmp_path: Path) -> None:
    import subprocess
    import sys

    demo = Path(__file__).parents[1] / "sample_pcaps" / "demo.pcap"
    code = ("import sys, tcpforensics\n"
            "from tcpforensics.report import write_report\n"
            "from tcpforensics.report.series import FirstPassSeries\n"
            "fp = FirstPassSeries()\n"
            f"a = tcpforensics.analyze({str(demo)!r}, segment_sink=fp)\n"
            f"write_report(a, {str(tmp_path / 'r.html')!r}, source={str(demo)!r}, "
            "first_pass=fp)\n"
            "print('numpy' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).parents[1])
    assert out.stdout.strip() == "False"
