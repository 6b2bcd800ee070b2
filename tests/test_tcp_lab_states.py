"""Every lab flow ends in the state its scenario implies (sample_pcaps/manifest.json).

The lab records, per capture, the final RFC 9293 state of each endpoint it drove
(TIME_WAIT on the active closer, CLOSED after RST or on the passive closer, ...).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_tshark_agreement import our_run

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "sample_pcaps" / "manifest.json"


def _cases() -> list:
    if not MANIFEST.exists():
        return []
    data = json.loads(MANIFEST.read_text())
    out = []
    for cap in data.get("captures", []):
        truth = cap.get("truth") or {}
        if truth.get("final_states") and (REPO / "sample_pcaps" / cap["file"]).exists():
            out.append(pytest.param(cap, id=cap["file"]))
    return out


def _port(addr: str) -> str:
    return addr.rsplit(":", 1)[1]


@pytest.mark.skipif(not MANIFEST.exists(), reason="sample_pcaps/ not present")
@pytest.mark.parametrize("cap", _cases())
def test_final_states_match_the_scenario(cap):
    # one cached pass per capture, shared with the tshark agreement test
    _flags, _streams, final = our_run(REPO / "sample_pcaps" / cap["file"])
    by_port = {_port(addr): state for addr, state in final.items()}
    for addr, expected in cap["truth"]["final_states"].items():
        # the lab writes 0.0.0.0 when it did not learn the bound address: match the port
        got = by_port.get(_port(addr)) if addr.startswith("0.0.0.0:") else final.get(addr)
        assert got == expected, f"{addr}: {got} != {expected}"


TSO = REPO / "sample_pcaps" / "tso"


@pytest.mark.skipif(not (TSO / "tso-upload.client.pcap.gz").exists()
                    or not (TSO / "tso-upload.server.pcap.gz").exists(),
                    reason="lab TSO captures not present")
def test_tso_super_segments_on_the_sender_side_raise_no_extra_retransmissions():
    import math

    from tcpforensics.analysis import Options, iter_events

    def causes(name):
        opts = Options(idle_timeout=math.inf, closed_linger=math.inf, observers=False)
        flows = {}
        for _seg, flow, _v in iter_events(str(TSO / name), opts):
            flows[flow.id] = flow
        (flow,) = flows.values()
        res = flow.conn.result()
        return res.tcp["retrans_causes"][res.client], res.tcp["superframes"][res.client]

    sender_side, supers_sender = causes("tso-upload.client.pcap.gz")
    receiver_side, supers_receiver = causes("tso-upload.server.pcap.gz")
    assert supers_sender > 0 and supers_receiver == 0  # segmentation happens after capture
    assert sender_side == receiver_side  # the same losses seen from both ends
