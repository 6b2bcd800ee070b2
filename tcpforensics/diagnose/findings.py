# cython: binding=True
"""Findings: pure rules over finished flows that say what happened and what to change.

Each rule takes the shared `_Context` (the flows, the capture, cached per-flow numbers)
and returns `_Draft`s.  `diagnose()` runs every rule of the registry (registry.py),
ranks the drafts by impact (seconds lost x flows affected, plus a floor per severity so
a costless but serious fact still outranks trivia), numbers them F1, F2, ... and writes
the ids into each flow's `findings`.  A rule that trips over odd data is skipped, never
allowed to break the analysis.

All numbers come from the TCP core's facts (`FlowResult.tcp`, endpoint counters) and
from the stall observer's (`tcp["stall_facts"]`, `stalls`); where both exist the core's
win, the observer's are the fallback.
"""

from __future__ import annotations

import contextlib
import inspect
import math
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Sequence
from dataclasses import dataclass, field

from ..model import CaptureInfo, Finding, FlowResult
from . import handshakes

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
#: Added to a finding's seconds lost before multiplying by flows affected, so that a
#: critical fact with no measurable delay still ranks above minor delays.
SEVERITY_FLOOR = {"info": 0.0, "warning": 0.1, "critical": 1.0}

# Linux facts used in texts and thresholds.
EPHEMERAL_PORTS = 60999 - 32768 + 1  # default net.ipv4.ip_local_port_range
TIME_WAIT_S = 60.0  # Linux holds TIME_WAIT for a fixed 60 s
MATHIS_C = math.sqrt(1.5)  # ~1.22 for periodic loss with delayed ACKs off
MAX_LISTED_FLOWS = 50  # per-flow evidence rows kept in metrics


@dataclass
class _Draft:
    kind: str
    severity: str
    title: str
    detail: str
    recommendation: str
    flows: list[int]
    endpoint: str | None = None
    metrics: dict = field(default_factory=dict)
    seconds_lost: float = 0.0


# --- small helpers -------------------------------------------------------------------
def _host(addr: str) -> str:
    """'198.18.0.1:40000' -> '198.18.0.1'; '[2001:db8::1]:80' -> '2001:db8::1'."""
    if addr.startswith("["):
        return addr[1:].split("]", 1)[0]
    if addr.count(":") == 1:
        return addr.rsplit(":", 1)[0]
    return addr.rsplit(":", 1)[0] if addr.count(":") > 1 and "." in addr else addr


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    return f"{seconds * 1000:.0f} ms" if seconds < 2 else f"{seconds:.1f} s"


def _rate(bytes_per_s: float) -> str:
    bits = bytes_per_s * 8
    if bits >= 1e9:
        return f"{bits / 1e9:.2f} Gbit/s"
    if bits >= 1e6:
        return f"{bits / 1e6:.2f} Mbit/s"
    return f"{bits / 1e3:.0f} kbit/s"


def _r(x: float | None, nd: int = 6) -> float | None:
    return None if x is None else round(float(x), nd)


def _only(values: Iterable[str | None]) -> str | None:
    s = {v for v in values if v}
    return s.pop() if len(s) == 1 else None


def median(data: Iterable[float]) -> float:
    """statistics.median, imported when a rule first needs one (most runs never do, and
    statistics brings fractions, decimal and random with it)."""
    from statistics import median as statistics_median

    return statistics_median(data)


def _counter(f: FlowResult, i: int, name: str) -> int:
    """Endpoint i's counter `name` (0 where there is none); the rules' most asked number
    (compiled, a C function: findings.pxd)."""
    try:
        return int(f.endpoints[i].counters.get(name, 0))
    except (IndexError, AttributeError, TypeError, ValueError):
        return 0


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


#: Entries of a per-flow cache in `_Context` before it starts over (memory stays bounded
#: on captures of very many flows; the cached numbers are recomputed when needed).
_CACHE_BOUND = 20_000


class _Context:
    """The flows plus cached, fallback-aware accessors.

    `flows` may be any sequence that can be iterated again; a results.ResultStore
    rebuilds each packed flow on every read, so rules compare flows by `id`.
    """

    def __init__(self, flows: Sequence[FlowResult], capture: CaptureInfo) -> None:
        self.flows = flows
        self.capture = capture
        self.end_ts = capture.last_ts if capture.last_ts is not None else max(
            (f.end for f in flows), default=0.0)
        self._window_limited: dict[int, dict] = {}
        # computed once per flow and direction: several rules ask (retransmissions, RTO,
        # Mathis, ...), and a capture can list tens of thousands of flows
        self._real_retransmissions: dict[tuple, tuple[int, int, dict]] = {}
        # a results store vouches that no two of its flows share an id
        self._unique_ids = bool(getattr(flows, "unique_ids", False))
        self._conn_groups: list[dict] | None = None
        #: flows per (client host, server), when run_rules counted them on its pass
        self.group_sizes: dict[tuple[str, str], int] | None = None
        # The rules see the flows one at a time and each asks for the same few numbers
        # of the flow in hand: those of the last flow asked about are kept here.
        self._facts_of: FlowResult | None = None
        self._facts: dict = {}
        self._handshake_of: FlowResult | None = None
        self._handshake = False
        self._counted_of: FlowResult | None = None
        self._counted: dict[int, tuple[int, int, dict]] = {}

    def facts(self, f: FlowResult) -> dict:
        """The stall observer's facts of a flow."""
        if f is not self._facts_of:
            self._facts = f.tcp.get("stall_facts") or {}
            self._facts_of = f
        return self._facts

    def rtt(self, f: FlowResult) -> float | None:
        """A full round trip for this flow, however the capture was placed."""
        rtt = self.facts(f).get("path_rtt")
        if rtt:
            return rtt
        hs = f.tcp.get("handshake_times") or {}
        try:
            # SYN -> handshake ACK spans one round trip from any capture point
            rtt = float(hs["ack"]) - float(hs["syn"])
            if rtt > 0:
                return rtt
        except (KeyError, TypeError, ValueError):
            pass
        # ACK delays are vantage-dependent (near zero next to the receiver): take the
        # larger of the handshake's and the data's
        vals = [v for v in (f.syn_rtt, (f.rtt or {}).get("median")) if v]
        return max(vals) if vals else None

    @staticmethod
    def stalls(f: FlowResult, kind: str, endpoint: str | None = None) -> list:
        stalls = f.stalls
        if not stalls:  # most flows: no list comprehension to run
            return []
        return [s for s in stalls if s.kind == kind
                and (endpoint is None or s.endpoint == endpoint)]

    @staticmethod
    def stall_seconds(f: FlowResult, kind: str, endpoint: str | None = None) -> float:
        totals = f.tcp.get("stall_totals") or {}
        if endpoint is None and kind in totals:
            return float(totals[kind].get("seconds", 0.0))
        return sum(s.duration for s in f.stalls if s.kind == kind
                   and (endpoint is None or s.endpoint == endpoint))

    @staticmethod
    def counter(f: FlowResult, i: int, name: str) -> int:
        return _counter(f, i, name)

    def handshake_seen(self, f: FlowResult) -> bool:
        if f is not self._handshake_of:
            fx = self.facts(f)
            if fx:
                self._handshake = bool(fx.get("syn_seen") and fx.get("synack_seen"))
            else:
                self._handshake = f.handshake in ("complete", "partial")
            self._handshake_of = f
        return self._handshake

    def data_span(self, f: FlowResult, d: int) -> tuple[int, float]:
        fx = self.facts(f)
        try:
            nbytes = int(fx["data_bytes"][d])
            first, last = fx["first_data_ts"][d], fx["last_data_ts"][d]
            span = (last - first) if first is not None and last is not None else 0.0
        except (KeyError, IndexError, TypeError):
            nbytes = f.endpoints[d].payload_bytes if d < len(f.endpoints) else 0
            span = f.end - f.start
        return nbytes, max(span, 0.0)

    def mss(self, f: FlowResult, d: int) -> int:
        fx = self.facts(f)
        try:
            m = int(fx["mss"][d])
        except (KeyError, IndexError, TypeError, ValueError):
            m = 0
        if not m:
            peer = f.endpoints[1 - d] if len(f.endpoints) > 1 else None
            m = (peer.mss if peer is not None and peer.mss else 0) or 1460
        return m

    def max_window(self, f: FlowResult, receiver: int) -> int:
        addr = f.endpoints[receiver].addr if receiver < len(f.endpoints) else None
        core = (f.tcp.get("max_window") or {}).get(addr) if addr else None
        if core:
            return int(core)
        try:
            return int(self.facts(f)["max_window_advertised"][receiver])
        except (KeyError, IndexError, TypeError, ValueError):
            return 0

    def window_limited(self, f: FlowResult) -> dict | None:
        """Numbers for the worst receive-window-limited direction of f, or None."""
        if f.id in self._window_limited:
            return self._window_limited[f.id]
        if len(self._window_limited) >= _CACHE_BOUND:
            self._window_limited.clear()
        best = None
        # a limited direction stalled on the receive window, five times or more: most
        # flows never did, and need no numbers worked out
        if any(s.kind == "receive_window" for s in f.stalls):
            best = self._worst_window_limited(f)
        self._window_limited[f.id] = best
        return best

    def _worst_window_limited(self, f: FlowResult) -> dict | None:
        best = None
        rtt = self.rtt(f)
        for d in (0, 1):
            if d >= len(f.endpoints):
                break
            sender = f.endpoints[d].addr
            nbytes, span = self.data_span(f, d)
            rw = self.stalls(f, "receive_window", sender)
            waited = sum(s.duration for s in rw)
            # each time the window filled up again counts (episodes merge refills)
            n_stalls = sum(int(s.detail.get("refills", 1)) for s in rw)
            if not rtt or span < 10 * rtt or nbytes < 256 * 1024 or span <= 0:
                continue
            window = self.max_window(f, 1 - d)
            observed = nbytes / span
            ceiling = window / rtt if window else None
            frac = waited / span
            # limited: the sender kept running into the window for much of the transfer,
            # and what it achieved is near what that window allows per round trip
            near_ceiling = ceiling is not None and observed >= 0.5 * ceiling
            if n_stalls >= 5 and frac >= 0.3 and near_ceiling:
                try:
                    path = self.facts(f)["burst_rate_p90"][d]
                except (KeyError, IndexError, TypeError):
                    path = None
                # time lost: what the transfer took beyond running at the path's rate
                lost = (nbytes / observed - nbytes / path if path and path > 1.2 * observed
                        else waited)
                cand = {"path_Bps": path, "lost": lost, "direction": d, "sender": sender,
                        "receiver": f.endpoints[1 - d].addr, "bytes": nbytes,
                        "duration": span, "observed_Bps": observed, "window": window,
                        "ceiling_Bps": ceiling, "rtt": rtt, "stall_seconds": waited,
                        "stall_fraction": frac, "stalls": n_stalls}
                if best is None or frac > best["stall_fraction"]:
                    best = cand
        return best

    def real_retransmissions(self, f: FlowResult, d: int) -> tuple[int, int, dict]:
        """(loss repairs, spurious, causes) for what direction d sent (cached)."""
        if f is not self._counted_of:  # (the flow in hand is asked about most)
            self._counted = {}
            self._counted_of = f
        got = self._counted.get(d)
        if got is not None:
            return got
        # f.id is not unique in every hand-built flow list; id(f) alone is reused when
        # the flows are rebuilt from packed bytes on each read (results.py)
        key = (f.id, 0 if self._unique_ids else id(f), d)
        cache = self._real_retransmissions
        got = cache.get(key)
        if got is None:
            if len(cache) >= _CACHE_BOUND:
                cache.clear()  # a bound, not an eviction policy: values are recomputable
            got = cache[key] = _count_retransmissions(f, d)
        self._counted[d] = got
        return got

    def data_segments(self, f: FlowResult, d: int) -> int:
        nbytes = f.endpoints[d].payload_bytes if d < len(f.endpoints) else 0
        return max(1, math.ceil(nbytes / max(1, self.mss(f, d))))


def _count_retransmissions(f: FlowResult, d: int) -> tuple[int, int, dict]:
    """(loss repairs, spurious, causes) for what direction d sent."""
    real, causes = _loss_repairs(f, d)
    return real, _counter(f, d, "spurious_retransmission"), causes


#: retransmission causes that are not loss
_NOT_LOSS = frozenset({"reordering", "network_duplicate", "unneeded"})


def _loss_repairs(f: FlowResult, d: int) -> tuple[int, dict]:
    """(loss repairs, causes) for what direction d sent.

    The core's per-cause tally counts every retransmitted segment once, however
    Wireshark-style flags label it (a hole filled quickly is flagged out-of-order,
    a fast retransmission carries two flags); it is preferred when present.
    Reordering, network duplicates and unneeded repeats are not loss.
    """
    causes: dict[str, int] = {}
    return _repairs(f, d, causes), causes


def _repairs(f: FlowResult, d: int, causes: dict | None) -> int:
    """_loss_repairs' count; its causes go into `causes` unless that is None (the
    screen, `_evidence`, needs only the count)."""
    endpoints = f.endpoints
    sender = endpoints[d] if d < len(endpoints) else None
    addr = sender.addr if sender is not None else None
    tcp = f.tcp
    fx = tcp.get("stall_facts") or {}  # (= _Context.facts(f))
    # one loop, no comprehensions: this runs for every flow and direction
    tallied = rexmit = 0
    for k, v in ((tcp.get("retrans_causes") or {}).get(addr) or {}).items():
        if isinstance(v, (int, float)):
            n = int(v)
            if causes is not None:
                causes[k] = n
            tallied += n
            if k not in _NOT_LOSS:
                rexmit += n
    if not tallied:
        rexmit = _counter(f, d, "retransmission")
    # near the receiver the lost original was never seen, so its repair may carry no
    # retransmission flag; the stall observer counts gaps filled late
    try:  # noqa: SIM105 (contextlib.suppress costs a few calls; this runs per flow)
        rexmit = max(rexmit, int(fx["late_fills"][d]))
    except (KeyError, IndexError, TypeError, ValueError):
        pass
    # a repeated SYN or SYN-ACK is counted as a retransmission too; it has its own
    # finding and carries no data
    key = "syn_retransmissions" if d == 0 else "synack_retransmissions"
    rexmit -= int(tcp.get(key, fx.get(key, 0)) or 0)
    if sender is not None and not sender.payload_bytes:
        rexmit = 0
    return max(0, rexmit)


def _group_by_server(items: Iterable[tuple[FlowResult, dict]]
                     ) -> dict[str, list[tuple[FlowResult, dict]]]:
    groups: dict[str, list[tuple[FlowResult, dict]]] = defaultdict(list)
    for f, info in items:
        groups[f.server].append((f, info))
    return groups


# --- rules ---------------------------------------------------------------------------
# Most rules look at every flow.  They are written as generators that receive the flows
# one at a time (`while (f := (yield)) is not None:`) and return their drafts when sent
# None, so that run_rules can feed every rule from one pass over the flows; a rule that
# needs no flow, or only flows found elsewhere, is a plain function of the context.
RuleScan = Generator[None, FlowResult | None, list[_Draft]]
Rule = Callable[[_Context], "list[_Draft] | RuleScan"]

def rule_nagle(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        nagle = ctx.stalls(f, "nagle_delayed_ack")
        if not nagle:
            continue
        by_sender: dict[str, list] = defaultdict(list)
        for s in nagle:
            by_sender[s.endpoint].append(s)
        for sender, stalls in by_sender.items():
            hits.append((f, {"sender": sender, "stalls": stalls}))
    out = []
    for server, items in _group_by_server(hits).items():
        stalls = [s for _, i in items for s in i["stalls"]]
        n = len(stalls)
        total = sum(s.duration for s in stalls)
        delays = [s.detail.get("ack_delay", 0.0) for s in stalls]
        waits = [s.duration for s in stalls]
        med_delay = median(delays)
        timer = ("the delayed-ACK timer of a Linux receiver, 40 ms at least"
                 if med_delay < 0.08 else
                 "the delayed-ACK timer of a macOS receiver, about 100 ms"
                 if med_delay < 0.15 else "the 200 ms delayed-ACK timer of a Windows receiver")
        senders = sorted({i["sender"] for _, i in items})
        sender = _only(senders) or _only(_host(s) for s in senders)
        flows = sorted({f.id for f, _ in items})
        candidates = 0
        for f, i in items:
            fx = ctx.facts(f)
            d = 0 if i["sender"] == f.client else 1
            with contextlib.suppress(KeyError, IndexError, TypeError, ValueError):
                candidates += int(fx["nagle_candidates"][d])
        severity = "warning" if n >= 3 or (n >= 2 and total >= 0.2) else "info"
        out.append(_Draft(
            kind="nagle_delayed_ack", severity=severity,
            title=f"Nagle + delayed ACK held {_plural(n, 'write')} for ~{_ms(median(waits))}"
                  f" each",
            detail=(
                f"{sender or 'The sender'} wrote a message in pieces. The first small piece "
                f"went out at once; Nagle's algorithm then kept the next small piece back "
                f"until the first was acknowledged. The receiver ({server}) did not "
                f"acknowledge at once: it runs a delayed-ACK timer, waiting for a reply to "
                f"carry the ACK, and no reply could come before the whole message had "
                f"arrived. Each of the {n} holds lasted about {_ms(median(waits))}; the "
                f"ACK itself came ~{_ms(med_delay)} late, as expected from {timer}. In all "
                f"{_ms(total)} over {_plural(len(flows), 'flow')}."),
            recommendation=(
                "Hand each message to the kernel in one call: build it in one buffer, or "
                "use writev()/sendmsg() (or MSG_MORE / TCP_CORK around the pieces). For "
                "request/response protocols also set TCP_NODELAY on the sending socket "
                "(setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, 1)); most database and HTTP "
                "clients do. Turning on TCP_QUICKACK at the receiver only hides the "
                "symptom and must be set again after every read."),
            flows=flows, endpoint=sender,
            metrics={"stalls": n, "seconds_lost": _r(total), "median_wait": _r(median(waits)),
                     "median_ack_delay": _r(med_delay), "max_wait": _r(max(waits)),
                     "small_segment_pairs": candidates, "receiver": server},
            seconds_lost=total))
    return out


def rule_rto(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        stalls = ctx.stalls(f, "rto")
        if stalls:
            hits.append((f, {"stalls": stalls}))
    out = []
    for _server, items in _group_by_server(hits).items():
        stalls = [s for _, i in items for s in i["stalls"]]
        total = sum(s.duration for s in stalls)
        backoff = max(int(s.detail.get("backoff", 0)) for s in stalls)
        first = [s.detail.get("first_timeout") for s in stalls
                 if s.detail.get("first_timeout") is not None]
        flows = sorted({f.id for f, _ in items})
        sender = _only(s.endpoint for s in stalls)
        severity = "critical" if backoff >= 2 or total >= 3.0 else "warning"
        when = (f" As seen from this capture point the first timeout came "
                f"~{_ms(median(first))} after the timer was last restarted." if first else
                " Seen next to the receiver, the lost segments never showed up; only the "
                "silence and the lone segment that ended it did.")
        backoff_txt = (f" The same segment timed out {backoff + 1} times in a row; each "
                       f"time the timer doubled (exponential backoff)." if backoff else "")
        out.append(_Draft(
            kind="rto_stall", severity=severity,
            title=f"Retransmission timeouts stalled data for {_ms(total)} "
                  f"({_plural(len(stalls), 'episode')}"
                  + (f", up to {backoff + 1} timeouts in a row)" if backoff else ")"),
            detail=(
                f"Data from {sender or 'the sender'} was lost and nothing told the sender "
                f"soon enough: too few later segments got through to produce three "
                f"duplicate ACKs, so it had to wait for its retransmission timer. Linux "
                f"never fires that timer sooner than 200 ms (plus the smoothed RTT).{when}"
                f"{backoff_txt} The transfer made no progress for {_ms(total)} over "
                f"{_plural(len(stalls), 'episode')} in {_plural(len(flows), 'flow')}."),
            recommendation=(
                "Find and remove the loss: interface and queue drops (`ip -s link`, "
                "`tc -s qdisc`), policers and shapers, a faulty link. Keep SACK on "
                "(net.ipv4.tcp_sack=1) and tail-loss probes on (net.ipv4.tcp_early_retrans=3, "
                "the default) so most losses are repaired within a round trip. On "
                "low-latency internal paths a lower minimum RTO per route "
                "(`ip route change ... rto_min 20ms`) shortens each stall."),
            flows=flows, endpoint=sender,
            metrics={"timeouts": len(stalls), "seconds_lost": _r(total),
                     "max_backoff": backoff,
                     "median_first_timeout": _r(median(first)) if first else None,
                     "longest": _r(max(s.duration for s in stalls))},
            seconds_lost=total))
    return out


def rule_retransmissions(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        for d in range(min(2, len(f.endpoints))):
            real, spurious, causes = ctx.real_retransmissions(f, d)
            if real < 3:
                continue
            segs = ctx.data_segments(f, d)
            hits.append((f, {"d": d, "sender": f.endpoints[d].addr, "real": real,
                             "spurious": spurious, "segments": segs, "causes": causes,
                             "rate": real / max(segs, real)}))
    out = []
    for _server, items in _group_by_server(hits).items():
        real = sum(i["real"] for _, i in items)
        segs = sum(max(i["segments"], i["real"]) for _, i in items)
        spurious = sum(i["spurious"] for _, i in items)
        rate = real / max(1, segs)
        causes: dict[str, int] = defaultdict(int)
        for _, i in items:
            for k, v in i["causes"].items():
                causes[k] += int(v)
        lost = 0.0
        for f, i in items:
            # a timeout costs its stall; any other recovery episode about one round trip
            rto_s = ctx.stall_seconds(f, "rto", i["sender"])
            n_rto = len(ctx.stalls(f, "rto", i["sender"]))
            try:
                episodes = int(ctx.facts(f)["loss_episodes"][i["d"]])
            except (KeyError, IndexError, TypeError, ValueError):
                episodes = int(i["causes"].get("fast", 0))
            lost += rto_s + max(0, episodes - n_rto) * (ctx.rtt(f) or 0.0)
        flows = sorted({f.id for f, _ in items})
        sender = _only(i["sender"] for _, i in items) or _only(
            _host(i["sender"]) for _, i in items)
        severity = ("critical" if rate >= 0.10 and real >= 100 else
                    "warning" if rate >= 0.02 and real >= 10 else "info")
        cause_txt = ", ".join(f"{k} {v}" for k, v in sorted(causes.items()) if v)
        out.append(_Draft(
            kind="retransmissions", severity=severity,
            title=f"{rate:.1%} of segments retransmitted ({real} of ~{segs})",
            detail=(
                f"{sender or 'Senders'} had to send {real} segments again "
                f"({rate:.2%} of about {segs} data segments"
                f"{'; by cause: ' + cause_txt if cause_txt else ''}). Each repair costs "
                f"at least a round trip, and loss-based senders (Reno, CUBIC) also cut "
                f"their congestion window at every loss, so even 1% loss can hold "
                f"throughput far below the link rate."
                + (f" {spurious} retransmissions were spurious: the original had arrived."
                   if spurious else "")),
            recommendation=(
                "Locate the loss: compare captures taken at both ends, check interface "
                "and qdisc drop counters, and look for a queue too small for the burst "
                "sizes or a policer. If the loss is random (radio links), BBR "
                "(net.ipv4.tcp_congestion_control=bbr with the fq qdisc) loses far less "
                "throughput than CUBIC. Spurious repeats point at reordering or at a "
                "minimum RTO too low for the path."),
            flows=flows, endpoint=sender,
            metrics={"retransmitted": real, "data_segments": segs, "rate": _r(rate, 5),
                     "spurious": spurious, "causes": dict(causes),
                     "seconds_lost_estimate": _r(lost)},
            seconds_lost=lost))
    return out


def rule_zero_window(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        for d in range(min(2, len(f.endpoints))):
            receiver = f.endpoints[d].addr
            ads = _counter(f, d, "zero_window")
            sender = f.endpoints[1 - d].addr if len(f.endpoints) > 1 else None
            stalls = ctx.stalls(f, "zero_window", sender) if sender else []
            if ads == 0 and not stalls:
                continue
            probes = max(_counter(f, 1 - d, "zero_window_probe"),
                         sum(int(s.detail.get("probes", 0)) for s in stalls))
            hits.append((f, {"receiver": receiver, "sender": sender, "ads": ads,
                             "stalls": stalls, "probes": probes}))
    out = []
    for _server, items in _group_by_server(hits).items():
        stalls = [s for _, i in items for s in i["stalls"]]
        total = sum(s.duration for s in stalls)
        longest = max((s.duration for s in stalls), default=0.0)
        ads = sum(i["ads"] for _, i in items)
        probes = sum(i["probes"] for _, i in items)
        flows = sorted({f.id for f, _ in items})
        receiver = _only(i["receiver"] for _, i in items)
        sender = _only(i["sender"] for _, i in items)
        span = sum(max(f.end - f.start, 1e-9) for f, _ in items)
        severity = "warning" if total >= 0.5 or total >= 0.05 * span else "info"
        out.append(_Draft(
            kind="zero_window", severity=severity,
            title=f"Receiver {receiver or ''} closed its window: senders waited {_ms(total)}"
                  .replace("  ", " "),
            detail=(
                f"{receiver or 'The receiver'} advertised a zero receive window "
                f"{_plural(ads, 'time')}: its socket buffer was full because the application "
                f"was not reading as fast as data arrived. {sender or 'The sender'} had to "
                f"stop until space opened"
                + (f" (it probed the window {_plural(probes, 'time')})" if probes else "")
                + f"; data waited {_ms(total)} in total, the longest wait {_ms(longest)}. "
                f"The network was not the bottleneck here, the receiving application was."),
            recommendation=(
                "Make the receiving application read promptly: do no slow work between "
                "reads (hand it to another thread or queue), and read in large chunks. If "
                "the reader is bursty by nature, give it more buffer: do not pin a small "
                "SO_RCVBUF (that also switches off autotuning) and let net.ipv4.tcp_rmem's "
                "maximum grow the buffer."),
            flows=flows, endpoint=receiver,
            metrics={"zero_window_advertisements": ads, "probes": probes,
                     "stalls": len(stalls), "seconds_lost": _r(total),
                     "longest": _r(longest), "sender": sender},
            seconds_lost=total))
    return out


def rule_receive_window(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        if w := ctx.window_limited(f):
            hits.append((f, w))
    out = []
    for _server, items in _group_by_server(hits).items():
        flows = sorted({f.id for f, _ in items})
        worst = max((w for _, w in items), key=lambda w: w["stall_seconds"])
        total = sum(w["stall_seconds"] for _, w in items)
        scaling_off = any((f.tcp.get("window_scaling") is False) for f, _ in items)
        rtt, window = worst["rtt"], worst["window"]
        ceiling = worst["ceiling_Bps"] or 0.0
        targets = {f"{m} Mbit/s": int(m * 1e6 / 8 * rtt) for m in (10, 100, 1000)}
        path = worst.get("path_Bps")
        observed = worst["observed_Bps"]
        lost = sum(w["lost"] for _, w in items)
        if path and path > 1.2 * observed:
            # bursts within a window moved at what the path carries: the BDP is that
            # rate times the RTT, and the time lost is what the transfer took beyond it
            bdp = int(path * rtt)
            bdp_txt = (f"Within each window the data moved at about {_rate(path)}, which "
                       f"is what the path can carry; at {_ms(rtt)} that rate needs "
                       f"{bdp:,} bytes in flight (the bandwidth-delay product), "
                       f"{bdp / max(window, 1):.1f} times the window offered.")
        else:
            bdp = None
            bdp_txt = (f"To fill a path the window must be at least the bandwidth-delay "
                       f"product: at this RTT that is {targets['100 Mbit/s']:,} bytes for "
                       f"100 Mbit/s.")
        why = ("Window scaling was not negotiated, so the window can never exceed "
               "65,535 bytes." if scaling_off else
               "The receiver never offered more, so its receive buffer (or the "
               "tcp_rmem maximum) is below what this path needs.")
        out.append(_Draft(
            kind="receive_window_limited", severity="warning",
            title=f"Throughput capped by a {window:,}-byte receive window "
                  f"({_rate(ceiling)} at {_ms(rtt)} RTT)",
            detail=(
                f"{worst['sender']} kept filling the window {worst['receiver']} offered and "
                f"then waited for it to open: {worst['stall_fraction']:.0%} of the transfer "
                f"time was spent that way ({worst['stalls']} times). A sender can move at "
                f"most one window per round trip, so {window:,} bytes every {_ms(rtt)} caps "
                f"the transfer at {_rate(ceiling)}; it achieved "
                f"{_rate(observed)}. {why} {bdp_txt}"),
            recommendation=(
                ("Enable window scaling on both ends (net.ipv4.tcp_window_scaling=1) and "
                 "check that no middlebox strips the option from SYNs. " if scaling_off
                 else "") +
                "Let the receive buffer reach the bandwidth-delay product: do not set a "
                "small SO_RCVBUF by hand, and raise the autotuning maximum "
                "(net.ipv4.tcp_rmem=\"4096 131072 <BDP or more>\", net.core.rmem_max)."),
            flows=flows, endpoint=worst["receiver"],
            metrics={"window": window, "rtt": _r(rtt),
                     "ceiling_bps": _r(ceiling * 8, 0),
                     "observed_bps": _r(worst["observed_Bps"] * 8, 0),
                     "stall_fraction": _r(worst["stall_fraction"], 3),
                     "seconds_lost": _r(lost), "window_bound_seconds": _r(total),
                     "path_rate_bps": _r(path * 8, 0) if path else None,
                     "bdp_bytes": bdp, "bdp_bytes_for": targets,
                     "window_scaling": not scaling_off},
            seconds_lost=lost))
    return out


def _option_rule(kind: str, key: str, name: str, sysctl: str, why: str,
                 endpoint_attr: str) -> Callable[[_Context], list[_Draft]]:
    def rule(ctx: _Context) -> RuleScan:
        hits = []
        while (f := (yield)) is not None:
            if not ctx.handshake_seen(f):
                continue
            negotiated = f.tcp.get(key)
            if negotiated is None:
                vals = [getattr(e, endpoint_attr, None) for e in f.endpoints[:2]]
                negotiated = all(v not in (None, False) for v in vals) if vals else None
            if negotiated is False:
                missing = [e.addr for e in f.endpoints[:2]
                           if getattr(e, endpoint_attr, None) in (None, False)]
                hits.append((f, {"missing": missing}))
        out = []
        for server, items in _group_by_server(hits).items():
            flows = sorted({f.id for f, _ in items})
            missing = sorted({a for _, i in items for a in i["missing"]})
            severity, extra, lost = "info", "", 0.0
            if kind == "window_scaling_off":
                limited = [f for f, _ in items if ctx.window_limited(f)]
                if limited:
                    severity = "warning"
                    lost = sum(ctx.window_limited(f)["lost"] for f in limited)
                    extra = (f" It did limit {_plural(len(limited), 'flow')} here (see "
                             f"receive_window_limited).")
            elif kind == "sack_off":
                lossy = [f for f, _ in items
                         if sum(ctx.real_retransmissions(f, d)[0]
                                for d in range(min(2, len(f.endpoints)))) >= 3]
                if lossy:
                    severity = "warning"
                    lost = sum(ctx.stall_seconds(f, "rto") for f in lossy)
                    extra = (f" {_plural(len(lossy), 'flow')} here did lose data and had "
                             f"to recover without it.")
            who = ", ".join(missing[:4]) + (" ..." if len(missing) > 4 else "")
            out.append(_Draft(
                kind=kind, severity=severity,
                title=f"{name} not negotiated ({_plural(len(flows), 'flow')})",
                detail=(f"The handshake did not agree on {name}"
                        f"{' (not offered by ' + who + ')' if who else ''}. {why}{extra}"),
                recommendation=(f"Turn it on at both ends ({sysctl}=1, the Linux default) "
                                f"and make sure no firewall or load balancer strips the "
                                f"option from SYN segments."),
                flows=flows, endpoint=_only(missing) or server,
                metrics={"flows": len(flows), "not_offered_by": missing[:20]},
                seconds_lost=lost))
        return out
    rule.__name__ = f"rule_{kind}"
    return rule


rule_window_scaling_off = _option_rule(
    "window_scaling_off", "window_scaling", "window scaling", "net.ipv4.tcp_window_scaling",
    "Without it the 16-bit window field caps the receive window at 65,535 bytes, which "
    "caps throughput at 64 KB per round trip: about 5 Mbit/s at 100 ms.", "wscale")
rule_sack_off = _option_rule(
    "sack_off", "sack", "selective acknowledgement (SACK)", "net.ipv4.tcp_sack",
    "Without SACK a receiver can only say 'everything up to byte N'; after a loss the "
    "sender learns of one hole per round trip and may resend data that had arrived.",
    "sack_permitted")
rule_timestamps_off = _option_rule(
    "timestamps_off", "timestamps", "TCP timestamps", "net.ipv4.tcp_timestamps",
    "Timestamps give an RTT sample on every ACK, protect fast links against wrapped "
    "sequence numbers (PAWS), and are required for net.ipv4.tcp_tw_reuse to be safe.",
    "timestamps")


def _closer(f: FlowResult, ctx: _Context) -> str | None:
    """'client' or 'server': who closed first (and so holds TIME_WAIT)."""
    tw = f.tcp.get("time_wait")
    ci = f.tcp.get("close_initiator")
    for v in (tw, ci):
        if v in ("client", "server"):
            return v
        if v == f.client:
            return "client"
        if v == f.server:
            return "server"
        if v in (0, 1):
            return ("client", "server")[v]
    d = ctx.facts(f).get("fin_first")
    if d in (0, 1):
        return ("client", "server")[d]
    return None


def _conn_groups(ctx: _Context) -> list[dict]:
    """Flows grouped by (client host, server), for groups of 20 or more (cached)."""
    if ctx._conn_groups is None:
        ctx._conn_groups = _make_conn_groups(ctx)
    return ctx._conn_groups


def _make_conn_groups(ctx: _Context) -> list[dict]:
    # Count first, then keep a few numbers per flow of the big groups, not the flows: a
    # capture of many short connections puts most of its flows in one group, and the
    # flows may be packed (results.py) or many.
    sizes = ctx.group_sizes
    if sizes is None:  # not counted by run_rules' pass (a rule run on its own)
        sizes = defaultdict(int)
        for f in ctx.flows:
            sizes[(_host(f.client), f.server)] += 1
    groups: dict[tuple[str, str], list[tuple]] = {k: [] for k, n in sizes.items() if n >= 20}
    if not groups:
        return []
    for f in ctx.flows:
        records = groups.get((_host(f.client), f.server))
        if records is not None:
            records.append((f.start, f.id, f.client, f.end - f.start, _closer(f, ctx),
                            sum(e.payload_bytes for e in f.endpoints), ctx.rtt(f)))
    out = []
    for (client_host, server), records in groups.items():
        records.sort(key=lambda r: r[0])  # by start (stable: ids in order within a tie)
        flows = [r[1] for r in records]
        span = records[-1][0] - records[0][0]
        rate = (len(flows) - 1) / span if span > 0 else float(len(flows))
        ports: dict[str, int] = defaultdict(int)
        for r in records:
            ports[r[2]] += 1
        reused = sum(1 for n in ports.values() if n > 1)
        closers: dict[str, int] = defaultdict(int)
        for r in records:
            if r[4]:
                closers[r[4]] += 1
        lifetimes = [r[3] for r in records]
        bytes_per = [r[5] for r in records]
        rtts = [r[6] for r in records if r[6]]
        out.append({"client": client_host, "server": server, "flows": flows,
                    "n": len(flows), "span": span, "rate": rate, "reused_ports": reused,
                    "closers": dict(closers), "median_lifetime": median(lifetimes),
                    "median_bytes": median(bytes_per),
                    "rtt": median(rtts) if rtts else None})
    return out


def rule_time_wait(ctx: _Context) -> list[_Draft]:
    out = []
    for g in _conn_groups(ctx):
        closers = g["closers"]
        if not closers:
            continue
        side = max(closers, key=closers.get)
        share = closers[side] / g["n"]
        ports_held = g["rate"] * TIME_WAIT_S
        fraction = ports_held / EPHEMERAL_PORTS
        if fraction < 0.05 and not g["reused_ports"]:
            continue
        severity = ("critical" if fraction >= 0.8 else
                    "warning" if fraction >= 0.1 or g["reused_ports"] else "info")
        holder = g["client"] if side == "client" else g["server"]
        max_rate = EPHEMERAL_PORTS / TIME_WAIT_S
        lost = g["n"] * (g["rtt"] or 0.0)
        where = (f"on the client {g['client']}, which needs a fresh ephemeral port for every "
                 f"connection to {g['server']}" if side == "client" else
                 f"on the server {g['server']}: each socket there costs memory, and a "
                 f"client reusing a port can hit a socket still in TIME_WAIT")
        out.append(_Draft(
            kind="time_wait_pressure", severity=severity,
            title=f"{g['rate']:.0f} new connections/s leave ~{ports_held:,.0f} sockets in "
                  f"TIME_WAIT ({fraction:.0%} of the ephemeral ports)",
            detail=(
                f"{g['client']} opened {g['n']} connections to {g['server']} in "
                f"{g['span']:.1f} s ({g['rate']:.0f}/s). The {side} closed first in "
                f"{share:.0%} of them, so the TIME_WAIT state sits {where}. Linux keeps "
                f"each one for 60 s, so at this rate about {ports_held:,.0f} sockets are in "
                f"TIME_WAIT at any moment. The default ephemeral range 32768-60999 has "
                f"{EPHEMERAL_PORTS:,} ports, which allows about {max_rate:.0f} new "
                f"connections per second to one destination; beyond that connect() fails "
                f"with EADDRNOTAVAIL."
                + (f" {_plural(g['reused_ports'], 'client port')} were already used twice "
                   f"in this capture." if g["reused_ports"] else "")),
            recommendation=(
                "In order: (1) reuse connections: an HTTP keep-alive pool or a "
                "database connection pool removes both the TIME_WAIT and a handshake "
                "per request; (2) on the client, net.ipv4.tcp_tw_reuse=1 lets new "
                "outgoing connections take over TIME_WAIT ports safely (needs "
                "timestamps); (3) widen net.ipv4.ip_local_port_range (e.g. \"1024 65535\"). "
                "Never use tcp_tw_recycle (it broke clients behind NAT and is gone since "
                "Linux 4.12); SO_LINGER 0 avoids TIME_WAIT only by resetting connections."),
            flows=list(g["flows"]), endpoint=holder,
            metrics={"connections": g["n"], "seconds": _r(g["span"], 3),
                     "rate_per_s": _r(g["rate"], 2), "time_wait_side": side,
                     "closer_share": _r(share, 3), "time_wait_sockets": _r(ports_held, 0),
                     "ephemeral_ports": EPHEMERAL_PORTS,
                     "port_fraction": _r(fraction, 4), "reused_ports": g["reused_ports"],
                     "max_rate_per_s": _r(max_rate, 1), "client": g["client"],
                     "server": g["server"]},
            seconds_lost=lost))
    return out


def rule_churn(ctx: _Context) -> list[_Draft]:
    out = []
    for g in _conn_groups(ctx):
        if g["rate"] < 2.0 or g["median_lifetime"] > 5.0:
            continue
        rtt = g["rtt"]
        lost = g["n"] * (rtt or 0.0)
        severity = "warning" if g["n"] >= 100 and g["rate"] >= 10 else "info"
        out.append(_Draft(
            kind="connection_churn", severity=severity,
            title=f"{g['n']} short connections to {g['server']} ({g['rate']:.0f}/s)",
            detail=(
                f"{g['client']} opened a new TCP connection for each exchange with "
                f"{g['server']}: {g['n']} connections in {g['span']:.1f} s, living "
                f"{_ms(g['median_lifetime'])} and carrying {g['median_bytes']:,.0f} bytes "
                f"each (median). Every new connection pays a handshake round trip"
                f"{' (' + _ms(rtt) + ' here)' if rtt else ''} and starts again from a "
                f"small congestion window, and each one closed leaves a TIME_WAIT socket "
                f"behind."),
            recommendation=(
                "Keep connections open and reuse them: enable keep-alive in the HTTP "
                "client (a pooled agent/session), use the driver's connection pool, or "
                "multiplex requests (HTTP/2). Only if that is impossible, tune the "
                "kernel: net.ipv4.tcp_tw_reuse=1 and a wider ip_local_port_range."),
            flows=list(g["flows"]), endpoint=g["client"],
            metrics={"connections": g["n"], "rate_per_s": _r(g["rate"], 2),
                     "median_lifetime": _r(g["median_lifetime"]),
                     "median_bytes": g["median_bytes"],
                     "handshake_seconds": _r(lost), "server": g["server"]},
            seconds_lost=lost))
    return out


def _keepalive_times(f: FlowResult, ctx: _Context) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    core = f.tcp.get("keepalive_ts") or {}
    for addr, ts in core.items():
        if not ts:
            continue
        # Linux probes a zero window with the same segment shape as a keep-alive;
        # those belong to the zero_window finding
        closed = [(s.start, s.start + s.duration) for s in f.stalls
                  if s.kind == "zero_window" and s.endpoint == addr]
        ts = [t for t in ts if not any(a <= t <= b + 0.001 for a, b in closed)]
        if ts:
            out[addr] = sorted(ts)
    if not out:
        kts = ctx.facts(f).get("keepalive_ts") or [[], []]
        for d, ts in enumerate(kts[:2]):
            if ts and d < len(f.endpoints):
                out[f.endpoints[d].addr] = sorted(ts)
    if not out and not core:
        for e in f.endpoints[:2]:
            if e.counters.get("keep_alive") and not ctx.stalls(f, "zero_window", e.addr):
                out[e.addr] = []
    return out


def rule_keepalive(ctx: _Context) -> RuleScan:
    out = []
    idle_without: list[tuple[FlowResult, float]] = []
    while (f := (yield)) is not None:
        ka = _keepalive_times(f, ctx)
        if not ka:
            gap = ctx.facts(f).get("max_idle_gap") or 0.0
            if gap >= 300.0:
                idle_without.append((f, gap))
            continue
        for addr, ts in ka.items():
            gaps = [b - a for a, b in zip(ts, ts[1:], strict=False) if b - a > 0.2]
            interval = median(gaps) if gaps else None
            n = len(ts) or sum(int(e.counters.get("keep_alive", 0)) for e in f.endpoints
                               if e.addr == addr)
            first_idle = None
            if ts:
                first_idle = ts[0] - f.start
            note = ""
            if interval is not None:
                if interval <= 30:
                    note = ("That is shorter than even aggressive mobile-NAT idle timeouts "
                            "(about 30 s), so middlebox state stays alive.")
                elif interval <= 300:
                    note = ("That keeps typical firewall state (5-15 minutes) alive, but a "
                            "mobile NAT that forgets after ~30 s would still drop it.")
                else:
                    note = ("That is longer than many firewall and NAT idle timeouts "
                            "(5-15 minutes, ~30 s on mobile NATs); the connection can be "
                            "silently dropped between probes.")
            sev = "warning" if interval is not None and interval > 900 else "info"
            out.append(_Draft(
                kind="keepalive", severity=sev,
                title=f"TCP keep-alive probes from {addr}"
                      + (f" every {_ms(interval)}" if interval else ""),
                detail=(
                    f"{addr} sent {_plural(n, 'keep-alive probe')} on an otherwise idle "
                    f"connection (an empty segment one byte behind the next sequence "
                    f"number, which forces the peer to answer with an ACK)"
                    + (f", every {_ms(interval)}" if interval else "")
                    + (f", the first {_ms(first_idle)} after the connection opened"
                       if first_idle is not None else "")
                    + f". {note}"),
                recommendation=(
                    "Pick an interval below the shortest idle timeout on the path: per "
                    "socket SO_KEEPALIVE with TCP_KEEPIDLE/TCP_KEEPINTVL/TCP_KEEPCNT, or "
                    "system-wide net.ipv4.tcp_keepalive_time / _intvl / _probes (the "
                    "default 7200 s is far too long for most middleboxes; 30-60 s is "
                    "common). Application heartbeats also prove the peer process is alive."),
                flows=[f.id], endpoint=addr,
                metrics={"probes": n, "interval": _r(interval),
                         "first_probe_after": _r(first_idle)},
                seconds_lost=0.0))
    if idle_without:
        flows = [f.id for f, _ in idle_without]
        longest = max(g for _, g in idle_without)
        out.append(_Draft(
            kind="keepalive", severity="info",
            title=f"{_plural(len(flows), 'connection')} idle for minutes without keep-alives",
            detail=(
                f"These connections went up to {_ms(longest)} without a single segment and "
                f"no keep-alive probes. Stateful firewalls and NATs typically forget an "
                f"idle connection after 5-15 minutes (mobile NATs sometimes after ~30 s); "
                f"after that, the next write disappears and the application waits for "
                f"retransmission timeouts before seeing an error."),
            recommendation=(
                "Enable keep-alives on long-lived idle connections (SO_KEEPALIVE plus "
                "TCP_KEEPIDLE of 30-60 s) or send application heartbeats."),
            flows=flows, endpoint=_only(f.server for f, _ in idle_without),
            metrics={"connections": len(flows), "longest_idle": _r(longest)},
            seconds_lost=0.0))
    return out


def _resets(f: FlowResult, ctx: _Context) -> list[dict]:
    core = f.tcp.get("resets")
    if core:
        return [dict(r) for r in core]
    out = []
    for r in ctx.facts(f).get("resets") or []:
        r = dict(r)
        r["endpoint"] = f.client if r.get("direction") == 0 else f.server
        out.append(r)
    return out


def rule_reset(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        rs = _resets(f, ctx)
        if rs:
            hits.append((f, {"resets": rs}))
    out = []
    for _server, items in _group_by_server(hits).items():
        rs = [(f, r) for f, i in items for r in i["resets"]]
        refusals = [(f, r) for f, r in rs if r.get("answer_to_syn")]
        aborts = [(f, r) for f, r in rs if not r.get("answer_to_syn")]
        in_window = [(f, r) for f, r in aborts if r.get("in_window", True)]
        senders = sorted({str(r.get("endpoint")) for _, r in rs})
        flows = sorted({f.id for f, _ in items})
        first_f, first = min(aborts or rs, key=lambda fr: fr[1].get("ts") or 0.0)
        who = _only(senders)
        role = ("client" if who == first_f.client else "server" if who == first_f.server
                else None)
        after_data = any(r.get("after_data") for _, r in aborts)
        # an accepted abort loses data and surfaces as an error: warning; refusals are
        # judged by handshake_failure, ignored out-of-window resets change nothing
        severity = "warning" if in_window else "info"
        when = (first.get("ts") or first_f.start) - first_f.start
        parts = []
        if aborts:
            parts.append(
                f"{_plural(len(aborts), 'connection')} ended with RST instead of a FIN "
                f"exchange (the first {_ms(when)} into flow {first_f.id}"
                f"{', after data had flowed' if after_data else ''}). {len(in_window)} of "
                f"{len(aborts)} fell inside the receiver's window and were accepted: both "
                f"sides dropped the connection at once, anything still queued was "
                f"discarded, and the peer's application saw ECONNRESET. Common causes: an "
                f"abortive close (SO_LINGER with a zero timeout), closing a socket while "
                f"unread data sits in its receive buffer, a crashed process, or a firewall "
                f"or load balancer expiring the connection."
                + (f" {len(aborts) - len(in_window)} landed outside the window and were "
                   f"ignored by the receiver." if len(aborts) > len(in_window) else ""))
        if refusals:
            parts.append(
                f"{_plural(len(refusals), 'reset')} answered a SYN: the connection was "
                f"refused before it existed (see handshake_failure).")
        out.append(_Draft(
            kind="reset", severity=severity,
            title=f"{_plural(len(rs), 'reset')}"
                  + (f" sent by the {role} {who}" if who and role else "")
                  + (f" ({len(refusals)} refusing a SYN)" if refusals else ""),
            detail=f"Sent by {', '.join(senders[:4])}: " + " ".join(parts),
            recommendation=(
                "Close gracefully: shutdown(SHUT_WR), read until EOF, then close(); do not "
                "set SO_LINGER {on, 0} unless discarding data is intended; drain unread "
                "input before closing. If a middlebox sends the reset, keep the connection "
                "busier than its idle timeout (keep-alives) or raise that timeout. A reset "
                "answering a SYN means nothing listens on that port."),
            flows=flows, endpoint=who,
            metrics={"resets": len(rs), "aborts": len(aborts), "in_window": len(in_window),
                     "refusals": len(refusals), "sent_by": senders[:20],
                     "first_ts": _r(first.get("ts")), "first_after_s": _r(when),
                     "after_data": after_data},
            seconds_lost=0.0))
    return out


def _syn_retransmissions(f: FlowResult, fx: dict) -> tuple[int, int]:
    """(SYN, SYN-ACK) retransmissions: the core's counts, else the stall observer's."""
    tcp = f.tcp
    return (int(tcp.get("syn_retransmissions", fx.get("syn_retransmissions", 0)) or 0),
            int(tcp.get("synack_retransmissions", fx.get("synack_retransmissions", 0)) or 0))


def _handshake_info(f: FlowResult, ctx: _Context) -> dict:
    fx = ctx.facts(f)
    syn_re, synack_re = _syn_retransmissions(f, fx)
    return {"syn_seen": bool(fx.get("syn_seen", f.handshake != "none")),
            "synack_seen": bool(fx.get("synack_seen", f.handshake == "complete")),
            "ack_seen": bool(fx.get("handshake_ack_seen", f.handshake == "complete")),
            "refused": bool(fx.get("rst_to_syn")) or any(
                r.get("answer_to_syn") for r in (f.tcp.get("resets") or [])),
            "syn_re": syn_re, "synack_re": synack_re,
            "client_spoke": bool((fx.get("segments_after_syn") or [0, 0])[0]) and not (
                fx.get("rst_to_syn")),
            "first_syn": fx.get("first_syn_ts", f.start),
            "last_syn": fx.get("last_syn_ts", f.start)}


def rule_handshake_failure(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        if f.handshake == "complete":
            continue
        h = _handshake_info(f, ctx)
        if not h["syn_seen"] or h["ack_seen"]:
            continue
        if h["refused"]:
            why = "refused"
        elif h["client_spoke"]:
            continue  # the client went on talking: only the capture missed the answer
        elif not h["synack_seen"] and (h["syn_re"] or
                                        ctx.end_ts - (h["last_syn"] or f.start) >= 3.0):
            why = "unanswered"
        elif h["synack_seen"] and h["synack_re"]:
            why = "synack_unanswered"
        else:
            continue  # the capture may simply have ended mid-handshake
        hits.append((f, {"why": why, **h}))
    out = []
    for server, items in _group_by_server(hits).items():
        kinds = sorted({i["why"] for _, i in items})
        flows = sorted({f.id for f, _ in items})
        lost = sum(max(0.0, (f.end - f.start)) for f, _ in items)
        client = _only(_host(f.client) for f, _ in items)
        parts = []
        if "refused" in kinds:
            parts.append(f"{server} answered the SYN with a reset: nothing was listening on "
                         f"that port, or a firewall rejected the connection.")
        if "unanswered" in kinds:
            n_re = max(i["syn_re"] for _, i in items)
            parts.append(f"SYNs to {server} got no answer at all ({n_re} retransmissions): "
                         f"a firewall silently dropping, a routing black hole, or a server "
                         f"whose listen queue is full. The client retries with a timer that "
                         f"doubles each time (1 s, 2 s, 4 s ... on Linux), so connect() hangs "
                         f"for seconds to minutes before failing.")
        if "synack_unanswered" in kinds:
            parts.append(f"{server} answered, but its SYN-ACK was never acknowledged: the "
                         f"return path drops packets, or the client gave up.")
        severity = "critical" if len(flows) >= 10 else "warning"
        out.append(_Draft(
            kind="handshake_failure", severity=severity,
            title=f"{_plural(len(flows), 'connection attempt')} to {server} failed ("
                  + ", ".join(k.replace("_", " ") for k in kinds) + ")",
            detail=" ".join(parts),
            recommendation=(
                "Check that the service listens on that address and port (`ss -ltn`) and "
                "that the client targets the right one; look for firewall DROP/REJECT "
                "rules and security groups on the path; if the server is overloaded, "
                "raise its listen backlog (listen() argument, net.core.somaxconn, "
                "net.ipv4.tcp_max_syn_backlog). Give clients a connect timeout shorter "
                "than the SYN retry schedule (net.ipv4.tcp_syn_retries)."),
            flows=flows, endpoint=server,
            metrics={"attempts": len(flows), "reasons": kinds, "client": client,
                     "seconds": _r(lost)},
            seconds_lost=lost))
    return out


def rule_syn_retransmission(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        if any(_syn_retransmissions(f, ctx.facts(f))):
            hits.append((f, _handshake_info(f, ctx)))
    out = []
    for server, items in _group_by_server(hits).items():
        flows = sorted({f.id for f, _ in items})
        syn = sum(h["syn_re"] for _, h in items)
        synack = sum(h["synack_re"] for _, h in items)
        lost = sum(ctx.stall_seconds(f, "handshake") for f, _ in items)
        completed = sum(1 for _, h in items if h["ack_seen"])
        out.append(_Draft(
            kind="syn_retransmission", severity="warning",
            title=f"Handshake retransmissions to {server}: {syn} SYN, {synack} SYN-ACK",
            detail=(
                f"Connection setup had to be repeated: {syn} SYN and {synack} SYN-ACK "
                f"retransmissions in {_plural(len(flows), 'connection')} ({completed} of "
                f"them completed in the end). Before a handshake completes there is no RTT "
                f"sample, so the retry timer starts at 1 s and doubles; each lost SYN or "
                f"SYN-ACK costs the client at least a second. In all "
                f"{_ms(lost)} went by in handshakes that had to be repeated."),
            recommendation=(
                "Look for what drops connection setup: a full listen queue on the server "
                "(`nstat -az TcpExtListenOverflows TcpExtListenDrops`; raise the listen "
                "backlog and net.core.somaxconn), SYN-flood protection or rate limits, "
                "firewalls, or plain packet loss on the path."),
            flows=flows, endpoint=server,
            metrics={"syn_retransmissions": syn, "synack_retransmissions": synack,
                     "connections": len(flows), "completed": completed,
                     "seconds_lost": _r(lost)},
            seconds_lost=lost))
    return out


#: syn_flood fires from this many failed attempts at this peak rate (per second).
FLOOD_MIN_ATTEMPTS = 1000
FLOOD_MIN_RATE = 100.0
FLOOD_TOP = 5  # targets and sources named in the metrics


def rule_syn_flood(ctx: _Context) -> list[_Draft]:
    """Many connection attempts that never completed, at a high rate.

    Reads the tally over every flow (`capture.handshakes`), so the flows the bounds
    evicted or folded count too; `flows` lists the listed ones that took part.
    """
    stats = ctx.capture.handshakes or {}
    n = handshakes.failed(stats)
    first, last = stats.get("first_ts"), stats.get("last_ts")
    span = (last - first) if first is not None and last is not None else 0.0
    mean = n / span if span > 0 else float(n)
    # a burst shorter than one histogram bucket: its mean is the better peak
    peak = max(handshakes.peak_rate(stats), mean if span < stats.get("bucket_s", 1.0) else 0)
    if n < FLOOD_MIN_ATTEMPTS or peak < FLOOD_MIN_RATE:
        return []
    targets = stats.get("targets") or {}
    sources = stats.get("sources") or {}
    top_targets = handshakes.top(targets, FLOOD_TOP)
    top_sources = handshakes.top(sources, FLOOD_TOP)
    capped = bool(stats.get("sources_uncounted"))
    n_sources = f"{len(sources):,}" + ("+" if capped else "")
    main_target, main_n = top_targets[0] if top_targets else ("?", 0)
    unanswered = stats.get("unanswered", 0)
    half_open = stats.get("half_open", 0)
    refused = stats.get("refused", 0)
    completed = stats.get("completed", 0)
    evicted = ctx.capture.evicted_flows
    folded = (ctx.capture.folded_flows or {}).get("count", 0)
    listed = [f for f in ctx.flows if handshakes.classify(f) in handshakes.FAILED]
    flows = sorted(f.id for f in listed)
    # time lost: how long the listed attempts hung, plus how long the flood went on (so
    # it ranks above the handshake_failure findings it explains)
    lost = span + sum(max(0.0, f.end - f.start) for f in listed)
    scan = len(sources) == 1 and len(targets) > 20
    parts = [
        f"{n:,} connection attempts never completed a handshake and carried no data "
        f"({unanswered:,} unanswered, {half_open:,} half-open: the server's SYN-ACK was "
        f"never acknowledged, {refused:,} refused with a reset), against {completed:,} "
        f"that completed. They came at up to {peak:,.0f}/s ({mean:,.0f}/s on average over "
        f"{_ms(span)}) from {n_sources} source addresses; {main_n:,} went to {main_target}"
        + (f" and the rest to {len(targets) - 1:,} other targets." if len(targets) > 1
           else ".")]
    if scan:
        parts.append("One source trying many targets looks like a port scan rather than "
                     "a flood.")
    elif half_open:
        parts.append("Half-open attempts fill the server's SYN queue: once it is full, "
                     "new SYNs are dropped (or answered with SYN cookies), and genuine "
                     "clients see connect() time out or retry for seconds.")
    else:
        parts.append("SYNs nobody answers at this rate mean the target is down, "
                     "overwhelmed, or behind a filter that drops them; as a flood they "
                     "also eat the bandwidth and the state of everything on the path.")
    if evicted or folded:
        parts.append(
            f"The analysis bounds applied: {evicted:,} flows were evicted from the flow "
            f"table and {folded:,} flows without payload were counted but not listed "
            f"(capture.evicted_flows, capture.folded_flows); the counts here include "
            f"them, the finding lists the {len(flows):,} listed flows.")
    return [_Draft(
        kind="syn_flood", severity="critical",
        title=(f"SYN flood: {n:,} connection attempts never completed (up to "
               f"{peak:,.0f}/s), {main_n:,} of them to {main_target}"),
        detail=" ".join(parts),
        recommendation=(
            "On the target: keep SYN cookies on (net.ipv4.tcp_syncookies=1, the Linux "
            "default) so a full SYN queue does not lock out genuine clients; size the "
            "queue (net.ipv4.tcp_max_syn_backlog, the listen() backlog and "
            "net.core.somaxconn); fewer SYN-ACK retries (net.ipv4.tcp_synack_retries=2) "
            "free the queue sooner. Upstream: rate-limit or filter SYNs per source "
            "(iptables/nftables limit, hashlimit or synproxy), drop spoofed sources at the "
            "edge (uRPF, BCP 38), or ask the provider for DDoS scrubbing. Many sources "
            "with few SYNs each usually means spoofed addresses."),
        flows=flows, endpoint=main_target if top_targets else None,
        metrics={"attempts_failed": n, "unanswered": unanswered, "half_open": half_open,
                 "refused": refused, "completed": completed,
                 "flows_affected": n, "peak_per_s": _r(peak, 1), "mean_per_s": _r(mean, 1),
                 "seconds": _r(span), "sources": len(sources), "sources_capped": capped,
                 "targets": len(targets),
                 "top_targets": [{"target": t, "attempts": c} for t, c in top_targets],
                 "top_sources": [{"source": h, "attempts": c} for h, c in top_sources],
                 "evicted_flows": evicted, "folded_flows": folded},
        seconds_lost=lost)]


def rule_mss_missing(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        if not ctx.handshake_seen(f):
            continue
        syn_mss = ctx.facts(f).get("syn_mss")
        missing = []
        for d, e in enumerate(f.endpoints[:2]):
            has = e.mss is not None
            if syn_mss and d < len(syn_mss):
                has = has or syn_mss[d] is not None
            if not has:
                missing.append(e.addr)
        if missing:
            hits.append((f, {"missing": missing}))
    out = []
    for _server, items in _group_by_server(hits).items():
        flows = sorted({f.id for f, _ in items})
        missing = sorted({a for _, i in items for a in i["missing"]})
        out.append(_Draft(
            kind="mss_missing", severity="info",
            title=f"SYN without an MSS option ({_plural(len(flows), 'flow')})",
            detail=(
                f"{', '.join(missing[:4])} sent a SYN with no maximum-segment-size option. "
                f"The peer must then assume 536 bytes, so bulk data travels in small "
                f"segments with more header overhead. A middlebox that rewrites or strips "
                f"options can also cause this, and if it strips MSS clamping on a tunnel, "
                f"full-size segments can vanish (a black hole)."),
            recommendation=(
                "Find what removes the option (a firewall or NAT normalizing SYNs, a "
                "custom stack). On tunnels, clamp MSS to the path MTU instead (iptables "
                "TCPMSS --clamp-mss-to-pmtu)."),
            flows=flows, endpoint=_only(missing),
            metrics={"endpoints": missing[:20]}, seconds_lost=0.0))
    return out


def _max_payload(f: FlowResult, ctx: _Context) -> int:
    core = f.tcp.get("max_payload")
    if isinstance(core, dict):
        return max((int(v) for v in core.values() if v), default=0)
    if isinstance(core, (int, float)):
        return int(core)
    return max((int(v) for v in ctx.facts(f).get("max_payload") or [] if v), default=0)


def _superframes(f: FlowResult, fx: dict) -> dict[str, int]:
    """Segments above the MSS per sender: the core's count, else -1 where the stall
    observer's largest payload proves some (`fx`: the flow's stall facts)."""
    sup = {a: int(n) for a, n in (f.tcp.get("superframes") or {}).items() if n}
    if not sup:
        try:
            for d in (0, 1):
                peer_mss = (fx.get("syn_mss") or [None, None])[1 - d]
                if peer_mss and fx["max_payload"][d] > peer_mss and d < len(f.endpoints):
                    sup[f.endpoints[d].addr] = -1  # count unknown, size proves it
        except (KeyError, IndexError, TypeError):
            pass
    return sup


def rule_offload(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        sup = _superframes(f, ctx.facts(f))
        if sup:
            hits.append((f, {"superframes": sup}))
    if not hits:
        return []
    senders: dict[str, int] = defaultdict(int)
    for _, i in hits:
        for a, n in i["superframes"].items():
            senders[a] += max(n, 0)
    biggest = max((_max_payload(f, ctx) for f, _ in hits), default=0)
    who = _only(senders)
    return [_Draft(
        kind="offload_artifacts", severity="info",
        title=f"Segments larger than the MSS in {_plural(len(hits), 'flow')} "
              f"(TSO/GSO or GRO at the capture point)",
        detail=(
            f"The capture holds segments bigger than the negotiated MSS (up to "
            f"{biggest:,} bytes) from {', '.join(sorted(senders)[:4])}. They never crossed "
            f"the wire like that: the capture was taken on a host whose stack hands large "
            f"super-segments to the NIC to cut up (TSO/GSO, sender side) or glues received "
            f"packets together (GRO/LRO, receiver side). Counts and per-packet timing here "
            f"are the host's view; tcpforensics treats these segments as the data they "
            f"carry and raises no false flags for them."),
        recommendation=(
            "Nothing is wrong with the connection. For wire-accurate timing capture on a "
            "tap or switch mirror, or turn offloads off while capturing "
            "(`ethtool -K IFACE tso off gso off gro off`)."),
        flows=sorted(f.id for f, _ in hits), endpoint=who,
        metrics={"senders": dict(senders), "max_payload": biggest}, seconds_lost=0.0)]


def _capture_gaps(f: FlowResult) -> int:
    """Data acknowledged that the capture never showed: the core's count, else the gaps
    no retransmission followed."""
    core = f.tcp.get("capture_loss")
    n = 0
    if isinstance(core, dict):
        for v in core.values():
            if isinstance(v, (int, float)):
                n += int(v)
    elif isinstance(core, (int, float)) and not isinstance(core, bool):
        n = int(core)
    elif core is True:
        n = 1
    elif core is None:
        for d in range(min(2, len(f.endpoints))):
            lost = _counter(f, d, "lost_segment") + _counter(f, d, "ack_lost_segment")
            if lost and not _counter(f, 1 - d, "retransmission") and not \
                    _counter(f, 1 - d, "fast_retransmission"):
                n += lost
    return n


def rule_capture_loss(ctx: _Context) -> RuleScan:
    hits = []
    while (f := (yield)) is not None:
        n = _capture_gaps(f)
        if n:
            hits.append((f, n))
    if not hits:
        return []
    total = sum(n for _, n in hits)
    return [_Draft(
        kind="capture_loss", severity="info",
        title=f"The capture missed packets ({total} gaps in {_plural(len(hits), 'flow')})",
        detail=(
            f"Data was acknowledged that the capture never showed, and no retransmission "
            f"followed: the endpoints got it, the capture did not. The capture tool or the "
            f"span port dropped packets (or the capture began mid-burst). Counts and "
            f"timings around these {total} gaps are incomplete; they are not network "
            f"loss."),
        recommendation=(
            "Capture with a bigger buffer and less work per packet: tcpdump -B 65536, a "
            "small snaplen (-s 128), a BPF filter, fast local disk; check the 'dropped by "
            "kernel' line tcpdump prints at exit."),
        flows=sorted(f.id for f, _ in hits), endpoint=None,
        metrics={"gaps": total, "flows": len(hits)}, seconds_lost=0.0)]


def rule_mathis(ctx: _Context) -> RuleScan:
    out = []
    while (f := (yield)) is not None:
        for d in range(min(2, len(f.endpoints))):
            real, _, _ = ctx.real_retransmissions(f, d)
            if real < 5:
                continue
            nbytes, span = ctx.data_span(f, d)
            rtt = ctx.rtt(f)
            if not rtt or span < 10 * rtt or nbytes < 512 * 1024:
                continue
            mss = ctx.mss(f, d)
            segs = max(ctx.data_segments(f, d), real)
            p = real / segs
            if p < 0.001:
                continue
            bound = mss / rtt * MATHIS_C / math.sqrt(p)
            observed = nbytes / span
            if observed > 2.0 * bound:
                continue  # loss does not explain this rate
            sender = f.endpoints[d].addr
            out.append(_Draft(
                kind="loss_bound_throughput", severity="info",
                title=f"{p:.2%} loss caps {sender} near {_rate(bound)} (achieved "
                      f"{_rate(observed)})",
                detail=(
                    f"With a loss rate p of {p:.2%}, an MSS of {mss} bytes and an RTT of "
                    f"{_ms(rtt)}, the Mathis model puts a loss-based sender's ceiling at "
                    f"MSS/RTT x {MATHIS_C:.2f}/sqrt(p) = {_rate(bound)}; this flow achieved "
                    f"{_rate(observed)}. So loss, not bandwidth, sets the pace: halving the "
                    f"loss rate would raise the ceiling by about 40%, halving the RTT "
                    f"would double it."),
                recommendation=(
                    "Reduce the loss first (see the retransmissions finding). If the loss "
                    "is outside your control (radio, long-haul), a model-based sender such "
                    "as BBR (net.ipv4.tcp_congestion_control=bbr, with the fq qdisc) is "
                    "much less sensitive to random loss; serving from closer (lower RTT) "
                    "also lifts the ceiling."),
                flows=[f.id], endpoint=sender,
                metrics={"loss_rate": _r(p, 5), "mss": mss, "rtt": _r(rtt),
                         "mathis_bps": _r(bound * 8, 0), "observed_bps": _r(observed * 8, 0),
                         "ratio": _r(observed / bound, 3)},
                seconds_lost=0.0))
    return out


def rule_slow_start_restart(ctx: _Context) -> RuleScan:
    out = []
    while (f := (yield)) is not None:
        events = ctx.facts(f).get("ssr_events") or []
        if not events:
            continue
        by_dir: dict[int, list[dict]] = defaultdict(list)
        for e in events:
            by_dir[int(e.get("direction", 0))].append(e)
        for d, evs in by_dir.items():
            if d >= len(f.endpoints):
                continue
            sender = f.endpoints[d].addr
            rtt = ctx.rtt(f) or 0.0
            first = median(e["first_flight"] for e in evs)
            before = median(e["flight_before"] for e in evs)
            # each restart costs roughly the round trips needed to regrow the window
            rounds = max(0.0, math.log2(max(before, 1) / max(first, 1)))
            lost = len(evs) * rounds * rtt
            out.append(_Draft(
                kind="slow_start_restart", severity="info",
                title=f"{sender} restarted slow start after idle "
                      f"{_plural(len(evs), 'time')}",
                detail=(
                    f"After each pause longer than its retransmission timeout, {sender} "
                    f"sent only ~{first:,.0f} bytes in the first round trip although it had "
                    f"been moving ~{before:,.0f} bytes per round trip before the pause. "
                    f"Linux forgets the congestion window after an idle period "
                    f"(net.ipv4.tcp_slow_start_after_idle=1, the default) and regrows it "
                    f"from the initial window, costing ~{rounds:.1f} extra round trips "
                    f"each time."),
                recommendation=(
                    "For long-lived connections that carry bursts (RPC, HTTP/2, streaming), "
                    "set net.ipv4.tcp_slow_start_after_idle=0 so the window survives "
                    "pauses; the pacing of modern qdiscs (fq) keeps the resumed burst "
                    "polite."),
                flows=[f.id], endpoint=sender,
                metrics={"restarts": len(evs), "first_flight_bytes": first,
                         "bytes_per_rtt_before": before, "seconds_lost_estimate": _r(lost)},
                seconds_lost=lost))
    return out


#: Kinds whose rules speak per flow; flows to one service are merged into one finding.
PER_FLOW_KINDS = ("keepalive", "loss_bound_throughput", "slow_start_restart")


def _merge_per_service(drafts: list[_Draft], server_of: dict[int, str]) -> list[_Draft]:
    """One finding per (kind, service) for the per-flow kinds, the worst flow shown."""
    groups: dict[tuple, list[_Draft]] = defaultdict(list)
    out = []
    for d in drafts:
        if d.kind in PER_FLOW_KINDS and len(d.flows) == 1:
            groups[(d.kind, server_of.get(d.flows[0]), d.severity)].append(d)
        else:
            out.append(d)
    for group in groups.values():
        if len(group) == 1:
            out.append(group[0])
            continue
        rep = max(group, key=lambda d: (d.seconds_lost, -d.flows[0]))
        flows = sorted({f for d in group for f in d.flows})
        others = len(flows) - 1
        metrics = dict(rep.metrics)
        metrics["flows_merged"] = len(flows)
        out.append(_Draft(
            kind=rep.kind, severity=rep.severity,
            title=f"{rep.title} (and {_plural(others, 'more flow')})",
            detail=(f"{rep.detail} The same was seen in {_plural(others, 'other flow')} to "
                    f"this service; the figures are for flow {rep.flows[0]}."),
            recommendation=rep.recommendation, flows=flows,
            endpoint=_only(d.endpoint for d in group) or _only(
                _host(d.endpoint) for d in group if d.endpoint),
            metrics=metrics, seconds_lost=sum(d.seconds_lost for d in group)))
    return out


# --- which rules can take something from a flow ------------------------------------------
# Most flows of a capture are clean: fed to every scanning rule, each would look and find
# nothing, and starting 17 rules on each flow cost more than all the rest of the findings.
# So run_rules works out a few cheap facts of each flow once (`_evidence`, one bit each)
# and feeds a rule only the flows with a fact it needs (`_NEEDS`) before it can record
# anything.  The bits are the rules' own first tests, never narrower: a flow without them
# is one the rule would pass over.  A rule not listed in _NEEDS sees every flow.
# tests/test_diagnose_screen.py holds each rule to its bits.
_STALLS = 1  # any stall (nagle, rto, zero window, receive window)
_LOSS = 2  # a direction with 3 or more real retransmissions (retransmissions, Mathis)
_ZERO_WINDOW = 4  # a zero window advertised
_NO_WSCALE = 8  # options not known to be negotiated (the *_off rules)
_NO_SACK = 16
_NO_TIMESTAMPS = 32
_INCOMPLETE = 64  # handshake not complete (handshake_failure)
_SYN_REPEATS = 128  # SYN or SYN-ACK retransmitted
_RESETS = 256
_KEEPALIVE = 512  # keep-alive probes, or a long idle gap
_NO_MSS = 1024  # an endpoint without an MSS option
_OFFLOAD = 2048  # segments above the MSS
_CAPTURE_LOSS = 4096
_RESTARTS = 8192  # slow-start restarts
_EVERY = -1  # all bits: a flow whose facts could not be read is fed to every rule


def _evidence(ctx: _Context, f: FlowResult) -> int:
    """The `_NEEDS` bits of a flow (`_EVERY` where a test trips: then each rule sees the
    flow and deals with the odd data itself, as it would without the screen)."""
    try:
        return flow_evidence(f, ctx.facts(f))
    except Exception:  # (compiled: facts that are not a dict, refused by the call)
        return _EVERY


def flow_evidence(f: FlowResult, fx: dict | None = None) -> int:
    """`_evidence` of one flow on its own (`fx`: its stall facts, looked up if None).

    A results store works this out as it packs a flow (results.ResultStore's `screen`):
    the rules' pass then skips the flows that no rule would read without decoding their
    facts from the packed bytes.  Compiled, the facts are C-typed dicts (findings.pxd):
    facts that are not dicts trip a test here, as they do in the pure build, with the
    same outcome.
    """
    try:
        tcp = f.tcp
        if fx is None:
            fx = tcp.get("stall_facts") or {}
        endpoints = f.endpoints
        sides = min(2, len(endpoints))
        bits = 0
        if f.stalls:
            bits |= _STALLS
        for d in range(sides):
            if _repairs(f, d, None) >= 3:  # (uncached: most flows have none)
                bits |= _LOSS
            if _counter(f, d, "zero_window"):
                bits |= _ZERO_WINDOW
            if endpoints[d].mss is None:
                bits |= _NO_MSS
        if tcp.get("window_scaling") is not True:
            bits |= _NO_WSCALE
        if tcp.get("sack") is not True:
            bits |= _NO_SACK
        if tcp.get("timestamps") is not True:
            bits |= _NO_TIMESTAMPS
        if f.handshake != "complete":
            bits |= _INCOMPLETE
        syn_re, synack_re = _syn_retransmissions(f, fx)
        if syn_re or synack_re:
            bits |= _SYN_REPEATS
        if tcp.get("resets") or fx.get("resets"):
            bits |= _RESETS
        if _keepalive_evidence(f, fx):
            bits |= _KEEPALIVE
        if _superframes(f, fx):
            bits |= _OFFLOAD
        if _capture_gaps(f):
            bits |= _CAPTURE_LOSS
        if fx.get("ssr_events"):
            bits |= _RESTARTS
        return bits
    except Exception:
        return _EVERY


def _keepalive_evidence(f: FlowResult, fx: dict) -> bool:
    """Whether rule_keepalive could say anything of f: probe times or counts, or an idle
    gap of 300 s or more (what `_keepalive_times` and the rule read, never less).
    Only the screen asks (an error sends the flow to every rule)."""
    tcp = f.tcp
    if any((tcp.get("keepalive_ts") or {}).values()):
        return True
    kts = fx.get("keepalive_ts")
    if kts and any(kts[:2]):
        return True
    for e in f.endpoints[:2]:
        if e.counters.get("keep_alive"):
            return True
    return (fx.get("max_idle_gap") or 0.0) >= 300.0


_NEEDS: dict[Rule, int] = {
    rule_nagle: _STALLS,
    rule_rto: _STALLS,
    rule_retransmissions: _LOSS,
    rule_zero_window: _STALLS | _ZERO_WINDOW,
    rule_receive_window: _STALLS,
    rule_window_scaling_off: _NO_WSCALE,
    rule_sack_off: _NO_SACK,
    rule_timestamps_off: _NO_TIMESTAMPS,
    rule_keepalive: _KEEPALIVE,
    rule_reset: _RESETS,
    rule_handshake_failure: _INCOMPLETE,
    rule_syn_retransmission: _SYN_REPEATS,
    rule_mss_missing: _NO_MSS,
    rule_offload: _OFFLOAD,
    rule_capture_loss: _CAPTURE_LOSS,
    rule_mathis: _LOSS,
    rule_slow_start_restart: _RESTARTS,
}


# --- driver ----------------------------------------------------------------------------
def run_rule(rule: Rule, ctx: _Context) -> list[_Draft]:
    """One rule over the context's flows, on its own."""
    if not inspect.isgeneratorfunction(rule):
        return rule(ctx)  # type: ignore[return-value]
    scan = rule(ctx)
    next(scan)
    for f in ctx.flows:
        scan.send(f)
    return _conclude(scan)  # type: ignore[arg-type]


def _conclude(scan: RuleScan) -> list[_Draft]:
    """Tell a scanning rule the flows are over; its drafts."""
    try:
        scan.send(None)
    except StopIteration as done:
        return done.value
    raise RuntimeError("a findings rule went on scanning after the last flow")


def run_rules(flows: Sequence[FlowResult], capture: CaptureInfo,
              rules: Iterable[tuple[str, Rule]],
              errors: list[tuple[str, str]] | None = None) -> list[Finding]:
    """Run the rules, rank, number and link findings to flows.

    A rule that raises is skipped (one confused rule must not sink the diagnosis); pass
    `errors` to collect (kind, message) for each such failure.
    """
    ctx = _Context(flows, capture)
    rules = list(rules)
    # One pass over the flows feeds every scanning rule in turn, so a flow read back
    # from packed bytes is decoded once for all of them (results.py), not once per rule.
    scans: dict[int, RuleScan] = {}
    failures: dict[int, Exception] = {}
    for i, (_kind, rule) in enumerate(rules):
        if inspect.isgeneratorfunction(rule):
            try:
                scan = rule(ctx)
                next(scan)
                scans[i] = scan
            except Exception as exc:
                failures[i] = exc
    if scans:
        # the connection groups (time_wait_pressure, connection_churn) need the size of
        # each group first: counted here, so that they read the flows once more, not twice
        sizes = ctx.group_sizes = defaultdict(int)
        needs = {i: _NEEDS.get(rules[i][1], _EVERY) for i in scans}
        unscreened = _EVERY in needs.values()  # a rule that sees every flow
        live = [(i, scan.send, needs[i]) for i, scan in scans.items()]
        # a results store knows the bits of the flows it packed (None: work them out)
        screened = getattr(flows, "screened", None)
        pairs = screened() if screened is not None else ((f, None) for f in flows)
        for f, known in pairs:
            sizes[(_host(f.client), f.server)] += 1
            evidence = _evidence(ctx, f) if known is None else known
            if not evidence and not unscreened:
                continue  # a clean flow: no rule would take anything from it
            for i, send, need in live:
                if evidence & need or need == _EVERY:
                    try:
                        send(f)
                    except Exception as exc:
                        failures[i] = exc
                        del scans[i]
            if len(live) != len(scans):
                live = [(i, scan.send, needs[i]) for i, scan in scans.items()]
    drafts: list[_Draft] = []
    for i, (kind, rule) in enumerate(rules):
        exc = failures.get(i)
        if exc is None:
            try:
                drafts.extend(_conclude(scans[i]) if i in scans else rule(ctx))
                continue
            except Exception as raised:
                exc = raised
        if errors is not None:
            errors.append((kind, f"{type(exc).__name__}: {exc}"))
        # one odd flow must not hide the finding for all the others: retry flow by flow
        # and keep what works (findings that compare flows are lost)
        for f in flows:
            try:
                drafts.extend(run_rule(rule, _Context([f], capture)))
            except Exception:
                continue

    merged = {d.flows[0] for d in drafts if d.kind in PER_FLOW_KINDS and len(d.flows) == 1}
    if merged:  # (another pass over the flows, only when there is something to merge)
        drafts = _merge_per_service(drafts, {f.id: f.server for f in flows if f.id in merged})

    def impact(d: _Draft) -> float:
        return (max(d.seconds_lost, 0.0) + SEVERITY_FLOOR[d.severity]) * max(1, len(d.flows))

    drafts.sort(key=lambda d: (-impact(d), -SEVERITY_RANK[d.severity], d.kind))
    linked: dict[int, list[str]] = defaultdict(list)  # flow id -> finding ids, in order
    findings = []
    for n, d in enumerate(drafts, 1):
        fid = f"F{n}"
        metrics = dict(d.metrics)
        metrics.setdefault("flows_affected", len(d.flows))
        if len(d.flows) > MAX_LISTED_FLOWS:
            metrics["flows_listed"] = MAX_LISTED_FLOWS
        findings.append(Finding(
            id=fid, kind=d.kind, severity=d.severity, title=d.title, detail=d.detail,
            recommendation=d.recommendation, flows=list(d.flows), endpoint=d.endpoint,
            metrics=metrics, impact=round(impact(d), 6)))
        for fl in d.flows:
            linked[fl].append(fid)
    link_findings = getattr(flows, "link_findings", None)
    if link_findings is not None:  # a results store: packed flows keep them aside
        link_findings(linked)
        return findings
    by_id = {f.id: f for f in flows}  # (the last flow of an id, in a hand-built list)
    for flow_id, finding_ids in linked.items():
        res = by_id.get(flow_id)
        if res is None:
            continue
        for fid in finding_ids:
            if fid not in res.findings:
                res.findings.append(fid)
    return findings
