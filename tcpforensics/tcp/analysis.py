"""Per-segment `tcp.analysis.*` flags, bit for bit as Wireshark 4.0 sets them.

This is a re-statement of the rules of `tcp_analyze_sequence_number()` in Wireshark's
epan/dissectors/packet-tcp.c (single pass, default preferences), written for this
project.  The rules, in the order Wireshark applies them (the order matters):

1. zero_window_probe: 1 byte at exactly the next expected sequence number while the
   peer's last window was 0.  It skips every check up to the duplicate-ACK one.
2. zero_window: a window field of 0 on a segment without SYN/FIN/RST.
3. lost_segment: the sequence number jumps past the next expected one (not on RST).
4. keep_alive: 0 or 1 byte starting one byte before the next expected sequence number.
5. window_update: no data, same SEQ/ACK as before, different non-zero window.
6. window_full: data reaching exactly the right edge of the peer's advertised window
   (only when the window scale is known, i.e. the handshake was seen).
7. keep_alive_ack / zero_window_probe_ack / duplicate_ack: a bare repeat of the
   previous ACK, window and SEQ; which one depends on what the peer sent last.
8. ack_lost_segment: the ACK covers data beyond the highest contiguous byte seen.
9. For data (or SYN/FIN) that does not advance the sequence number, unless it is a
   keep-alive: spurious_retransmission (all of it already acknowledged) first, then
   fast_retransmission (>= 2 duplicate ACKs for exactly this byte, within 20 ms of the
   last one), then out_of_order (within one handshake RTT, or 3 ms, of the highest
   segment), else retransmission.  Like tshark, fast and spurious retransmissions also
   carry the retransmission bit (tshark adds the tcp.analysis.retransmission field).

All arithmetic is on raw 32-bit values like the original, including its quirks (values
of 0 mean "not yet seen", timestamps that go backwards never satisfy a "within" test).
"""

from __future__ import annotations

from ..model import ACK, FIN, RST, SYN, Analysis
from .endpoint import EndpointState
from .seqspace import HALF, MASK

# Analysis bits as plain ints (model.Analysis is the one definition; ints keep the hot path cheap)
RETRANSMISSION = int(Analysis.RETRANSMISSION)
FAST_RETRANSMISSION = int(Analysis.FAST_RETRANSMISSION)
SPURIOUS_RETRANSMISSION = int(Analysis.SPURIOUS_RETRANSMISSION)
OUT_OF_ORDER = int(Analysis.OUT_OF_ORDER)
LOST_SEGMENT = int(Analysis.LOST_SEGMENT)
ACK_LOST_SEGMENT = int(Analysis.ACK_LOST_SEGMENT)
DUPLICATE_ACK = int(Analysis.DUPLICATE_ACK)
ZERO_WINDOW = int(Analysis.ZERO_WINDOW)
ZERO_WINDOW_PROBE = int(Analysis.ZERO_WINDOW_PROBE)
ZERO_WINDOW_PROBE_ACK = int(Analysis.ZERO_WINDOW_PROBE_ACK)
WINDOW_FULL = int(Analysis.WINDOW_FULL)
WINDOW_UPDATE = int(Analysis.WINDOW_UPDATE)
KEEP_ALIVE = int(Analysis.KEEP_ALIVE)
KEEP_ALIVE_ACK = int(Analysis.KEEP_ALIVE_ACK)
REUSED_PORTS = int(Analysis.REUSED_PORTS)

ANY_RETRANS = RETRANSMISSION | FAST_RETRANSMISSION | SPURIOUS_RETRANSMISSION | OUT_OF_ORDER

_SFR = SYN | FIN | RST
_SF = SYN | FIN
FAST_WINDOW = 0.02  # Wireshark: fast retransmission within 20 ms of the last dup ACK
OOO_DEFAULT = 0.003  # Wireshark: out-of-order threshold without a handshake RTT
# Timestamps are float seconds; true differences are whole microseconds (or ns) but the
# float difference carries ~1e-7 of noise.  Shaving this much keeps "< threshold" exact.
EPS = 5e-7


def set_bases(fwd: EndpointState, rev: EndpointState, seq: int, ack: int, flags: int) -> None:
    """Wireshark's relative-sequence bases: the ISN from a SYN, else the byte before the
    first one seen; the peer's from the first ACK (ack - 1) if not known yet."""
    if not fwd.base_set:
        fwd.set_base(seq if flags & SYN else (seq - 1) & MASK)
    if flags & ACK and not rev.base_set:
        rev.set_base((ack - 1) & MASK)


def wireshark_flags(conn, fwd: EndpointState, rev: EndpointState, frame: int, ts: float,
                    seq: int, ack: int, seglen: int, flags: int, window: int,
                    ta: int, rel_seq: int) -> tuple[int, bool]:
    """Apply Wireshark's sequence analysis for one segment; returns (flags, not_advanced).

    `ta` holds flags decided before the analysis (reused_ports); `rel_seq` is `seq` in
    the sender's unwrapped relative space (set_bases() first).  Updates fwd/rev.
    """
    if flags & ACK:
        rev.valid_bif = True

    nextseq = fwd.nextseq
    lastack = fwd.lastack
    no_sfr = not (flags & _SFR)

    if seglen == 1 and seq == nextseq and rev.window == 0:
        ta |= ZERO_WINDOW_PROBE
    else:
        if window == 0 and no_sfr:
            ta |= ZERO_WINDOW
        if nextseq and not flags & RST and ((nextseq - seq) & MASK) >= HALF:
            ta |= LOST_SEGMENT
            fwd.valid_bif = False
        if seglen <= 1 and no_sfr and seq == ((nextseq - 1) & MASK):
            ta |= KEEP_ALIVE
        if seglen == 0:
            if no_sfr and seq == nextseq and ack == lastack:
                if window != fwd.window:
                    if window:
                        ta |= WINDOW_UPDATE
                elif window:
                    if rev.lastsegmentflags & KEEP_ALIVE:
                        ta |= KEEP_ALIVE_ACK
                    else:
                        d = fwd.dupacknum
                        fwd.dupacknum = 1 if d == -1 else d + 1
                        ta |= DUPLICATE_ACK
                elif rev.lastsegmentflags & ZERO_WINDOW_PROBE:
                    ta |= ZERO_WINDOW_PROBE_ACK
        elif no_sfr and rev.win_scale != -1:
            shift = 0 if (rev.is_first_ack or rev.win_scale == -2) else rev.win_scale
            if ((seq + seglen) & MASK) == ((rev.lastack + (rev.window << shift)) & MASK):
                ta |= WINDOW_FULL

    # finished_fwd: a new ACK value resets the duplicate count
    if ack != lastack:
        fwd.lastnondupack = frame
        fwd.dupacknum = 0

    rmax = rev.maxseqtobeacked
    if rmax and flags & ACK and ((rmax - ack) & MASK) >= HALF:
        if rmax < rev.nextseq:  # (sic: plain unsigned comparison)
            # the mark lags behind data seen since: move it there, report the gap
            rev.maxseqtobeacked = rev.nextseq
            ta |= ACK_LOST_SEGMENT
        else:
            # the ACK is beyond everything seen: report it once until the peer's
            # own ACK changes
            if rev.dupacknum == 0:
                ta |= ACK_LOST_SEGMENT
            rev.dupacknum = -1

    not_adv = False
    if seglen > 0 or flags & _SF:
        not_adv = bool(nextseq) and ((seq - nextseq) & MASK) >= HALF
        if ta & KEEP_ALIVE:
            not_adv = False  # a keep-alive is not a retransmission
        else:
            if seglen > 1 and ((nextseq - 1) & MASK) == seq:
                not_adv = False
            rlast = rev.lastack
            d = (((seq + seglen) & MASK) - rlast) & MASK
            if seglen > 0 and rlast and (d == 0 or d >= HALF):
                # tshark also shows tcp.analysis.retransmission on these frames
                ta |= SPURIOUS_RETRANSMISSION | RETRANSMISSION
            elif not_adv:
                dt = ts - rev.lastack_time
                if rev.dupacknum >= 2 and rev.lastack == seq and 0.0 <= dt < FAST_WINDOW - EPS:
                    ta |= FAST_RETRANSMISSION | RETRANSMISSION
                else:
                    first_rtt = conn.first_rtt
                    if first_rtt is None:
                        thres = OOO_DEFAULT
                    elif first_rtt < 0.0:
                        thres = 1e18  # Wireshark's unsigned arithmetic: "always within"
                    else:
                        thres = first_rtt
                    dt = ts - fwd.nextseq_time
                    if (0.0 <= dt < thres - EPS and nextseq != (
                            seq + seglen + (1 if flags & _SF else 0)) & MASK):
                        ta |= OUT_OF_ORDER
                    else:
                        ta |= RETRANSMISSION

    # finished_checking_retransmission_type:
    nxt = (seq + seglen) & MASK
    if seglen or flags & _SF:
        if flags & _SF:
            nxt = (nxt + 1) & MASK
        fwd.unacked.add(rel_seq, rel_seq + ((nxt - seq) & MASK), ts, frame, not_adv)
    nextseq = fwd.nextseq
    if (not nextseq or ((nextseq - nxt) & MASK) >= HALF) and not ta & ZERO_WINDOW_PROBE:
        fwd.nextseq = nextseq = nxt
        fwd.nextseq_frame = frame
        fwd.nextseq_time = ts
    if (seq == fwd.maxseqtobeacked or not fwd.maxseqtobeacked) and not ta & ZERO_WINDOW_PROBE:
        fwd.maxseqtobeacked = nextseq

    fwd.window = window
    fwd.lastack = ack
    fwd.lastack_time = ts
    fwd.lastsegmentflags = ta
    return ta, not_adv


def bytes_in_flight(fwd: EndpointState, rev: EndpointState, seglen: int, flags: int) -> int:
    """Wireshark's default (payload-based) bytes in flight after this segment, less the
    bytes the peer's last SACK blocks report as delivered; -1 when it has none."""
    unacked = fwd.unacked
    if not seglen or not unacked.count or not fwd.valid_bif:
        return -1
    inflight = unacked.last() - unacked.first()
    blocks = rev.sack_blocks
    if blocks:
        for left, right in blocks:
            inflight -= (right - left) & MASK
    if 0 < inflight < 2000000000:
        if flags & _SF:
            inflight -= 1
        return inflight
    return -1
