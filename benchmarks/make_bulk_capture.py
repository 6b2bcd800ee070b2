"""Record a large real bulk capture: many parallel TCP connections through a lossy bottleneck.

Three network namespaces, sender -- router -- receiver, joined by veth pairs
(198.18.1.1 -> 198.18.2.1, inside the benchmarking range 198.18.0.0/15).  The
router's egress towards the receiver is a token-bucket bottleneck (`tc tbf`) with a
small queue, so the senders' Linux stacks overflow it and repair the losses themselves:
the capture holds real retransmissions, dup-ACKs and SACK blocks.  Offloads are off on
every veth (no TSO/GSO/GRO), so every frame is at most MTU-sized, as on a real wire.
tcpdump records at the receiver (`-s 128`: Ethernet + IPv4 + the largest TCP header
fit); the traffic is `lab.traffic` (one sink server, N bulk senders).
Needs root, iproute2, ethtool, tcpdump.

    python benchmarks/make_bulk_capture.py --out benchmarks/out/bulk-1m.pcap
    python benchmarks/make_bulk_capture.py --out /tmp/b.pcap --seconds 5 --rate 200mbit

The defaults gave 1.0M packets (18 cubic connections, 31.5k bottleneck drops, so as
many retransmissions) on a loaded 2-core VM; the packet count scales with --seconds
and --rate, the loss rate falls with --queue-bytes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from lab.netns import delete_namespaces  # noqa: E402 - the repository root is on the path now

SENDER_IP = "198.18.1.1"
ROUTER_SND_IP = "198.18.1.254"
RECEIVER_IP = "198.18.2.1"
ROUTER_RCV_IP = "198.18.2.254"
PORT = 5201
IFACE = "eth0"


def _sh(*args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=check, capture_output=True, text=True, **kw)


def _ns(ns: str, *args: str, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return _sh("ip", "netns", "exec", ns, *args, check=check, **kw)


class Topology:
    """sender -- router -- receiver namespaces joined by veth pairs; removed on exit.

    The bottleneck is on the router, not on the sender: a frame dropped by the
    sender's own qdisc never reaches the wire (TCP just sends it later), so it would
    not show as a retransmission in any capture.
    """

    def __init__(self, rate: str, queue_bytes: int, burst_bytes: int) -> None:
        base = f"tf-bench-{os.getpid()}"
        self.snd, self.rtr, self.rcv = f"{base}-snd", f"{base}-rtr", f"{base}-rcv"
        self.rate, self.queue_bytes, self.burst_bytes = rate, queue_bytes, burst_bytes
        self._made: list[str] = []

    def __enter__(self) -> Topology:
        try:
            self._build()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.destroy()

    def destroy(self) -> None:
        delete_namespaces(reversed(self._made))
        self._made.clear()

    def _build(self) -> None:
        for ns in (self.snd, self.rtr, self.rcv):
            _sh("ip", "netns", "add", ns)
            self._made.append(ns)
            _ns(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                "net.ipv6.conf.default.disable_ipv6=1", "net.ipv4.tcp_no_metrics_save=1")
            _ns(ns, "ip", "link", "set", "lo", "up")
        _ns(self.rtr, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        links = ((self.snd, SENDER_IP, "rs", ROUTER_SND_IP, RECEIVER_IP),
                 (self.rcv, RECEIVER_IP, "rr", ROUTER_RCV_IP, SENDER_IP))
        for ns, ip, rif, rip, far in links:
            _sh("ip", "link", "add", IFACE, "netns", ns, "type", "veth",
                "peer", "name", rif, "netns", self.rtr)
            for n, ifname, addr in ((ns, IFACE, ip), (self.rtr, rif, rip)):
                _ns(n, "ip", "addr", "add", f"{addr}/24", "dev", ifname)
                _ns(n, "ip", "link", "set", ifname, "up")
                # MTU-sized segments on the wire: no segmentation or receive offloads
                _ns(n, "ethtool", "-K", ifname, "tx", "off", "tso", "off", "gso", "off",
                    "gro", "off", check=False)
            _ns(ns, "ip", "route", "add", f"{far}/32", "via", rip)
            # static neighbours, so no ARP in the capture
            _neighbour(ns, IFACE, rip, self.rtr, rif)
            _neighbour(self.rtr, rif, ip, ns, IFACE)
        # The bottleneck: a token bucket towards the receiver whose queue holds a few
        # frames, so the senders overflow it and repair the losses.
        _ns(self.rtr, "tc", "qdisc", "replace", "dev", "rr", "root", "tbf", "rate", self.rate,
            "burst", str(self.burst_bytes), "limit", str(self.queue_bytes))

    def qdisc_stats(self) -> str:
        return " ".join(_ns(self.rtr, "tc", "-s", "qdisc", "show", "dev", "rr").stdout.split())


def _neighbour(ns: str, ifname: str, ip: str, peer_ns: str, peer_if: str) -> None:
    mac = _ns(peer_ns, "cat", f"/sys/class/net/{peer_if}/address").stdout.strip()
    _ns(ns, "ip", "neigh", "replace", ip, "lladdr", mac, "dev", ifname, "nud", "permanent")


def _popen_ns(ns: str, args: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(["ip", "netns", "exec", ns, *args], **kw)


def _wait_line(proc: subprocess.Popen, want: str, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        line = proc.stdout.readline()
        if want in line:
            return
        if not line and proc.poll() is not None:
            break
    raise RuntimeError(f"did not see {want!r} from {proc.args}")


def record(out: str, connections: int, seconds: float, rate: str, queue_bytes: int,
           burst_bytes: int, snaplen: int, cca: str) -> dict:
    """Run the traffic and the capture; returns tcpdump's and the senders' counts."""
    env = dict(os.environ, PYTHONPATH=str(HERE.parent))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    with Topology(rate, queue_bytes, burst_bytes) as pair:
        err_path = Path(out + ".tcpdump.txt")
        with open(err_path, "w") as err:
            dump = _popen_ns(pair.rcv, ["tcpdump", "-i", IFACE, "-n", "-s", str(snaplen),
                                        "-B", "262144", "-w", out, "tcp"],
                             stdout=subprocess.DEVNULL, stderr=err)
        server = _popen_ns(pair.rcv, [sys.executable, "-m", "lab.traffic", "server", json.dumps(
            {"mode": "sink", "port": PORT, "log_conns": False})],
            stdout=subprocess.PIPE, text=True, env=env)
        try:
            _wait_line(server, "READY", 10)
            end = time.monotonic() + 10
            while "listening on" not in err_path.read_text() and time.monotonic() < end:
                time.sleep(0.05)
            flow = {"pattern": {"kind": "bulk", "duration": seconds}, "opts": {"cca": cca}}
            client = _ns(pair.snd, sys.executable, "-m", "lab.traffic", "client", json.dumps(
                {"mode": "competing", "server_ip": RECEIVER_IP, "port": PORT,
                 "flows": [flow] * connections}), env=env)
            time.sleep(1.0)  # the closing FIN/ACKs
            stats = pair.qdisc_stats()
            snmp = _ns(pair.snd, "cat", "/proc/net/snmp").stdout.splitlines()
        finally:
            dump.send_signal(signal.SIGINT)
            dump.wait(30)
            server.terminate()
            server.wait(10)
    conns = json.loads(client.stdout.strip().splitlines()[-1])["conns"]
    return {"connections": len(conns), "bytes_sent": sum(c["bytes_out"] for c in conns),
            "tcpdump": err_path.read_text().strip().splitlines()[-3:],
            "bottleneck_qdisc": stats, "sender_retrans_segs": _tcp_counter(snmp, "RetransSegs")}


def _tcp_counter(snmp: list[str], name: str) -> int:
    """One counter of the `Tcp:` rows of /proc/net/snmp (a header row, then values)."""
    rows = [line.split()[1:] for line in snmp if line.startswith("Tcp:")]
    return int(dict(zip(rows[0], rows[1], strict=True))[name])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(HERE / "out" / "bulk-1m.pcap"))
    parser.add_argument("--connections", type=int, default=18)
    parser.add_argument("--seconds", type=float, default=25.0, help="each sender's duration")
    parser.add_argument("--rate", default="400mbit", help="bottleneck rate (tc syntax)")
    parser.add_argument("--queue-bytes", type=int, default=200000,
                        help="bottleneck queue (tbf limit); small means losses")
    parser.add_argument("--burst-bytes", type=int, default=15140, help="tbf bucket size")
    parser.add_argument("--snaplen", type=int, default=128)
    parser.add_argument("--cca", default="cubic")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("needs root (network namespaces, tc, tcpdump)", file=sys.stderr)
        return 2
    info = record(args.out, args.connections, args.seconds, args.rate, args.queue_bytes,
                  args.burst_bytes, args.snaplen, args.cca)
    info["out"] = args.out
    info["size_mb"] = round(os.path.getsize(args.out) / 1e6, 1)
    print(json.dumps(info, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
