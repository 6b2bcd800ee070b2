"""tcpforensics: explain what TCP did in a packet capture, and why it hurt."""

from .engine import install_pure_finder_if_asked

install_pure_finder_if_asked()  # TCPFORENSICS_PURE=1: run the .py reference, not compiled code

# ruff: noqa: E402 - the finder must be in place before the other modules load

from .analysis import Analysis, Options, analyze, iter_events
from .batch import iter_flows
from .errors import CaptureError, TcpForensicsError, UsageError

__version__ = "0.1.0"

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
