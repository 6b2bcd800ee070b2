"""Reno / NewReno as Linux runs it (tcp_reno_cong_avoid, tcp_reno_ssthresh).

Slow start adds one packet per packet acknowledged up to ssthresh; congestion avoidance
adds one packet per window's worth of acknowledged packets (one per RTT when the
sender is window-limited); a loss halves the window (floor 2).
"""

from __future__ import annotations

from .base import Replica


class RenoReplica(Replica):
    name = "reno"
    beta = 0.5
    __slots__ = ("cwnd_cnt",)

    def __init__(self, cwnd: float = 10.0) -> None:
        super().__init__(cwnd)
        self.cwnd_cnt = 0.0

    def on_ack(self, now: float, acked: float, rtt: float = 0.0, inflight: float = 0.0,
               rate: float = 0.0, cwnd_limited: bool = True) -> None:
        if acked <= 0 or self.in_recovery or not cwnd_limited:
            return  # Linux grows the window only when the window was the limit
        if self.cwnd < self.ssthresh:
            room = self.ssthresh - self.cwnd
            step = min(acked, room)
            self.cwnd += step
            acked -= step
            if acked <= 0:
                return
        self.cwnd_cnt += acked
        if self.cwnd_cnt >= self.cwnd:
            # a Python float in the compiled build too (reno.pxd): C's floor(a / b) is not
            # always Python's a // b
            cnt = self.cwnd_cnt
            grow = int(cnt // self.cwnd)
            self.cwnd_cnt -= grow * self.cwnd
            self.cwnd += grow

    def on_loss(self, now: float) -> None:
        self.ssthresh = max(self.cwnd * self.beta, 2.0)
        self.cwnd = self.ssthresh  # PRR lands on ssthresh when recovery ends
        self.cwnd_cnt = 0.0
        self.in_recovery = True
