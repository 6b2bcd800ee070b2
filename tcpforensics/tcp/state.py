"""RFC 9293 connection states as a passive observer infers them.

Each endpoint's state moves on what it sends (SYN, FIN, RST, the ACK of the peer's
SYN) and on what it is assumed to receive (every segment seen on the wire is assumed to
reach its destination; a capture taken at one end is exact for that end).  Captures that
start mid-connection begin in UNKNOWN, which behaves like ESTABLISHED for closing.
"""

from __future__ import annotations

CLOSED = "CLOSED"
LISTEN = "LISTEN"
SYN_SENT = "SYN_SENT"
SYN_RECEIVED = "SYN_RECEIVED"
ESTABLISHED = "ESTABLISHED"
FIN_WAIT_1 = "FIN_WAIT_1"
FIN_WAIT_2 = "FIN_WAIT_2"
CLOSE_WAIT = "CLOSE_WAIT"
CLOSING = "CLOSING"
LAST_ACK = "LAST_ACK"
TIME_WAIT = "TIME_WAIT"
#: explicit state for a capture that starts after the handshake (partial knowledge)
UNKNOWN = "UNKNOWN"

ALL_STATES = (CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2,
              CLOSE_WAIT, CLOSING, LAST_ACK, TIME_WAIT, UNKNOWN)

#: states in which the endpoint has (or may have) a synchronized connection
SYNCHRONIZED = frozenset({ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT, CLOSING, LAST_ACK,
                          TIME_WAIT, UNKNOWN})
#: states from which sending a FIN enters FIN_WAIT_1
OPEN_FOR_CLOSE = frozenset({ESTABLISHED, SYN_RECEIVED, UNKNOWN, SYN_SENT, LISTEN, CLOSED})
#: terminal states
FINAL = frozenset({CLOSED, TIME_WAIT})
