"""The report's precompiled templates and vectorised rounding give the same bytes as the
plain paths they replace."""

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
