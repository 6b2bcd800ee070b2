"""The passive TCP core: sans-IO connection tracking and Wireshark-compatible analysis."""

from .connection import Connection, addr_text

__all__ = ["Connection", "addr_text"]
