"""Replay the committed fuzz corpus, and fuzz for a bounded time when atheris is there.

The corpus is the seeds of make_corpus.py plus what three runs (1.6M executions in all,
no finding) kept after ``fuzz_io.py -merge=1``.

TCPF_FUZZ_SECONDS sets the fuzzing time (default 45; 0 skips the run).
"""

from __future__ import annotations

import importlib.util
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from fuzz_io import check_input
from make_corpus import seeds

from tcpforensics.io import decode, open_capture

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
FILES = sorted(CORPUS.iterdir()) if CORPUS.is_dir() else []


def test_corpus_is_complete() -> None:
    # every seed the generator makes is committed (regenerate with make_corpus.py)
    assert set(seeds()) <= {p.name for p in FILES}


def test_replay_corpus() -> None:
    # seeds plus the inputs a fuzzing run kept for coverage (libFuzzer -merge=1)
    assert len(FILES) > 100
    failures = []
    for path in FILES:
        try:
            check_input(path.read_bytes())
        except Exception as exc:  # collect all, report together
            failures.append(f"{path.name}: {type(exc).__name__}: {exc}")
    assert not failures, failures[:10]


def test_seeds_are_meaningful() -> None:
    # the capture seeds must really read as captures with TCP in them, or the fuzzer
    # would start from nothing
    for name, data in seeds().items():
        if name.startswith("decode_"):
            continue
        with open_capture(io.BytesIO(data)) as cap:
            assert any(not isinstance(decode(r), str) for r in cap), name


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("atheris") is None,
                    reason="atheris not installed (it is in the test extra; wheels for Linux)")
def test_bounded_fuzzing_run(tmp_path: Path) -> None:
    """CI fuzzes reader and decoder for TCPF_FUZZ_SECONDS (default 45) from the corpus."""
    seconds = int(os.environ.get("TCPF_FUZZ_SECONDS", "45"))
    if seconds <= 0:
        pytest.skip("TCPF_FUZZ_SECONDS=0")
    work = tmp_path / "work"
    shutil.copytree(CORPUS, work)
    proc = subprocess.run(
        [sys.executable, str(HERE / "fuzz_io.py"), str(work), f"-max_total_time={seconds}",
         "-timeout=20", "-rss_limit_mb=2048", f"-artifact_prefix={tmp_path}/"],
        capture_output=True, text=True, timeout=seconds + 300, cwd=HERE.parents[1])
    crashes = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(
        ("crash-", "timeout-", "oom-", "leak-")))
    assert proc.returncode == 0 and not crashes, (crashes, proc.stderr[-3000:])
    # the run must be coverage-guided: an uninstrumented target makes libFuzzer mutate
    # blind (it then says "no interesting inputs" and reports no coverage)
    assert "no interesting inputs" not in proc.stderr, proc.stderr[-3000:]
    cov = [int(m) for m in re.findall(r"\bcov: (\d+)", proc.stderr)]
    assert cov and max(cov) > 500, proc.stderr[-3000:]
