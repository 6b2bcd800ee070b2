"""Traffic programs run inside a namespace: `python -m lab.traffic server|client JSON`.

The server prints `READY` once listening, then one JSON line per finished
connection; it stops on SIGTERM.  The client prints one JSON line with what it did
(local/remote addresses, congestion control, bytes, times).  Payload is zeros so
the truncated captures compress well.
"""

from __future__ import annotations

import errno
import json
import signal
import socket
import struct
import sys
import threading
import time

CHUNK = b"\0" * 65536
TCP_KEEPCNT = getattr(socket, "TCP_KEEPCNT", 6)
TCP_SYNCNT = getattr(socket, "TCP_SYNCNT", 7)
_print_lock = threading.Lock()


def emit(obj: object) -> None:
    with _print_lock:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()


def addr(a: tuple) -> str:
    return f"{a[0]}:{a[1]}"


def apply_opts(s: socket.socket, o: dict) -> None:
    """Socket options a scenario may ask for (before connect/listen)."""
    if o.get("cca"):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, o["cca"].encode())
    if o.get("nodelay"):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if o.get("rcvbuf"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, int(o["rcvbuf"]))
    if o.get("sndbuf"):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, int(o["sndbuf"]))
    if o.get("keepalive"):
        idle, intvl, cnt = o["keepalive"]
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, int(idle))
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, int(intvl))
        s.setsockopt(socket.IPPROTO_TCP, TCP_KEEPCNT, int(cnt))
    if o.get("syncnt"):
        s.setsockopt(socket.IPPROTO_TCP, TCP_SYNCNT, int(o["syncnt"]))


def cca_of(s: socket.socket) -> str:
    raw = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16)
    return raw.split(b"\0", 1)[0].decode()


def send_pattern(s: socket.socket, p: dict) -> int:
    """Write according to a pattern; returns bytes written."""
    kind = p.get("kind", "bulk")
    sent = 0
    if kind == "bulk":
        end = time.monotonic() + float(p["duration"])
        while time.monotonic() < end:
            sent += s.send(CHUNK)
    elif kind == "bytes":
        left = int(p["bytes"])
        while left > 0:
            n = s.send(CHUNK[:min(left, len(CHUNK))])
            left -= n
            sent += n
    elif kind == "bursts":
        # application-limited: a burst, then idle, on a fixed clock
        burst = CHUNK[:int(p["burst_bytes"])] if p["burst_bytes"] <= len(CHUNK) else None
        t = time.monotonic()
        end = t + float(p["duration"])
        while t < end:
            if burst is not None:
                s.sendall(burst)
            else:
                s.sendall(b"\0" * int(p["burst_bytes"]))
            sent += int(p["burst_bytes"])
            t += float(p["gap_s"])
            delay = t - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    elif kind == "restart":
        # bulk, idle longer than the RTO, bulk again: slow-start restart after idle
        for i, on in enumerate(p["on_s"]):
            if i:
                time.sleep(float(p["idle_s"]))
            end = time.monotonic() + float(on)
            while time.monotonic() < end:
                sent += s.send(CHUNK)
    else:
        raise ValueError(f"unknown send pattern {kind}")
    return sent


def drain(s: socket.socket, slow: dict | None = None) -> int:
    """Read until EOF; `slow` reads small pieces with sleeps and long pauses."""
    got = 0
    if not slow:
        while True:
            b = s.recv(262144)
            if not b:
                return got
            got += len(b)
    t0 = time.monotonic()
    pauses = sorted(slow.get("pauses", []))  # [(at_s, for_s)]
    while True:
        el = time.monotonic() - t0
        if pauses and el >= pauses[0][0]:
            time.sleep(pauses.pop(0)[1])
        b = s.recv(int(slow["chunk"]))
        if not b:
            return got
        got += len(b)
        time.sleep(float(slow["interval_s"]))


def recv_exact(s: socket.socket, n: int) -> bool:
    while n > 0:
        b = s.recv(n)
        if not b:
            return False
        n -= len(b)
    return True


# ----------------------------------------------------------------------------- server
def serve(cfg: dict) -> None:
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    apply_opts(ls, cfg.get("opts", {}))
    ls.bind((cfg.get("ip", "0.0.0.0"), int(cfg["port"])))
    ls.listen(4096)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: (stop.set(), ls.close()))
    emit("READY")
    mode = cfg["mode"]
    while not stop.is_set():
        try:
            c, peer = ls.accept()
        except OSError:
            break
        threading.Thread(target=_conn, args=(c, peer, mode, cfg), daemon=True).start()


def _conn(c: socket.socket, peer: tuple, mode: str, cfg: dict) -> None:
    rec = {"local": addr(c.getsockname()), "remote": addr(peer), "mode": mode,
           "cca": cca_of(c), "t_accept": time.time()}
    try:
        if mode == "sink":
            rec["bytes_in"] = drain(c, cfg.get("slow"))
        elif mode == "source":
            rec["bytes_out"] = send_pattern(c, cfg["pattern"])
            c.shutdown(socket.SHUT_WR)
            rec["bytes_in"] = drain(c)
        elif mode == "rr":
            n = 0
            while recv_exact(c, int(cfg["req_bytes"])):
                c.sendall(b"\0" * int(cfg["resp_bytes"]))
                n += 1
            rec["transactions"] = n
        else:
            raise ValueError(mode)
    except OSError as e:
        rec["error"] = errno.errorcode.get(e.errno or 0, str(e))
    rec["t_close"] = time.time()
    c.close()
    if cfg.get("log_conns", True):
        emit(rec)


# ----------------------------------------------------------------------------- client
def client(cfg: dict) -> None:
    mode = cfg["mode"]
    server = (cfg["server_ip"], int(cfg["port"]))
    out: dict = {"mode": mode, "conns": []}
    if mode == "competing":
        threads = []
        for i, flow in enumerate(cfg["flows"]):
            t = threading.Thread(target=_bulk_flow, args=(server, flow, out, i), daemon=True)
            threads.append(t)
            t.start()
        for t in threads:
            t.join()
    elif mode == "bulk_send":
        _bulk_flow(server, cfg, out, 0)
    elif mode == "bulk_recv":
        s = _connect(server, cfg.get("opts", {}))
        rec = _rec(s)
        rec["bytes_in"] = drain(s)
        s.close()
        rec["t_close"] = time.time()
        out["conns"].append(rec)
    elif mode == "rr":
        s = _connect(server, cfg.get("opts", {}))
        rec = _rec(s)
        parts = cfg["req_parts"]  # e.g. [100, 100]: write, write, then read
        lat = []
        for _ in range(int(cfg["transactions"])):
            t = time.monotonic()
            for n in parts:
                s.sendall(b"\0" * int(n))
            recv_exact(s, int(cfg["resp_bytes"]))
            lat.append(time.monotonic() - t)
            if cfg.get("think_s"):
                time.sleep(float(cfg["think_s"]))
        s.close()
        lat.sort()
        rec.update(transactions=len(lat), latency_median_s=lat[len(lat) // 2],
                   latency_max_s=lat[-1], t_close=time.time())
        out["conns"].append(rec)
    elif mode == "churn":
        _churn(server, cfg, out)
    elif mode == "keepalive":
        s = _connect(server, cfg.get("opts", {}))
        rec = _rec(s)
        s.sendall(b"\0" * 100)
        time.sleep(float(cfg["idle_s"]))
        s.close()
        rec["t_close"] = time.time()
        out["conns"].append(rec)
    elif mode == "rst":
        s = _connect(server, cfg.get("opts", {}))
        rec = _rec(s)
        s.sendall(b"\0" * int(cfg.get("bytes", 20000)))
        time.sleep(float(cfg.get("before_abort_s", 0.5)))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        rec["t_close"] = time.time()
        out["conns"].append(rec)
    elif mode in ("refused", "blackhole"):
        for _ in range(int(cfg.get("attempts", 1))):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            apply_opts(s, cfg.get("opts", {}))
            t = time.time()
            try:
                s.connect(server)
                rec = {"error": None}
            except OSError as e:
                rec = {"error": errno.errorcode.get(e.errno or 0, str(e))}
            rec.update(local=addr(s.getsockname()), remote=addr(server), t_start=t,
                       t_close=time.time())
            s.close()
            out["conns"].append(rec)
            time.sleep(float(cfg.get("gap_s", 0.2)))
    else:
        raise ValueError(mode)
    emit(out)


def _connect(server: tuple, opts: dict) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    apply_opts(s, opts)
    s.connect(server)
    return s


def _rec(s: socket.socket) -> dict:
    return {"local": addr(s.getsockname()), "remote": addr(s.getpeername()),
            "cca": cca_of(s), "t_start": time.time()}


def _bulk_flow(server: tuple, flow: dict, out: dict, idx: int) -> None:
    time.sleep(float(flow.get("start_s", 0)))
    s = _connect(server, flow.get("opts", {}))
    rec = _rec(s)
    rec["bytes_out"] = send_pattern(s, flow["pattern"])
    s.shutdown(socket.SHUT_WR)
    drain(s)
    s.close()
    rec["t_close"] = time.time()
    with _print_lock:
        out["conns"].append(rec)


def _churn(server: tuple, cfg: dict, out: dict) -> None:
    """Short connections: connect, request, response, client closes first."""
    end = time.monotonic() + float(cfg["duration"])
    per_thread_gap = int(cfg["threads"]) / float(cfg["conn_rate"])
    ports: list[str] = []
    errors = [0]

    def worker() -> None:
        nxt = time.monotonic()
        while nxt < end:
            try:
                s = _connect(server, cfg.get("opts", {}))
                local = addr(s.getsockname())
                s.sendall(b"\0" * int(cfg["req_bytes"]))
                recv_exact(s, int(cfg["resp_bytes"]))
                s.close()
                with _print_lock:
                    ports.append(local)
            except OSError:
                errors[0] += 1
            nxt += per_thread_gap
            d = nxt - time.monotonic()
            if d > 0:
                time.sleep(d)

    ts = [threading.Thread(target=worker, daemon=True) for _ in range(int(cfg["threads"]))]
    t0 = time.time()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    out["conns"] = [{"local": p, "remote": addr(server)} for p in ports]
    out["errors"] = errors[0]
    out["elapsed_s"] = time.time() - t0


def main(argv: list[str]) -> int:
    role, cfg = argv[0], json.loads(argv[1])
    if role == "server":
        serve(cfg)
    else:
        client(cfg)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
