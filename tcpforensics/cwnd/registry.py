"""The explicit registry of congestion-control replicas (no import side effects)."""

from __future__ import annotations

from collections.abc import Callable

from .replicas import BbrReplica, CubicReplica, RenoReplica, Replica

REPLICAS: dict[str, Callable[[], Replica]] = {
    "reno": RenoReplica,
    "cubic": CubicReplica,
    "bbr": BbrReplica,
}

#: Names the classifier may answer, besides "unknown".
CCA_NAMES: tuple[str, ...] = tuple(REPLICAS)


def make_replicas() -> dict[str, Replica]:
    """One fresh replica of each registered algorithm."""
    return {name: factory() for name, factory in REPLICAS.items()}
