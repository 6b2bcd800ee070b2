"""The RTT summary's median: found by selection in the compiled build, by sorting in the
pure one; both must give the middle sample (or the mean of the middle two) exactly."""

from __future__ import annotations

import random

from tcpforensics.tcp import rtt
from tcpforensics.tcp.rtt import RttSummary


def _reservoir_size() -> int:
    """How many samples a summary keeps (a C constant in the compiled build)."""
    summ = RttSummary()
    for i in range(5000):
        summ.add(i * 1e-4)
    return len(summ._res)


RESERVOIR = _reservoir_size()


def _reference(samples: list[float]) -> float:
    s = sorted(samples)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def _cases() -> list[list[float]]:
    rng = random.Random(11)
    cases = [[0.5], [0.2, 0.1], [3.0, 3.0, 3.0], [0.0, -0.0, 0.0, 1e-9]]
    for n in (2, 3, 4, 5, 17, 64, 255, 256, RESERVOIR - 1, RESERVOIR, RESERVOIR + 300):
        cases.append([rng.random() for _ in range(n)])
        cases.append([rng.choice((0.001, 0.002, 0.004)) for _ in range(n)])  # many ties
        cases.append(sorted(rng.random() for _ in range(n)))  # sorted, and reversed
        cases.append(sorted((rng.random() for _ in range(n)), reverse=True))
    return cases


def test_median_is_the_middle_of_the_sorted_samples():
    for samples in _cases():
        summ = RttSummary()
        for x in samples:
            summ.add(x)
        kept = list(summ._res)  # past RESERVOIR samples: those the reservoir kept
        assert len(kept) == min(len(samples), RESERVOIR)
        got = summ.as_dict()
        assert got["median"] == _reference(kept)
        assert got["samples"] == len(samples)
        assert got["min"] == min(samples) and got["max"] == max(samples)


def test_selection_puts_the_kth_smallest_in_place():
    select = getattr(rtt, "_select", None)
    if select is None:  # compiled: a C function, checked through the median above
        return
    for samples in _cases():
        for k in {0, len(samples) // 2, len(samples) - 1}:
            p = list(samples)
            select(p, len(p), k)
            assert sorted(p) == sorted(samples)
            assert p[k] == sorted(samples)[k]
            assert all(x <= p[k] for x in p[:k]) and all(x >= p[k] for x in p[k + 1:])


def test_a_full_reservoir_holds_no_room_past_its_samples():
    """Compiled, pushing doubles an array's room: at 512 samples it would hold about 600
    (a long flow's three summaries, 15 KB instead of 12). Once full it is cut to size,
    and replacing samples later keeps it so. (The pure build's arrays over-allocate as
    Python's do.)"""
    import sys
    from array import array

    summ = RttSummary()
    for i in range(3 * RESERVOIR):
        summ.add(1e-3 + (i % 97) * 1e-5)
    assert len(summ._res) == RESERVOIR
    if hasattr(rtt, "_select"):
        return  # the pure build (compiled, _select is a C function)
    assert sys.getsizeof(summ._res) == sys.getsizeof(array("d")) + 8 * RESERVOIR
