"""The compiled build must give exactly the output of the pure-Python reference.

pip installs tcpforensics with the modules of engine.COMPILED_MODULES compiled by Cython.
These tests check that they really are compiled in this environment, then analyze real
captures both ways (the reference in a child process with TCPFORENSICS_PURE=1) and
require identical analysis JSON and identical per-segment verdicts.

TCPF_FULL_EQUIVALENCE=1 compares every capture of sample_pcaps/ and the shared corpus.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from benchmarks.compare_engines import _pure, fingerprint, first_differences
from tcpforensics.engine import COMPILED_MODULES, compiled_modules, engine_name

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_pcaps"
SHARED = ROOT.parent / "shared" / "pcaps"
FULL = os.environ.get("TCPF_FULL_EQUIVALENCE") == "1"


def _sample_captures() -> list[Path]:
    out = [SAMPLES / "demo.pcap"]
    for path in sorted(SAMPLES.glob("*/*.pcap*")):
        if path.parent.name != "bulk" or FULL:
            out.append(path)
    if not FULL:  # one bulk transfer per congestion control, the smallest
        for cca in ("reno", "cubic", "bbr"):
            bulk = sorted(SAMPLES.glob(f"bulk/bulk-{cca}-*.pcap*"), key=lambda p: p.stat().st_size)
            out.append(bulk[0])
    return out


def _shared_captures() -> list[Path]:
    manifest = SHARED / "MANIFEST.tsv"
    if not manifest.exists():
        return []
    out = []
    with manifest.open() as fh:
        for row in csv.DictReader(fh, delimiter="\t"):
            try:
                packets, streams = int(row["packets"] or 0), int(row["tcp_streams"] or 0)
            except ValueError:
                continue
            if streams and (FULL or packets <= 5_000) and (SHARED / row["local_path"]).exists():
                out.append(SHARED / row["local_path"])
    return out


CAPTURES = _sample_captures() + _shared_captures()


def test_every_listed_module_is_compiled():
    assert COMPILED_MODULES, "no module is listed for compilation"
    missing = sorted(set(COMPILED_MODULES) - set(compiled_modules()))
    assert not missing, f"not compiled in this install: {missing}"
    assert engine_name() == "compiled"


@pytest.fixture(scope="module")
def reference() -> dict[str, dict]:
    """Every capture's fingerprint from the pure-Python reference (one child process)."""
    paths = [str(p) for p in CAPTURES]
    return dict(zip(paths, _pure(paths, events=True), strict=True))


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_compiled_output_equals_pure_reference(path: Path, reference: dict[str, dict]):
    import json

    got = json.loads(json.dumps(fingerprint(str(path), events=True)))
    ref = reference[str(path)]
    assert got.get("events", [0])[0] == ref.get("events", [0])[0]  # same segment count
    assert first_differences(got, ref) == []
