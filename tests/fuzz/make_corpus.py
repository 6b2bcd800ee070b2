"""Write the seed corpus for fuzz_io.py (small valid inputs of every kind we read).

    python tests/fuzz/make_corpus.py tests/fuzz/corpus
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import struct
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from make_broken_captures import (  # noqa: E402
    ether,
    ipv4,
    ipv6,
    ng_epb,
    ng_idb,
    ng_opb,
    ng_shb,
    ng_spb,
    pcap_file,
    tcp_header,
)

SYN_OPTS = b"\x02\x04\x05\xb4\x04\x02\x08\x0a\x00\x00\x00\x01\x00\x00\x00\x00\x01\x03\x03\x07"


def seeds() -> dict[str, bytes]:
    t0 = 1_700_000_000 * 10**9
    f_syn = ether(ipv4(tcp_header(flags=0x02, options=SYN_OPTS)))
    f_data = ether(ipv4(tcp_header(flags=0x18) + b"data"))
    f_sack = ether(ipv4(tcp_header(options=b"\x01\x01\x05\x0a\x00\x00\x00\x01\x00\x00\x00\x02")))
    f_v6 = ether(ipv6(tcp_header() + b"x"), 0x86DD)
    f_vlan = ether(struct.pack("!HH", 5, 0x0800) + ipv4(tcp_header()), 0x8100)
    frames = [(t0 + i, f) for i, f in enumerate((f_syn, f_data, f_sack, f_v6, f_vlan))]
    pcap = pcap_file(frames)
    ng = (ng_shb(options=[(1, b"c")]) + ng_idb(1, 0, options=[(9, b"\x09")])
          + ng_idb(101, 0) + ng_epb(0, 5, f_data) + ng_epb(1, 6, f_data[14:])
          + ng_spb(f_syn) + ng_opb(0, 7, f_sack))
    out = {
        "pcap_le_usec": pcap,
        "pcap_be_nsec": pcap_file(frames, order=">", nsec=True),
        "pcap_raw": pcap_file([(t0, f[14:]) for _, f in frames[:3]], linktype=101),
        "pcap_sll": pcap_file([(t0, b"\x00\x00\x00\x01\x00\x06" + b"\x02" * 8
                                + b"\x08\x00" + f_data[14:])], linktype=113),
        "pcapng": ng,
        "pcapng_be": ng_shb(">") + ng_idb(1, 0, ">") + ng_epb(0, 9, f_data, ">"),
        "pcap_gz": gzip.compress(pcap),
        "pcap_bz2": bz2.compress(pcap),
        "pcapng_xz": lzma.compress(ng),
    }
    try:
        import zstandard
        out["pcap_zst"] = zstandard.ZstdCompressor().compress(pcap)
    except ImportError:
        pass
    for i, (lt, frame) in enumerate(((1, f_syn), (1, f_v6), (113, b"\x00" * 14 + b"\x08\x00"
                                                             + f_data[14:]),
                                     (0, b"\x02\x00\x00\x00" + f_data[14:]))):
        out[f"decode_{i}"] = b"D" + bytes([(0, 1, 9, 10, 12, 14, 50, 51, 101, 104, 105, 108,
                                            113).index(lt)]) + frame
    return out


def main(argv: list[str]) -> int:
    out = Path(argv[1] if len(argv) > 1 else Path(__file__).parent / "corpus")
    out.mkdir(parents=True, exist_ok=True)
    for name, data in seeds().items():
        (out / name).write_bytes(data)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
