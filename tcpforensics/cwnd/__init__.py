"""Congestion window estimation and congestion-control inference (sans-IO, pure).

`make_observer(flow)` gives the per-flow observer the analysis driver registers; the
replicas, the classifier and the registry are importable for tests and tools.
"""

from .classify import classify
from .estimator import CwndObserver, SenderEstimator, make_observer
from .registry import CCA_NAMES, REPLICAS, make_replicas

__all__ = ["CCA_NAMES", "REPLICAS", "CwndObserver", "SenderEstimator", "classify",
           "make_observer", "make_replicas"]
