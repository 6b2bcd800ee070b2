"""The ground-truth lab: link pieces as pure logic, and one short run end to end."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import dpkt
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lab import link  # noqa: E402
from lab.scenarios import KINDS, SCENARIOS  # noqa: E402


def _lab_unavailable() -> str | None:
    if sys.platform != "linux":
        return "the lab needs Linux network namespaces"
    if os.geteuid() != 0:
        return "the lab needs root"
    for tool in ("ip", "tcpdump", "ethtool"):
        if shutil.which(tool) is None:
            return f"`{tool}` is not installed"
    probe = f"tf-{os.getpid()}-testprobe"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"cannot create network namespaces: {r.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


# ---------------------------------------------------------------- pure pieces of the link
def _tcp_frame(payload: bytes, seq: int = 1000, flags: int = 0x18) -> bytes:
    src, dst = bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2])
    opts = b"\x01\x01\x08\x0a" + struct.pack("!II", 7, 9)  # NOP NOP timestamps
    tcp = struct.pack("!HHIIBBHHH", 40000, 5201, seq, 1, (32 // 4) << 4, flags, 502, 0, 0)
    tcp += opts
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp) + len(payload), 77, 0x4000, 64,
                     6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", link.inet_csum(ip)) + ip[12:]
    eth = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"
    return eth + ip + tcp + payload


def _checksums_ok(frame: bytes) -> bool:
    ip = dpkt.ethernet.Ethernet(frame).data
    raw_ip = frame[14:14 + ip.hl * 4]
    if link.inet_csum(raw_ip) != 0 and link.inet_csum(raw_ip) != 0xFFFF:
        return False
    tcp_raw = frame[14 + ip.hl * 4:14 + ip.len]
    pseudo = raw_ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp_raw))
    return link.inet_csum(pseudo + tcp_raw) in (0, 0xFFFF)


def test_inet_checksum_known_value() -> None:
    # RFC 1071 example words 0001 f203 f4f5 f6f7: sum ddf2, checksum 220d
    assert link.inet_csum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_gso_superframe_is_cut_to_mss_with_valid_checksums() -> None:
    payload = bytes(range(256)) * 20  # 5120 bytes
    frame = _tcp_frame(payload, seq=4_294_967_000, flags=0x19)  # PSH|FIN|ACK, seq wraps
    vnet = struct.pack("<BBHHHH", 1, link.VIRTIO_NET_HDR_GSO_TCPV4, 66, 1448, 34, 16)
    pieces, gso = link.fix_frame(vnet, frame)
    assert gso == 1
    assert [len(p) - 66 for p in pieces] == [1448, 1448, 1448, 776]
    seqs = [struct.unpack("!I", p[38:42])[0] for p in pieces]
    assert seqs == [(4_294_967_000 + i * 1448) & 0xFFFFFFFF for i in range(4)]
    assert b"".join(p[66:] for p in pieces) == payload
    flags = [p[47] for p in pieces]
    assert flags == [0x10, 0x10, 0x10, 0x19]  # PSH and FIN only on the last piece
    ids = [struct.unpack("!H", p[18:20])[0] for p in pieces]
    assert ids == [77, 78, 79, 80]
    assert all(_checksums_ok(p) for p in pieces)


def test_partial_checksum_is_completed() -> None:
    payload = b"hello world!" * 10
    frame = bytearray(_tcp_frame(payload))
    # as the kernel hands it over with CHECKSUM_PARTIAL: pseudo-header sum in the field
    ip = frame[14:34]
    tcp_len = len(frame) - 34
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, tcp_len)
    partial = (~link.inet_csum(bytes(pseudo))) & 0xFFFF
    frame[50:52] = struct.pack("!H", partial)
    vnet = struct.pack("<BBHHHH", link.VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 0, 34, 16)
    out, gso = link.fix_frame(vnet, bytes(frame))
    assert gso == 0 and len(out) == 1
    assert _checksums_ok(out[0])


def test_direction_queue_and_serialization() -> None:
    class Sink:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        def send(self, b: bytes) -> int:
            self.sent.append(b)
            return len(b)

    sink = Sink()
    cfg = {"rate_bps": 8e6, "delay_us": 1000, "queue_bytes": 3 * 1514, "loss": 0.0,
           "latency_comp_us": 0}
    d = link.Direction("t", cfg, sink, seed=1)  # 1 byte per microsecond
    fr = _tcp_frame(b"\0" * 1448)
    assert len(fr) == 1514
    d.arrive(0, [fr] * 5)  # a burst of 5 into a 3-frame queue
    assert d.stats["queue_drops"] == 2
    due = [t for t, _ in d.line]
    assert due == [1514_000 * (i + 1) + 1_000_000 for i in range(3)]
    d.release(due[1])
    assert len(sink.sent) == 2 and sink.sent[0][10:] == fr


def test_random_loss_is_seeded_and_spares_pure_acks() -> None:
    class Sink:
        def send(self, b: bytes) -> int:
            return len(b)

    def drops(seed: int, model: str = "bernoulli") -> tuple[int, int]:
        cfg = {"rate_bps": 1e12, "delay_us": 0, "queue_bytes": 1 << 30, "loss": 0.05,
               "loss_model": model}
        d = link.Direction("t", cfg, Sink(), seed)
        for i in range(4000):
            d.arrive(i * 1000, [_tcp_frame(b"\0" * 100), _tcp_frame(b"")])
        return d.stats["random_drops"], d.stats["data_frames_in"]

    a, n = drops(3)
    assert drops(3) == (a, n)
    assert n == 4000  # pure ACKs are not data frames, so never randomly lost
    assert 150 < a < 250
    # stratified: exactly one loss in every 20 data segments, at seeded positions
    assert drops(3, "stratified") == (200, 4000)
    assert drops(3, "stratified") == drops(3, "stratified")


def test_scenario_table_covers_every_kind() -> None:
    kinds = {r["kind"] for r in SCENARIOS.values()}
    assert set(KINDS) <= kinds
    bulk = [r for r in SCENARIOS.values() if r["kind"] == "bulk"]
    assert all(5 <= r["rtt_ms"] <= 200 and 2 <= r["rate_mbit"] <= 50 for r in bulk)
    assert all(0.25 <= r["queue_bdp"] <= 4 and 0 <= r["loss"] <= 0.02 for r in bulk)


def test_cli_refuses_without_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture) -> None:
    import lab.__main__ as cli

    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "bulk-quick", "--out", str(tmp_path)])
    assert exc.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "root" in err[0]
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------- end to end
def _read(path: Path) -> list[tuple[float, int, dpkt.tcp.TCP, str, int]]:
    out = []
    with open(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            eth = dpkt.ethernet.Ethernet(buf)
            ip = eth.data
            if not isinstance(ip, dpkt.ip.IP) or not isinstance(ip.data, dpkt.tcp.TCP):
                continue
            tcp = ip.data
            src = f"{'.'.join(map(str, ip.src))}:{tcp.sport}"
            out.append((ts, ip.len + 14, tcp, src, ip.len - ip.hl * 4 - tcp.off * 4))
    return out


@pytest.mark.slow
@pytest.mark.lab
def test_short_bulk_run_matches_scenario(tmp_path: Path) -> None:
    why = _lab_unavailable()
    if why:
        pytest.skip(why)
    from lab.runner import run_scenario

    row = SCENARIOS["bulk-quick"]  # cubic upload, 20 ms, 10 Mbit/s, 1 BDP, 3 s
    run = run_scenario(row, tmp_path)
    cli = _read(Path(run["captures"]["client"]))
    srv = _read(Path(run["captures"]["server"]))
    sender = run["client"]["conns"][0]["local"]
    assert run["client"]["conns"][0]["cca"] == "cubic"

    # handshake RTT at the client: SYN -> SYN/ACK; propagation plus two 74-byte frames
    syn = next(ts for ts, _, t, s, _ in cli if t.flags & 0x12 == 0x02)
    synack = next(ts for ts, _, t, s, _ in cli if t.flags & 0x12 == 0x12)
    want_rtt = row["rtt_ms"] / 1000 + 2 * 74 * 8 / (row["rate_mbit"] * 1e6)
    assert abs((synack - syn) / want_rtt - 1) < 0.10, synack - syn

    # bottleneck rate at the receiver: data frame bytes over the busy period
    data = [(ts, wl) for ts, wl, _, s, n in srv if s == sender and n > 0]
    assert len(data) > 500
    t0, t1 = data[len(data) // 10][0], data[-1][0]
    sent_bits = sum(wl for ts, wl in data if t0 < ts <= t1) * 8
    rate = sent_bits / (t1 - t0) / 1e6
    assert abs(rate / row["rate_mbit"] - 1) < 0.10, rate

    # loss: what the link dropped is exactly what the receiver side misses
    sent = sum(1 for _, _, _, s, n in cli if s == sender and n > 0)
    ldir = run["link"]["a_to_b"]
    drops = ldir["random_drops"] + ldir["queue_drops"]
    assert ldir["random_drops"] == 0  # the scenario has no random loss
    assert sent - len(data) == drops
    assert run["capture_stats"]["client"]["dropped_by_kernel"] == 0
