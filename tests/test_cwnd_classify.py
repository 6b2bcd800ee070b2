"""The classifier's rules on hand-built estimator features."""

from __future__ import annotations

from tcpforensics.cwnd.classify import classify


def feats(**kw) -> dict:
    base = {"vantage": "sender", "data_segments": 5000, "rounds": 300, "rounds_cwnd": 300,
            "rounds_rwnd": 0, "rounds_app": 0, "duration": 20.0, "median_window_pkts": 40.0,
            "epochs": [], "loss_epochs_total": 0, "dips": [], "plateau": None,
            "replica_fit": {}, "rtt_min": 0.05}
    base.update(kw)
    if "loss_epochs_total" not in kw:
        base["loss_epochs_total"] = len(base["epochs"])
    return base


def epoch(beta: float, smooth: float | None = None, before: float = 40.0, **kw) -> dict:
    e = {"t": 1.0, "beta": beta, "beta_smooth": smooth if smooth is not None else beta,
         "before_pkts": before, "rto": False, "slow_start": False}
    e.update(kw)
    return e


def test_reno_and_cubic_from_the_cut() -> None:
    r = classify(feats(epochs=[epoch(0.5), epoch(0.48), epoch(0.52), epoch(0.51)]))
    assert r["name"] == "reno" and r["evidence"]["beta"] == 0.505
    c = classify(feats(epochs=[epoch(0.7), epoch(0.72), epoch(0.69)]))
    assert c["name"] == "cubic"
    assert 0 < r["confidence"] <= 1 and 0 < c["confidence"] <= 1
    assert r["evidence"]["summary"].startswith("reno: the window was cut to 0.5")
    assert "4 loss epoch" in r["evidence"]["summary"]


def test_no_cut_is_bbr() -> None:
    r = classify(feats(epochs=[epoch(0.8, 1.0), epoch(0.95, 0.98), epoch(1.1, 1.05)]))
    assert r["name"] == "bbr"


def test_timeouts_and_slow_start_epochs_do_not_count() -> None:
    eps = [epoch(0.1, rto=True), epoch(0.3, slow_start=True), epoch(0.7), epoch(0.7)]
    r = classify(feats(epochs=eps))
    assert r["evidence"]["loss_epochs_measured"] == 2
    assert r["name"] == "cubic"  # two epochs, both cubic-like, smooth agrees
    r = classify(feats(epochs=[epoch(0.1, rto=True), epoch(0.2, rto=True)]))
    assert r["name"] == "unknown" and "timeout" in r["evidence"]["reason"]


def test_disagreeing_few_epochs_abstain() -> None:
    r = classify(feats(epochs=[epoch(0.5), epoch(0.9)]))
    assert r["name"] == "unknown" and "needed" in r["evidence"]["reason"]


def test_loss_insensitive_window_is_bbr() -> None:
    # 100 loss epochs in 300 rounds: an AIMD sender could hold ~6 packets, not 60
    eps = [epoch(0.5) for _ in range(10)]
    r = classify(feats(epochs=eps, loss_epochs_total=100, median_window_pkts=60.0))
    assert r["name"] == "bbr" and r["evidence"]["aimd_excess"] >= 3
    # the same loss rate with a window AIMD can hold stays loss-based
    r = classify(feats(epochs=eps, loss_epochs_total=100, median_window_pkts=6.0))
    assert r["name"] == "reno"


def test_probe_rtt_dips_without_loss() -> None:
    dips = [{"t": 10.0, "duration": 0.21, "low_pkts": 4, "high_pkts": 40},
            {"t": 20.1, "duration": 0.2, "low_pkts": 4, "high_pkts": 41}]
    r = classify(feats(dips=dips))
    assert r["name"] == "bbr" and r["evidence"]["probe_rtt_dips"] == 2
    # dips far more often than every ~10 s are not ProbeRTT
    many = [dict(dips[0], t=float(i)) for i in range(15)]
    r = classify(feats(dips=many))
    assert r["name"] == "unknown" and r["evidence"]["probe_rtt_dips"] == 0


def test_flat_plateau_without_loss_is_bbr_but_growth_is_not() -> None:
    flat = {"rounds": 200, "slope": 0.01, "slope_se": 0.02, "mean_pkts": 80}
    assert classify(feats(plateau=flat))["name"] == "bbr"
    growing = {"rounds": 200, "slope": 1.0, "slope_se": 0.02, "mean_pkts": 80}
    r = classify(feats(plateau=growing))
    assert r["name"] == "unknown" and "no loss epoch" in r["evidence"]["reason"]


def test_unknown_reasons_and_none() -> None:
    assert classify(feats(data_segments=10)) is None
    r = classify(feats(rounds_cwnd=100, rounds_app=200))
    assert r["name"] == "unknown" and r["evidence"]["reason"] == "application-limited"
    assert r["evidence"]["summary"] == "not named: application-limited"
    r = classify(feats(rounds_cwnd=100, rounds_rwnd=200))
    assert r["evidence"]["reason"] == "receive-window-limited"
    r = classify(feats(rounds=30, rounds_cwnd=12, rounds_app=18,
                       epochs=[epoch(0.5)] * 5))
    assert r["name"] == "unknown" and r["evidence"]["reason"] == "application-limited"
    r = classify(feats(rounds=15, rounds_cwnd=15, epochs=[epoch(0.5)] * 5))
    assert r["evidence"]["reason"].startswith("fewer than 20 RTTs")
    r = classify(feats(median_window_pkts=4.0, epochs=[epoch(0.5, before=4.0)] * 5))
    assert r["name"] == "unknown" and "fewer than 6 packets" in r["evidence"]["reason"]


def test_pacing_decides_only_without_a_measured_cut() -> None:
    assert classify(feats(ack_clocked_fraction=0.05))["name"] == "bbr"
    assert classify(feats(ack_clocked_fraction=0.9))["name"] == "unknown"
    # at the receiver the spacing is the bottleneck's, not the sender's
    r = classify(feats(vantage="receiver", ack_clocked_fraction=0.05))
    assert r["name"] == "unknown"
    # a measured Reno cut wins over pacing (CUBIC or Reno behind fq is paced too)
    eps = [epoch(0.5), epoch(0.5), epoch(0.52)]
    assert classify(feats(epochs=eps, ack_clocked_fraction=0.05))["name"] == "reno"
