"""export.float_text writes a float as json does (repr; NaN, Infinity, -Infinity), with
integer shortcuts for the common floats: it must agree with json on every value."""

from __future__ import annotations

import json
import math
import random
import struct
from fractions import Fraction

from tcpforensics import export
from tcpforensics.export import float_text

encode = json.JSONEncoder().encode


def _bits(lo: float, hi: float, r: random.Random) -> float:
    """A float drawn uniformly over the bit patterns from lo up to hi (both > 0)."""
    a, b = (struct.unpack("<Q", struct.pack("<d", x))[0] for x in (lo, hi))
    return struct.unpack("<d", struct.pack("<Q", r.randrange(a, b)))[0]


def test_specials_and_edges_are_written_as_json_writes_them():
    values = [0.0, -0.0, math.nan, math.inf, -math.inf, 1e-4, math.nextafter(1e-4, 0),
              1.0, 0.5, 4096.0, math.nextafter(4096.0, 0), 2.0**31, math.nextafter(2.0**31, 0),
              2.0**30, 2.0**30 + 2.0**-22, 1e16, 5e-324, 1.7976931348623157e308, -1.5,
              -1700000000.25, 1700000000.0, 0.1, 0.30000000000000004, 123456.789]
    values += [2.0**e for e in range(-14, 32)]
    for v in values:
        assert float_text(v) == encode(v), v


def test_capture_times_and_durations():
    r = random.Random(9)
    for _ in range(20_000):
        sec, usec = r.randrange(0, 2**31 - 1), r.randrange(10**6)
        for v in (sec + usec / 1e6, sec + usec * 1e-6, sec + r.random(),
                  usec / 1e6, r.randrange(10**9) * 1e-9, (sec + usec * 1e-6) - sec):
            assert float_text(v) == encode(v), v


def test_random_bit_patterns():
    r = random.Random(10)
    for _ in range(20_000):
        for lo, hi in ((1e-4, 4096.0), (4096.0, 2.0**31), (1e-300, 1e300)):
            v = _bits(lo, hi, r)
            assert float_text(v) == encode(v), v
            assert float_text(-v) == encode(-v), -v


def test_short_decimals_and_their_neighbours():
    r = random.Random(11)
    for _ in range(20_000):
        digits = r.randrange(1, 18)
        v = float(f"{r.randrange(1, 10**digits)}e-{r.randrange(0, 17)}")
        for w in (v, math.nextafter(v, 0), math.nextafter(v, math.inf)):
            assert float_text(w) == encode(w), w


def test_rtt_like_differences_of_microsecond_timestamps():
    # RTTs, durations and gaps: differences of two microsecond capture times, which are
    # seldom a float nearest to a short decimal (repr then needs 16 or 17 digits)
    r = random.Random(12)
    for _ in range(20_000):
        t0 = r.randrange(10**9, 2**31 - 1) + r.randrange(10**6) / 1e6
        for gap_us in (r.randrange(100, 1000), r.randrange(1000, 10**6),
                       r.randrange(10**6, 10**9)):
            t1 = t0 + gap_us / 1e6
            for v in (t1 - t0, (t1 - t0) / 2, (t1 - t0) * 0.875):
                assert float_text(v) == encode(v), v
                assert float_text(-v) == encode(-v), -v


def test_values_of_few_bits_halfway_between_two_decimals():
    # a difference of close timestamps keeps few mantissa bits: v * 10**q often ends in
    # exactly .5, and repr takes the even one of the two nearest decimals
    r = random.Random(14)
    halfway = 0
    for _ in range(40_000):
        v = r.randrange(1, 1 << r.randrange(1, 40)) / 2.0 ** r.randrange(1, 60)
        if not 1e-4 <= v < 2**31:
            continue
        assert float_text(v) == encode(v), v
        decimals = len(repr(v).split(".")[1])
        halfway += (Fraction(v) * 10**decimals).denominator == 2
    assert halfway > 200  # (the case is exercised)


def test_powers_of_ten_switches_and_their_neighbours():
    # repr switches to an exponent below 1e-4 and from 1e16 on; powers of two and of
    # ten sit where the float steps change or a decimal is exact
    values = [1e-5, 1e16, 2.0**-14, 2.0**-13, 2.0**-12, -0.0, 5e-324, 2.2250738585072014e-308,
              math.nextafter(0.0, 1.0) * 3, 2.0**53, 2.0**52 + 1]
    values += [10.0**e for e in range(-8, 18)]
    values += [2.0**e for e in range(-20, 60)]
    values += [3.0 * 2.0**e for e in range(-20, 40)]
    more = []
    for v in values:
        w = v
        for _ in range(3):
            w = math.nextafter(w, 0.0)
            more.append(w)
        w = v
        for _ in range(3):
            w = math.nextafter(w, math.inf)
            more.append(w)
    for v in values + more:
        for w in (v, -v):
            assert float_text(w) == encode(w), w


def test_subnormals_and_tiny_values():
    r = random.Random(13)
    for _ in range(5_000):
        v = _bits(5e-324, 2.2250738585072014e-308, r)
        assert float_text(v) == encode(v), v
        v = _bits(1e-6, 1e-3, r)
        assert float_text(v) == encode(v), v


def test_the_integer_arithmetic_stays_within_its_c_types():
    # compiled, _shortest_decimal works in C integers (export.pxd): 64 bits but for the
    # product `tail`, 128 bits wide; its decimal n, its rest and its step stay in 64
    for shift in range(22, export._MAX_SHIFT + 1):
        q = export._DECIMALS[shift]
        assert 10 ** (q - 1) <= 2**shift < 10**q
        for decimals in (q - 1, q):
            low_bits = shift - decimals
            assert low_bits >= 0
            assert (2**low_bits - 1) * 5**decimals < 2**127
            assert 2**53 * 10**decimals // 2**shift + 1 < 2**63
            assert 5**decimals < 2**63 and 2 * 2**low_bits < 2**63
    # the smallest v it takes on (1e-4) needs no more shift than that
    assert 1e-4 * 2.0**export._MAX_SHIFT >= 2.0**52
