"""Record and TCP-segment counts on every real capture, checked against tshark.

For each pcap/pcapng/snoop file in ../shared/pcaps (MANIFEST.tsv) and in sample_pcaps/:
* our record count equals tshark's frame count (the manifest's `packets` column);
* the set of frames we decode as TCP segments equals the frames tshark's `-Y` filter
  TCP_FILTER matches, and the skip buckets sum to the record count;
* in each of those frames our Segment has the TCP fields tshark decoded (ports, raw
  sequence and ack numbers, flags, window, payload length, urgent pointer, MSS, window
  scale, timestamps, SACK blocks, SACK-permitted, MPTCP).

Documented differences, excluded by TCP_FILTER rather than by hard-coded numbers:
* IP fragments.  tshark reassembles and then shows TCP on the fragment that completes
  the datagram (and on a lone first fragment whose bytes are not all captured); we do
  not reassemble and put every fragment in the `fragment` bucket.
* TCP headers quoted inside ICMP/ICMPv6 errors, and packet headers sampled inside
  sFlow datagrams: tshark dissects them as TCP, but they are not segments of a
  connection.  They are `non_tcp` for us.
Formats we do not read (ERF, Peek, NetMetrix, NLANR tsh) are not part of this test; the
reader rejects them with CaptureError (tested in test_reader.py).
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
from bisect import bisect_right
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tcpforensics.io import decode, open_capture
from tcpforensics.model import SKIP_REASONS, Segment


def _shared_dir() -> Path:
    sibling = Path(__file__).resolve().parents[2] / "shared"
    return sibling if sibling.is_dir() else Path("/work/shared")


SHARED = _shared_dir() / "pcaps"
MANIFEST = SHARED / "MANIFEST.tsv"
SAMPLES = Path(__file__).resolve().parents[1] / "sample_pcaps"
SAMPLES_PER_DIR = 4
READABLE = {"pcap", "pcapng", "nsecpcap", "snoop"}
TSHARK = shutil.which("tshark")
MERGECAP = shutil.which("mergecap")
CAPINFOS = shutil.which("capinfos")

TCP_FILTER = ("tcp && !icmp && !icmpv6 && !sflow && !(ip.flags.mf == 1) "
              "&& !(ip.frag_offset > 0) && !(ipv6.fraghdr.more == 1) "
              "&& !(ipv6.fraghdr.offset > 0)")


def _manifest_rows() -> list[dict]:
    if not MANIFEST.is_file():
        return []
    with MANIFEST.open(newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    return [r for r in rows if r["format"] in READABLE]


def _sample_files() -> list[Path]:
    """The lab's captures: per directory the SAMPLES_PER_DIR smallest (the bulk set has
    well over a hundred similar files and two million frames, which would make tshark
    the slowest part of the suite); TCPF_ALL_SAMPLES=1 takes them all."""
    if not SAMPLES.is_dir():
        return []
    # tshark 4.0 reads gzip but not zstd/xz, so only those two kinds are compared here
    files = [p for p in SAMPLES.rglob("*")
             if p.is_file() and p.name.endswith((".pcap", ".pcapng", ".pcap.gz", ".pcapng.gz"))
             and p.stat().st_size < 50 << 20]
    if os.environ.get("TCPF_ALL_SAMPLES") == "1":
        return sorted(files)
    by_dir: dict[Path, list[Path]] = {}
    for path in files:
        by_dir.setdefault(path.parent, []).append(path)
    chosen = []
    for group in by_dir.values():
        chosen += sorted(group, key=lambda p: (p.stat().st_size, p.name))[:SAMPLES_PER_DIR]
    return sorted(chosen)


ROWS = _manifest_rows()


def _tshark_frames(path: Path, display_filter: str | None) -> list[int]:
    cmd = [TSHARK, "-n", "-r", str(path), "-T", "fields", "-e", "frame.number"]
    if display_filter:
        cmd[4:4] = ["-Y", display_filter]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=300).stdout
    return [int(x) for x in out.split()]


TSHARK_FIELDS = ["frame.number", "tcp.srcport", "tcp.dstport", "tcp.seq_raw", "tcp.ack_raw",
                 "tcp.flags", "tcp.window_size_value", "tcp.len", "tcp.urgent_pointer",
                 "tcp.options.mss_val", "tcp.options.wscale.shift",
                 "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr",
                 "tcp.options.sack_le", "tcp.options.sack_re", "tcp.option_kind"]


def tshark_tcp_fields(path: Path, display_filter: str = TCP_FILTER) -> dict[int, tuple]:
    """frame -> the TCP fields tshark decoded (first TCP layer), as segment_fields() has
    them.  tshark leaves tcp.len empty on a header longer than the datagram: that is 0."""
    cmd = [TSHARK, "-n", "-r", str(path), "-o", "tcp.relative_sequence_numbers:FALSE",
           "-Y", display_filter, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,"]
    for name in TSHARK_FIELDS:
        cmd += ["-e", name]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=900).stdout
    rows = {}
    for line in out.splitlines():
        f = line.split("\t")

        def num(text: str) -> int | None:
            return int(text.split(",")[0]) if text else None

        flags = int(f[5].split(",")[0], 16) & 0x1FF
        sacks = tuple(zip((int(x) for x in f[13].split(",") if x),
                          (int(x) for x in f[14].split(",") if x), strict=True))
        kinds = {int(k) for k in f[15].split(",") if k}
        rows[int(f[0])] = (num(f[1]), num(f[2]), num(f[3]), num(f[4]) if flags & 0x10 else None,
                           flags, num(f[6]), num(f[7]) or 0, num(f[8]), num(f[9]),
                           num(f[10]), num(f[11]), num(f[12]), sacks, 4 in kinds, 30 in kinds)
    return rows


def segment_fields(s: Segment) -> tuple:
    return (s.sport, s.dport, s.seq, s.ack if s.flags & 0x10 else None, s.flags, s.win,
            s.length, s.urg_ptr, s.mss, s.wscale, s.tsval, s.tsecr, s.sacks, s.sack_perm,
            s.mptcp)


def _capinfos_counts(paths: list[Path]) -> list[int]:
    """Frame count per file from one capinfos run (wiretap, the library tshark reads with)."""
    out = subprocess.run([CAPINFOS, "-T", "-r", "-c", "-M", *map(str, paths)],
                         capture_output=True, text=True, timeout=600).stdout
    counts = dict(line.rsplit("\t", 1) for line in out.splitlines() if "\t" in line)
    return [int(counts[str(p)]) for p in paths]


def _merged_tshark(paths: list[Path], tmp: Path) -> tuple[list[int], list[dict[int, tuple]]]:
    """One tshark run over all files concatenated by mergecap (tshark's start-up costs
    about a second; 400 runs would dominate the suite).  Frame numbers are split back per
    file with capinfos' per-file counts; the merged total is checked first, so a wrong
    split cannot pass silently."""
    merged = tmp / "all.pcapng"
    counts = _capinfos_counts(paths)
    subprocess.run([MERGECAP, "-a", "-F", "pcapng", "-w", str(merged), *map(str, paths)],
                   check=True, capture_output=True, timeout=600)
    assert _capinfos_counts([merged]) == [sum(counts)], "mergecap lost frames: cannot split"
    fields = tshark_tcp_fields(merged)
    frames = sorted(fields)
    result: list[dict[int, tuple]] = []
    start = 0
    for count in counts:
        lo, hi = bisect_right(frames, start), bisect_right(frames, start + count)
        result.append({f - start: fields[f] for f in frames[lo:hi]})
        start += count
    return counts, result


@pytest.fixture(scope="session")
def tshark_view(tmp_path_factory: pytest.TempPathFactory
                ) -> dict[str, tuple[int, dict[int, tuple]]]:
    """tshark's (frame count, {TCP frame: fields}) for every file, once per session."""
    if not TSHARK:
        pytest.skip("tshark not installed")
    paths = [SHARED / r["local_path"] for r in ROWS] + _sample_files()
    if MERGECAP and CAPINFOS:
        counts, tcp = _merged_tshark(paths, tmp_path_factory.mktemp("tshark"))
    else:  # one tshark run per file: slow but needs nothing else
        with ThreadPoolExecutor(max_workers=2) as pool:
            counts = [len(f) for f in pool.map(lambda p: _tshark_frames(p, None), paths)]
            tcp = list(pool.map(tshark_tcp_fields, paths))
    return {str(p): (c, t) for p, c, t in zip(paths, counts, tcp, strict=True)}


def _ours(path: Path) -> tuple[int, dict[int, tuple], dict[str, int]]:
    tcp: dict[int, tuple] = {}
    buckets = dict.fromkeys(SKIP_REASONS, 0)
    with open_capture(path) as cap:
        for raw in cap:
            result = decode(raw)
            if isinstance(result, str):
                buckets[result] += 1
            else:
                tcp[raw.frame] = segment_fields(result)
                assert result.frame == raw.frame
        records = cap.records
    return records, tcp, buckets


@pytest.mark.skipif(not ROWS, reason="shared captures not available")
@pytest.mark.parametrize("row", ROWS, ids=[r["local_path"] for r in ROWS])
def test_shared_capture_counts(row: dict, tshark_view: dict) -> None:
    path = SHARED / row["local_path"]
    records, tcp, buckets = _ours(path)
    assert records == int(row["packets"])
    assert len(tcp) + sum(buckets.values()) == records
    expected = tshark_view[str(path)][1]
    assert tcp.keys() == expected.keys(), (
        f"only ours: {sorted(tcp.keys() - expected.keys())[:10]} "
        f"only tshark: {sorted(expected.keys() - tcp.keys())[:10]} buckets {buckets}")
    _same_fields(tcp, expected)


def _same_fields(ours: dict[int, tuple], theirs: dict[int, tuple]) -> None:
    # ports, raw seq/ack, flags, window, TCP length, urgent pointer, MSS, window scale,
    # timestamps, SACK blocks, SACK-permitted and MPTCP, frame by frame
    bad = [(frame, ours[frame], theirs[frame]) for frame in ours
           if ours[frame] != theirs[frame]]
    assert not bad, bad[:3]


SAMPLE_FILES = _sample_files()


@pytest.mark.skipif(not SAMPLE_FILES, reason="no sample captures")
@pytest.mark.parametrize("path", SAMPLE_FILES, ids=[p.name for p in SAMPLE_FILES])
def test_sample_capture_counts(path: Path, tshark_view: dict) -> None:
    records, tcp, buckets = _ours(path)
    count, expected = tshark_view[str(path)]
    assert records == count
    assert len(tcp) + sum(buckets.values()) == records
    assert tcp.keys() == expected.keys()
    _same_fields(tcp, expected)
