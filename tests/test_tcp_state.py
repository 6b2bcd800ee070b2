"""RFC 9293 state transitions of the passive model, from hand-built segment lists."""

from __future__ import annotations

from test_tcp_analysis import Wire, names

from tcpforensics.model import ACK, FIN, PSH, RST, SYN, StateChange

CLIENT = "198.18.0.1:40000"
SERVER = "198.18.0.2:80"


def history(w: Wire, idx: int) -> list[str]:
    return [c.state for c in w.flow.conn.result().states if c.endpoint == idx]


def test_active_close_by_client_ends_in_time_wait():
    w = Wire()
    w.handshake()
    w.send(0, ACK | PSH, length=100)
    w.send(1, ACK | PSH, length=200)
    w.send(0, FIN | ACK)
    w.send(1, ACK)
    w.send(1, FIN | ACK)
    w.send(0, ACK)
    res = w.flow.conn.result()
    assert history(w, 0) == ["CLOSED", "SYN_SENT", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
                             "TIME_WAIT"]
    assert history(w, 1) == ["LISTEN", "SYN_RECEIVED", "ESTABLISHED", "CLOSE_WAIT", "LAST_ACK",
                             "CLOSED"]
    assert res.state == "CLOSED"
    assert res.tcp["time_wait"] == CLIENT
    assert res.tcp["close_initiator"] == "client"
    assert res.handshake == "complete"
    assert res.syn_rtt is not None and abs(res.syn_rtt - 0.020) < 1e-9
    assert w.flow.conn.closed
    assert res.endpoints[0].counters["fin"] == 1 and res.endpoints[1].counters["fin"] == 1
    assert res.tcp["data_bytes"] == {CLIENT: 100, SERVER: 200}
    # the changes are filled field by field (connection._change): the same objects the
    # dataclass's constructor makes
    for c in res.states:
        made = StateChange(c.ts, c.endpoint, c.state)
        assert type(c) is StateChange and c == made and repr(c) == repr(made)


def test_server_close_puts_server_in_time_wait_with_fin_ack_piggybacked():
    w = Wire()
    w.handshake()
    w.send(1, FIN | ACK)
    w.send(0, FIN | ACK)  # client acks the FIN and closes in one segment
    w.send(1, ACK)
    res = w.flow.conn.result()
    assert history(w, 1)[-3:] == ["FIN_WAIT_1", "FIN_WAIT_2", "TIME_WAIT"]
    assert history(w, 0)[-3:] == ["CLOSE_WAIT", "LAST_ACK", "CLOSED"]
    assert res.tcp["time_wait"] == SERVER
    assert res.tcp["close_initiator"] == "server"


def test_simultaneous_close_goes_through_closing():
    w = Wire()
    w.handshake()
    c_fin = w.nxt[0]
    s_fin = w.nxt[1]
    w.send(0, FIN | ACK, ack=s_fin)  # neither FIN has been seen by the other yet
    w.send(1, FIN | ACK, ack=c_fin)
    w.send(0, ACK)
    w.send(1, ACK)
    assert history(w, 0)[-3:] == ["FIN_WAIT_1", "CLOSING", "TIME_WAIT"]
    assert history(w, 1)[-3:] == ["FIN_WAIT_1", "CLOSING", "TIME_WAIT"]
    assert w.flow.conn.closed


def test_simultaneous_open():
    w = Wire()
    w.send(0, SYN)
    w.send(1, SYN)
    w.send(0, SYN | ACK, seq=w.isn[0])
    w.send(1, SYN | ACK, seq=w.isn[1])
    assert history(w, 0) == ["CLOSED", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED"]
    assert history(w, 1) == ["SYN_SENT", "SYN_RECEIVED", "ESTABLISHED"]


def test_half_close_keeps_data_flowing_from_the_other_side():
    w = Wire()
    w.handshake()
    w.send(0, FIN | ACK)
    w.send(1, ACK)
    for _ in range(3):
        v = w.send(1, ACK | PSH, length=500)
        assert v.analysis == 0
        assert v.state == "CLOSE_WAIT"
        w.send(0, ACK)
    assert w.flow.conn.eps[0].state == "FIN_WAIT_2"
    w.send(1, FIN | ACK)
    w.send(0, ACK)
    assert w.flow.conn.eps[0].state == "TIME_WAIT"
    assert w.flow.conn.result().tcp["data_bytes"][SERVER] == 1500


def test_rst_in_window_resets_both():
    w = Wire()
    w.handshake()
    w.send(0, length=100)
    w.send(1)
    w.send(1, RST | ACK)
    res = w.flow.conn.result()
    assert res.state == "RESET"
    assert w.flow.conn.eps[0].state == "CLOSED" and w.flow.conn.eps[1].state == "CLOSED"
    (rst,) = res.tcp["resets"]
    assert rst["in_window"] and rst["after_data"] and not rst["answer_to_syn"]
    assert rst["endpoint"] == SERVER
    assert res.endpoints[1].counters["rst"] == 1
    assert w.flow.conn.closed


def test_rst_out_of_window_is_recorded_not_obeyed():
    w = Wire()
    w.handshake()
    w.send(0, length=100)
    w.send(1)
    w.send(1, RST, seq=w.nxt[1] + 10_000_000, ack=0, advance=False)
    res = w.flow.conn.result()
    assert res.tcp["resets"][0]["in_window"] is False
    assert w.flow.conn.eps[0].state == "ESTABLISHED"
    assert res.state == "ESTABLISHED"
    assert not w.flow.conn.closed


def test_refused_connection():
    w = Wire()
    w.send(0, SYN)
    w.send(1, RST | ACK, seq=0)
    res = w.flow.conn.result()
    assert res.state == "RESET"
    assert res.handshake == "partial"
    assert res.tcp["resets"][0]["answer_to_syn"] is True
    assert history(w, 0) == ["CLOSED", "SYN_SENT", "CLOSED"]
    assert history(w, 1) == ["CLOSED"]


def test_syn_retransmissions_counted_and_flagged():
    w = Wire()
    w.send(0, SYN)
    v2 = w.send(0, SYN, seq=w.isn[0], dt=1.0)
    v3 = w.send(0, SYN, seq=w.isn[0], dt=2.0)
    assert names(v2) == {"retransmission"} and names(v3) == {"retransmission"}
    w.send(1, SYN | ACK)
    w.send(1, SYN | ACK, seq=w.isn[1], dt=1.0)
    res = w.flow.conn.result()
    assert res.tcp["syn_retransmissions"] == 2
    assert res.tcp["synack_retransmissions"] == 1
    assert len(w.table) == 1  # same ISN: no port reuse


def test_mid_stream_pickup_starts_unknown():
    w = Wire(cport=50123, sport=443)
    v = w.send(1, ACK | PSH, length=1400)  # server->client data first
    assert v.analysis == 0 and v.rel_seq == 1
    w.send(0, ACK)
    res = w.flow.conn.result()
    assert res.client == CLIENT.replace("40000", "50123")  # port heuristic
    assert res.handshake == "none" and res.syn_rtt is None
    assert [c.state for c in res.states] == ["UNKNOWN", "UNKNOWN"]
    assert res.state == "UNKNOWN"
    w.send(0, FIN | ACK)
    w.send(1, FIN | ACK)
    w.send(0, ACK)
    assert w.flow.conn.eps[0].state == "TIME_WAIT"
    assert w.flow.conn.result().state == "CLOSED"


def test_ipv6_addresses_are_bracketed():
    from tcpforensics.tcp.connection import addr_text

    assert addr_text(bytes(15) + b"\x01", 443) == "[::1]:443"
    assert addr_text(bytes([198, 18, 0, 1]), 80) == "198.18.0.1:80"
    assert addr_text(bytes([0, 9, 10, 255]), 65535) == "0.9.10.255:65535"
