"""The cwnd replicas are told their events in batches (SenderEstimator._to_models): what
they give, the fit errors behind the classification and the report's replica columns,
must be what telling them every event at once gives, through loss epochs and the
series' halving (bulk-bbr-12 halves it twice).

The batch size is a C constant in the compiled build, so the check runs the pure-Python
reference in a child process (tests/test_compiled_equivalence.py holds the compiled
build to it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CAPTURES = [
    "sample_pcaps/bulk/bulk-bbr-12.client.pcap.gz",  # series halved twice
    "sample_pcaps/bulk/bulk-cubic-03.client.pcap.gz",  # loss epochs, sender side
    "sample_pcaps/bulk/bulk-reno-05.server.pcap.gz",  # receiver side
]

CHECK = """
import json, sys
import tcpforensics
from tcpforensics.analysis import Options
from tcpforensics.cwnd import estimator

def outcome(path, options):
    res = tcpforensics.analyze(path, options=options)
    out = []
    for flow in res.flow_results:
        out.append([ep.cca for ep in flow.endpoints])
        for rec in flow.cwnd or []:
            out.append({k: ({c: list(v) for c, v in rec[k].items()}
                            if k in ("rounds", "replicas") else rec[k]) for k in rec})
    return json.dumps(out, sort_keys=True, default=str)

strides = []
for path in sys.argv[1:]:
    for options in (Options(), Options(report_details=False)):
        estimator._BATCH = 64
        batched = outcome(path, options)
        estimator._BATCH = 1  # every event told at once
        assert outcome(path, options) == batched, path
    strides.append(max(r["round_stride"] for f in tcpforensics.analyze(path).flow_results
                       for r in f.cwnd or []))
assert strides[0] == 4, strides  # the series was halved twice
print("ok")
"""


def test_batched_replicas_give_what_replicas_told_at_once_give() -> None:
    proc = subprocess.run([sys.executable, "-c", CHECK, *CAPTURES], capture_output=True,
                          text=True, cwd=REPO,
                          env={**os.environ, "TCPFORENSICS_PURE": "1",
                               "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ok")
