"""The one small exception tree.

Passive analysis never raises on odd traffic; exceptions are for misuse (UsageError)
and for input that cannot be read at all (CaptureError).  The CLI maps both to exit 2
and prints the message, which is kept to one clear line.
"""

from __future__ import annotations


class TcpForensicsError(Exception):
    """Base of every exception this package raises on purpose."""


class CaptureError(TcpForensicsError):
    """The input cannot be used: missing, unreadable, empty, or not a capture."""


class UsageError(TcpForensicsError):
    """The caller asked for something that makes no sense (bad option, bad value)."""
