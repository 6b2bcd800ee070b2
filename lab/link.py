"""Userspace bottleneck link: bridges two router interfaces at layer 2.

Runs inside the router namespace.  Frames read from one interface (AF_PACKET) go
through, per direction:

  random loss (seeded; only TCP segments that carry payload, so handshakes and pure
  ACKs are never randomly lost) -> drop-tail queue of `queue_bytes` -> serialization
  at `rate_bps` (counted on the Ethernet frame, 14-byte header included, no
  preamble/FCS) -> one-way propagation delay `delay_us` -> written to the other
  interface.

The model is computed, not timed by sleeping per packet: each frame gets
tx_end = max(arrival, previous tx_end) + len*8/rate and is released at
tx_end + delay by a timerfd on CLOCK_MONOTONIC, so release jitter does not
accumulate.  The queue backlog is the not-yet-serialized bytes,
(tx_free_at - now) * rate / 8.

GSO super-frames (an end with offloads on) arrive with a virtio_net_hdr
(PACKET_VNET_HDR); they are cut to gso_size and checksummed here, as a NIC would.

Usage (normally started by lab.runner):
  python -m lab.link CONFIG.json STATS.json
Stops on SIGTERM/SIGINT and writes counters to STATS.json.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import random
import select
import signal
import socket
import struct
import sys
import time
from collections import deque

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_VNET_HDR = 15
PACKET_QDISC_BYPASS = 20
PACKET_IGNORE_OUTGOING = 23
PACKET_OUTGOING = 4
SO_SNDBUFFORCE = 32
SO_RCVBUFFORCE = 33
SO_TIMESTAMPNS = 35  # also SCM_TIMESTAMPNS
VNET_HDR_LEN = 10
VIRTIO_NET_HDR_F_NEEDS_CSUM = 1
VIRTIO_NET_HDR_GSO_TCPV4 = 1
CLOCK_MONOTONIC = 1
TFD_NONBLOCK = 0o4000
TFD_CLOEXEC = 0o2000000
TFD_TIMER_ABSTIME = 1
NO_VNET = b"\0" * VNET_HDR_LEN
LATENCY_COMP_US = 60.0
MAX_EARLY_NS = 500_000


class _Timespec(ctypes.Structure):
    _fields_ = [("tv_sec", ctypes.c_long), ("tv_nsec", ctypes.c_long)]


class _Itimerspec(ctypes.Structure):
    _fields_ = [("it_interval", _Timespec), ("it_value", _Timespec)]


class TimerFd:
    """Absolute-deadline CLOCK_MONOTONIC timer as a pollable fd (ns precision)."""

    def __init__(self) -> None:
        self._libc = ctypes.CDLL(None, use_errno=True)
        fd = self._libc.timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "timerfd_create")
        self.fd = fd
        self._spec = _Itimerspec()
        self.armed_ns = 0

    def arm(self, deadline_ns: int) -> None:
        if deadline_ns == self.armed_ns:
            return
        self.armed_ns = deadline_ns
        # 0 would disarm; deadlines are always > 0 on CLOCK_MONOTONIC anyway
        self._spec.it_value.tv_sec = deadline_ns // 1_000_000_000
        self._spec.it_value.tv_nsec = deadline_ns % 1_000_000_000
        self._libc.timerfd_settime(self.fd, TFD_TIMER_ABSTIME, ctypes.byref(self._spec), None)

    def disarm(self) -> None:
        if self.armed_ns == 0:
            return
        self.armed_ns = 0
        self._spec.it_value.tv_sec = 0
        self._spec.it_value.tv_nsec = 0
        self._libc.timerfd_settime(self.fd, 0, ctypes.byref(self._spec), None)

    def drain(self) -> None:
        with contextlib.suppress(BlockingIOError):
            os.read(self.fd, 8)


def inet_csum(data: bytes) -> int:
    """Internet checksum (RFC 1071) via big-int arithmetic: sum of words mod 0xffff."""
    if len(data) & 1:
        data += b"\0"
    s = int.from_bytes(data, "big") % 0xFFFF
    return (~s) & 0xFFFF


def _ip_header_csum(ip: bytearray, ihl: int) -> None:
    ip[10:12] = b"\0\0"
    ip[10:12] = struct.pack("!H", inet_csum(bytes(ip[:ihl])))


def _tcp_csum(ip: bytes, ihl: int, tcp: bytes) -> int:
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
    return inet_csum(pseudo + tcp)


def fix_frame(vnet: bytes, frame: bytes) -> tuple[list[bytes], int]:
    """Turn a frame as the kernel handed it (maybe GSO, maybe partial checksum) into
    wire frames.  Returns (frames, gso_flag)."""
    flags, gso_type, _hdr_len, gso_size, csum_start, csum_off = struct.unpack("<BBHHHH", vnet)
    is_ipv4_tcp = len(frame) >= 54 and frame[12:14] == b"\x08\x00" and frame[23] == 6
    if gso_type & 0x7F == VIRTIO_NET_HDR_GSO_TCPV4 and is_ipv4_tcp and gso_size:
        return _segment_tcp(frame, gso_size), 1
    if flags & VIRTIO_NET_HDR_F_NEEDS_CSUM:
        # checksum field already holds the pseudo-header sum; fold from csum_start
        b = bytearray(frame)
        pos = csum_start + csum_off
        b[pos:pos + 2] = struct.pack("!H", inet_csum(bytes(b[csum_start:])))
        return [bytes(b)], 0
    return [frame], 0


def _segment_tcp(frame: bytes, mss: int) -> list[bytes]:
    eth = frame[:14]
    ihl = (frame[14] & 0x0F) * 4
    ip = bytearray(frame[14:14 + ihl])
    tcp_off = 14 + ihl
    thl = (frame[tcp_off + 12] >> 4) * 4
    tcp_hdr = bytearray(frame[tcp_off:tcp_off + thl])
    total_len = struct.unpack("!H", frame[16:18])[0]
    payload = frame[tcp_off + thl:14 + total_len]
    seq0 = struct.unpack("!I", tcp_hdr[4:8])[0]
    ip_id0 = struct.unpack("!H", ip[4:6])[0]
    flags0 = tcp_hdr[13]
    out = []
    n = max(1, (len(payload) + mss - 1) // mss)
    for i in range(n):
        chunk = payload[i * mss:(i + 1) * mss]
        h = bytearray(tcp_hdr)
        h[4:8] = struct.pack("!I", (seq0 + i * mss) & 0xFFFFFFFF)
        fl = flags0
        if i != n - 1:
            fl &= ~0x09  # FIN and PSH only on the last piece
        if i != 0:
            fl &= ~0x80  # CWR only on the first
        h[13] = fl
        h[16:18] = b"\0\0"
        iph = bytearray(ip)
        iph[2:4] = struct.pack("!H", ihl + thl + len(chunk))
        iph[4:6] = struct.pack("!H", (ip_id0 + i) & 0xFFFF)
        _ip_header_csum(iph, ihl)
        seg = bytes(h) + chunk
        h[16:18] = struct.pack("!H", _tcp_csum(bytes(iph), ihl, seg))
        out.append(eth + bytes(iph) + bytes(h) + chunk)
    return out


class Direction:
    """One direction of the link: loss, drop-tail queue, serialization, delay."""

    __slots__ = ("name", "rate_bps", "delay_ns", "queue_bytes", "loss", "rng", "tx",
                 "loss_model", "block", "block_pos", "block_drop", "outages", "t_first",
                 "line", "tx_free_ns", "stats", "ns_per_byte", "late_sum", "late_max",
                 "late_hist")

    def __init__(self, name: str, cfg: dict, tx: socket.socket, seed: int) -> None:
        self.name = name
        self.rate_bps = float(cfg["rate_bps"])
        # the link's own processing (wake-up, recv, send) takes ~0.1-0.2 ms per frame;
        # it is taken out of the configured delay so the path RTT matches the scenario
        comp = float(cfg.get("latency_comp_us", LATENCY_COMP_US))
        self.delay_ns = int(max(0.0, cfg["delay_us"] - comp) * 1000)
        self.queue_bytes = int(cfg["queue_bytes"])
        self.loss = float(cfg.get("loss", 0.0))
        self.rng = random.Random(seed)
        # "stratified": one loss at a random position in every run of round(1/loss) data
        # segments, so the realised rate equals the configured one even in short runs;
        # "bernoulli": an independent draw per segment
        self.loss_model = cfg.get("loss_model", "stratified")
        self.block = max(1, round(1 / self.loss)) if self.loss > 0 else 0
        self.block_pos = 0
        self.block_drop = self.rng.randrange(self.block) if self.block else -1
        # outages: [(at_s, for_s)] after the first data frame: every frame is dropped
        self.outages = [(int(a * 1e9), int((a + d) * 1e9)) for a, d in cfg.get("outages", [])]
        self.t_first = -1
        self.tx = tx
        self.line: deque = deque()
        self.tx_free_ns = 0
        self.ns_per_byte = 8e9 / self.rate_bps
        self.late_sum = 0
        self.late_max = 0
        self.late_hist = [0] * 8  # <50us, <100, <250, <500, <1ms, <2ms, <5ms, >=5ms
        self.stats = {"frames_in": 0, "bytes_in": 0, "data_frames_in": 0, "random_drops": 0,
                      "queue_drops": 0, "frames_out": 0, "bytes_out": 0, "gso_frames": 0,
                      "gso_pieces": 0, "max_backlog_bytes": 0, "csum_fixed": 0,
                      "outage_drops": 0}

    def arrive(self, now: int, frames: list[bytes]) -> None:
        st = self.stats
        for fr in frames:
            ln = len(fr)
            st["frames_in"] += 1
            st["bytes_in"] += ln
            has_data = False
            if ln > 54 and fr[12:14] == b"\x08\x00" and fr[23] == 6:
                ihl = (fr[14] & 0x0F) * 4
                total = (fr[16] << 8) | fr[17]
                thl = (fr[14 + ihl + 12] >> 4) * 4
                has_data = total > ihl + thl
            if self.outages:
                if has_data and self.t_first < 0:
                    self.t_first = now
                if self.t_first >= 0 and any(a <= now - self.t_first < b
                                             for a, b in self.outages):
                    st["outage_drops"] += 1
                    st["data_frames_in"] += has_data
                    continue
            if has_data:
                st["data_frames_in"] += 1
                if self.loss > 0.0 and self._lose():
                    st["random_drops"] += 1
                    continue
            start = self.tx_free_ns if self.tx_free_ns > now else now
            backlog = int((start - now) / self.ns_per_byte)
            if backlog + ln > self.queue_bytes:
                st["queue_drops"] += 1
                continue
            if backlog + ln > st["max_backlog_bytes"]:
                st["max_backlog_bytes"] = backlog + ln
            tx_end = start + int(ln * self.ns_per_byte)
            self.tx_free_ns = tx_end
            self.line.append((tx_end + self.delay_ns, fr))

    def _lose(self) -> bool:
        if self.loss_model == "bernoulli":
            return self.rng.random() < self.loss
        hit = self.block_pos == self.block_drop
        self.block_pos += 1
        if self.block_pos == self.block:
            self.block_pos = 0
            self.block_drop = self.rng.randrange(self.block)
        return hit

    def release(self, now: int) -> None:
        line = self.line
        st = self.stats
        while line and line[0][0] <= now:
            due, fr = line.popleft()
            try:
                self.tx.send(NO_VNET + fr)
            except OSError:
                # a full device queue is a drop on the wire; the ends see it as loss
                st["tx_errors"] = st.get("tx_errors", 0) + 1
                continue
            st["frames_out"] += 1
            st["bytes_out"] += len(fr)
            late = now - due
            self.late_sum += late
            if late > self.late_max:
                self.late_max = late
            us = late // 1000
            idx = (0 if us < 50 else 1 if us < 100 else 2 if us < 250 else 3 if us < 500
                   else 4 if us < 1000 else 5 if us < 2000 else 6 if us < 5000 else 7)
            self.late_hist[idx] += 1

    def report(self) -> dict:
        d = dict(self.stats)
        d["rate_bps"] = self.rate_bps
        d["delay_us_effective"] = self.delay_ns / 1000
        d["queue_bytes"] = self.queue_bytes
        d["loss"] = self.loss
        d["loss_model"] = self.loss_model
        n = d["frames_out"] or 1
        d["release_late_mean_us"] = round(self.late_sum / n / 1000, 1)
        d["release_late_max_us"] = round(self.late_max / 1000, 1)
        d["release_late_hist"] = dict(zip(
            ["<50us", "<100us", "<250us", "<500us", "<1ms", "<2ms", "<5ms", ">=5ms"],
            self.late_hist, strict=True))
        return d


def _open(ifname: str, rx: bool) -> socket.socket:
    if rx:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
        s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        with contextlib.suppress(OSError):  # kernels before 4.20; pkttype check remains
            s.setsockopt(SOL_PACKET, PACKET_IGNORE_OUTGOING, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_RCVBUFFORCE, 16 << 20)
        s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        s.bind((ifname, ETH_P_ALL))
    else:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
        s.setsockopt(SOL_PACKET, PACKET_VNET_HDR, 1)
        with contextlib.suppress(OSError):
            s.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
        s.setsockopt(socket.SOL_SOCKET, SO_SNDBUFFORCE, 16 << 20)
        s.bind((ifname, 0))
    s.setblocking(False)
    return s


def run(cfg: dict, stats_path: str) -> None:
    a, b = cfg["if_a"], cfg["if_b"]
    seed = int(cfg.get("seed", 1))
    rx_a, rx_b = _open(a, True), _open(b, True)
    tx_a, tx_b = _open(a, False), _open(b, False)
    ab = Direction("a_to_b", cfg["a_to_b"], tx_b, seed * 2 + 1)
    ba = Direction("b_to_a", cfg["b_to_a"], tx_a, seed * 2 + 2)
    timer = TimerFd()
    ep = select.epoll()
    ep.register(rx_a.fileno(), select.EPOLLIN)
    ep.register(rx_b.fileno(), select.EPOLLIN)
    ep.register(timer.fd, select.EPOLLIN)
    routes = {rx_a.fileno(): (rx_a, ab), rx_b.fileno(): (rx_b, ba)}
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    signal.signal(signal.SIGINT, lambda *_: stop.append(1))
    mono = time.monotonic_ns
    bufsize = 65536 + VNET_HDR_LEN + 64
    if cfg.get("ready_file"):
        with open(cfg["ready_file"], "w") as f:
            f.write(str(os.getpid()))
    t0 = mono()
    rt_off = time.time_ns() - mono()  # CLOCK_REALTIME stamps -> CLOCK_MONOTONIC
    loops = 0
    # Timer wake-ups from idle are late by 0.1-0.4 ms on a VM; the timer is armed that
    # much early (learned) and the rest is spun, so releases land on time.
    wake_lat = 100_000
    early = 0
    armed_at = 0
    while not stop:
        try:
            events = ep.poll(1.0)
        except InterruptedError:
            continue
        loops += 1
        for fd, _ev in events:
            if fd == timer.fd:
                timer.drain()
                woke = mono()
                sample = woke - max(timer.armed_ns, armed_at)
                # EWMA of the wake-up latency (1/8 gain), capped
                wake_lat += (min(sample, MAX_EARLY_NS) - wake_lat) >> 3
                # we armed early by the expected latency: spin out the remainder
                target = timer.armed_ns + early
                if target - woke < MAX_EARLY_NS:
                    while mono() < target:
                        pass
                continue
            sock, direction = routes[fd]
            while True:
                try:
                    data, anc, _fl, addr = sock.recvmsg(bufsize, 64)
                except BlockingIOError:
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue
                # kernel receive time, so our own wake-up latency is not added to the path
                if anc and anc[0][1] == SO_TIMESTAMPNS:
                    sec, nsec = struct.unpack("qq", anc[0][2][:16])
                    now = sec * 1_000_000_000 + nsec - rt_off
                else:
                    now = mono()
                vnet, frame = data[:VNET_HDR_LEN], data[VNET_HDR_LEN:]
                if vnet == NO_VNET:
                    direction.arrive(now, [frame])
                else:
                    frames, gso = fix_frame(vnet, frame)
                    st = direction.stats
                    st["gso_frames"] += gso
                    st["gso_pieces"] += len(frames) if gso else 0
                    st["csum_fixed"] += 0 if gso else 1
                    direction.arrive(now, frames)
        now = mono()
        ab.release(now)
        ba.release(now)
        nxt = min(d.line[0][0] for d in (ab, ba) if d.line) if (ab.line or ba.line) else 0
        if nxt:
            early = wake_lat
            if nxt - early != timer.armed_ns:
                armed_at = mono()
                timer.arm(nxt - early)
        else:
            timer.disarm()
    out = {"if_a": a, "if_b": b, "seed": seed, "elapsed_s": round((mono() - t0) / 1e9, 3),
           "loops": loops, "a_to_b": ab.report(), "b_to_a": ba.report()}
    tmp = stats_path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(out, f, indent=1)
    os.replace(tmp, stats_path)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m lab.link CONFIG.json STATS.json", file=sys.stderr)
        return 2
    with open(argv[0]) as f:
        cfg = json.load(f)
    run(cfg, argv[1])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
