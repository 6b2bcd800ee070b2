"""The tshark crosscheck: comparison logic, formatting, and one real run."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tcpforensics.crosscheck import FLAGS, compare, crosscheck, format_crosscheck
from tcpforensics.model import Analysis


def test_compare_counts_frames_per_flag():
    r = Analysis.RETRANSMISSION
    d = Analysis.DUPLICATE_ACK
    ours = {1: 0, 2: int(r), 3: int(r | d), 4: int(d)}
    theirs = {1: int(r), 2: int(r), 3: int(d), 4: int(d), 5: 0}
    res = compare(ours, theirs)
    rt = res["flags"]["retransmission"]
    assert (rt["both"], rt["only_ours"], rt["only_tshark"]) == (1, 1, 1)
    assert rt["only_ours_frames"] == [3] and rt["only_tshark_frames"] == [1]
    assert rt["precision"] == 0.5 and rt["recall"] == 0.5
    da = res["flags"]["duplicate_ack"]
    assert (da["both"], da["precision"], da["recall"]) == (2, 1.0, 1.0)
    assert res["flags"]["zero_window"]["precision"] == 1.0  # nothing on either side
    assert res["frames_only_tshark"] == [5]
    assert set(res["flags"]) == set(FLAGS)


def test_compare_reports_frames_in_different_flows():
    res = compare({1: 0, 2: 0}, {1: 0, 2: 0}, {1: 0, 2: 1}, {1: 0, 2: 0})
    assert res["streams"]["mismatched_frames"] == [2]


def test_format_lists_disagreements():
    res = compare({7: int(Analysis.KEEP_ALIVE)}, {7: 0})
    res["path"] = "x.pcap"
    text = format_crosscheck(res)
    assert "keep_alive" in text and "only ours: 7" in text


SIX_SYNS = None
for cand in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")):
    if (cand / "pcaps/tcptrace/input/6syns.dmp").exists():
        SIX_SYNS = cand / "pcaps/tcptrace/input/6syns.dmp"
        break


@pytest.mark.skipif(shutil.which("tshark") is None or SIX_SYNS is None,
                    reason="needs tshark and ../shared/pcaps")
def test_real_capture_agrees_with_tshark():
    res = crosscheck(SIX_SYNS)
    assert res["frames_ours"] == res["frames_tshark"] == 68
    assert res["streams"]["ours"] == res["streams"]["tshark"] == 2
    # MANIFEST.tsv (tshark 4.0.17): retrans=8 dupack=3 lost_seg=28 acked_unseen=14
    assert res["flags"]["retransmission"]["both"] == 8
    assert res["flags"]["duplicate_ack"]["both"] == 3
    assert res["flags"]["lost_segment"]["both"] == 28
    assert res["flags"]["ack_lost_segment"]["both"] == 14
    for name, r in res["flags"].items():
        assert r["only_ours"] == r["only_tshark"] == 0, name
