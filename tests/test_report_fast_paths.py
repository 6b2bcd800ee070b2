"""The report's fast paths (precompiled templates, compiled downsampling kernels instead of
numpy, plain-Python series for small captures, one-pass JSON) give the same bytes as the
paths they replace."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from tcpforensics import analyze
from tcpforensics.report import columns, html, templating
from tcpforensics.report.html import build_context, json_for_script, render_report
from tcpforensics.report.marks import CONTROL_MARKS
from tcpforensics.report.series import Budget, FirstPassSeries
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


# --- the numpy implementation the downsampling kernels replaced (the reference) ---------
def np_keep_indices(lo: np.ndarray, hi: np.ndarray, marked: np.ndarray, budget: int,
                    mark_budget: int) -> np.ndarray:
    n = len(lo)
    if n <= budget:
        return np.arange(n)
    buckets = max(1, budget // 2)
    k = -(-n // buckets)
    pad = buckets * k - n
    lo2 = np.concatenate([lo.astype(np.float64), np.full(pad, np.inf)]).reshape(buckets, k)
    hi2 = np.concatenate([hi.astype(np.float64), np.full(pad, -np.inf)]).reshape(buckets, k)
    offsets = np.arange(buckets) * k
    idx = np.concatenate([lo2.argmin(axis=1) + offsets, hi2.argmax(axis=1) + offsets,
                          np.array([0, n - 1])])
    idx = idx[idx < n]
    marks = np.flatnonzero(marked)
    if len(marks) > mark_budget:
        marks = marks[np.linspace(0, len(marks) - 1, mark_budget).round().astype(np.int64)]
    return np.unique(np.concatenate([idx, marks]))


def np_direction(c: columns.Columns, b: Budget) -> dict:
    """The series of one direction as the numpy path built them (before the kernels)."""
    def col(a, dtype):
        return np.frombuffer(a, dtype=dtype) if len(a) else np.zeros(0, dtype=dtype)

    def times(t):
        return [round(float(x), 6) for x in t]

    none = np.zeros
    d_t, d_seq, d_end = col(c.d_t, np.float64), col(c.d_seq, np.int64), col(c.d_end, np.int64)
    d_mark, d_len = col(c.d_mark, np.uint32), col(c.d_len, np.int64)
    out = {"segments_total": int((d_len > 0).sum()), "payload_bytes": int(d_len.sum()),
           "marks_total": int((d_mark & ~np.uint32(CONTROL_MARKS) != 0).sum())}
    idx = np_keep_indices(d_seq, d_end, d_mark != 0, b.segments, b.marks)
    out["downsampled"] = len(idx) < len(d_t)
    out["marks_shown"] = int((d_mark[idx] & ~np.uint32(CONTROL_MARKS) != 0).sum())
    out["data"] = {"t": times(d_t[idx]), "seq": d_seq[idx].tolist(),
                   "end": d_end[idx].tolist(), "mark": d_mark[idx].tolist()}
    a_t, a_ack, a_win = col(c.a_t, np.float64), col(c.a_ack, np.int64), col(c.a_win, np.int64)
    a_mark = col(c.a_mark, np.uint32)
    out["acks_total"] = len(a_t)
    idx = np.union1d(np_keep_indices(a_ack, a_ack, a_mark != 0, b.acks // 2, b.marks // 2),
                     np_keep_indices(a_win, a_win, none(len(a_win), bool), b.acks // 2, 0))
    out["downsampled"] |= len(idx) < len(a_t)
    out["acks"] = {"t": times(a_t[idx]), "ack": a_ack[idx].tolist(),
                   "win": a_win[idx].tolist(), "mark": a_mark[idx].tolist()}
    s_t, s_l, s_r = col(c.s_t, np.float64), col(c.s_l, np.int64), col(c.s_r, np.int64)
    idx = np_keep_indices(s_l, s_r, none(len(s_t), bool), b.sacks, 0)
    out["sacks"] = {"t": times(s_t[idx]), "l": s_l[idx].tolist(), "r": s_r[idx].tolist()}
    r_t, r_v = col(c.r_t, np.float64), col(c.r_v, np.float64)
    idx = np_keep_indices(r_v, r_v, none(len(r_t), bool), b.rtt, 0)
    out["rtt"] = {"t": times(r_t[idx]), "ms": [round(float(x), 4) for x in r_v[idx] * 1000]}
    f_t, f_v = col(c.f_t, np.float64), col(c.f_v, np.int64)
    idx = np_keep_indices(f_v, f_v, none(len(f_t), bool), b.inflight, 0)
    out["inflight"] = {"t": times(f_t[idx]), "bytes": f_v[idx].tolist()}
    return out


@pytest.mark.parametrize("n, budget, mark_budget, typecode", [
    (10, 2000, 1500, "q"), (2000, 2000, 0, "d"), (2001, 2000, 1500, "q"),
    (2500, 2000, 700, "d"), (7777, 2000, 1, "q"), (100_000, 2000, 750, "d"),
    (5000, 1, 2, "q"), (999, 10, 0, "d")])
def test_keep_indices_match_numpy(n: int, budget: int, mark_budget: int, typecode: str) -> None:
    from array import array

    rng = np.random.default_rng(n)
    values = rng.random(n) * 1e6
    values[::7] = values[0]  # ties: the first of equal values wins
    if typecode == "d":
        values[5::97] = np.inf
        values[11::131] = -np.inf
        values[13::173] = np.nan  # numpy's argmin/argmax take the first NaN
        lo = hi = array("d", values.tolist())
    else:
        lo = array("q", values.astype(np.int64).tolist())
        hi = array("q", (values.astype(np.int64) + rng.integers(0, 3000, n)).tolist())
    marks = array("I", (rng.random(n) < 0.3).astype(np.uint32).tolist())
    np_lo = np.frombuffer(lo, dtype=np.float64 if typecode == "d" else np.int64)
    np_hi = np.frombuffer(hi, dtype=np_lo.dtype)
    want = np_keep_indices(np_lo, np_hi, np.frombuffer(marks, np.uint32) != 0, budget,
                           mark_budget).tolist()
    assert columns.keep_indices(lo, hi, marks, budget, mark_budget) == want
    unmarked = np_keep_indices(np_lo, np_hi, np.zeros(n, bool), budget, 0).tolist()
    assert columns.keep_indices(lo, hi, None, budget, 0) == unmarked


def test_downsampled_series_match_the_numpy_path() -> None:
    from tcpforensics.report import series

    path = Path(__file__).parents[1] / "sample_pcaps" / "bulk" / "bulk-cubic-00.client.pcap.gz"
    if not path.exists():
        pytest.skip("lab capture not available")
    first_pass = FirstPassSeries()
    analyze(path, segment_sink=first_pass)
    compared = 0
    for dirs in first_pass.columns().values():
        for sender, c in enumerate(dirs):
            for budget in (Budget(), Budget(segments=50, acks=60, marks=7, sacks=9, rtt=11,
                                            inflight=13)):
                if series._fits(c, budget):
                    continue
                got = series._build_direction(sender, c, budget)
                want = np_direction(c, budget)
                assert repr({k: getattr(got, k) for k in want}) == repr(want)
                compared += 1
    assert compared >= 2


def test_histogram_matches_numpy() -> None:
    from array import array

    rng = np.random.default_rng(3)
    edges = (0.25 + np.arange(41) * 0.05).tolist()
    values = np.concatenate([rng.random(5000) * 2.5, edges[:3], edges[-1:], [0.1, 2.3]])
    weights = rng.integers(-5, 1500, len(values))
    t, w = array("d", values.tolist()), array("q", weights.tolist())
    want, _ = np.histogram(values, bins=np.array(edges), weights=weights)
    assert columns.histogram(t, w, edges, False) == want.astype(float).tolist()
    has = weights > 0
    want, _ = np.histogram(values[has], bins=np.array(edges), weights=weights[has])
    assert columns.histogram(t, w, edges, True) == want.astype(float).tolist()


def test_json_for_script_sanitizes_only_when_needed() -> None:
    clean = {"a": [1, 2.5, None, "x"], "b": {"c": (3, 4)}}
    assert str(json_for_script(clean)) == '{"a":[1,2.5,null,"x"],"b":{"c":[3,4]}}'
    dirty = {"a": [1, math.inf, {"b": -math.inf}], "c": np.float64("nan"), 5: object}
    assert json.loads(str(json_for_script(dirty))) == {
        "a": [1, None, {"b": None}], "c": None, "5": str(object)}


def test_float_json_is_repr() -> None:
    rng = np.random.default_rng(11)
    values = [0.0, -0.0, 1e-4, -1e-4, 9.999e-05, 1e9, -1e9, 999999999.999999, 5e-324, 1e16,
              0.1, 0.5, 2.675, 10.0, 123456.000001, 4503599627.370496, 1e300]
    for e in range(-8, 12):
        x = rng.random(3000) * 10.0 ** e * rng.choice([-1, 1], 3000)
        for digits in (1, 4, 6, 9):
            values += [round(float(v), digits) for v in x]
        values += x.tolist()
    assert [columns.float_json(v) for v in values] == [repr(v) for v in values]


def test_chart_json_is_json_dumps() -> None:
    demo = Path(__file__).parents[1] / "sample_pcaps" / "demo.pcap"
    first_pass = FirstPassSeries()
    analysis = analyze(demo, segment_sink=first_pass)
    figures = html.build_context(analysis, source=demo, first_pass=first_pass)["figures"]
    shared = [round(i * 0.001234, 6) for i in range(40)]
    odd = {"a": [shared, shared, tuple(shared), [True] * 20, ["x"] * 20, [1, None, 2.5] * 9],
           "b": {"c": list(range(30)), 3: [1e300, -0.0, 5e-324] * 8}, "figures": figures}
    for obj in (figures, odd):
        assert html._dumps(obj) == json.dumps(obj, separators=(",", ":"), allow_nan=False,
                                              default=str)
    with pytest.raises(ValueError):  # json_for_script then replaces NaN by null
        html._dumps({"x": [1.0] * 20 + [math.nan]})


@pytest.mark.parametrize("plotly", ["inline", "cdn"])
def test_written_report_is_the_rendered_text(monkeypatch, tmp_path: Path, plotly: str) -> None:
    """write_report copies plotly.js as bytes; the file is the rendered text, encoded."""
    demo = Path(__file__).parents[1] / "sample_pcaps" / "demo.pcap"
    first_pass = FirstPassSeries()
    analysis = analyze(demo, segment_sink=first_pass)
    monkeypatch.setattr(html.secrets, "token_urlsafe", lambda n: "N")
    # the same nonce and date in both renderings
    monkeypatch.setattr(html, "build_context",
                        lambda *a, **k: {**build_context(*a, **k), "generated": "G"})
    out = html.write_report(analysis, tmp_path / "r.html", source=demo, plotly=plotly,
                            first_pass=first_pass)
    text = render_report(analysis, source=demo, plotly=plotly, first_pass=first_pass)
    assert out.read_bytes() == text.encode("utf-8")
    if plotly == "inline":
        import plotly.offline

        # the bundle as plotly hands it out, with any "</script" neutralised
        bundle = plotly.offline.get_plotlyjs().replace("</script", "<\\/script")
        assert html._plotly_js_bytes().decode("utf-8") == bundle
        assert text.count(bundle) == 1 and len(bundle) > 1_000_000


def test_small_series_path_matches_the_downsampling_path(monkeypatch) -> None:
    """Columns within budget take a shorter path; it must build the same series."""
    from tcpforensics.report import series

    demo = Path(__file__).parents[1] / "sample_pcaps" / "demo.pcap"
    first_pass = FirstPassSeries()
    analyze(demo, segment_sink=first_pass)
    roomy = series.Budget(segments=10**6, acks=10**6, sacks=10**6, rtt=10**6,
                          inflight=10**6)
    compared = 0
    for dirs in first_pass.columns().values():
        for sender, cols in enumerate(dirs):
            for budget in (series.Budget(), roomy):
                if not series._fits(cols, budget):
                    continue
                small = series._build_small_direction(sender, cols, budget)
                with monkeypatch.context() as m:
                    m.setattr(series, "_fits", lambda c, b: False)
                    full = series._build_direction(sender, cols, budget)
                assert repr(small) == repr(full)  # repr: floats bit for bit
                compared += 1
    assert compared >= 4


@pytest.mark.parametrize("rel", ["demo.pcap", "bulk/bulk-cubic-00.client.pcap.gz"])
def test_report_does_not_import_numpy(tmp_path: Path, rel: str) -> None:
    """numpy's import (and its BLAS threads) cost more than a small report: the series are
    built without it, downsampled (the bulk capture) or not."""
    import subprocess
    import sys

    demo = Path(__file__).parents[1] / "sample_pcaps" / rel
    if not demo.exists():
        pytest.skip("lab capture not available")
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
