"""Run one scenario row: namespaces, bottleneck link, two captures, traffic, labels."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lab import netns
from lab.netns import BLACKHOLE_IP, CLIENT_IP, END_IF, SERVER_IP

REPO = Path(__file__).resolve().parents[1]
SNAPLEN = 96
PORT = 5201
CLOSED_PORT = 9
MIN_QUEUE = 4 * 1514
BULK_KINDS = {"bulk", "wscale_off", "sack_off", "timestamps_off", "tso", "app_limited",
              "ss_restart", "midstream", "rwnd_limited", "outage"}


class LabError(RuntimeError):
    pass


def link_params(row: dict) -> dict:
    """Derived link numbers: BDP and the queue in bytes."""
    rate_bps = row["rate_mbit"] * 1e6
    bdp = rate_bps * row["rtt_ms"] / 1000 / 8
    qbytes = max(MIN_QUEUE, int(row["queue_bdp"] * bdp))
    return {"bdp_bytes": int(bdp), "queue_bytes": qbytes}


def _direction(row: dict) -> str:
    return row.get("direction", "upload")


def _plan(row: dict) -> tuple[dict | None, dict, float]:
    """(server cfg or None, client cfg, expected client seconds) for a row."""
    kind = row["kind"]
    cca = row.get("cca")
    srv: dict | None = {"port": PORT, "ip": SERVER_IP}
    cli: dict = {"server_ip": SERVER_IP, "port": PORT}
    dur = float(row.get("duration_s", 0))
    if kind in BULK_KINDS:
        pattern = row.get("pattern") or {"kind": "bulk"}
        pattern = {**pattern, "duration": dur} if "duration" not in pattern else pattern
        if pattern["kind"] == "restart":
            dur = sum(pattern["on_s"]) + pattern["idle_s"] * (len(pattern["on_s"]) - 1)
        # a receiver SO_RCVBUF (set before listen/connect) caps the advertised window
        ropts = {"rcvbuf": row["rcvbuf"]} if row.get("rcvbuf") else {}
        if _direction(row) == "upload":
            srv.update(mode="sink", opts=ropts)
            cli.update(mode="bulk_send", opts={"cca": cca}, pattern=pattern)
        else:
            srv.update(mode="source", opts={"cca": cca}, pattern=pattern)
            cli.update(mode="bulk_recv", opts=ropts)
    elif kind == "competing":
        srv.update(mode="sink")
        flows = [{"opts": {"cca": f["cca"]}, "start_s": f["start_s"],
                  "pattern": {"kind": "bulk", "duration": dur - f["start_s"]}}
                 for f in row["flows"]]
        cli.update(mode="competing", flows=flows)
    elif kind in ("nagle", "nodelay"):
        srv.update(mode="rr", req_bytes=sum(row["req_parts"]), resp_bytes=row["resp_bytes"])
        cli.update(mode="rr", opts={"nodelay": row["nodelay"]}, req_parts=row["req_parts"],
                   resp_bytes=row["resp_bytes"], transactions=row["transactions"])
        dur = row["transactions"] * 0.06
    elif kind == "slow_reader":
        srv.update(mode="sink", opts={"rcvbuf": row["rcvbuf"]},
                   slow={"chunk": row["read_chunk"], "interval_s": row["read_interval_s"],
                         "pauses": row["pauses"]})
        cli.update(mode="bulk_send", pattern={"kind": "bytes", "bytes": row["bytes"]})
        dur = row["bytes"] / row["read_chunk"] * row["read_interval_s"] + 5
    elif kind == "keepalive":
        srv.update(mode="sink")
        cli.update(mode="keepalive", opts={"keepalive": row["keepalive"]},
                   idle_s=row["idle_s"])
        dur = row["idle_s"]
    elif kind == "churn":
        srv.update(mode="rr", req_bytes=row["req_bytes"], resp_bytes=row["resp_bytes"],
                   log_conns=False)
        cli.update(mode="churn", conn_rate=row["conn_rate"], duration=dur,
                   threads=row["threads"], req_bytes=row["req_bytes"],
                   resp_bytes=row["resp_bytes"])
    elif kind == "pooled":
        srv.update(mode="rr", req_bytes=row["req_bytes"], resp_bytes=row["resp_bytes"])
        cli.update(mode="rr", opts={"nodelay": True}, req_parts=[row["req_bytes"]],
                   resp_bytes=row["resp_bytes"], transactions=row["transactions"])
        dur = row["transactions"] * row["rtt_ms"] / 1000 * 2
    elif kind == "rst_abort":
        srv.update(mode="sink")
        cli.update(mode="rst", bytes=row["bytes"], before_abort_s=0.5)
        dur = 1
    elif kind == "refused":
        srv = None
        cli.update(mode="refused", port=CLOSED_PORT, attempts=row["attempts"])
        dur = 2
    elif kind == "blackhole":
        srv = None
        cli.update(mode="blackhole", server_ip=BLACKHOLE_IP, port=80,
                   opts={"syncnt": row["syncnt"]})
        dur = 2 ** (row["syncnt"] + 1)
    else:
        raise LabError(f"unknown scenario kind {kind}")
    return srv, cli, dur


def _py(ns: str, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, *args], env=env,
                            cwd=str(REPO), **kw)


def _wait_for(pred, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.02)
    raise LabError(f"timed out waiting for {what}")


class _Capture:
    def __init__(self, ns: str, path: Path, tmp: Path) -> None:
        self.path = path
        self.err = tmp / (path.name + ".stderr")
        self._errf = open(self.err, "w")  # noqa: SIM115 - lives until stop()
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, "tcpdump", "-i", END_IF, "-n", "-s", str(SNAPLEN),
             "-B", "8192", "--immediate-mode", "-U", "-w", str(path)],
            stdout=subprocess.DEVNULL, stderr=self._errf)

    def wait_ready(self) -> None:
        _wait_for(lambda: "listening on" in self.err.read_text() or self.proc.poll() is not None,
                  10, "tcpdump to start")
        if self.proc.poll() is not None:
            raise LabError("tcpdump failed: " + self.err.read_text().strip())

    def stop(self) -> dict:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._errf.close()
        out = {"captured": None, "dropped_by_kernel": None}
        for line in self.err.read_text().splitlines():
            w = line.split()
            if "captured" in line and w:
                out["captured"] = int(w[0])
            if "dropped by kernel" in line and w:
                out["dropped_by_kernel"] = int(w[0])
        return out


def run_scenario(row: dict, out_dir: Path, tag: str = "") -> dict:
    """Run one row; returns a run record with the two capture paths and labels.

    Capture files: OUT/<name>.client.pcap and OUT/<name>.server.pcap.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kind = row["kind"]
    lp = link_params(row)
    srv_cfg, cli_cfg, expect_s = _plan(row)
    direction = _direction(row)
    data_from_client = not (kind in BULK_KINDS and direction == "download")
    half = row["rtt_ms"] * 500.0
    fwd = {"rate_bps": row["rate_mbit"] * 1e6, "delay_us": half,
           "queue_bytes": lp["queue_bytes"], "loss": row.get("loss", 0.0),
           "outages": row.get("outages", [])}
    rev = {**fwd, "loss": 0.0, "outages": []}
    sysctl = row.get("sysctl", {})
    offload_sender = bool(row.get("offload_sender"))
    topo = netns.Topology(
        offload_client=offload_sender and data_from_client,
        offload_server=offload_sender and not data_from_client,
        sysctl_client=sysctl, sysctl_server=sysctl, tag=tag)
    cap_paths = {"client": out_dir / f"{row['name']}.client.pcap",
                 "server": out_dir / f"{row['name']}.server.pcap"}
    for p in cap_paths.values():
        p.unlink(missing_ok=True)
    procs: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="tflab-") as td, topo, \
            contextlib.ExitStack() as logs:
        tmp = Path(td)
        link_cfg = {"if_a": netns.ROUTER_CLIENT_IF, "if_b": netns.ROUTER_SERVER_IF,
                    "seed": row.get("seed", 1), "ready_file": str(tmp / "link.ready"),
                    "a_to_b": fwd if data_from_client else rev,
                    "b_to_a": rev if data_from_client else fwd}
        (tmp / "link.json").write_text(json.dumps(link_cfg))
        stats_path = tmp / "link.stats.json"
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        link_cmd = ["ip", "netns", "exec", topo.rtr]
        if os.environ.get("TF_LAB_NO_RT") != "1":
            link_cmd += ["chrt", "-f", "50"]
        link_cmd += [sys.executable, "-m", "lab.link", str(tmp / "link.json"), str(stats_path)]
        link = subprocess.Popen(link_cmd, env=env, cwd=str(REPO),
                                stderr=logs.enter_context(open(tmp / "link.stderr", "w")))
        procs.append(link)
        caps: dict[str, _Capture] = {}
        try:
            _wait_for(lambda: (tmp / "link.ready").exists() or link.poll() is not None, 10,
                      "the link")
            if link.poll() is not None:
                raise LabError("link failed: " + (tmp / "link.stderr").read_text()[-500:])
            delay_cap = float(row.get("capture_delay_s", 0))

            def start_caps() -> None:
                caps["client"] = _Capture(topo.cli, cap_paths["client"], tmp)
                caps["server"] = _Capture(topo.srv, cap_paths["server"], tmp)
                caps["client"].wait_ready()
                caps["server"].wait_ready()

            if not delay_cap:
                start_caps()
            server = None
            if srv_cfg is not None:
                server = _py(topo.srv, "-m", "lab.traffic", "server", json.dumps(srv_cfg),
                             stdout=subprocess.PIPE,
                             stderr=logs.enter_context(open(tmp / "srv.stderr", "w")),
                             text=True)
                procs.append(server)
                line = server.stdout.readline()
                if "READY" not in line:
                    raise LabError("server failed: " + (tmp / "srv.stderr").read_text()[-500:])
            t_start = time.time()
            client = _py(topo.cli, "-m", "lab.traffic", "client", json.dumps(cli_cfg),
                         stdout=subprocess.PIPE,
                         stderr=logs.enter_context(open(tmp / "cli.stderr", "w")), text=True)
            procs.append(client)
            if delay_cap:
                time.sleep(delay_cap)
                start_caps()
            try:
                cli_out, _ = client.communicate(timeout=expect_s * 3 + 60)
            except subprocess.TimeoutExpired as e:
                raise LabError(f"client did not finish in {expect_s * 3 + 60:.0f} s") from e
            if client.returncode != 0:
                raise LabError("client failed: " + (tmp / "cli.stderr").read_text()[-800:])
            t_end = time.time()
            # let FIN/ACK exchanges and the last ACKs cross the link
            time.sleep(max(1.0, 4 * row["rtt_ms"] / 1000))
            srv_lines = []
            if server is not None:
                server.send_signal(signal.SIGTERM)
                try:
                    srv_out, _ = server.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    srv_out, _ = server.communicate()
                srv_lines = [json.loads(x) for x in srv_out.splitlines() if x.startswith("{")]
            cap_stats = {side: c.stop() for side, c in caps.items()}
            link.send_signal(signal.SIGTERM)
            link.wait(15)
            _wait_for(stats_path.exists, 5, "link stats")
            link_stats = json.loads(stats_path.read_text())
        finally:
            for c in caps.values():
                if c.proc.poll() is None:
                    c.proc.kill()
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    client_res = json.loads(cli_out.strip().splitlines()[-1])
    return {
        "row": row, "link_params": lp, "kind": kind, "direction": direction,
        "data_from_client": data_from_client, "captures": {k: str(v) for k, v in
                                                           cap_paths.items()},
        "capture_stats": cap_stats, "link": link_stats, "client": client_res,
        "server": srv_lines, "t_start": t_start, "t_end": t_end,
        "sysctl": sysctl, "offload_sender": offload_sender, "snaplen": SNAPLEN,
        "addresses": {"client_ip": CLIENT_IP, "server_ip": SERVER_IP},
    }
