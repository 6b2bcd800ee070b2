"""arrays.round6 / rounded6: bit for bit Python's round(x, 6), in both builds."""

from __future__ import annotations

import math
import random
import struct
from array import array

from tcpforensics.arrays import round6, rounded6


def _bits(x: float) -> bytes:
    return struct.pack("<d", x)


def _values() -> list[float]:
    rng = random.Random(6)
    out = [0.0, -0.0, 1e-7, -1e-7, 4e-7, 5e-7, -5e-7, 1e-6, 1.5e-6, 2.5e-6, 0.0000015,
           1.0000005, 2.0000005, 0.1234565, 123.4567885, -123.4567885, 1e9 + 0.5e-6,
           1.7e9 + 0.0000005, 2.0 ** 40, 2.0 ** 43 + 0.5, 2.0 ** 52, 1e300, -1e300, 5e-324,
           math.inf, -math.inf, math.nan]
    # exact ties: odd multiples of 1/128 are halfway at the sixth decimal (halves to even)
    out += [k / 128 for k in range(-301, 302, 2)] + [1.7e9 + k / 128 for k in range(1, 64, 2)]
    for _ in range(20000):
        out.append(rng.uniform(0, 3600))  # capture-relative times
        out.append(1.7e9 + rng.uniform(0, 86400))  # epoch times
        out.append(rng.randrange(1, 10**9) / 1e6 + rng.choice((0.0, 5e-7, -5e-7)))  # near ties
        out.append(rng.randrange(-10**12, 10**12) / 2e6)  # exact halves of the last digit
        out.append(struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0])
    return out


def test_round6_is_round_to_six_digits_bit_for_bit():
    for x in _values():
        assert _bits(round6(x)) == _bits(round(x, 6)), x


def test_rounded6_rounds_every_element_into_a_new_array():
    values = _values()[:2000]
    src = array("d", values)
    out = rounded6(src)
    assert out.typecode == "d" and out is not src
    assert [_bits(x) for x in src] == [_bits(x) for x in values]  # left as it was
    assert [_bits(x) for x in out] == [_bits(round(x, 6)) for x in values]
