"""Name the sender's congestion control from the estimator's evidence.

The strongest passive signal is the multiplicative decrease measured at each loss epoch:
the window settled on after recovery over the window before the loss is about 0.5 for
Reno, 0.7 for CUBIC (717/1024) and about 1 for BBR v1, which does not cut on loss.
Growth between losses (replica fit), ProbeRTT dips (the window falling to about four
packets for 200 ms roughly every 10 s, without loss) and flat loss-free plateaus add to or
stand in for it.  When the sender was not window-limited long enough the answer is
"unknown", with the reason.
"""

from __future__ import annotations

from typing import Any

MIN_CWND_ROUNDS = 20
# Fewer data segments or rounds than these: too little data to judge (cca None; the
# estimator then builds no features, and makes no replicas while under MIN_SEGMENTS)
MIN_SEGMENTS = 30
MIN_ROUNDS = 4
BBR_BETA = 0.86  # a median cut shallower than this is no multiplicative decrease
RENO_CUBIC_SPLIT = 0.60  # halfway between 0.5 and 0.7
MIN_WINDOW_PKTS = 6
MIN_EPOCHS = 3  # measured loss epochs needed before the cut decides alone
PACED_FRACTION = 0.15  # sender side: under this share of sends right after an ACK = paced
AIMD_EXCESS = 3.0  # window over the AIMD bound beyond which losses did not cut it


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def _band(beta: float) -> str | None:
    """Which algorithm one measured decrease points to (None: not a plausible cut)."""
    if beta < 0.3 or beta > 1.5:
        return None
    if beta < RENO_CUBIC_SPLIT:
        return "reno"
    return "cubic" if beta < BBR_BETA else "bbr"


def _unknown(reason: str, evidence: dict, confidence: float = 0.0) -> dict:
    evidence["reason"] = reason
    return {"name": "unknown", "confidence": round(confidence, 3), "evidence": evidence}


def valid_epochs(epochs: list[dict]) -> list[dict]:
    """Loss epochs recovered without a timeout, with a clean round after, on a window
    large enough to tell 0.5 from 0.7, and no regrowth mistaken for the cut."""
    out = []
    for e in epochs:
        beta = e.get("beta")
        if beta is None or e.get("rto") or beta > 1.5 or e.get("slow_start"):
            continue
        if e.get("before_pkts", 0) < 4:
            continue
        out.append(e)
    return out


def _loss_insensitive_hint(f: dict, window: float, rc: int, duration: float) -> bool:
    n = f.get("loss_epochs_total", 0)
    if n < 5 or not rc:
        return False
    return window / max(2.0 * rc / n, 1.33 * (duration / n) ** 3, 1.0) >= AIMD_EXCESS


def classify(f: dict[str, Any]) -> dict | None:
    """Contract object {"name", "confidence", "evidence"}, or None for too little data.

    `evidence.summary` says in one sentence what the answer rests on (for the report)."""
    result = _decide(f)
    if result is not None:
        result["evidence"]["summary"] = _summary(result)
    return result


def _summary(result: dict) -> str:
    ev = result["evidence"]
    name = result["name"]
    if name == "unknown":
        return f"not named: {ev.get('reason', 'evidence too thin')}"
    signals = []
    n = ev.get("loss_epochs_measured") or 0
    if name in ("reno", "cubic") and ev.get("beta") is not None:
        signals.append(f"the window was cut to {ev['beta']:.2f} of its size at {n} loss "
                       "epoch(s) (Reno halves it, CUBIC keeps 0.7)")
    if name == "bbr":
        if ev.get("beta_smooth") is not None and ev["beta_smooth"] >= BBR_BETA:
            signals.append(f"the window kept {ev['beta_smooth']:.2f} of its size through "
                           f"{n} loss epoch(s)")
        if (ev.get("aimd_excess") or 0) >= AIMD_EXCESS:
            signals.append(f"the window stayed {ev['aimd_excess']:.1f}x above what a "
                           "loss-based sender keeps at this loss rate")
        if ev.get("probe_rtt_dips"):
            signals.append(f"{ev['probe_rtt_dips']} ProbeRTT dip(s) to about 4 packets")
        acf = ev.get("ack_clocked_fraction")
        if ev.get("vantage") == "sender" and acf is not None and acf < PACED_FRACTION:
            signals.append(f"paced sending (only {100 * acf:.0f}% of segments sent right "
                           "after an ACK)")
        plateau = ev.get("plateau")
        if plateau and plateau["rounds"] >= 30 and not signals:
            signals.append(f"a flat window over {plateau['rounds']} loss-free rounds")
    return f"{name}: " + "; ".join(signals or ["see the evidence"])


def _decide(f: dict[str, Any]) -> dict | None:
    if f.get("data_segments", 0) < MIN_SEGMENTS or f.get("rounds", 0) < MIN_ROUNDS:
        return None
    epochs = f.get("epochs") or []
    valid = valid_epochs(epochs)
    betas = [float(e["beta"]) for e in valid]
    smooth = [float(e["beta_smooth"]) for e in valid if e.get("beta_smooth") is not None]
    beta_med = _median(betas)
    smooth_med = _median(smooth)
    dips = f.get("dips") or []
    fit = f.get("replica_fit") or {}
    plateau = f.get("plateau")
    rounds = f.get("rounds", 0)
    duration = f.get("duration") or 0.0
    window = f.get("median_window_pkts")
    rc, rr, ra = f.get("rounds_cwnd", 0), f.get("rounds_rwnd", 0), f.get("rounds_app", 0)
    evidence: dict[str, Any] = {
        "vantage": f.get("vantage"),
        "rounds": rounds,
        "rounds_cwnd_limited": rc,
        "rounds_rwnd_limited": rr,
        "rounds_app_limited": ra,
        "median_window_pkts": window,
        "loss_epochs": len(epochs),
        "loss_epochs_measured": len(betas),
        "beta": round(beta_med, 3) if beta_med is not None else None,
        "beta_smooth": round(smooth_med, 3) if smooth_med is not None else None,
        "betas": [round(b, 3) for b in betas[:50]],
        "rto_epochs": sum(1 for e in epochs if e.get("rto")),
        "replica_fit": fit,
        "probe_rtt_dips": 0,
        "dips": dips[:20],
        "plateau": plateau,
        "rtt_min": f.get("rtt_min"),
        "duration": duration,
        "ack_clocked_fraction": f.get("ack_clocked_fraction"),
    }
    growth = [e["growth_prev"] for e in valid if "growth_prev" in e]
    growth_med = _median(growth)
    if growth_med is not None:
        evidence["growth_pkts_per_round"] = round(growth_med, 3)
    # ProbeRTT comes about every 10 s: many more dips than that are something else
    probe_dips = [d for d in dips if d.get("duration", 0) >= 0.12]
    if len(probe_dips) > duration / 7.0 + 1:
        evidence["dips_rejected"] = "more window dips than a 10 s ProbeRTT schedule allows"
        probe_dips = []
    evidence["probe_rtt_dips"] = len(probe_dips)
    if rounds and rr / rounds > 0.5:
        return _unknown("receive-window-limited", evidence)
    if rounds and ra / rounds > 0.5:
        return _unknown("application-limited", evidence)
    if rc < MIN_CWND_ROUNDS:
        if ra > rr and ra > 0:
            reason = "application-limited"
        elif rr > 0:
            reason = "receive-window-limited"
        else:
            reason = "fewer than 20 RTTs of cwnd-limited sending"
        return _unknown(reason, evidence)
    # Pacing: at the sender, an ACK-clocked sender (reno, cubic without fq) sends new data
    # within microseconds of an ACK; BBR paces on its own timer.  (CUBIC behind the fq
    # qdisc is paced too, so this only decides when the cut cannot be measured.)
    acf = f.get("ack_clocked_fraction")
    paced = f.get("vantage") == "sender" and acf is not None and acf < PACED_FRACTION
    if window is not None and window < MIN_WINDOW_PKTS and not probe_dips and not paced \
            and not _loss_insensitive_hint(f, window, rc, duration):
        return _unknown(f"window of fewer than {MIN_WINDOW_PKTS} packets: the decrease "
                        "at loss cannot be measured", evidence)

    flat = bool(plateau and plateau["rounds"] >= 30
                and plateau["slope"] + 2 * plateau["slope_se"] < 0.3)
    # Loss insensitivity: an AIMD sender cut at every loss epoch cannot hold a window
    # much above what it regrows between epochs: about 2 packets per round between
    # epochs for Reno (alpha/(1-beta)), or 1.33 T^3 for CUBIC's curve (T seconds between
    # epochs).  A window far above both keeps its size through losses: BBR.
    n_epochs = f.get("loss_epochs_total", len(epochs))
    excess = None
    if n_epochs >= 5 and window and rc:
        k = rc / n_epochs
        t_between = duration / n_epochs
        excess = window / max(2.0 * k, 1.33 * t_between ** 3, 1.0)
        evidence["aimd_excess"] = round(excess, 2)
    loss_insensitive = excess is not None and excess >= AIMD_EXCESS
    bbr_votes = (1 if probe_dips else 0) + (1 if flat else 0) + (1 if loss_insensitive else 0)
    bbr_votes += 1 if paced else 0

    def _no_cut() -> bool:
        if smooth_med is None or len(smooth) < 2:
            return False
        if window is not None and window < 12:  # small windows: coarse ratios
            return smooth_med >= 0.95 or (smooth_med >= 0.9 and (beta_med or 0) >= 0.8)
        return smooth_med >= BBR_BETA

    if loss_insensitive:
        conf = min(0.95, 0.7 + 0.03 * (excess - AIMD_EXCESS) + 0.08 * (bbr_votes - 1))
        return {"name": "bbr", "confidence": round(conf, 3), "evidence": evidence}

    consistent = len(betas) >= MIN_EPOCHS or (betas and probe_dips)
    if betas and not consistent:
        # one or two epochs: decide only when every measure tells the same story
        bands = {_band(b) for b in betas}
        if len(bands) == 1 and None not in bands:
            band = bands.pop()
            sband = _band(smooth_med) if smooth_med is not None else band
            consistent = sband == band or (band != "bbr" and smooth_med is not None
                                           and 0.3 <= smooth_med < BBR_BETA)
    if consistent and betas:
        n = len(betas)
        strength = min(1.0, 0.4 + 0.12 * n)
        no_cut = _no_cut() if n >= 2 else (_band(beta_med) == "bbr"
                                           and _band(smooth_med or 0) == "bbr")
        if no_cut or (probe_dips and (smooth_med or 0) >= 0.75):
            conf = strength * (0.8 + 0.07 * bbr_votes) if no_cut else 0.6 * strength
            return {"name": "bbr", "confidence": round(min(conf, 0.99), 3),
                    "evidence": evidence}
        # reno vs cubic: the cut, then the growth between losses as tie-break
        margin = abs(beta_med - RENO_CUBIC_SPLIT) / 0.1
        name = "reno" if beta_med < RENO_CUBIC_SPLIT else "cubic"
        # growth per round is only comparable at the sender: receiver-side rounds follow
        # the echoed ACKs and run shorter, so the slope there reads low for Reno too
        if margin < 0.5 and growth_med is not None and f.get("vantage") == "sender":
            name = "reno" if growth_med >= 0.75 else "cubic"
        conf = strength * min(1.0, 0.6 + 0.4 * min(margin, 1.0))
        if bbr_votes:
            conf *= 0.8
        return {"name": name, "confidence": round(min(conf, 0.99), 3), "evidence": evidence}

    if paced:
        conf = 0.6 + 0.1 * min(bbr_votes - 1, 3)
        return {"name": "bbr", "confidence": round(conf, 3), "evidence": evidence}
    if probe_dips:
        conf = 0.7 + 0.1 * min(len(probe_dips), 2) + (0.05 if flat else 0.0)
        return {"name": "bbr", "confidence": round(conf, 3), "evidence": evidence}
    if flat:
        return {"name": "bbr", "confidence": 0.6, "evidence": evidence}
    if betas:
        return _unknown(f"only {len(betas)} measured loss epoch(s); {MIN_EPOCHS} needed",
                        evidence)
    if epochs and all(e.get("rto") for e in epochs):
        return _unknown("only timeout loss epochs: no multiplicative decrease measured",
                        evidence)
    return _unknown("no loss epoch to measure the multiplicative decrease", evidence)
