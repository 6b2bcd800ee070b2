"""Model senders (reno, cubic, bbr) driven by what a capture shows."""

from .base import Replica
from .bbr import BbrReplica
from .cubic import CubicReplica
from .reno import RenoReplica

__all__ = ["BbrReplica", "CubicReplica", "RenoReplica", "Replica"]
