"""Shared builders for the diagnosis tests (no tests here): hand-built conversations,
segments plus the verdicts the TCP core would give them, so the stall rules are tested
without a capture and without the TCP core."""

from __future__ import annotations

from tcpforensics.diagnose import make_observer
from tcpforensics.model import (
    ACK,
    FIN,
    PSH,
    RST,
    SYN,
    Endpoint,
    FlowResult,
    Segment,
    SegmentVerdict,
)

CLIENT = "198.18.0.1:40000"
SERVER = "198.18.0.2:5001"
_ADDR = (bytes([198, 18, 0, 1]), bytes([198, 18, 0, 2]))
_PORT = (40000, 5001)
_ISN = (1000, 50000)


class Conv:
    """A two-sided conversation fed straight into a stall observer.

    `nxt[d]` is the next relative sequence number of direction d (0 client, 1 server);
    ACKs default to acknowledging everything the other side has sent.
    """

    def __init__(self, mss: int = 1460, timestamps: bool = False, win: int = 65535) -> None:
        self.obs = make_observer(None)
        self.nxt = [0, 0]
        self.frame = 0
        self.mss = mss
        self.tsopt = timestamps
        self.win = [win, win]  # scaled window each side advertises
        self.segments: list[tuple[Segment, SegmentVerdict]] = []

    def _feed(self, d: int, ts: float, flags: int, length: int, rel_seq: int, rel_ack: int,
              win: int, analysis: int = 0, cause: str | None = None, mss: int | None = None,
              ack_rtt: float | None = None) -> None:
        self.frame += 1
        seg = Segment(
            frame=self.frame, ts=ts, src=_ADDR[d], dst=_ADDR[1 - d], sport=_PORT[d],
            dport=_PORT[1 - d], seq=(_ISN[d] + rel_seq) & 0xFFFFFFFF,
            ack=(_ISN[1 - d] + rel_ack) & 0xFFFFFFFF, flags=flags, win=min(win, 65535),
            length=length, mss=mss, tsval=1 if self.tsopt else None)
        verdict = SegmentVerdict(direction=d, rel_seq=rel_seq, rel_ack=rel_ack,
                                 win_scaled=win, analysis=analysis, retrans_cause=cause,
                                 ack_rtt=ack_rtt)
        self.segments.append((seg, verdict))
        self.obs.observe(seg, verdict)

    def handshake(self, t0: float = 0.0, rtt: float = 0.01) -> float:
        """SYN, SYN-ACK, ACK as seen next to the client; returns the time of the ACK."""
        self._feed(0, t0, SYN, 0, 0, 0, self.win[0], mss=self.mss)
        self._feed(1, t0 + rtt, SYN | ACK, 0, 0, 1, self.win[1], mss=self.mss)
        self._feed(0, t0 + rtt + 1e-4, ACK, 0, 1, 1, self.win[0])
        self.nxt = [1, 1]
        return t0 + rtt + 1e-4

    def syn(self, ts: float, d: int = 0) -> None:
        flags = SYN if d == 0 else SYN | ACK
        self._feed(d, ts, flags, 0, 0, 0 if d == 0 else 1, self.win[d], mss=self.mss)

    def data(self, d: int, ts: float, n: int, ack: int | None = None, win: int | None = None,
             analysis: int = 0, cause: str | None = None, seq: int | None = None,
             flags: int = ACK | PSH) -> None:
        rel = self.nxt[d] if seq is None else seq
        self._feed(d, ts, flags, n, rel, self.nxt[1 - d] if ack is None else ack,
                   self.win[d] if win is None else win, analysis, cause)
        if seq is None:
            self.nxt[d] += n

    def ack(self, d: int, ts: float, ack: int | None = None, win: int | None = None,
            analysis: int = 0, ack_rtt: float | None = None) -> None:
        self._feed(d, ts, ACK, 0, self.nxt[d], self.nxt[1 - d] if ack is None else ack,
                   self.win[d] if win is None else win, analysis, ack_rtt=ack_rtt)

    def fin(self, d: int, ts: float) -> None:
        self._feed(d, ts, FIN | ACK, 0, self.nxt[d], self.nxt[1 - d], self.win[d])
        self.nxt[d] += 1

    def rst(self, d: int, ts: float) -> None:
        self._feed(d, ts, RST | ACK, 0, self.nxt[d], self.nxt[1 - d], 0)

    def finish(self, start: float = 0.0, end: float | None = None) -> FlowResult:
        last = self.segments[-1][0].ts if self.segments else 0.0
        result = FlowResult(
            id=0, client=CLIENT, server=SERVER, start=start,
            end=last if end is None else end, state="CLOSED", handshake="complete",
            syn_rtt=None, rtt={}, endpoints=[Endpoint(CLIENT, "client"),
                                             Endpoint(SERVER, "server")])
        self.obs.finish(result)
        return result


def kinds(result: FlowResult, kind: str) -> list:
    return [s for s in result.stalls if s.kind == kind]
