"""Wireshark-compatible per-segment flags, from hand-built segment lists."""

from __future__ import annotations

from tcpforensics.flows import FlowTable
from tcpforensics.model import ACK, FIN, PSH, RST, SYN, Segment, analysis_text

C = bytes([198, 18, 0, 1])
S = bytes([198, 18, 0, 2])
M32 = 0xFFFFFFFF


class Wire:
    """Builds segments of one conversation and feeds them to a FlowTable."""

    def __init__(self, isn_c: int = 1000, isn_s: int = 50000, t0: float = 100.0,
                 cport: int = 40000, sport: int = 80) -> None:
        self.table = FlowTable()
        self.frame = 0
        self.t = t0
        self.cport, self.sport = cport, sport
        self.isn = [isn_c, isn_s]
        self.nxt = [isn_c, isn_s]  # next sequence number each side sends
        self.verdicts = []

    def send(self, d: int, flags: int = ACK, length: int = 0, seq: int | None = None,
             ack: int | None = None, win: int = 65535, dt: float = 0.001, advance: bool = True,
             **opts):
        self.frame += 1
        self.t += dt
        if seq is None:
            seq = self.nxt[d]
        if ack is None:
            ack = self.nxt[1 - d] if flags & ACK else 0
        src, dst = (C, S) if d == 0 else (S, C)
        sp, dp = (self.cport, self.sport) if d == 0 else (self.sport, self.cport)
        seg = Segment(frame=self.frame, ts=self.t, src=src, dst=dst, sport=sp, dport=dp,
                      seq=seq & M32, ack=ack & M32, flags=flags, win=win, length=length, **opts)
        if advance:
            end = seq + length + (1 if flags & (SYN | FIN) else 0)
            if ((end - self.nxt[d]) & M32) < 0x80000000:
                self.nxt[d] = end & M32
        flow, verdict = self.table.feed(seg)
        self.flow = flow
        self.verdicts.append(verdict)
        return verdict

    def handshake(self, wscale_c: int | None = 7, wscale_s: int | None = 7, mss: int = 1460,
                  sack: bool = True, ts: bool = False) -> None:
        kw_c = {"mss": mss, "wscale": wscale_c, "sack_perm": sack}
        kw_s = {"mss": mss, "wscale": wscale_s, "sack_perm": sack}
        if ts:
            kw_c.update(tsval=1, tsecr=0)
            kw_s.update(tsval=1, tsecr=1)
        self.send(0, SYN, win=64240, **kw_c)
        self.send(1, SYN | ACK, win=65160, dt=0.010, **kw_s)
        self.send(0, ACK, win=502, dt=0.010, **({"tsval": 2, "tsecr": 1} if ts else {}))


def names(verdict) -> set[str]:
    text = analysis_text(verdict.analysis)
    return set(text.split("|")) if text else set()


def test_clean_transfer_has_no_flags():
    w = Wire()
    w.handshake()
    for _ in range(5):
        w.send(0, ACK | PSH, length=1000, win=502)
        w.send(1, ACK, win=509)
    assert all(v.analysis == 0 for v in w.verdicts)
    assert w.verdicts[3].rel_seq == 1 and w.verdicts[5].rel_seq == 1001
    # window scaled by the client's shift (both SYNs carried the option)
    assert w.verdicts[3].win_scaled == 502 << 7


def test_lost_segment_and_ack_of_unseen_segment():
    w = Wire()
    w.handshake()
    w.send(0, length=1000)
    w.nxt[0] += 1000  # one segment never reaches the capture point
    v = w.send(0, length=1000)
    assert names(v) == {"lost_segment"}
    v = w.send(1)  # the ACK also covers the bytes the capture never saw
    assert names(v) == {"ack_lost_segment"}
    assert w.send(1, win=60000).analysis & 0x20 == 0  # reported once
    w2 = Wire()
    w2.handshake()
    w2.send(0, length=1000)
    v = w2.send(1, ack=w2.nxt[0] + 1000)  # acknowledges bytes we never saw
    assert names(v) == {"ack_lost_segment"}


def test_duplicate_acks_then_fast_retransmission_within_20ms():
    w = Wire()
    w.handshake()
    base = w.nxt[0]
    for _ in range(4):
        w.send(0, length=1000, dt=0.0001)
    w.send(1, ack=base + 1000)  # first segment arrived
    # segment 2 was lost; segments 3 and 4 each trigger a duplicate ACK with SACK
    d1 = w.send(1, ack=base + 1000, sacks=((base + 2000, base + 3000),), dt=0.0001)
    d2 = w.send(1, ack=base + 1000, sacks=((base + 2000, base + 4000),), dt=0.0001)
    assert names(d1) == {"duplicate_ack"} and names(d2) == {"duplicate_ack"}
    v = w.send(0, seq=base + 1000, length=1000, dt=0.002, advance=False)
    assert names(v) == {"retransmission", "fast_retransmission"}
    assert v.retrans_cause == "fast"


def test_retransmission_after_timeout_is_rto():
    w = Wire()
    w.handshake()
    base = w.nxt[0]
    w.send(0, length=1000)
    v = w.send(0, seq=base, length=1000, dt=1.0, advance=False)
    assert names(v) == {"retransmission"}
    assert v.retrans_cause == "rto"


def test_sack_evidence_makes_a_fast_cause_where_wireshark_says_retransmission():
    w = Wire()
    w.handshake()
    base = w.nxt[0]
    for _ in range(6):
        w.send(0, length=1000, dt=0.0001)
    # one ACK (not a duplicate of a previous one) SACKs 4 segments above the hole
    w.send(1, ack=base + 1000, sacks=((base + 2000, base + 6000),))
    v = w.send(0, seq=base + 1000, length=1000, dt=0.030, advance=False)
    assert names(v) == {"retransmission"}  # Wireshark: < 2 duplicate ACKs
    assert v.retrans_cause == "fast"  # RFC 6675: 3 * SMSS SACKed above it


def test_spurious_retransmission_of_acked_data():
    w = Wire()
    w.handshake()
    base = w.nxt[0]
    w.send(0, length=1000)
    w.send(1)  # acks it
    v = w.send(0, seq=base, length=1000, dt=0.5, advance=False)
    assert names(v) == {"retransmission", "spurious_retransmission"}
    assert v.retrans_cause == "unneeded"


def test_out_of_order_within_3ms_without_handshake_rtt():
    w = Wire()
    # mid-stream: no handshake RTT, so the threshold is 3 ms
    base = w.nxt[0]
    w.send(0, length=1000, seq=base)
    w.nxt[0] = base + 2000
    lost = w.send(0, length=1000)
    assert names(lost) == {"lost_segment"}
    v = w.send(0, seq=base + 1000, length=1000, dt=0.001, advance=False)
    assert names(v) == {"out_of_order"}
    assert v.retrans_cause == "reordering"
    late = Wire()
    b2 = late.nxt[0]
    late.send(0, length=1000, seq=b2)
    late.nxt[0] = b2 + 2000
    late.send(0, length=1000)
    v = late.send(0, seq=b2 + 1000, length=1000, dt=0.010, advance=False)
    assert names(v) == {"retransmission"}


def test_keep_alive_takes_precedence_over_retransmission_and_gets_its_ack():
    w = Wire()
    w.handshake()
    w.send(0, length=100)
    w.send(1)
    ka = w.send(0, seq=w.nxt[0] - 1, length=1, dt=60.0, advance=False)
    assert names(ka) == {"keep_alive"}
    assert ka.retrans_cause is None
    ack = w.send(1)
    assert names(ack) == {"keep_alive_ack"}
    ka0 = w.send(0, seq=w.nxt[0] - 1, length=0, dt=60.0, advance=False)
    assert names(ka0) == {"keep_alive"}
    res = w.flow.conn.result()
    assert len(res.tcp["keepalive_ts"]["198.18.0.1:40000"]) == 2
    assert res.endpoints[0].counters["keep_alive"] == 2
    assert res.endpoints[1].counters["keep_alive_ack"] == 1


def test_zero_window_probe_and_its_ack():
    w = Wire()
    w.handshake()
    w.send(0, length=1000)
    zw = w.send(1, win=0)
    assert names(zw) == {"zero_window"}
    probe = w.send(0, length=1, dt=0.2, advance=False)
    assert names(probe) == {"zero_window_probe"}
    pack = w.send(1, win=0)  # the probe byte is not accepted: same ACK, window still 0
    assert names(pack) == {"zero_window_probe_ack", "zero_window"}
    probe2 = w.send(0, length=1, dt=0.4, advance=False)
    assert names(probe2) == {"zero_window_probe"}  # the probe did not advance nextseq
    upd = w.send(1, win=300)
    assert names(upd) == {"window_update"}
    v = w.send(0, length=1000)
    assert v.analysis == 0


def test_window_full_needs_known_scale_and_exact_edge():
    w = Wire()
    w.handshake(wscale_c=2, wscale_s=2)
    w.send(1, win=1000)  # server: 1000 << 2 = 4000 bytes of window
    w.send(0, length=3000)
    v = w.send(0, length=1000)  # reaches the right edge exactly
    assert names(v) == {"window_full"}
    mid = Wire()  # mid-stream: scale unknown, never window_full
    mid.send(1, win=1000, seq=mid.nxt[1], ack=mid.nxt[0])
    mid.send(0, length=1000)
    v = mid.send(0, length=1000)
    assert v.analysis == 0
    assert mid.flow.conn.result().tcp["window_scale_known"] is False


def test_window_update():
    w = Wire()
    w.handshake()
    w.send(0, length=1000)
    w.send(1, win=100)
    v = w.send(1, win=400)
    assert names(v) == {"window_update"}


def test_network_duplicate_is_flagged_by_wireshark_but_classified():
    w = Wire()
    w.handshake()
    base = w.nxt[0]
    w.send(0, length=1000, ip_id=777)
    v = w.send(0, seq=base, length=1000, ip_id=777, dt=0.00001, advance=False)
    assert "retransmission" in names(v) or "out_of_order" in names(v)
    assert v.retrans_cause == "network_duplicate"


def test_dsack_proves_a_retransmission_spurious():
    w = Wire()
    w.handshake()
    base = w.nxt[0]
    w.send(0, length=1000)
    w.send(0, seq=base, length=1000, dt=1.0, advance=False)  # RTO retransmission
    # the receiver had the original: it acks and reports the duplicate with D-SACK
    v = w.send(1, ack=base + 1000, sacks=((base, base + 1000),))
    assert v.dsack
    res = w.flow.conn.result()
    assert res.tcp["dsack"]["198.18.0.2:80"] == 1
    assert res.tcp["spurious_proven"]["198.18.0.1:40000"] == 1


def test_timestamps_prove_a_retransmission_spurious():
    w = Wire()
    w.handshake(ts=True)
    base = w.nxt[0]
    w.send(0, length=1000, tsval=100, tsecr=1)
    w.send(0, seq=base, length=1000, tsval=400, tsecr=1, dt=0.3, advance=False)
    # the ACK echoes the original's TSval: the original arrived, the resend was unneeded
    w.send(1, ack=base + 1000, tsval=50, tsecr=100)
    res = w.flow.conn.result()
    assert res.tcp["spurious_proven"]["198.18.0.1:40000"] == 1
    w2 = Wire()
    w2.handshake(ts=True)
    b2 = w2.nxt[0]
    w2.send(0, length=1000, tsval=100, tsecr=1)
    w2.send(0, seq=b2, length=1000, tsval=400, tsecr=1, dt=0.3, advance=False)
    w2.send(1, ack=b2 + 1000, tsval=50, tsecr=400)  # echoes the retransmission
    assert w2.flow.conn.result().tcp["spurious_proven"]["198.18.0.1:40000"] == 0


def test_sequence_wraparound_is_seamless():
    w = Wire(isn_c=0xFFFFF000)
    w.handshake()
    for _ in range(10):  # crosses 2**32 after ~4 segments
        w.send(0, length=1000, win=502)
        w.send(1, win=502)
    assert all(v.analysis == 0 for v in w.verdicts)
    client_seqs = [v.rel_seq for v in w.verdicts[3::2]]
    assert client_seqs == [1 + 1000 * i for i in range(10)]
    assert w.flow.conn.result().tcp["data_bytes"]["198.18.0.1:40000"] == 10000


def test_ack_rtt_and_karn():
    w = Wire()
    w.handshake()
    base = w.nxt[0]
    w.send(0, length=1000)
    v = w.send(1, dt=0.050)
    assert v.ack_rtt is not None and abs(v.ack_rtt - 0.050) < 1e-9
    w.send(0, length=1000)
    w.send(0, seq=base + 1000, length=1000, dt=1.0, advance=False)
    v = w.send(1, dt=0.050)
    assert v.ack_rtt is None  # ambiguous: the segment was sent twice
    res = w.flow.conn.result()
    assert res.rtt["samples"] >= 2  # SYN/SYN-ACK exchange and the first data segment


def test_tso_superframe_raises_no_flags():
    w = Wire()
    w.handshake(mss=1460)
    v1 = w.send(0, length=64000, win=502)
    v2 = w.send(1, win=2000)
    v3 = w.send(0, length=29200, win=502)
    assert v1.analysis == v2.analysis == v3.analysis == 0
    assert w.flow.conn.result().tcp["superframes"]["198.18.0.1:40000"] == 2


def test_bytes_in_flight_like_wireshark():
    w = Wire()
    w.handshake()
    assert w.send(0, length=1000).bytes_in_flight == 1000
    assert w.send(0, length=1000).bytes_in_flight == 2000
    w.send(1, ack=w.nxt[0] - 1000)
    assert w.send(0, length=500).bytes_in_flight == 1500


def test_rst_segments_are_not_lost_segments():
    w = Wire()
    w.handshake()
    w.send(0, length=100)
    v = w.send(0, RST, seq=w.nxt[0] + 5000, ack=0, advance=False)
    assert "lost_segment" not in names(v)


def test_counters_cover_every_flag_name():
    w = Wire()
    w.handshake()
    res = w.flow.conn.result()
    expected = {"retransmission", "fast_retransmission", "spurious_retransmission",
                "out_of_order", "lost_segment", "ack_lost_segment", "duplicate_ack",
                "zero_window", "zero_window_probe", "zero_window_probe_ack", "window_full",
                "window_update", "keep_alive", "keep_alive_ack", "reused_ports", "rst", "fin"}
    for ep in res.endpoints:
        assert set(ep.counters) == expected


def test_ack_captured_before_its_data_is_capture_reordering_not_a_resend():
    w = Wire()
    w.handshake()
    base = w.nxt[0]
    w.send(1, ack=base + 1000)  # the ACK shows up first (e.g. per-queue timestamps)
    v = w.send(0, length=1000, dt=0.00002)
    assert names(v) == {"retransmission", "spurious_retransmission"}  # as tshark says
    assert v.retrans_cause == "reordering"
    res = w.flow.conn.result()
    assert res.tcp["capture_reordered"] == 1
    assert res.tcp["retrans_causes"]["198.18.0.1:40000"]["reordering"] == 1
