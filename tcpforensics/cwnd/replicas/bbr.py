"""BBR v1 as in Linux net/ipv4/tcp_bbr.c (the model, not the code).

BBR keeps a windowed max of the delivery rate (10 rounds) and a windowed min of the RTT
(10 s).  It paces at gain x bandwidth and caps the data in flight at cwnd_gain (2) x BDP.
STARTUP (gain 2/ln 2) lasts until the bandwidth stops growing by 25% for three rounds,
DRAIN empties the queue, PROBE_BW cycles the pacing gain 1.25, 0.75, 1 x 6 (one min-RTT
each), and when the min RTT has not been refreshed for 10 s PROBE_RTT holds the window at
4 packets for 200 ms.  A loss does not cut the window multiplicatively: the first round of
recovery conserves packets and the window returns to its prior value when recovery ends.
"""

from __future__ import annotations

import math

from ...arrays import Ring
from .base import Replica

HIGH_GAIN = 2.885  # 2/ln(2)
DRAIN_GAIN = 1.0 / HIGH_GAIN
CWND_GAIN = 2.0
PACING_GAINS = (1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
BW_WINDOW_ROUNDS = 10
MIN_RTT_WINDOW = 10.0
PROBE_RTT_TIME = 0.2
MIN_CWND = 4.0
FULL_BW_THRESH = 1.25
FULL_BW_ROUNDS = 3

STARTUP, DRAIN, PROBE_BW, PROBE_RTT = "startup", "drain", "probe_bw", "probe_rtt"
# The mode is kept as its index in _MODES (compiled: C comparisons, where comparing
# names was a third of a round's work); `mode` gives its name.
_MODES = (STARTUP, DRAIN, PROBE_BW, PROBE_RTT)
_STARTUP, _DRAIN, _PROBE_BW, _PROBE_RTT = range(4)
_GAINS = PACING_GAINS  # compiled: a C global, no module lookup
_CYCLE = len(PACING_GAINS)


# Room of the bandwidth filter's ring (samples): at least _BW_SLOTS once used; one sample
# a round keeps at most BW_WINDOW_ROUNDS + 1, and only a caller giving more than
# _BW_SLOTS_MAX samples within that many rounds would see the oldest drop out early.
_BW_SLOTS = 4
_BW_SLOTS_MAX = 1 << 16


class BbrReplica(Replica):
    name = "bbr"
    beta = 1.0
    __slots__ = ("phase", "bw", "bw_filter", "round", "min_rtt",
                 "min_rtt_stamp",
                 "cycle_idx", "cycle_stamp", "full_bw", "full_bw_cnt", "probe_rtt_done",
                 "prior_cwnd", "pacing_gain", "probe_rtt_count", "last_rtt")

    def __init__(self, cwnd: float = 10.0, cycle_start: int = 2) -> None:
        super().__init__(cwnd)
        self.phase = _STARTUP  # the mode, an index in _MODES
        # windowed max of the delivery rate (pkts/s) over the last BW_WINDOW_ROUNDS rounds:
        # bw is the max, the filter the samples that can still become it (a monotonic
        # queue: rounds increase and rates decrease from the front), each a record of
        # two doubles, round and rate
        self.bw = 0.0
        self.bw_filter = Ring.__new__(Ring)  # compiled: no Python call
        self.bw_filter.setup(2, _BW_SLOTS, _BW_SLOTS_MAX)
        self.round = 0
        self.min_rtt = 0.0
        self.min_rtt_stamp = 0.0
        self.cycle_idx = cycle_start % _CYCLE
        self.cycle_stamp = 0.0
        self.full_bw = 0.0
        self.full_bw_cnt = 0
        self.probe_rtt_done = math.inf  # when PROBE_RTT ends (inf: never entered)
        self.prior_cwnd = 0.0
        self.pacing_gain = HIGH_GAIN
        self.probe_rtt_count = 0
        self.last_rtt = 0.0

    @property
    def mode(self) -> str:
        """STARTUP, DRAIN, PROBE_BW or PROBE_RTT."""
        return _MODES[self.phase]

    def bdp(self) -> float:
        return self.bw * self.min_rtt

    def target_cwnd(self, gain: float = CWND_GAIN) -> float:
        if self.bw <= 0 or self.min_rtt <= 0:
            return self.cwnd
        return max(gain * self.bdp() + 3.0, MIN_CWND)  # +3: quantum allowance for TSO/acks

    def inflight_target(self) -> float:
        """What BBR keeps in flight: paced at gain x bw, capped by its window."""
        if self.bw <= 0 or self.min_rtt <= 0:
            return self.cwnd
        rtt = max(self.last_rtt, self.min_rtt)
        return min(self.cwnd, self.pacing_gain * self.bw * rtt)

    def new_round(self, now: float) -> None:
        self.round += 1

    def on_ack(self, now: float, acked: float, rtt: float = 0.0, inflight: float = 0.0,
               rate: float = 0.0, cwnd_limited: bool = True) -> None:
        if rtt > 0:
            self.last_rtt = rtt
            if self.min_rtt == 0 or rtt <= self.min_rtt or \
                    now - self.min_rtt_stamp > MIN_RTT_WINDOW:
                expired = self.min_rtt > 0 and now - self.min_rtt_stamp > MIN_RTT_WINDOW
                self.min_rtt = rtt
                self.min_rtt_stamp = now
                if expired and self.phase != _PROBE_RTT:
                    self._enter_probe_rtt(now)
        if rate > 0:
            self._bw_sample(rate)
        self._update_mode(now, inflight)
        self._update_cwnd(acked)

    def _bw_sample(self, rate: float) -> None:
        """Add a delivery-rate sample to the max filter.  Samples from before the last
        BW_WINDOW_ROUNDS rounds leave it when a new one comes (not when a round begins)."""
        f = self.bw_filter
        oldest = self.round - BW_WINDOW_ROUNDS
        while f.n and f.get(f.first()) <= oldest:  # its round is out of the window
            f.pop_first()
        while f.n and f.get(f.last() + 1) <= rate:
            f.pop_last()  # never the max again
        i = f.push()
        f.put(i, self.round)
        f.put(i + 1, rate)
        self.bw = f.get(f.first() + 1)

    def _enter_probe_rtt(self, now: float) -> None:
        self.phase = _PROBE_RTT
        self.pacing_gain = 1.0
        self.prior_cwnd = max(self.prior_cwnd, self.cwnd)
        self.probe_rtt_done = now + max(PROBE_RTT_TIME, self.min_rtt)
        self.probe_rtt_count += 1

    def _update_mode(self, now: float, inflight: float) -> None:
        bw = self.bw
        if self.phase == _STARTUP:
            self.pacing_gain = HIGH_GAIN
            if bw >= self.full_bw * FULL_BW_THRESH:
                self.full_bw = bw
                self.full_bw_cnt = 0
            else:
                self.full_bw_cnt += 1
                if self.full_bw_cnt >= FULL_BW_ROUNDS:
                    self.phase = _DRAIN
                    self.pacing_gain = DRAIN_GAIN
        if self.phase == _DRAIN:
            if inflight <= self.bdp():  # inflight 0.0 (not known) too
                self.phase = _PROBE_BW
                self.cycle_stamp = now
                self.pacing_gain = _GAINS[self.cycle_idx]
        elif self.phase == _PROBE_BW:
            if self.min_rtt > 0 and now - self.cycle_stamp > self.min_rtt:
                self.cycle_idx = (self.cycle_idx + 1) % _CYCLE
                self.cycle_stamp = now
            self.pacing_gain = _GAINS[self.cycle_idx]
        elif self.phase == _PROBE_RTT and now >= self.probe_rtt_done:
            self.min_rtt_stamp = now
            self.cwnd = max(self.cwnd, self.prior_cwnd)
            self.prior_cwnd = 0.0
            self.phase = _PROBE_BW if self.full_bw_cnt >= FULL_BW_ROUNDS else _STARTUP
            self.cycle_stamp = now
            self.pacing_gain = _GAINS[self.cycle_idx] if self.phase == _PROBE_BW \
                else HIGH_GAIN

    def _update_cwnd(self, acked: float) -> None:
        if self.phase == _PROBE_RTT:
            self.cwnd = MIN_CWND
            return
        gain = HIGH_GAIN if self.phase == _STARTUP else CWND_GAIN
        target = self.target_cwnd(gain)
        if self.in_recovery:
            return  # packet conservation: hold the window through recovery
        if self.full_bw_cnt >= FULL_BW_ROUNDS or self.phase != _STARTUP:
            self.cwnd = min(self.cwnd + acked, target)
        else:
            self.cwnd = self.cwnd + acked
        self.cwnd = max(self.cwnd, MIN_CWND)

    def on_loss(self, now: float) -> None:
        self.prior_cwnd = self.cwnd
        self.in_recovery = True

    def on_recovery_end(self, now: float) -> None:
        self.in_recovery = False
        self.cwnd = max(self.cwnd, self.prior_cwnd)
        self.prior_cwnd = 0.0

    def on_rto(self, now: float) -> None:
        self.prior_cwnd = max(self.prior_cwnd, self.cwnd)
        self.cwnd = 1.0
        self.in_recovery = False
