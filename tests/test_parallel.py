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


def test_cli_jobs_gives_the_same_json(tmp_path) -> None:
    import subprocess
    import sys

    path = str(SAMPLES / "churn" / "churn.server.pcap.gz")
    outs = []
    for jobs in ("1", "2"):
        out = tmp_path / f"j{jobs}.json"
        subprocess.run([sys.executable, "-m", "tcpforensics", "analyze", path, "-q",
                        "--jobs", jobs, "-o", str(out)], check=True)
        outs.append(out.read_bytes())
    assert outs[0] == outs[1] and b'"flows"' in outs[0]


def test_cli_rejects_zero_jobs() -> None:
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "tcpforensics", "analyze",
                           str(SAMPLES / "demo.pcap"), "--jobs", "0"], capture_output=True,
                          text=True)
    assert proc.returncode == 2 and "--jobs" in proc.stderr


def test_the_merge_packs_flows_past_plain_results() -> None:
    """The parent takes the shards' flows one at a time into a results store: past
    `plain_results` they are packed there, and the analysis is still one pass's."""
    from tcpforensics.analysis import lean_options
    from tcpforensics.results import ResultStore

    path = str(SAMPLES / "churn" / "churn.server.pcap.gz")
    # closed connections end at once: without it all 1,000 are live at the capture's
    # end, and a shard then packs every one (ResultStore.end_together)
    single = analyze(path, options=lean_options(closed_linger=0.0)).to_dict()
    parallel = analyze_parallel(path, 2, lean_options(plain_results=3, closed_linger=0.0))
    assert isinstance(parallel.flow_results, ResultStore)
    assert parallel.flow_results.packed == len(single["flows"]) - 3 > 0
    # the shards kept 2 plain each and packed the rest, which came over as they were
    assert parallel.flow_results.adopted == len(single["flows"]) - 4
    assert parallel.to_dict() == single


def test_a_shard_error_reaches_the_caller(tmp_path) -> None:
    from tcpforensics.errors import TcpForensicsError

    bad = tmp_path / "bad.pcap"
    bad.write_bytes(b"this is not a capture file at all" * 10)
    with pytest.raises(TcpForensicsError):
        analyze_parallel(str(bad), 2)
