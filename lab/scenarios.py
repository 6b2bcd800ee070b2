"""The scenario table: every lab run is one row of plain data.

A row has a unique `name`, a `kind` (the manifest's scenario kind) and the
parameters; lab.runner turns a row into namespaces, a link, traffic and captures.
Link parameters: rtt_ms (two-way propagation, split evenly), rate_mbit (both
directions), queue_bdp (drop-tail queue in bandwidth-delay products, per
direction), loss (random loss of payload-carrying segments, data direction only).
"""

from __future__ import annotations

import random

CCAS = ("cubic", "reno", "bbr")

# The bulk grid.  Rows are drawn with a fixed seed so the table never changes
# between runs.  Rates are weighted towards slow links because the packet count, and
# so the corpus size, grows with the rate; each algorithm also gets one 50 Mbit/s run.
_RTTS = (5, 10, 20, 40, 80, 120, 200)
_RATES = (2, 2, 2, 5, 5, 5, 10, 10, 20)
_QUEUES = (0.25, 0.5, 1, 2, 4)
_LOSSES = (0.0, 0.0, 0.001, 0.005, 0.01, 0.02)
_DURATIONS = (10, 10, 10, 12, 15, 20)


def _bulk_grid(n_per_cca: int = 22, seed: int = 20261128) -> list[dict]:
    rng = random.Random(seed)
    rows = []
    for i in range(n_per_cca):
        for cca in CCAS:
            rate = 50 if i == n_per_cca - 1 else rng.choice(_RATES)
            dur = rng.choice(_DURATIONS)
            # keep the packet count (capture size) bounded: fast links get short runs
            if rate >= 10:
                dur = 10
            if rate == 2 and rng.random() < 0.25:
                dur = rng.choice((30, 60))
            rows.append({
                "name": f"bulk-{cca}-{i:02d}",
                "kind": "bulk",
                "cca": cca,
                "rtt_ms": rng.choice(_RTTS),
                "rate_mbit": rate,
                "queue_bdp": rng.choice(_QUEUES),
                "loss": rng.choice(_LOSSES),
                "direction": "upload" if rng.random() < 0.5 else "download",
                "duration_s": dur,
                "seed": 1000 + len(rows),
            })
    return rows


_FIXED: list[dict] = [
    # quick end-to-end check (tests/test_lab.py) and README demo sources
    {"name": "bulk-quick", "kind": "bulk", "cca": "cubic", "rtt_ms": 20, "rate_mbit": 10,
     "queue_bdp": 1, "loss": 0.0, "direction": "upload", "duration_s": 3, "seed": 7},
    {"name": "demo-lossy", "kind": "bulk", "cca": "cubic", "rtt_ms": 30, "rate_mbit": 4,
     "queue_bdp": 1, "loss": 0.01, "direction": "download", "duration_s": 3, "seed": 11},
    # competing flows on one bottleneck (uploads from the client, staggered starts)
    {"name": "competing-cubic-bbr", "kind": "competing", "rtt_ms": 40, "rate_mbit": 10,
     "queue_bdp": 2, "loss": 0.0, "direction": "upload", "duration_s": 15, "seed": 21,
     "flows": [{"cca": "cubic", "start_s": 0}, {"cca": "bbr", "start_s": 2}]},
    {"name": "competing-reno-cubic", "kind": "competing", "rtt_ms": 20, "rate_mbit": 10,
     "queue_bdp": 1, "loss": 0.0, "direction": "upload", "duration_s": 15, "seed": 22,
     "flows": [{"cca": "reno", "start_s": 0}, {"cca": "cubic", "start_s": 2}]},
    {"name": "competing-3", "kind": "competing", "rtt_ms": 30, "rate_mbit": 15,
     "queue_bdp": 2, "loss": 0.0, "direction": "upload", "duration_s": 15, "seed": 23,
     "flows": [{"cca": "cubic", "start_s": 0}, {"cca": "reno", "start_s": 1.5},
               {"cca": "bbr", "start_s": 3}]},
    # request/response: write, write, read.  Nagle holds the second write until the
    # server's delayed ACK (~40 ms) releases it.
    {"name": "nagle-rr", "kind": "nagle", "rtt_ms": 4, "rate_mbit": 20, "queue_bdp": 4,
     "loss": 0.0, "transactions": 60, "req_parts": [120, 80], "resp_bytes": 300,
     "nodelay": False, "seed": 31},
    {"name": "nodelay-rr", "kind": "nodelay", "rtt_ms": 4, "rate_mbit": 20, "queue_bdp": 4,
     "loss": 0.0, "transactions": 60, "req_parts": [120, 80], "resp_bytes": 300,
     "nodelay": True, "seed": 32},
    # slow reader: small receive buffer, slow reads and two long pauses
    {"name": "slow-reader", "kind": "slow_reader", "rtt_ms": 20, "rate_mbit": 10,
     "queue_bdp": 2, "loss": 0.0, "bytes": 600_000, "rcvbuf": 16384, "read_chunk": 2048,
     "read_interval_s": 0.02, "pauses": [[1.0, 2.5], [6.0, 2.0]], "seed": 41},
    # idle connection with keepalive probes every 2 s after 2 s idle
    {"name": "keepalive-idle", "kind": "keepalive", "rtt_ms": 20, "rate_mbit": 10,
     "queue_bdp": 1, "loss": 0.0, "keepalive": [2, 2, 8], "idle_s": 11, "seed": 51},
    # connection churn vs. one pooled connection, same request load
    {"name": "churn", "kind": "churn", "rtt_ms": 2, "rate_mbit": 20, "queue_bdp": 4,
     "loss": 0.0, "conn_rate": 250, "duration_s": 4, "threads": 4, "req_bytes": 200,
     "resp_bytes": 600, "seed": 61},
    {"name": "pooled", "kind": "pooled", "rtt_ms": 2, "rate_mbit": 20, "queue_bdp": 4,
     "loss": 0.0, "transactions": 1000, "req_bytes": 200, "resp_bytes": 600, "seed": 62},
    # abnormal ends
    {"name": "rst-abort", "kind": "rst_abort", "rtt_ms": 10, "rate_mbit": 10,
     "queue_bdp": 1, "loss": 0.0, "bytes": 200_000, "seed": 71},
    {"name": "refused", "kind": "refused", "rtt_ms": 10, "rate_mbit": 10, "queue_bdp": 1,
     "loss": 0.0, "attempts": 3, "seed": 72},
    {"name": "blackhole", "kind": "blackhole", "rtt_ms": 10, "rate_mbit": 10,
     "queue_bdp": 1, "loss": 0.0, "syncnt": 3, "seed": 73},
    # TCP options turned off on both ends, on a high-BDP path
    {"name": "wscale-off", "kind": "wscale_off", "cca": "cubic", "rtt_ms": 100,
     "rate_mbit": 20, "queue_bdp": 1, "loss": 0.0, "direction": "upload",
     "duration_s": 10, "sysctl": {"net.ipv4.tcp_window_scaling": 0}, "seed": 81},
    {"name": "sack-off", "kind": "sack_off", "cca": "cubic", "rtt_ms": 80, "rate_mbit": 10,
     "queue_bdp": 1, "loss": 0.01, "direction": "upload", "duration_s": 10,
     "sysctl": {"net.ipv4.tcp_sack": 0}, "seed": 82},
    {"name": "timestamps-off", "kind": "timestamps_off", "cca": "cubic", "rtt_ms": 80,
     "rate_mbit": 10, "queue_bdp": 1, "loss": 0.005, "direction": "upload",
     "duration_s": 10, "sysctl": {"net.ipv4.tcp_timestamps": 0}, "seed": 83},
    # TSO/GSO on at the sending end: super-segments in the sender-side capture
    {"name": "tso-upload", "kind": "tso", "cca": "cubic", "rtt_ms": 20, "rate_mbit": 20,
     "queue_bdp": 1, "loss": 0.0, "direction": "upload", "duration_s": 5,
     "offload_sender": True, "seed": 91},
    # application-limited sender; slow-start restart after idle (and its control)
    {"name": "app-limited", "kind": "app_limited", "cca": "cubic", "rtt_ms": 40,
     "rate_mbit": 20, "queue_bdp": 1, "loss": 0.0, "direction": "upload",
     "duration_s": 10, "pattern": {"kind": "bursts", "burst_bytes": 30000, "gap_s": 0.25},
     "seed": 101},
    {"name": "ss-restart", "kind": "ss_restart", "cca": "cubic", "rtt_ms": 40,
     "rate_mbit": 10, "queue_bdp": 1, "loss": 0.0, "direction": "upload",
     "pattern": {"kind": "restart", "on_s": [3, 3], "idle_s": 2.0},
     "sysctl": {"net.ipv4.tcp_slow_start_after_idle": 1}, "seed": 102},
    {"name": "ss-restart-disabled", "kind": "ss_restart", "cca": "cubic", "rtt_ms": 40,
     "rate_mbit": 10, "queue_bdp": 1, "loss": 0.0, "direction": "upload",
     "pattern": {"kind": "restart", "on_s": [3, 3], "idle_s": 2.0},
     "sysctl": {"net.ipv4.tcp_slow_start_after_idle": 0}, "seed": 103},
    # receive-window limited: a small receiver buffer on a long path (scaling on)
    {"name": "rwnd-limited", "kind": "rwnd_limited", "cca": "cubic", "rtt_ms": 80,
     "rate_mbit": 20, "queue_bdp": 1, "loss": 0.0, "direction": "upload", "duration_s": 10,
     "rcvbuf": 65536, "seed": 121},
    # a 1.5 s outage of the data direction mid-transfer: RTOs with backoff
    {"name": "outage-rto", "kind": "outage", "cca": "cubic", "rtt_ms": 40, "rate_mbit": 5,
     "queue_bdp": 1, "loss": 0.0, "direction": "upload", "duration_s": 10,
     "outages": [[4.0, 1.5]], "seed": 122},
    # Nagle on a longer path: stalls are still about one delayed-ACK timeout
    {"name": "nagle-rr-30ms", "kind": "nagle", "rtt_ms": 30, "rate_mbit": 10,
     "queue_bdp": 4, "loss": 0.0, "transactions": 40, "req_parts": [150, 50],
     "resp_bytes": 400, "nodelay": False, "seed": 33},
    # capture starts 3 s into a transfer: no handshake in either file
    {"name": "midstream", "kind": "midstream", "cca": "cubic", "rtt_ms": 30, "rate_mbit": 8,
     "queue_bdp": 1, "loss": 0.002, "direction": "download", "duration_s": 10,
     "capture_delay_s": 3, "seed": 111},
]

SCENARIOS: dict[str, dict] = {row["name"]: row for row in _FIXED + _bulk_grid()}
KINDS = ("bulk", "competing", "nagle", "nodelay", "slow_reader", "keepalive", "churn",
         "pooled", "rst_abort", "refused", "blackhole", "wscale_off", "sack_off",
         "timestamps_off", "tso", "app_limited", "ss_restart", "midstream")
