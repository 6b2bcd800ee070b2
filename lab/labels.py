"""Ground-truth labels: a run record -> two manifest entries (client and server side)."""

from __future__ import annotations

from lab import measure
from lab.runner import BULK_KINDS

# finding kinds a plain, healthy bulk transfer must not show
_CLEAN = ["window_scaling_off", "sack_off", "timestamps_off", "handshake_failure",
          "syn_retransmission", "reset", "zero_window", "nagle_delayed_ack",
          "offload_artifacts", "connection_churn", "time_wait_pressure"]


def retransmitted(cap: measure.CaptureSummary, src: str) -> int:
    """Data segments of `src` that do not advance its highest sequence number."""
    top = None
    n = 0
    for f in cap.frames:
        if f.src != src or f.payload == 0:
            continue
        end = (f.seq + f.payload) & 0xFFFFFFFF
        if top is None:
            top = end
            continue
        diff = (end - top) & 0xFFFFFFFF
        if diff == 0 or diff >= 0x80000000:
            n += 1
        else:
            top = end
    return n


def _data_link_dir(run: dict) -> dict:
    return run["link"]["a_to_b" if run["data_from_client"] else "b_to_a"]


def entries(run: dict, files: dict[str, str]) -> list[dict]:
    """Manifest entries for one run; `files` maps side -> path relative to sample_pcaps/."""
    row = run["row"]
    kind = run["kind"]
    conns = run["client"].get("conns", [])
    for c in conns:
        # a socket whose connect failed reports 0.0.0.0 as its address; the SYNs left
        # from the client's only address
        if c.get("local", "").startswith("0.0.0.0:"):
            c["local"] = run["addresses"]["client_ip"] + c["local"][7:]
    server_addr = conns[0]["remote"] if conns else None
    first = conns[0]["local"] if conns else None
    ldir = _data_link_dir(run)
    drops = ldir["random_drops"] + ldir["queue_drops"] + ldir.get("outage_drops", 0)
    params = {k: v for k, v in row.items() if k not in ("name",)}
    params.update(run["link_params"])
    params.update(snaplen=run["snaplen"], offload_sender=run["offload_sender"],
                  direction=run["direction"], sysctl=run["sysctl"])
    params.setdefault("loss", 0.0)
    params["loss_model"] = ldir.get("loss_model", "bernoulli") if params["loss"] else "none"
    params.setdefault("seed", 1)
    caps = {side: measure.read_capture(path) for side, path in run["captures"].items()}

    data_sender = None
    cca: dict[str, str] = {}
    expect: list[str] = []
    absent: list[str] = []
    final: dict[str, str] = {}
    notes = ""
    client = first
    if kind in BULK_KINDS:
        sender_side = "client" if run["data_from_client"] else "server"
        data_sender = first if sender_side == "client" else server_addr
        receiver = server_addr if sender_side == "client" else first
        cca[data_sender] = row["cca"]
        # the side that sends the data finishes first and so closes first
        final = {data_sender: "TIME_WAIT", receiver: "CLOSED"}
        absent = list(_CLEAN)
        nre = retransmitted(caps[sender_side], data_sender)
        if drops or nre:
            expect.append("retransmissions")
        else:
            absent.append("retransmissions")
        extra = {"wscale_off": ["window_scaling_off", "receive_window_limited"],
                 "rwnd_limited": ["receive_window_limited"], "outage": ["rto_stall"],
                 "sack_off": ["sack_off"], "timestamps_off": ["timestamps_off"]}.get(kind, [])
        for k in extra:
            expect.append(k)
            if k in absent:
                absent.remove(k)
        if kind == "ss_restart":
            on = row.get("sysctl", {}).get("net.ipv4.tcp_slow_start_after_idle", 1)
            (expect if on else absent).append("slow_start_restart")
            notes = (f"bulk {row['pattern']['on_s']} s with {row['pattern']['idle_s']} s idle "
                     f"between; tcp_slow_start_after_idle={on}")
        elif kind == "app_limited":
            notes = (f"{row['pattern']['burst_bytes']} B every {row['pattern']['gap_s']} s on a "
                     f"{row['rate_mbit']} Mbit/s path: the application, not the network, "
                     "limits the rate")
            absent.append("receive_window_limited")
        elif kind == "rwnd_limited":
            notes = (f"receiver SO_RCVBUF={row['rcvbuf']} on a {row['rtt_ms']} ms, "
                     f"{row['rate_mbit']} Mbit/s path: the advertised window, not the "
                     "network, limits the rate")
        elif kind == "outage":
            notes = (f"the link drops every frame of the data direction for "
                     f"{row['outages']} [start s after the first data frame, seconds]: "
                     f"{ldir.get('outage_drops')} frames lost, the sender waits for RTOs")
        elif kind == "midstream":
            notes = f"capture began {row['capture_delay_s']} s into the transfer: no handshake"
        elif kind == "tso":
            notes = ("TSO/GSO on at the sender: its capture holds super-segments larger than "
                     "the MSS; the link cut them to MSS on the way")
        if kind == "bulk":
            notes = (f"{row['cca']} {run['direction']} for {row['duration_s']} s; link dropped "
                     f"{ldir['random_drops']} at random and {ldir['queue_drops']} at the queue")
    elif kind == "competing":
        client = None
        for c in conns:
            cca[c["local"]] = c["cca"]
            final[c["local"]] = "TIME_WAIT"
        absent = [k for k in _CLEAN]
        if drops:
            expect.append("retransmissions")
        notes = "flows start at " + ", ".join(f"{f['start_s']} s ({f['cca']})"
                                              for f in row["flows"])
    elif kind in ("nagle", "nodelay"):
        data_sender = first
        cca[first] = conns[0]["cca"]
        final = {first: "TIME_WAIT", server_addr: "CLOSED"}
        c0 = conns[0]
        lat = f"median transaction {c0['latency_median_s'] * 1000:.1f} ms"
        if kind == "nagle":
            expect = ["nagle_delayed_ack"]
            absent = ["retransmissions", "connection_churn", "zero_window", "reset"]
            notes = f"write {row['req_parts']} then read {row['resp_bytes']} B, Nagle on; {lat}"
        else:
            absent = ["nagle_delayed_ack", "retransmissions", "connection_churn", "zero_window",
                      "reset"]
            notes = f"same load with TCP_NODELAY; {lat}"
    elif kind == "slow_reader":
        data_sender = first
        cca[first] = conns[0]["cca"]
        final = {first: "TIME_WAIT", server_addr: "CLOSED"}
        expect = ["zero_window"]
        absent = ["nagle_delayed_ack", "handshake_failure", "reset"]
        notes = (f"receiver SO_RCVBUF={row['rcvbuf']}, reads {row['read_chunk']} B every "
                 f"{row['read_interval_s']} s, pauses {row['pauses']}: zero windows, "
                 "zero-window probes, window updates")
    elif kind == "keepalive":
        final = {first: "TIME_WAIT", server_addr: "CLOSED"}
        expect = ["keepalive"]
        absent = ["retransmissions", "reset", "handshake_failure"]
        notes = f"client keepalive idle/intvl/cnt={row['keepalive']}, idle {row['idle_s']} s"
    elif kind == "churn":
        client = None
        final = {c["local"]: "TIME_WAIT" for c in conns}
        expect = ["connection_churn", "time_wait_pressure"]
        absent = ["reset", "handshake_failure", "nagle_delayed_ack"]
        rate = len(conns) / run["client"].get("elapsed_s", 1)
        notes = (f"{len(conns)} short connections at {rate:.0f}/s, client closes first so "
                 "every client port ends in TIME_WAIT")
    elif kind == "pooled":
        final = {first: "TIME_WAIT", server_addr: "CLOSED"}
        absent = ["connection_churn", "time_wait_pressure", "reset", "nagle_delayed_ack"]
        notes = f"{row['transactions']} request/response pairs over one connection"
    elif kind == "rst_abort":
        data_sender = first
        final = {first: "CLOSED", server_addr: "CLOSED"}
        expect = ["reset"]
        absent = ["handshake_failure"]
        notes = "client sends, then closes with SO_LINGER {1, 0}: RST instead of FIN"
    elif kind == "refused":
        final = {c["local"]: "CLOSED" for c in conns}
        expect = ["handshake_failure", "reset"]
        notes = f"{len(conns)} connects to a closed port, each answered by RST/ACK"
    elif kind == "blackhole":
        final = {c["local"]: "CLOSED" for c in conns}
        expect = ["syn_retransmission", "handshake_failure"]
        nsyn = sum(1 for f in caps["client"].frames if f.flags & 0x12 == 0x02)
        notes = (f"SYNs to {server_addr}, which never answers: {nsyn} SYNs in the client "
                 f"capture, then ETIMEDOUT (TCP_SYNCNT={row['syncnt']}; this kernel resends "
                 "the first SYNs at a fixed 1 s, net.ipv4.tcp_syn_linear_timeouts)")

    out = []
    for side in ("client", "server"):
        cap = caps[side]
        sender_side = "client" if run["data_from_client"] else "server"
        vantage = "sender" if side == sender_side else "receiver"
        exp = list(expect)
        ab = list(absent)
        if kind == "tso" and vantage == "sender":
            exp.append("offload_artifacts")
            ab.remove("offload_artifacts")
        cs = run["capture_stats"].get(side, {})
        if cs.get("dropped_by_kernel") == 0:
            ab.append("capture_loss")
        measured = {"handshake_rtt_ms": None, "records": cap.records}
        hs = measure.handshake_rtt(cap)
        if hs is not None:
            measured["handshake_rtt_ms"] = round(hs * 1000, 3)
        if data_sender and vantage == "receiver":
            br = measure.bottleneck_rate(cap, data_sender)
            measured.update({k: (round(v, 3) if v else v) for k, v in br.items()})
        if data_sender and kind in BULK_KINDS and kind not in ("tso", "midstream"):
            dl = measure.data_loss(caps[sender_side], caps["server" if sender_side == "client"
                                                            else "client"], data_sender)
            measured["data_segments_sent"] = dl["sent"]
            measured["data_loss_rate"] = round(dl["loss_rate"], 5) if dl["sent"] else None
        truth = {
            "data_sender": data_sender, "cca": cca, "client": client, "server": server_addr,
            "expect_findings": exp, "expect_absent": sorted(set(ab) - set(exp)),
            "final_states": final, "notes": notes,
            "link": {"data_direction": _link_summary(ldir),
                     "reverse_direction": _link_summary(
                         run["link"]["b_to_a" if run["data_from_client"] else "a_to_b"])},
            "capture": cs, "measured": measured,
        }
        if kind == "app_limited":
            truth["expect_stalls"] = ["app_limited"]
        if kind == "midstream":
            truth["handshake_in_capture"] = False
        out.append({"file": files[side], "scenario": kind, "run": row["name"],
                    "vantage": vantage, "side": side, "params": params, "truth": truth})
    return out


def _link_summary(d: dict) -> dict:
    keys = ("frames_in", "data_frames_in", "random_drops", "queue_drops", "outage_drops",
            "frames_out",
            "gso_frames", "gso_pieces", "max_backlog_bytes", "release_late_mean_us",
            "release_late_max_us")
    out = {k: d.get(k) for k in keys}
    n = d.get("data_frames_in") or 0
    out["random_loss_rate"] = round(d["random_drops"] / n, 5) if n else 0.0
    return out
