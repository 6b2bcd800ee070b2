"""Mark bits of the report's per-segment columns: which segments the charts highlight."""

from __future__ import annotations

from ..model import Analysis

# Extra mark bits beyond the Analysis flags (which use bits 0..14).
MARK_SYN = 1 << 20
MARK_FIN = 1 << 21
MARK_RST = 1 << 22
CONTROL_MARKS = MARK_SYN | MARK_FIN | MARK_RST

# Analysis bits that make a data segment (sender side) worth keeping.
DATA_MARKS = int(
    Analysis.RETRANSMISSION | Analysis.FAST_RETRANSMISSION | Analysis.SPURIOUS_RETRANSMISSION
    | Analysis.OUT_OF_ORDER | Analysis.LOST_SEGMENT | Analysis.ZERO_WINDOW_PROBE
    | Analysis.KEEP_ALIVE | Analysis.WINDOW_FULL
) | MARK_SYN | MARK_FIN | MARK_RST
# Analysis bits that make an ACK (receiver side) worth keeping.
ACK_MARKS = int(
    Analysis.DUPLICATE_ACK | Analysis.ZERO_WINDOW | Analysis.ZERO_WINDOW_PROBE_ACK
    | Analysis.WINDOW_UPDATE | Analysis.ACK_LOST_SEGMENT | Analysis.KEEP_ALIVE_ACK
) | MARK_RST
