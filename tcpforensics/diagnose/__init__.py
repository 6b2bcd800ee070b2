"""Diagnosis: per-flow stalls (streaming observer) and findings (pure rules).

`make_observer(flow)` is registered with the analysis driver; `diagnose(flows, capture)`
runs every rule of `registry.RULES` over the finished flows.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..model import CaptureInfo, Finding, FlowResult
from .findings import run_rules
from .registry import KINDS as FINDING_KINDS
from .registry import RULES
from .stalls import KINDS as STALL_KINDS
from .stalls import StallObserver, make_observer


def diagnose(flows: list[FlowResult], capture: CaptureInfo,
             errors: list[tuple[str, str]] | None = None) -> list[Finding]:
    """Findings ranked worst first (ids F1, F2, ...); sets each flow's `findings`.

    Rules that fail on odd data are skipped; `errors` (if given) collects why.
    """
    return run_rules(flows, capture, RULES, errors)


def stall_summary(flows: Iterable[FlowResult]) -> dict[str, dict]:
    """Time lost per stall kind over a whole capture: {kind: {count, seconds, flows}}."""
    out: dict[str, dict] = {}
    for f in flows:
        totals = f.tcp.get("stall_totals")
        if totals is None:  # flows not seen by the observer: count their stalls
            totals = {}
            for s in f.stalls:
                t = totals.setdefault(s.kind, {"count": 0, "seconds": 0.0})
                t["count"] += 1
                t["seconds"] += s.duration
        for kind, t in totals.items():
            row = out.setdefault(kind, {"count": 0, "seconds": 0.0, "flows": 0})
            row["count"] += int(t.get("count", 0))
            row["seconds"] += float(t.get("seconds", 0.0))
            row["flows"] += 1
    return out


__all__ = [
    "FINDING_KINDS",
    "RULES",
    "STALL_KINDS",
    "StallObserver",
    "diagnose",
    "make_observer",
    "stall_summary",
]
