"""arrays.Ring: the first-in first-out ring of records behind the cwnd estimator's mark
queues, the stall observer's window edges and BBR's bandwidth filter.  It must keep the
records in order through growth, wrap-around, drops at its bound and shrinking, and hold
no more room than its rule allows (the memory a long flow gives back); clear() empties it
and keeps the room.

Its methods are C-only in the compiled build, so the check runs the pure-Python
reference in a child process (tests/test_compiled_equivalence.py and the observers'
tests hold the compiled build to it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHECK = """
import random
from collections import deque
from tcpforensics.arrays import Ring

LOW, HIGH, WIDTH = 4, 256, 3
ring = Ring(WIDTH, LOW, HIGH)
assert ring.cap == 0 and len(ring.data) == 0  # no room until the first push
model = deque()
rng = random.Random(5)
nxt = peak = 0
ops = set()
for step in range(40000):
    phase = (step // 5000) % 4  # filling, draining, steady, overflowing
    p_push = (0.7, 0.25, 0.5, 0.9)[phase]
    if not model or rng.random() < p_push:
        if len(model) == HIGH:
            model.popleft()  # a full ring at its bound drops its oldest
            ops.add("drop")
        i = ring.push()
        ring.data[i:i + WIDTH] = ring.data.__class__("d", (nxt, -nxt, nxt / 4))
        model.append(nxt)
        nxt += 1
    elif rng.random() < 0.7:
        ring.pop_first()
        model.popleft()
    else:
        ring.pop_last()
        model.pop()
        ops.add("pop_last")
    peak = max(peak, ring.cap)
    assert ring.size() == len(model)
    assert LOW <= ring.cap <= HIGH
    assert ring.cap <= max(LOW, 4 * len(model)), (ring.cap, len(model))
    assert len(ring.data) == ring.cap * WIDTH  # exactly the ring's room
    if model:
        assert ring.data[ring.first()] == model[0] and ring.data[ring.last()] == model[-1]
        if len(model) > 1:
            assert ring.data[ring.second()] == model[1]
    if step % 89 == 0:  # every record, in order, from the oldest
        for k, x in enumerate(model):
            i = ring.at(k)
            assert tuple(ring.data[i:i + WIDTH]) == (x, -x, x / 4)
while model:  # drained: the room goes back down to the least
    ring.pop_first()
    model.popleft()
assert peak == HIGH and ring.cap == LOW, (peak, ring.cap)
assert ops == {"drop", "pop_last"}, ops
for x in range(10):
    i = ring.push()
    ring.data[i] = x
cap = ring.cap
ring.clear()  # empty, the room kept, then filled again from its start
assert ring.size() == 0 and ring.cap == cap == 16, cap
for x in range(20, 23):
    i = ring.push()
    ring.data[i] = x
assert [ring.data[ring.at(k)] for k in range(3)] == [20, 21, 22]
assert ring.first() == 0 and ring.cap == cap
print("ok")
"""


def test_ring_keeps_order_through_growth_wraps_drops_and_shrinks() -> None:
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          env={**os.environ, "TCPFORENSICS_PURE": "1",
                               "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ok")
