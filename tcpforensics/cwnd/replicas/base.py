"""What every congestion-control replica offers the estimator.

A replica is a model sender.  The estimator drives it with what the capture shows (data
acknowledged, RTT samples, loss episodes, timeouts) and reads back the window the real
algorithm would have had.  Windows are in packets (floats), times in seconds taken from
the packets: replicas never read a clock.  A sample a round did not give (no RTT, no
delivery rate) is passed as 0.0, so the compiled build calls them with C doubles.
"""

from __future__ import annotations


class Replica:
    """Base class: the common state and the anchoring used after each loss epoch."""

    name = "base"
    __slots__ = ("cwnd", "ssthresh", "in_recovery")

    def __init__(self, cwnd: float = 10.0) -> None:
        self.cwnd = float(cwnd)
        self.ssthresh = float("inf")
        self.in_recovery = False

    def anchor(self, cwnd: float, now: float) -> None:
        """Resynchronise the model window with the observed one (no state loss)."""
        if cwnd > 0:
            self.cwnd = float(cwnd)

    def on_ack(self, now: float, acked: float, rtt: float = 0.0, inflight: float = 0.0,
               rate: float = 0.0, cwnd_limited: bool = True) -> None:
        """`acked` packets newly delivered; `rtt` an RTT sample (s), `inflight` packets in
        flight, `rate` a delivery-rate sample in packets/s; 0.0: none."""
        raise NotImplementedError

    def on_loss(self, now: float) -> None:
        """A loss episode starts (fast retransmit / recovery entry)."""
        raise NotImplementedError

    def on_recovery_end(self, now: float) -> None:
        self.in_recovery = False

    def new_round(self, now: float) -> None:
        """A new round trip begins (the estimator tells; most models need not know)."""

    def on_rto(self, now: float) -> None:
        """Retransmission timeout: loss-based senders restart from one packet."""
        self.ssthresh = max(self.cwnd * 0.5, 2.0)
        self.cwnd = 1.0
        self.in_recovery = False

    def inflight_target(self) -> float:
        """The data in flight the model sender would keep (its window, for loss-based)."""
        return self.cwnd
