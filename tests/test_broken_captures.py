"""The broken-input corpus (make_broken_captures.py) through the reader and decoder.

Each input either raises CaptureError with one line naming the file (nothing usable),
or yields the records before the damage plus a warning saying where and why reading
stopped.  Never a traceback, never a hang, memory bounded.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from make_broken_captures import (
    BOMB_RECORDS,
    TRUNCATED_RECORDS,
    Broken,
    corpus,
    ng_epb,
    ng_idb,
    ng_shb,
    tcp_frame,
)

from tcpforensics.errors import CaptureError, TcpForensicsError
from tcpforensics.io import decode, open_capture
from tcpforensics.model import SKIP_REASONS, Segment

CORPUS = corpus()
REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("broken")
    for item in CORPUS:
        (out / item.name).write_bytes(item.data)
    return out


def _read_all(path: Path) -> tuple[int, list[str], dict[str, int]]:
    buckets = dict.fromkeys((*SKIP_REASONS, "tcp"), 0)
    with open_capture(path) as cap:
        for raw in cap:
            result = decode(raw)
            if isinstance(result, Segment):
                buckets["tcp"] += 1
            else:
                assert result in SKIP_REASONS
                buckets[result] += 1
        return cap.records, list(cap.warnings), buckets


@pytest.mark.parametrize("item", CORPUS, ids=[c.name for c in CORPUS])
def test_broken_input(item: Broken, corpus_dir: Path) -> None:
    path = corpus_dir / item.name
    if item.error:
        with pytest.raises(CaptureError) as info:
            _read_all(path)
        message = str(info.value)
        assert "\n" not in message and str(path) in message
        return
    records, warnings, buckets = _read_all(path)
    assert sum(buckets.values()) == records
    if item.records is not None:
        assert records == item.records
    if item.warning is not None:
        assert any(item.warning in w for w in warnings), warnings
        # one line each, and each names the file
        assert all("\n" not in w and w.startswith(str(path)) for w in warnings)
    else:
        assert not any("stopped" in w for w in warnings), warnings


def test_records_before_damage_are_intact(corpus_dir: Path) -> None:
    # the five good records in front of the cut are returned whole and decode as TCP
    path = corpus_dir / "truncated_mid_record.pcap"
    with open_capture(path) as cap:
        segments = [decode(raw) for raw in cap]
    assert [s.seq for s in segments] == [1000 + 100 * i for i in range(5)]
    assert all(s.length == 100 and s.captured_payload == 100 for s in segments)


def test_interface_out_of_range_is_malformed(corpus_dir: Path) -> None:
    _, _, buckets = _read_all(corpus_dir / "pcapng_iface_out_of_range.pcapng")
    assert buckets["tcp"] == 1 and buckets["malformed"] == 1


def test_truncated_compressed_keeps_leading_records(corpus_dir: Path) -> None:
    for name in ("truncated.pcap.gz", "truncated.pcap.bz2", "truncated.pcap.xz",
                 "truncated.pcap.zst"):
        records, warnings, buckets = _read_all(corpus_dir / name)
        assert 0 < records < TRUNCATED_RECORDS, name
        assert buckets["tcp"] == records


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no such file"):
        open_capture(tmp_path / "nope.pcap")
    with pytest.raises(CaptureError, match="directory"):
        open_capture(tmp_path)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_unreadable_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.pcap"
    path.write_bytes(CORPUS[5].data)
    path.chmod(0)
    with pytest.raises(CaptureError, match="permission denied"):
        open_capture(path)


def test_capture_error_is_package_error() -> None:
    assert issubclass(CaptureError, TcpForensicsError)


def test_bombs_stay_in_bounded_memory(corpus_dir: Path) -> None:
    # Read each bomb in a fresh interpreter and look at its peak RSS (VmHWM: ru_maxrss
    # would include the forked pytest parent): the decompressed data (100-325 MB) must
    # never be held at once, and the zstd/bz2 bombs are cut short.
    script = (
        "import re, sys\n"
        "from tcpforensics.io import open_capture\n"
        "c = open_capture(sys.argv[1])\n"
        "n = sum(1 for _ in c)\n"
        "hwm = re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read())\n"
        "print(n, int(hwm.group(1)) // 1024)\n"
        "print(c.warnings[-1] if c.warnings else '')\n")
    for name, bomb in (("bomb.pcap.zst", True), ("bomb.pcap.bz2", True),
                       ("zeros.pcap.gz", False)):
        out = subprocess.run([sys.executable, "-c", script, str(corpus_dir / name)],
                             capture_output=True, text=True, timeout=300, cwd=REPO,
                             check=True).stdout.splitlines()
        records, rss_mib = map(int, out[0].split())
        assert rss_mib < 150, out
        if bomb:
            assert records < BOMB_RECORDS and "decompression bomb" in out[1], out
        else:
            assert records == 1600


def test_many_bad_interface_records_do_not_stop_reading(tmp_path: Path) -> None:
    data = ng_shb() + ng_idb() + b"".join(
        ng_epb(i % 3, i, tcp_frame(seq=i)) for i in range(30))
    path = tmp_path / "mixed.pcapng"
    path.write_bytes(data)
    records, warnings, buckets = _read_all(path)
    assert records == 30
    assert buckets["tcp"] == 10 and buckets["malformed"] == 20
    assert any("20 packet records" in w for w in warnings)


@pytest.mark.parametrize("item", CORPUS, ids=[c.name for c in CORPUS])
def test_cli_exit_codes(item: Broken, corpus_dir: Path, tmp_path: Path,
                        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    # exit 2 with one line when nothing is usable; otherwise an analysis (never exit 3)
    cli = pytest.importorskip("tcpforensics.cli")
    monkeypatch.setenv("TCPFORENSICS_DEBUG", "1")  # an internal error would raise here
    code = cli.main(["analyze", str(corpus_dir / item.name), "-o", str(tmp_path / "a.json")])
    err = capsys.readouterr().err
    if item.error:
        assert code == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and str(corpus_dir / item.name) in lines[0]
    else:
        assert code in (0, 1), err
        assert (tmp_path / "a.json").stat().st_size > 0


_SEEDS = [item.data for item in CORPUS
          if not item.error and len(item.data) < 20_000 and "bomb" not in item.name]


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(_SEEDS),
       st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=8),
       st.integers(0, 4000))
def test_mutated_captures_never_raise(seed: bytes, flips: list, cut: int) -> None:
    # the reader's contract on any input: CaptureError, or records plus warnings
    data = bytearray(seed)
    for pos, value in flips:
        if pos < len(data):
            data[pos] = value
    data = bytes(data[:max(0, len(data) - cut)])
    try:
        cap = open_capture(io.BytesIO(data))
    except CaptureError as exc:
        assert "\n" not in str(exc)
        return
    with cap:
        n = 0
        for raw in cap:
            n += 1
            assert raw.frame == n and len(raw.data) == raw.caplen
            result = decode(raw)
            assert isinstance(result, Segment) or result in SKIP_REASONS
        assert cap.records == n
