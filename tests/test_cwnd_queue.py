"""The cwnd estimator's mark queue: a ring of records that keeps first-in first-out order
as it grows, wraps around and shrinks back once drained.

Its methods are C-only in the compiled build, so the check runs the pure-Python reference
in a child process (tests/test_compiled_equivalence.py holds the compiled build to it).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

CHECK = """
import random
from tcpforensics.cwnd.estimator import _MARKS_LOW, _TSQ_MAX, _mark_queue

q = _mark_queue()
model = []
rng = random.Random(3)
nxt = peak = 0
for step in range(30000):
    if not model or rng.random() < (0.6 if step < 10000 else 0.3):
        if len(model) == _TSQ_MAX:
            model.pop(0)  # a full queue drops its oldest mark
        q.add(nxt, nxt / 8, 2 * nxt, 3 * nxt)
        model.append(nxt)
        nxt += 1
    else:
        q.pop_first()
        model.pop(0)
    peak = max(peak, q.cap)
    assert q.size() == len(model)
    assert q.cap <= max(_MARKS_LOW, 4 * len(model)), (q.cap, len(model))
    assert len(q.data) == q.cap * q.width  # no room beyond the ring's
    if step % 97 == 0:  # every mark, in order, from the oldest
        for i, tsval in enumerate(model):
            k = ((q.head + i) & (q.cap - 1)) * q.width
            assert (q.tsval(k), q.time(k), q.ack(k), q.win(k)) == (
                tsval, tsval / 8, 2 * tsval, 3 * tsval)
assert peak >= 1024 and q.cap <= peak // 16, (peak, q.cap)
print("ok", peak, q.cap)
"""


def test_mark_queue_keeps_order_through_growth_wraps_and_shrinks() -> None:
    proc = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True,
                          env={**os.environ, "TCPFORENSICS_PURE": "1",
                               "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("ok")
