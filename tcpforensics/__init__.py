"""tcpforensics: explain what TCP did in a packet capture, and why it hurt."""

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
