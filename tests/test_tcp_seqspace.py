"""Sequence-space arithmetic, unwrapping, the RTO replica and the SACK scoreboard."""

from __future__ import annotations

import random

from tcpforensics.tcp.endpoint import EndpointState
from tcpforensics.tcp.rtt import RTO_MIN, RtoEstimator, RttSummary
from tcpforensics.tcp.sack import MAX_RANGES, Scoreboard, is_dsack
from tcpforensics.tcp.seqspace import seq_diff, seq_ge, seq_gt, seq_le, seq_lt


def test_comparisons_across_the_wrap():
    assert seq_lt(0xFFFFFFF0, 5) and seq_gt(5, 0xFFFFFFF0)
    assert seq_le(7, 7) and seq_ge(7, 7) and not seq_lt(7, 7)
    assert seq_diff(5, 0xFFFFFFF0) == 21 and seq_diff(0xFFFFFFF0, 5) == -21


def test_unwrapping_is_monotone_over_several_wraps():
    u = EndpointState()
    u.set_base(0xFFFFFF00)
    values = []
    s = 0xFFFFFF00
    for _ in range(3 * 4096 + 7):
        values.append(u.rel(s))
        s = (s + 1_048_576 + 3) & 0xFFFFFFFF
    assert values == [i * 1_048_579 for i in range(len(values))]
    assert values[-1] > 3 * 2**32
    # a late (reordered) value just before the current one maps just below it
    assert u.peek((s - 2 * 1_048_579) & 0xFFFFFFFF) == values[-1] - 1_048_579


def test_rto_follows_rfc6298():
    est = RtoEstimator()
    assert est.rto == 1.0
    est.sample(0.100)
    assert est.srtt == 0.100 and est.rttvar == 0.050
    assert abs(est.rto - max(RTO_MIN, 0.100 + 4 * 0.050)) < 1e-12
    est.sample(0.200)
    assert abs(est.rttvar - (0.75 * 0.050 + 0.25 * 0.100)) < 1e-12
    assert abs(est.srtt - (0.875 * 0.100 + 0.125 * 0.200)) < 1e-12
    before = est.rto
    est.backoff()
    assert est.rto == 2 * before


def test_rtt_summary_median_is_exact_while_small():
    s = RttSummary()
    for r in (0.5, 0.1, 0.3, 0.2, 0.4):
        s.add(r)
    d = s.as_dict()
    assert d == {"min": 0.1, "median": 0.3, "max": 0.5, "samples": 5}


def test_scoreboard_merges_and_advances():
    sb = Scoreboard()
    assert sb.add(100, 200, una=50) == 100
    assert sb.add(300, 400, una=50) == 100
    assert sb.add(150, 350, una=50) == 100  # fills the gap between them
    assert sb.ranges == [[100, 400]] and sb.sacked == 300
    sb.advance(250)
    assert sb.ranges == [[250, 400]] and sb.sacked_above(300) == 100


def _merged_reference(ranges: list[list[int]], left: int, right: int) -> list[list[int]]:
    """A SACK block merged into sorted disjoint ranges by the plain definition: every range
    it overlaps or touches joins it; the lowest MAX_RANGES ranges are kept."""
    out = []
    for a, b in ranges:
        if b < left or a > right:
            out.append([a, b])
        else:
            left, right = min(left, a), max(right, b)
    return sorted([*out, [left, right]])[:MAX_RANGES]


def test_scoreboard_matches_the_plain_merge_on_random_blocks():
    """The in-place fast paths (grow the highest range, open one above it) and the general
    merge agree with the definition, block by block, including at the range cap."""
    rng = random.Random(7)
    for trial in range(300):
        sb = Scoreboard()
        ref: list[list[int]] = []
        una = 0
        top = rng.choice((2_000, 50_000, 400_000))
        for _ in range(rng.randint(1, 200)):
            if rng.random() < 0.05:
                una += rng.randint(0, top // 10)
                sb.advance(una)
                ref = [[max(a, una), b] for a, b in ref if b > una]
            else:
                left = rng.randint(0, top)
                right = left + rng.choice((0, 1, 100, 1448, rng.randint(0, top // 5)))
                before = sum(b - a for a, b in ref)
                lo = max(left, una)
                if right > lo:
                    ref = _merged_reference(ref, lo, right)
                expected = max(0, sum(b - a for a, b in ref) - before)
                assert sb.add(left, right, una) == expected, trial
            assert sb.ranges == ref, trial
            assert sb.sacked == sum(b - a for a, b in ref), trial


def test_dsack_recognition():
    assert is_dsack(((50, 100),), ack=200)  # below the cumulative ACK
    assert is_dsack(((300, 400), (250, 500)), ack=200)  # inside the second block
    assert not is_dsack(((300, 400), (500, 600)), ack=200)
