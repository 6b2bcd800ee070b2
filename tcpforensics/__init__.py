"""tcpforensics: explain what TCP did in a packet capture, and why it hurt."""

from .engine import install_pure_finder_if_asked

install_pure_finder_if_asked()  # TCPFORENSICS_PURE=1: run the .py reference, not compiled code

# ruff: noqa: E402 - the finder must be in place before the other modules load

from .analysis import Analysis, Options, analyze, iter_events
from .errors import CaptureError, TcpForensicsError, UsageError

__version__ = "0.1.0"


def __getattr__(name: str):
    # iter_flows lives in batch.py, whose imports (logging, hashlib, ...) the command
    # line's analyze does not need: loaded on first use
    if name == "iter_flows":
        from .batch import iter_flows

        return iter_flows
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Analysis",
    "CaptureError",
    "Options",
    "TcpForensicsError",
    "UsageError",
    "__version__",
    "analyze",
    "iter_events",
    "iter_flows",
]
