"""Hostile and damaged captures through the whole pipeline, end to end.

Real captures (sample_pcaps, a few /work/shared/pcaps files) are mutated with the
engine of tests/fuzz_pipeline.py: header bit flips, extreme field values, garbage TCP
options, absurd SACK options, truncation, duplicated/reordered records, swapped
directions, caplen games, file-level damage.  The contract checked:

* in process, `analyze()` returns an analysis (strict JSON) or raises CaptureError;
* through the CLI, `analyze` and `report` exit 0, 1 or 2, never 3, never hang, never
  print a traceback, and print at most one error line;
* a damaged capture still yields what was readable, with a warning;
* capture-supplied text (pcapng comments, interface names, the file name) reaches the
  HTML report escaped.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import random
import re
import struct
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("fuzz_pipeline", REPO / "tests" / "fuzz_pipeline.py")
fp = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("fuzz_pipeline", fp)
_spec.loader.exec_module(fp)

NAGLE = REPO / "sample_pcaps" / "nagle" / "nagle-rr.client.pcap.gz"
RST = REPO / "sample_pcaps" / "rst_abort" / "rst-abort.server.pcap.gz"
LOSSY = REPO / "sample_pcaps" / "bulk" / "demo-lossy.client.pcap.gz"


def _gunzip(src: Path, dst: Path) -> Path:
    if not src.exists():
        pytest.skip(f"{src} missing")
    dst.write_bytes(gzip.decompress(src.read_bytes()))
    return dst


@pytest.fixture(scope="module")
def seeds() -> list:
    found = fp.default_seeds()
    if not found:
        pytest.skip("no seed captures")
    return found


@pytest.fixture(scope="module")
def nagle_seed() -> object:
    if not NAGLE.exists():
        pytest.skip("sample capture missing")
    return fp.load_seed(NAGLE)


def _write(tmp_path: Path, name: str, blob: bytes) -> str:
    p = tmp_path / name
    p.write_bytes(blob)
    return str(p)


def _analyze(path: str):
    from tcpforensics.analysis import analyze

    return analyze(path)


# --- in process: many mutants, quickly ---------------------------------------------------
@pytest.mark.parametrize("seed", [11, 12])
def test_seeded_mutants_in_process(seeds, seed) -> None:
    stats = fp.fuzz(seed=seed, cases=80, seconds=90, out=None, seeds=seeds)
    assert stats.cases >= 20  # the loop ran (bounded by time on a slow machine)
    assert stats.failures == [], stats.failures[0][1]


def test_seeded_mutants_with_report(seeds, tmp_path) -> None:
    """Some mutants go on through the HTML report (second pass over the capture)."""
    stats = fp.fuzz(seed=21, cases=12, seconds=120, out=tmp_path, report_every=1,
                    seeds=seeds)
    assert stats.failures == [], stats.failures[0][1]


# --- targeted damage, with the behaviour asked for beyond "no crash" ------------------------
def test_truncated_mid_record_keeps_what_was_read(nagle_seed, tmp_path) -> None:
    rng = random.Random(1)
    blob = fp.write_pcap(nagle_seed.records, rng)
    whole = _analyze(_write(tmp_path, "whole.pcap", blob))
    cut = _analyze(_write(tmp_path, "cut.pcap", blob[: len(blob) * 2 // 3 + 5]))
    assert 0 < cut.capture.records < whole.capture.records
    assert cut.flow_results, "the readable part still gives flows"
    assert cut.capture.warnings, "truncation must be reported"


def test_caplen_over_256mib_stops_with_a_warning(nagle_seed, tmp_path) -> None:
    recs = [fp._copy(r) for r in nagle_seed.records]
    recs[len(recs) // 2].caplen_field = 1 << 28 | 1
    path = _write(tmp_path, "caplen.pcap", fp.write_pcap(recs, random.Random(3)))
    a = _analyze(path)
    assert 0 < a.capture.records <= len(recs)
    assert a.capture.warnings
    json.dumps(a.to_dict(), allow_nan=False)


def test_every_data_segment_duplicated_shows_as_retransmissions(nagle_seed, tmp_path) -> None:
    rng = random.Random(5)
    base = _analyze(_write(tmp_path, "base.pcap", fp.write_pcap(nagle_seed.records, rng)))
    dup = []
    data_segments = 0
    for r in nagle_seed.records:
        dup.append(r)
        t = fp.tcp_offsets(r)
        if t is None:
            continue
        ip, ver, tcp = t
        total = struct.unpack_from("!H", r.data, ip + 2)[0] if ver == 4 else None
        doff = (r.data[tcp + 12] >> 4) * 4
        if total is not None and total - (tcp - ip) - doff > 0:
            data_segments += 1
            dup.append(fp._copy(r))
    assert data_segments > 10
    a = _analyze(_write(tmp_path, "dup.pcap", fp.write_pcap(dup, rng)))
    assert a.capture.tcp_segments == base.capture.tcp_segments + data_segments
    assert len(a.flow_results) == len(base.flow_results)

    def retx(an) -> int:
        return sum(e.counters.get("retransmission", 0) + e.counters.get("out_of_order", 0)
                   + e.counters.get("spurious_retransmission", 0)
                   for f in an.flow_results for e in f.endpoints)

    assert retx(a) >= retx(base) + data_segments // 2


def test_swapped_directions_swap_the_roles(nagle_seed, tmp_path) -> None:
    rng = random.Random(7)
    base = _analyze(_write(tmp_path, "base.pcap", fp.write_pcap(nagle_seed.records, rng)))
    swapped = [fp._copy(r) for r in nagle_seed.records]
    for r in swapped:
        fp.m_swap_direction(rng, r)
    a = _analyze(_write(tmp_path, "swapped.pcap", fp.write_pcap(swapped, rng)))
    assert len(a.flow_results) == len(base.flow_results)
    # every packet now goes the other way, so the SYN comes from the former server
    b0, a0 = base.flow_results[0], a.flow_results[0]
    assert (a0.client, a0.server) == (b0.server, b0.client)
    assert a0.handshake == b0.handshake


def test_garbage_options_and_absurd_sacks_on_every_segment(nagle_seed, tmp_path) -> None:
    rng = random.Random(9)
    recs = [fp._copy(r) for r in nagle_seed.records]
    for r in recs:
        (fp.m_garbage_options if rng.random() < 0.5 else fp.m_absurd_sack)(rng, r)
    a = _analyze(_write(tmp_path, "opts.pcap", fp.write_pcap(recs, rng)))
    # the headers are still well formed: every record is decoded as TCP or skipped as
    # malformed, and the flows are still found
    assert a.capture.records == len(recs)
    assert a.capture.tcp_segments + a.capture.skipped["malformed"] == len(recs)
    assert a.flow_results
    json.dumps(a.to_dict(), allow_nan=False)


def test_sequence_space_wrapping_mid_flow_changes_nothing(tmp_path) -> None:
    """Shifting a sender's sequence numbers so they wrap mid-transfer is invisible to
    the analysis (relative sequence space): same flags, same byte counts."""
    seed = fp.load_seed(LOSSY) if LOSSY.exists() else pytest.skip("sample missing")
    rng = random.Random(13)
    base = _analyze(_write(tmp_path, "base.pcap", fp.write_pcap(seed.records, rng)))
    recs = [fp._copy(r) for r in seed.records]
    fp.l_seq_wrap(rng, recs)
    a = _analyze(_write(tmp_path, "wrap.pcap", fp.write_pcap(recs, rng)))
    for fb, fa in zip(base.flow_results, a.flow_results, strict=True):
        for eb, ea in zip(fb.endpoints, fa.endpoints, strict=True):
            assert ea.counters == eb.counters
            assert ea.payload_bytes == eb.payload_bytes
        assert fa.tcp["data_bytes"] == fb.tcp["data_bytes"]


# --- through the CLI ---------------------------------------------------------------------------
def _cli_ok(args: list[str]) -> tuple[int, str]:
    rc, err = fp.run_cli(args, timeout=180)
    problem = fp.cli_problem(rc, err)
    assert problem is None, problem
    return rc, err


@pytest.mark.slow
def test_cli_contract_on_mutants(seeds, tmp_path) -> None:
    """A handful of mutants (one per damage class) through `analyze` and `report`."""
    rng = random.Random(31)
    seed = next((s for s in seeds if s.name.startswith("nagle")), seeds[0])
    cases = []
    recs = [fp._copy(r) for r in seed.records]
    for r in rng.sample(recs, 20):
        rng.choice(fp.RECORD_MUTATIONS)(rng, r)
    fp.l_reorder(rng, recs)
    fp.l_duplicate(rng, recs)
    cases.append(("records.pcapng", fp.write_pcapng(recs, rng)))
    blob = bytearray(fp.write_pcap(seed.records, rng))
    fp.f_overwrite(rng, blob)
    cases.append(("overwrite.pcap", bytes(blob)))
    cases.append(("headeronly.pcap", fp.write_pcap(seed.records, rng)[:24]))
    cases.append(("garbage.pcap", bytes(rng.getrandbits(8) for _ in range(3000))))
    cut = fp.write_pcapng(seed.records, rng)
    cases.append(("cut.pcapng", cut[: len(cut) // 2 + 3]))
    codes = []
    for name, data in cases:
        path = _write(tmp_path, name, data)
        rc, _ = _cli_ok(["analyze", path, "-o", str(tmp_path / "out.json")])
        codes.append(rc)
        _cli_ok(["report", path, "-o", str(tmp_path / "r.html"), "-q"])
    # random bytes and a header alone are unusable (2); the damaged ones still analyze
    assert codes[3] == 2 and codes[2] in (0, 2)
    assert codes[0] == 0 and codes[4] == 0


def test_unusable_input_is_exit_2_with_one_line(tmp_path) -> None:
    path = _write(tmp_path, "junk.pcap", b"\xd4\xc3\xb2\xa1" + b"\xff" * 3)
    rc, err = _cli_ok(["analyze", path, "-o", "/dev/null"])
    assert rc == 2
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1


@pytest.mark.slow
def test_hostile_capture_text_is_escaped_in_the_report(nagle_seed, tmp_path) -> None:
    """pcapng comments, interface names/descriptions and the file name carry markup; the
    report made by the CLI shows them as text, never as markup, and loads nothing remote."""
    blob = fp.write_pcapng(nagle_seed.records, random.Random(17), hostile=True)
    path = tmp_path / "<img src=x onerror=alert(1)>.pcapng"
    path.write_bytes(blob)
    out = tmp_path / "report.html"
    rc, _ = _cli_ok(["report", str(path), "-o", str(out), "-q"])
    assert rc == 0
    html = out.read_text(encoding="utf-8")
    for raw in ("<script>alert(1)</script>", "<img src=x onerror=alert(1)>",
                "<svg/onload=alert(1)>"):
        assert raw not in html
    # they are there, as text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # nothing remote without --plotly cdn
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=[\"']?(https?:)?//", html)
