"""`analyze_parallel` (several processes, one flow-hash shard each) equals one pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from tcpforensics import analyze
from tcpforensics.batch import analyze_parallel

SAMPLES = Path(__file__).resolve().parent.parent / "sample_pcaps"


@pytest.mark.parametrize("rel", ["demo.pcap", "churn/churn.client.pcap.gz",
                                 "competing/competing-3.server.pcap.gz"])
def test_two_processes_give_the_single_pass_result(rel: str) -> None:
    path = str(SAMPLES / rel)
    single = analyze(path).to_dict()
    parallel = analyze_parallel(path, 2).to_dict()
    assert len(single["flows"]) > 0
    assert parallel == single
