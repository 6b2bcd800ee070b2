"""Three-namespace topology: client -- router -- server, joined by veth pairs.

client ns: interface `eth0`, 198.18.0.1/24, MAC 02:00:00:00:00:01
router ns: interfaces `rc` (towards client) and `rs` (towards server), no addresses;
           lab.link bridges them at layer 2
server ns: interface `eth0`, 198.18.0.2/24, MAC 02:00:00:00:00:02

198.18.0.3 (BLACKHOLE_IP) has a static neighbour entry in the client namespace
pointing at a MAC nobody owns: SYNs to it cross the link and vanish.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from itertools import count

CLIENT_IP = "198.18.0.1"
SERVER_IP = "198.18.0.2"
BLACKHOLE_IP = "198.18.0.3"
CLIENT_MAC = "02:00:00:00:00:01"
SERVER_MAC = "02:00:00:00:00:02"
BLACKHOLE_MAC = "02:00:00:00:00:99"
END_IF = "eth0"
ROUTER_CLIENT_IF = "rc"
ROUTER_SERVER_IF = "rs"

_serial = count()


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=check, capture_output=True, text=True)


def ns_sh(ns: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return sh("ip", "netns", "exec", ns, *args, check=check)


def delete_namespaces(names) -> None:  # noqa: ANN001 - any iterable of names
    """Delete network namespaces, killing what still runs inside so none is kept alive."""
    for ns in names:
        for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
            with contextlib.suppress(ProcessLookupError, ValueError):
                os.kill(int(pid), 9)
        sh("ip", "netns", "del", ns, check=False)


def preflight() -> str | None:
    """None when the lab can run here, else a one-line reason."""
    if os.geteuid() != 0:
        return "the lab needs root (network namespaces, AF_PACKET, tcpdump)"
    for tool in ("ip", "tcpdump", "ethtool"):
        if shutil.which(tool) is None:
            return f"the lab needs `{tool}` on PATH"
    name = f"tf-{os.getpid()}-probe"
    try:
        sh("ip", "netns", "add", name)
    except (subprocess.CalledProcessError, OSError) as e:
        msg = getattr(e, "stderr", "") or str(e)
        return f"cannot create network namespaces: {msg.strip()}"
    sh("ip", "netns", "del", name, check=False)
    return None


@dataclass
class Topology:
    """Creates the namespaces on enter, removes them on exit (also on failure)."""

    offload_client: bool = False
    offload_server: bool = False
    sysctl_client: dict = field(default_factory=dict)
    sysctl_server: dict = field(default_factory=dict)
    tag: str = ""

    def __post_init__(self) -> None:
        base = self.tag or f"tf-{os.getpid()}-{next(_serial)}"
        self.cli = f"{base}-cli"
        self.rtr = f"{base}-rtr"
        self.srv = f"{base}-srv"
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
        for ns in (self.cli, self.rtr, self.srv):
            sh("ip", "netns", "add", ns)
            self._made.append(ns)
            # no IPv6 chatter (router solicitations, MLD) in the captures
            ns_sh(ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                  "net.ipv6.conf.default.disable_ipv6=1")
            ns_sh(ns, "ip", "link", "set", "lo", "up")
        sh("ip", "link", "add", END_IF, "netns", self.cli, "address", CLIENT_MAC, "type", "veth",
           "peer", "name", ROUTER_CLIENT_IF, "netns", self.rtr)
        sh("ip", "link", "add", END_IF, "netns", self.srv, "address", SERVER_MAC, "type", "veth",
           "peer", "name", ROUTER_SERVER_IF, "netns", self.rtr)
        for ns, ip in ((self.cli, CLIENT_IP), (self.srv, SERVER_IP)):
            ns_sh(ns, "ip", "addr", "add", f"{ip}/24", "dev", END_IF)
            ns_sh(ns, "ip", "link", "set", END_IF, "up")
        for ifname in (ROUTER_CLIENT_IF, ROUTER_SERVER_IF):
            ns_sh(self.rtr, "ip", "link", "set", ifname, "promisc", "on", "up")
            _offloads(self.rtr, ifname, on=False)
        _offloads(self.cli, END_IF, on=self.offload_client)
        _offloads(self.srv, END_IF, on=self.offload_server)
        ns_sh(self.cli, "ip", "neigh", "replace", BLACKHOLE_IP, "lladdr", BLACKHOLE_MAC,
              "dev", END_IF, "nud", "permanent")
        # static neighbours: no ARP exchange in the middle of a capture
        ns_sh(self.cli, "ip", "neigh", "replace", SERVER_IP, "lladdr", SERVER_MAC,
              "dev", END_IF, "nud", "permanent")
        ns_sh(self.srv, "ip", "neigh", "replace", CLIENT_IP, "lladdr", CLIENT_MAC,
              "dev", END_IF, "nud", "permanent")
        base = {
            "net.ipv4.tcp_no_metrics_save": 1,
            # room for 4 BDP at 50 Mbit/s x 200 ms, so bulk runs are not window limited
            "net.ipv4.tcp_rmem": "4096 131072 33554432",
            "net.ipv4.tcp_wmem": "4096 16384 33554432",
        }
        for ns, extra in ((self.cli, self.sysctl_client), (self.srv, self.sysctl_server)):
            settings = {**base, **extra}
            args = [f"{k}={v}" for k, v in settings.items()]
            ns_sh(ns, "sysctl", "-qw", *args)


def _offloads(ns: str, ifname: str, on: bool) -> None:
    state = "on" if on else "off"
    ns_sh(ns, "ethtool", "-K", ifname, "tx", state, "tso", state, "gso", state, "gro", state,
          check=False)
