"""CUBIC as in RFC 9438 and Linux net/ipv4/tcp_cubic.c.

W_cubic(t) = C (t - K)^3 + W_max with C = 0.4, beta = 717/1024, K = cbrt(W_max (1-beta)/C);
fast convergence lowers W_max when a loss comes before the previous peak; the
Reno-friendly estimate (additive increase 3(1-beta)/(1+beta) per RTT) is a floor; HyStart
leaves slow start on an ACK train or a delay increase.  Linux evaluates the curve one
min-RTT ahead (t + delay_min) and caps slow growth to cnt >= 2 (at most 1.5x per RTT).
"""

from __future__ import annotations

import math

from .base import Replica

BETA = 717 / 1024
C = 0.4
HYSTART_LOW_WINDOW = 16
HYSTART_MIN_SAMPLES = 8
HYSTART_ACK_DELTA = 0.002
# additive increase of the Reno-friendly estimate, packets per RTT: 3(1-beta)/(1+beta)
RENO_ALPHA = 3.0 * (1.0 - BETA) / (1.0 + BETA)
_UNSET = -math.inf  # a time not set (packet times are never -inf)


class CubicReplica(Replica):
    name = "cubic"
    beta = BETA
    __slots__ = ("w_max", "epoch_start", "k", "origin", "ack_cnt", "w_est", "delay_min",
                 "cwnd_cnt", "cnt", "hystart", "hs_round_start", "hs_last_ack",
                 "hs_curr_rtt", "hs_samples", "hs_found")

    def __init__(self, cwnd: float = 10.0, hystart: bool = True) -> None:
        super().__init__(cwnd)
        self.w_max = 0.0
        self.epoch_start = _UNSET  # start of the congestion-avoidance epoch
        self.k = 0.0
        self.origin = 0.0
        self.ack_cnt = 0.0
        self.w_est = 0.0
        self.delay_min = 0.0
        self.cwnd_cnt = 0.0
        self.cnt = 1.0
        self.hystart = hystart
        self.hs_round_start = _UNSET  # _UNSET: before the first round
        self.hs_last_ack = 0.0
        self.hs_curr_rtt = 0.0
        self.hs_samples = 0
        self.hs_found = False

    # --- RFC 9438 section 4.6 / tcp_cubic.c cubictcp_recalc_ssthresh ----------------------
    def on_loss(self, now: float) -> None:
        self.epoch_start = _UNSET
        if self.cwnd < self.w_max:  # fast convergence: release bandwidth to newcomers
            self.w_max = self.cwnd * (1.0 + BETA) / 2.0
        else:
            self.w_max = self.cwnd
        self.ssthresh = max(self.cwnd * BETA, 2.0)
        self.cwnd = self.ssthresh
        self.cwnd_cnt = 0.0
        self.in_recovery = True

    def on_rto(self, now: float) -> None:
        self.on_loss(now)
        self.cwnd = 1.0
        self.in_recovery = False

    def anchor(self, cwnd: float, now: float) -> None:
        if cwnd > 0:
            self.cwnd = float(cwnd)
            self.epoch_start = _UNSET

    def new_round(self, now: float) -> None:
        """HyStart bookkeeping: a new RTT round begins (the estimator tells us)."""
        self.hs_round_start = now
        self.hs_last_ack = now
        self.hs_curr_rtt = 0.0
        self.hs_samples = 0

    def _hystart(self, now: float, rtt: float) -> None:
        if self.hs_found or self.cwnd < HYSTART_LOW_WINDOW or self.hs_round_start == _UNSET:
            return
        if rtt > 0:
            if self.delay_min == 0 or rtt < self.delay_min:
                self.delay_min = rtt
            if self.hs_samples < HYSTART_MIN_SAMPLES:
                if self.hs_curr_rtt == 0 or rtt < self.hs_curr_rtt:
                    self.hs_curr_rtt = rtt
                self.hs_samples += 1
            else:
                thresh = min(max(self.delay_min / 8.0, 0.004), 0.016)
                if self.hs_curr_rtt >= self.delay_min + thresh:
                    self._exit_slow_start()
                    return
        # ACK train: closely spaced ACKs spanning half the min RTT mean the pipe is full
        if now - self.hs_last_ack <= HYSTART_ACK_DELTA:
            self.hs_last_ack = now
            if self.delay_min > 0 and now - self.hs_round_start >= self.delay_min / 2.0:
                self._exit_slow_start()

    def _exit_slow_start(self) -> None:
        self.hs_found = True
        self.ssthresh = self.cwnd

    def on_ack(self, now: float, acked: float, rtt: float = 0.0, inflight: float = 0.0,
               rate: float = 0.0, cwnd_limited: bool = True) -> None:
        if rtt > 0 and (self.delay_min == 0 or rtt < self.delay_min):
            self.delay_min = rtt
        if acked <= 0 or self.in_recovery or not cwnd_limited:
            return
        if self.cwnd < self.ssthresh:
            if self.hystart:
                self._hystart(now, rtt)
            room = self.ssthresh - self.cwnd
            step = min(acked, room)
            self.cwnd += step
            acked -= step
            if acked <= 0:
                return
        self._update(now, acked)
        self.cwnd_cnt += acked
        if self.cwnd_cnt >= self.cnt:
            grow = self.cwnd_cnt / self.cnt
            self.cwnd += grow
            self.cwnd_cnt = 0.0

    def _update(self, now: float, acked: float) -> None:
        cwnd = self.cwnd
        self.ack_cnt += acked
        if self.epoch_start == _UNSET:
            self.epoch_start = now
            self.ack_cnt = acked
            self.w_est = cwnd
            if self.w_max <= cwnd:
                self.k = 0.0
                self.origin = cwnd
            else:
                self.k = ((self.w_max - cwnd) / C) ** (1.0 / 3.0)
                self.origin = self.w_max
        t = now - self.epoch_start + self.delay_min
        target = self.origin + C * (t - self.k) ** 3
        cnt = cwnd / (target - cwnd) if target > cwnd else 100.0 * cwnd
        if self.w_max == 0 and cnt > 20:
            cnt = 20.0  # before any loss: at most 5% growth per RTT
        # Reno-friendly region: additive increase of RENO_ALPHA packets per RTT
        self.w_est += RENO_ALPHA * acked / cwnd
        if self.w_est > cwnd:
            max_cnt = cwnd / (self.w_est - cwnd)
            cnt = min(cnt, max_cnt)
        self.cnt = max(cnt, 2.0)
