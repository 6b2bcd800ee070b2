"""Replicas on hand-built ACK streams: the behaviour each algorithm is known for."""

from __future__ import annotations

import math

import pytest

from tcpforensics.cwnd.registry import CCA_NAMES, make_replicas
from tcpforensics.cwnd.replicas import BbrReplica, CubicReplica, RenoReplica
from tcpforensics.cwnd.replicas.bbr import PACING_GAINS, PROBE_BW, PROBE_RTT
from tcpforensics.cwnd.replicas.cubic import BETA, C


def ack_rounds(rep, start: float, rounds: int, rtt: float, per_ack: int = 2) -> float:
    """One window of ACKs (two packets each) per round; returns the time at the end."""
    t = start
    for _ in range(rounds):
        acks = max(1, int(rep.cwnd) // per_ack)
        for i in range(acks):
            rep.on_ack(t + rtt * (i + 1) / acks, per_ack, rtt=rtt)
        t += rtt
        if hasattr(rep, "new_round"):
            rep.new_round(t)
    return t


def test_registry_names() -> None:
    assert set(CCA_NAMES) == {"reno", "cubic", "bbr"}
    reps = make_replicas()
    assert {r.name for r in reps.values()} == set(CCA_NAMES)


def test_reno_slow_start_halving_and_linear_growth() -> None:
    r = RenoReplica(cwnd=10)
    r.on_ack(0.0, 10)
    assert r.cwnd == 20  # slow start: one packet per packet acked
    r.on_loss(0.1)
    assert r.cwnd == 10 and r.ssthresh == 10
    r.on_ack(0.2, 10)
    assert r.cwnd == 10  # no growth during recovery
    r.on_recovery_end(0.2)
    ack_rounds(r, 0.2, 10, 0.05)
    assert 19 <= r.cwnd <= 21  # one packet per RTT
    r.on_rto(1.0)
    assert r.cwnd == 1 and r.ssthresh == pytest.approx(10.0, abs=0.6)


def test_cubic_beta_and_concave_then_convex_growth() -> None:
    # a large window on a long path, where CUBIC is out of the Reno-friendly region
    w_max, rtt = 1000.0, 0.1
    r = CubicReplica(cwnd=w_max, hystart=False)
    r.ssthresh = 50  # in congestion avoidance
    r.on_loss(0.0)
    assert r.cwnd == pytest.approx(w_max * BETA)
    assert r.w_max == w_max
    r.on_recovery_end(0.0)
    k = ((w_max - w_max * BETA) / C) ** (1 / 3)
    samples = []
    t = 0.0
    while t < 2 * k:
        t = ack_rounds(r, t, 1, rtt)
        samples.append((t, r.cwnd))

    def at(x: float) -> float:
        return min(samples, key=lambda s: abs(s[0] - x))[1]

    # the curve passes W_max near t = K (Linux evaluates it one RTT ahead)
    assert at(k) == pytest.approx(w_max, rel=0.03)
    early = at(2.0) - at(0.1)
    plateau = at(k + 1.0) - at(k - 1.0)
    late = at(2 * k - 0.1) - at(2 * k - 2.0)
    assert early > plateau * 2 and late > plateau * 2  # concave, flat, then convex


def test_cubic_fast_convergence() -> None:
    r = CubicReplica(cwnd=100, hystart=False)
    r.ssthresh = 50
    r.on_loss(0.0)
    r.on_recovery_end(0.0)
    r.cwnd = 80
    r.on_loss(1.0)  # second loss below the previous peak: release bandwidth
    assert r.w_max == pytest.approx(80 * (1 + BETA) / 2)
    assert r.cwnd == pytest.approx(80 * BETA)


def test_cubic_reno_friendly_region_on_short_rtt() -> None:
    # tiny window and RTT: the cubic curve barely moves in 20 RTTs, the Reno-friendly
    # estimate grows about 3(1-b)/(1+b) = 0.53 packets per RTT and wins
    r = CubicReplica(cwnd=10, hystart=False)
    r.ssthresh = 5
    r.on_loss(0.0)
    r.on_recovery_end(0.0)
    start = r.cwnd
    ack_rounds(r, 0.0, 20, 0.002)
    alpha = 3 * (1 - BETA) / (1 + BETA)
    assert r.cwnd - start == pytest.approx(20 * alpha, rel=0.3)


def test_cubic_hystart_delay_exit() -> None:
    r = CubicReplica(cwnd=20)
    r.on_ack(0.0, 1, rtt=0.040)
    r.new_round(0.05)
    assert r.ssthresh == math.inf
    for i in range(12):  # 8+ samples of a clearly larger RTT in one round
        r.on_ack(0.05 + 0.01 * i, 1, rtt=0.060)
    assert r.hs_found and r.ssthresh < math.inf


def test_bbr_startup_to_probe_bw_with_gain_cycle() -> None:
    b = BbrReplica(cwnd=10)
    t = 0.0
    rtt = 0.05
    rate = 1000.0  # packets per second: BDP 50 packets
    seen = []
    for _ in range(80):
        t += rtt
        b.new_round(t)
        b.on_ack(t, rate * rtt, rtt=rtt, inflight=40, rate=rate)
        seen.append((b.mode, b.pacing_gain))
    assert b.mode == PROBE_BW
    assert b.target_cwnd() == pytest.approx(2 * 50 + 3)
    assert b.cwnd == pytest.approx(103)
    gains = [g for m, g in seen[-16:] if m == PROBE_BW]
    assert gains.count(1.25) >= 1 and gains.count(0.75) >= 1 and gains.count(1.0) >= 6
    assert set(gains) <= set(PACING_GAINS)


def test_bbr_loss_does_not_cut_and_probe_rtt_every_10s() -> None:
    b = BbrReplica(cwnd=10)
    t, rtt, rate = 0.0, 0.05, 1000.0
    for _ in range(40):
        t += rtt
        b.new_round(t)
        b.on_ack(t, 50, rtt=rtt, inflight=50, rate=rate)
    before = b.cwnd
    last_min = t  # the last RTT sample at the minimum
    b.on_loss(t)
    b.on_ack(t + 0.01, 2, rtt=0.06, inflight=50, rate=rate)
    b.on_recovery_end(t + 0.05)
    assert b.cwnd >= before  # no multiplicative decrease
    # the queue keeps the RTT above the minimum: after 10 s BBR drains to 4 packets
    modes = []
    k = 0
    while t < 25:
        t += rtt
        k += 1
        b.new_round(t)
        # a slowly growing queue: no sample reaches the last minimum again
        b.on_ack(t, 50, rtt=0.07 + 1e-5 * k, inflight=50, rate=rate)
        modes.append((t, b.mode, b.cwnd))
    probe = [(tt, c) for tt, m, c in modes if m == PROBE_RTT]
    assert probe and all(c == 4 for _, c in probe)
    assert probe[0][0] == pytest.approx(last_min + 10.0, abs=2 * rtt)
    first = [tt for tt, _ in probe if tt < probe[0][0] + 1.0]
    assert first[-1] - first[0] == pytest.approx(0.2, abs=0.11)  # held about 200 ms
    assert modes[-1][1] == PROBE_BW and modes[-1][2] > 50  # window restored
    assert b.probe_rtt_count >= 2  # and again about 10 s later


def test_bbr_bandwidth_filter_is_a_windowed_max() -> None:
    # the ring behind BBR's max filter must answer as the max of the samples of the last
    # BW_WINDOW_ROUNDS rounds, also when a round brings more samples than the ring has slots
    import random

    window = 10  # bbr.BW_WINDOW_ROUNDS (a C constant in the compiled build)
    rng = random.Random(5)
    bbr = BbrReplica()
    seen: list[tuple[int, float]] = []
    for i in range(400):
        if i % 7 or i >= 200:  # some rounds get 40 samples (past the 16 slots)
            bbr.new_round(float(i))
        burst = i in (50, 51, 300)  # falling rates: every one stays in the filter
        for j in range(40 if burst else 1):
            rate = 2000.0 - j if burst else rng.uniform(1.0, 1000.0)
            bbr.on_ack(float(i), 1.0, 0.0, 0.0, rate)
            seen.append((bbr.round, rate))
            want = max(r for k, r in seen if k > bbr.round - window)
            assert bbr.bw == want
