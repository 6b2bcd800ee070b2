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
MIN_SEGMENTS = 30  # fewer data segments than this: too little data to judge (cca None)
BBR_BETA = 0.86  # a median cut shallower than this is no multiplicative decrease
RENO_CUBIC_SPLIT = 0.60  # halfway between 0.5 and 0.7


def _median(values: list[float]) -> float | None:
    if not values:
        return None
    s = sorted(values)
    n = len(s)
    return s[n // 2] if n % 2 else 0.5 * (s[n // 2 - 1] + s[n // 2])


def _unknown(reason: str, evidence: dict, confidence: float = 0.0) -> dict:
    evidence["reason"] = reason
    return {"name": "unknown", "confidence": round(confidence, 3), "evidence": evidence}


def valid_betas(epochs: list[dict]) -> list[float]:
    """Betas of loss epochs recovered without a timeout, with a clean round after."""
    out = []
    for e in epochs:
        beta = e.get("beta")
        if beta is None or e.get("rto"):
            continue
        if e.get("before_pkts", 0) < 4:  # too few packets to tell 0.5 from 0.7
            continue
        out.append(float(beta))
    return out


def classify(f: dict[str, Any]) -> dict | None:
    """Contract object {"name", "confidence", "evidence"}, or None for too little data."""
    if f.get("data_segments", 0) < MIN_SEGMENTS or f.get("rounds", 0) < 4:
        return None
    epochs = f.get("epochs") or []
    betas = valid_betas(epochs)
    beta_med = _median(betas)
    dips = f.get("dips") or []
    fit = f.get("replica_fit") or {}
    plateau = f.get("plateau")
    rounds = f.get("rounds", 0)
    rc, rr, ra = f.get("rounds_cwnd", 0), f.get("rounds_rwnd", 0), f.get("rounds_app", 0)
    evidence: dict[str, Any] = {
        "vantage": f.get("vantage"),
        "rounds": rounds,
        "rounds_cwnd_limited": rc,
        "rounds_rwnd_limited": rr,
        "rounds_app_limited": ra,
        "loss_epochs": len(epochs),
        "loss_epochs_measured": len(betas),
        "beta": round(beta_med, 3) if beta_med is not None else None,
        "betas": [round(b, 3) for b in betas[:50]],
        "rto_epochs": sum(1 for e in epochs if e.get("rto")),
        "replica_fit": fit,
        "probe_rtt_dips": len(dips),
        "dips": dips[:20],
        "plateau": plateau,
        "rtt_min": f.get("rtt_min"),
        "duration": f.get("duration"),
    }
    growth = [e["growth_prev"] for e in epochs if "growth_prev" in e]
    if growth:
        evidence["growth_pkts_per_round"] = round(_median(growth), 3)
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

    # BBR signatures that do not need a loss
    probe_dips = [d for d in dips if d.get("duration", 0) >= 0.12]
    flat = bool(plateau and plateau["rounds"] >= 30
                and plateau["slope"] + 2 * plateau["slope_se"] < 0.3)
    bbr_votes = (1 if probe_dips else 0) + (1 if flat else 0)

    if betas:
        n = len(betas)
        strength = min(1.0, 0.45 + 0.12 * n)
        if beta_med >= BBR_BETA:
            conf = strength * (0.85 + 0.05 * bbr_votes)
            return {"name": "bbr", "confidence": round(min(conf, 0.99), 3),
                    "evidence": evidence}
        if probe_dips and beta_med >= 0.75:
            return {"name": "bbr", "confidence": round(0.6 * strength, 3),
                    "evidence": evidence}
        # reno vs cubic: the cut, then the growth fit as tie-break
        margin = abs(beta_med - RENO_CUBIC_SPLIT) / 0.1
        name = "reno" if beta_med < RENO_CUBIC_SPLIT else "cubic"
        if margin < 0.5 and fit.get("reno") is not None and fit.get("cubic") is not None:
            name = "reno" if fit["reno"] < fit["cubic"] else "cubic"
        conf = strength * min(1.0, 0.6 + 0.4 * min(margin, 1.0))
        if bbr_votes:
            conf *= 0.8
        return {"name": name, "confidence": round(min(conf, 0.99), 3), "evidence": evidence}

    if probe_dips:
        conf = 0.7 + 0.1 * min(len(probe_dips), 2) + (0.05 if flat else 0.0)
        return {"name": "bbr", "confidence": round(conf, 3), "evidence": evidence}
    if flat:
        return {"name": "bbr", "confidence": 0.6, "evidence": evidence}
    if epochs and all(e.get("rto") for e in epochs):
        return _unknown("only timeout loss epochs: no multiplicative decrease measured",
                        evidence)
    return _unknown("no loss epoch to measure the multiplicative decrease", evidence)
