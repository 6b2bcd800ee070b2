"""Capture.next_decoded_for skips only records of connections the caller does not want.

The report's second pass reads the capture again for a few connections; the reader then
leaves the other connections' records undecoded.  Whatever it skips must be a record
whose segment has a port outside the bitmap, with the time the segment would have had;
everything else must come back exactly as next_decoded() gives it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from make_broken_captures import ng_epb, ng_idb, ng_shb

from tcpforensics.engine import compiled_modules
from tcpforensics.io.reader import OTHER_CONNECTION, open_capture

SAMPLES = Path(__file__).resolve().parents[1] / "sample_pcaps"
CAPTURES = ["demo.pcap", "churn/churn.client.pcap.gz", "churn/churn.server.pcap.gz",
            "competing/competing-3.server.pcap.gz", "pooled/pooled.client.pcap.gz"]


def bitmap(ports: set[int]) -> bytes:
    bits = bytearray(8192)
    for p in ports:
        bits[p >> 3] |= 1 << (p & 7)
    return bytes(bits)


def records(path: Path, ports: bytes | None) -> list:
    capture = open_capture(path)
    out = []
    try:
        while True:
            got = capture.next_decoded() if ports is None else capture.next_decoded_for(ports)
            if got is None:
                return out
            out.append((got, capture.record_time()) if got is OTHER_CONNECTION else got)
    finally:
        capture.close()


def port_pairs(segments: list) -> list[tuple[int, int]]:
    return sorted({(s.sport, s.dport) if s.sport < s.dport else (s.dport, s.sport)
                   for s in segments if not isinstance(s, str)})


def as_pcapng(path: Path, out: Path) -> Path:
    """The capture's records written again as pcapng (microsecond clock, as tcpdump's)."""
    capture = open_capture(path)
    try:
        blocks = [ng_shb(), ng_idb(linktype=capture.linktypes[0], snaplen=capture.snaplen)]
        blocks += [ng_epb(0, raw.ts_ns // 1000, raw.data, wirelen=raw.wirelen)
                   for raw in capture]
    finally:
        capture.close()
    out.write_bytes(b"".join(blocks))
    return out


@pytest.mark.parametrize("fmt", ["pcap", "pcapng"])
@pytest.mark.parametrize("rel", CAPTURES)
def test_skipped_records_are_other_connections(rel: str, fmt: str, tmp_path: Path) -> None:
    path = SAMPLES / rel
    if not path.exists():
        pytest.skip(f"sample capture {rel} not available")
    if fmt == "pcapng":
        path = as_pcapng(path, tmp_path / "capture.pcapng")
    everything = records(path, None)
    pairs = port_pairs(everything)
    ports = {p for pair in pairs[::3] for p in pair}  # every third connection's ports
    filtered = records(path, bitmap(ports))
    assert len(filtered) == len(everything)
    skipped = 0
    for full, got in zip(everything, filtered, strict=True):
        if isinstance(got, tuple) and got[0] is OTHER_CONNECTION:
            skipped += 1
            assert not isinstance(full, str)
            assert full.sport not in ports or full.dport not in ports
            assert got[1] == full.ts
        else:
            assert got == full
    unwanted = [pair for pair in pairs if not set(pair) <= ports]
    if "tcpforensics.io.reader" not in compiled_modules():
        assert skipped == 0  # the pure build decodes every record
    else:  # (all the sample captures are of the common frame)
        assert (skipped > 0) == bool(unwanted)
