"""RTT bookkeeping: RFC 6298 SRTT/RTTVAR/RTO replica and a bounded sample summary.

Pure and cheap: a handful of floats per sender, a fixed-size reservoir for the median.
"""

from __future__ import annotations

from array import array

import cython

if cython.compiled:
    from cython.cimports.tcpforensics.arrays import _set_length, push_d
else:
    from ..arrays import _set_length, push_d

#: Lower bound applied to the RTO, as Linux does (RFC 6298 suggests 1 s; every common
#: stack uses 200 ms, and the replica is meant to predict what real senders do).
RTO_MIN = 0.2
RTO_MAX = 120.0
CLOCK_G = 0.001  # clock granularity G of RFC 6298 (Linux: 1 ms jiffy or finer)
RESERVOIR = 512
_U64 = 0xFFFFFFFFFFFFFFFF  # the LCG's arithmetic is modulo 2**64
# Knuth's MMIX LCG constants (named: compiled, they are unsigned 64-bit C arithmetic)
_LCG_MUL = 6364136223846793005
_LCG_ADD = 1442695040888963407
# C copies of the bounds for the compiled build (a module-level C variable is not
# importable from Python, and the public names above are)
_RTO_MIN, _RTO_MAX, _CLOCK_G = RTO_MIN, RTO_MAX, CLOCK_G


_NO_SAMPLES = array("d")


class RtoEstimator:
    """RFC 6298 section 2 estimator, fed with Karn-valid samples (seconds)."""

    __slots__ = ("srtt", "rttvar", "rto", "samples", "backoffs")

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.srtt = 0.0  # SRTT and RTTVAR are unset (None in as_dict) until a sample
        self.rttvar = 0.0
        self.rto = 1.0  # RFC 6298 (2.1): initial RTO of 1 s
        self.samples = 0
        self.backoffs = 0

    def sample(self, r: float) -> None:
        if r < 0.0:
            return
        if not self.samples:
            self.srtt = r
            self.rttvar = r / 2.0
        else:
            # (2.3): RTTVAR first, using the old SRTT
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        rto = self.srtt + max(_CLOCK_G, 4.0 * self.rttvar)
        self.rto = min(_RTO_MAX, max(_RTO_MIN, rto))
        self.samples += 1
        self.backoffs = 0

    def backoff(self) -> None:
        """(5.5): the timer expired; double the RTO."""
        self.rto = min(_RTO_MAX, self.rto * 2.0)
        self.backoffs += 1

    def as_dict(self) -> dict:
        if not self.samples:
            return {"srtt": None, "rttvar": None, "rto": self.rto}
        return {"srtt": self.srtt, "rttvar": self.rttvar, "rto": self.rto}


class RttSummary:
    """min / max / count exactly, median from a deterministic bounded reservoir."""

    __slots__ = ("min", "max", "count", "_res", "_k")

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self.min = 0.0  # min and max are unset (None in as_dict) while count is 0
        self.max = 0.0
        self.count = 0
        # doubles, not a list of float objects: 4 KB per full reservoir instead of 16 KB,
        # held by every live flow three times (both directions and the flow); a copy
        # of an empty template costs less than array("d")
        self._res = _NO_SAMPLES[:]
        self._k = 0  # deterministic pseudo-random state (no clock, no global RNG)

    def add(self, r: float) -> None:
        self.count += 1
        if self.count == 1 or r < self.min:
            self.min = r
        if self.count == 1 or r > self.max:
            self.max = r
        if self.count <= RESERVOIR:  # the reservoir holds every sample so far
            push_d(self._res, r)
            if self.count == RESERVOIR:  # full: no room past it (pushing had doubled it)
                _set_length(self._res, RESERVOIR)
            return
        # reservoir sampling with an LCG: every sample kept with probability RESERVOIR/count.
        # The array is only touched when a sample replaces one (with many flows
        # interleaved each touch of it is a cache miss, and past a few thousand samples
        # almost no sample does)
        self._k = (self._k * _LCG_MUL + _LCG_ADD) & _U64
        j = (self._k >> 33) % self.count
        if j < RESERVOIR:
            res = self._res
            res[j] = r

    def as_dict(self) -> dict:
        med = _median(self._res) if self._res else None
        if not self.count:
            return {"min": None, "median": med, "max": None, "samples": 0}
        return {"min": self.min, "median": med, "max": self.max, "samples": self.count}


def _median(a: array) -> float:
    """The median of the (non-empty) samples: the middle one of the sorted samples, or
    the mean of the middle two.  Compiled, the middle ones are found by selection in a
    copy (a few comparisons a sample, where sorting the reservoir took dozens; the report
    asks three times a flow); the values are the same, the samples being finite."""
    n = len(a)
    if cython.compiled and _all_ordered(a):
        buf = array("d", a)
        p = buf.data.as_doubles
        k = n // 2
        _select(p, n, k)  # p[k] is now the k-th smallest, nothing below it is larger
        if n % 2:
            return p[k]
        lower = p[0]
        for i in range(1, k):  # the largest of the k smaller ones
            if p[i] > lower:
                lower = p[i]
        return (lower + p[k]) / 2.0
    s = a.tolist()  # (sorted() of the array iterates it item by item)
    s.sort()
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2.0


def _all_ordered(a: array) -> bool:
    """No NaN among the samples (they are differences of capture times: never, but a
    NaN would break the selection's scans, and sorting places it its own way)."""
    p = a.data.as_doubles if cython.compiled else a
    for i in range(len(a)):
        x = p[i]
        if x != x:
            return False
    return True


def _select(p, n: int, k: int) -> None:
    """Reorder the doubles p[0:n] (compiled build: a C pointer) so that p[k] holds the
    k-th smallest, those before it no larger, those after it no smaller (Hoare's
    selection, the middle of three as pivot; at most RESERVOIR items)."""
    lo = 0
    hi = n - 1
    while hi > lo:
        mid = (lo + hi) // 2
        # the median of p[lo], p[mid], p[hi] as pivot
        if p[mid] < p[lo]:
            p[mid], p[lo] = p[lo], p[mid]
        if p[hi] < p[lo]:
            p[hi], p[lo] = p[lo], p[hi]
        if p[hi] < p[mid]:
            p[hi], p[mid] = p[mid], p[hi]
        pivot = p[mid]
        i = lo
        j = hi
        while i <= j:
            while p[i] < pivot:
                i += 1
            while p[j] > pivot:
                j -= 1
            if i <= j:
                p[i], p[j] = p[j], p[i]
                i += 1
                j -= 1
        if k <= j:
            hi = j
        elif k >= i:
            lo = i
        else:
            return


# The TCP core makes these per flow (a short connection two or three of each): compiled,
# a C call of the type's tp_new and of _reset instead of a call through the type.
def new_rto() -> RtoEstimator:
    """RtoEstimator()."""
    est = RtoEstimator.__new__(RtoEstimator)
    est._reset()
    return est


def new_summary() -> RttSummary:
    """RttSummary()."""
    summ = RttSummary.__new__(RttSummary)
    summ._reset()
    return summ
