"""Every lab flow ends in the state its scenario implies (sample_pcaps/manifest.json).

The lab records, per capture, the final RFC 9293 state of each endpoint it drove
(TIME_WAIT on the active closer, CLOSED after RST or on the passive closer, ...).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from tcpforensics.analysis import Options, iter_events

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
    path = REPO / "sample_pcaps" / cap["file"]
    flows = {}
    opts = Options(idle_timeout=math.inf, closed_linger=math.inf, observers=False)
    for _seg, flow, _v in iter_events(str(path), opts):
        flows[flow.id] = flow
    last: dict[str, str] = {}
    for fid in sorted(flows):
        res = flows[fid].conn.result()
        final = {}
        for change in res.states:  # the last recorded state of each endpoint
            final[change.endpoint] = change.state
        for i, addr in enumerate((res.client, res.server)):
            last[addr] = final.get(i)
            last[":" + _port(addr)] = final.get(i)
    for addr, expected in cap["truth"]["final_states"].items():
        # the lab writes 0.0.0.0 when it did not learn the bound address: match the port
        got = last.get(":" + _port(addr)) if addr.startswith("0.0.0.0:") else last.get(addr)
        assert got == expected, f"{addr}: {got} != {expected}"
