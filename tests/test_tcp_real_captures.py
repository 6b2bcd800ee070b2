"""The TCP core on real public captures, checked against what is known about them
(MANIFEST.tsv notes and tshark's counts recorded there)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tcpforensics.analysis import Options, iter_events


def _shared() -> Path | None:
    for cand in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")):
        if (cand / "pcaps").is_dir():
            return cand / "pcaps"
    return None


SHARED = _shared()
pytestmark = pytest.mark.skipif(SHARED is None, reason="../shared/pcaps not present")


def run(rel: str):
    opts = Options(idle_timeout=math.inf, closed_linger=math.inf, observers=False)
    flows = {}
    verdicts = []
    for seg, flow, verdict in iter_events(str(SHARED / rel), opts):
        flows[flow.id] = flow
        verdicts.append((seg, verdict))
    return flows, verdicts


def test_hardware_duplicates_are_network_duplicates_not_sender_retransmissions():
    # MANIFEST: "capture hardware duplicated frames -> false retransmission/OOO flags"
    _flows, verdicts = run("tcptrace/input/hardware_dups.dmp")
    causes = [v.retrans_cause for _s, v in verdicts if v.retrans_cause]
    flagged = [v for _s, v in verdicts if v.analysis & 0x9]  # retransmission|out_of_order
    assert len(flagged) >= 470  # what tshark reports
    assert causes.count("network_duplicate") >= 0.95 * len(causes)


def test_fast_port_reuse_gives_tsharks_streams_and_time_wait_each_time():
    # MANIFEST: one port pair reused 17 times; tshark: 18 streams, 17 reused_ports
    flows, verdicts = run("tcptrace/input/fast_reuse.dmp")
    assert sorted(flows) == list(range(18))
    assert sum(1 for _s, v in verdicts if v.analysis & 0x4000) == 17
    results = [flows[i].conn.result() for i in range(1, 18)]
    assert all(r.handshake == "complete" for r in results)
    closers = {r.tcp["close_initiator"] for r in results}
    assert None not in closers
    for r in results:  # whoever closed first waits in TIME_WAIT
        active = r.client if r.tcp["close_initiator"] == "client" else r.server
        if r.state == "CLOSED":
            assert r.tcp["time_wait"] == active


def test_zero_window_episodes_are_timed():
    flows, verdicts = run("tcptrace/input/zwnd.dmp")
    (flow,) = flows.values()
    res = flow.conn.result()
    zw = sum(1 for _s, v in verdicts if v.analysis & 0x80)
    assert zw == 7  # tshark's zero_window count (MANIFEST)
    receiver = res.server if res.endpoints[1].counters["zero_window"] else res.client
    assert res.tcp["zero_window_time"][receiver] > 0.0
    assert res.handshake == "complete" and res.tcp["window_scale_known"]


def test_dsack_capture_reports_duplicates():
    flows, _verdicts = run("tcptrace/input/dsack.dmp")
    res = next(iter(flows.values())).conn.result()
    assert sum(res.tcp["dsack"].values()) > 0
    assert res.tcp["sack"] is True
