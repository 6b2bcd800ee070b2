"""Connection attempts tallied over every flow of a capture, listed or not.

A SYN flood is millions of flows that each carried nothing: past the analysis bounds
they are evicted from the flow table and folded (counted, not listed), so a rule that
only looked at the listed flows would see a sliver of the attack, or nothing.  The
driver calls `count_attempt()` for every finished flow, before it decides whether to
list or fold it; the `syn_flood` rule (findings.py) reads the totals.

The tally is plain data (`CaptureInfo.handshakes`) and bounded: at most `MAX_KEYS`
distinct targets and sources are counted by name (the rest only in totals), and the
SYN times are kept as a histogram of at most `MAX_BUCKETS` buckets whose width doubles
when it fills.
"""

from __future__ import annotations

from ..model import FlowResult

MAX_KEYS = 4096  # distinct targets (server addr:port) and source hosts counted by name
MAX_BUCKETS = 4096  # SYN-time histogram buckets; one second wide until the span grows

#: Outcomes of a connection attempt that carried no data and never completed.
FAILED = ("unanswered", "half_open", "refused")


def classify(f: FlowResult) -> str | None:
    """'completed', one of FAILED, or None (no SYN from the client, or data flowed).

    Only the TCP core's facts are used, so the answer is the same for a flow that is
    folded (its observers never finish) and for one that is listed.
    """
    hs = f.tcp.get("handshake_times") or {}
    if hs.get("syn") is None:
        return None  # picked up mid-stream, or the SYN-ACK came first
    if f.handshake == "complete":
        return "completed"
    if any(e.payload_bytes for e in f.endpoints):
        return None  # data flowed: the capture missed the handshake's end, not the peer
    if any(r.get("answer_to_syn") for r in (f.tcp.get("resets") or ())):
        return "refused"
    if hs.get("synack") is not None:
        return "half_open"  # the server answered; the client never acknowledged
    return "unanswered"


def _source_host(client: str) -> str:
    """'198.18.0.1:40000' -> '198.18.0.1'; '[2001:db8::1]:443' -> '2001:db8::1'."""
    host = client.rsplit(":", 1)[0]
    return host[1:-1] if host.startswith("[") else host


def _bump(counts: dict, key: str, stats: dict, overflow: str) -> None:
    if key in counts:
        counts[key] += 1
    elif len(counts) < MAX_KEYS:
        counts[key] = 1
    else:
        stats[overflow] = stats.get(overflow, 0) + 1


def count_attempt(stats: dict, f: FlowResult) -> None:
    """Add one finished flow to the tally `stats` (a CaptureInfo.handshakes dict)."""
    outcome = classify(f)
    if outcome is None:
        return
    stats["attempts"] = stats.get("attempts", 0) + 1
    stats[outcome] = stats.get(outcome, 0) + 1
    if outcome == "completed":
        return
    _bump(stats.setdefault("targets", {}), f.server, stats, "targets_uncounted")
    _bump(stats.setdefault("sources", {}), _source_host(f.client), stats, "sources_uncounted")
    ts = f.tcp["handshake_times"]["syn"]
    if "first_ts" not in stats or ts < stats["first_ts"]:
        stats["first_ts"] = ts
    if "last_ts" not in stats or ts > stats["last_ts"]:
        stats["last_ts"] = ts
    _histogram(stats, ts)


def _histogram(stats: dict, ts: float) -> None:
    """Failed attempts per time bucket, bucket = floor(ts / width); width doubles when
    the histogram is full, so a long capture keeps a coarser but complete picture."""
    width = stats.setdefault("bucket_s", 1.0)
    buckets = stats.setdefault("buckets", {})
    key = int(ts // width)
    if key not in buckets and len(buckets) >= MAX_BUCKETS:
        width *= 2
        merged: dict[int, int] = {}
        for k, n in buckets.items():
            merged[k // 2] = merged.get(k // 2, 0) + n
        buckets = stats["buckets"] = merged
        stats["bucket_s"] = width
        key = int(ts // width)
    buckets[key] = buckets.get(key, 0) + 1


def merge_tally(stats: dict, other: dict) -> None:
    """Add the tally `other` (of other flows: another shard's) into `stats`."""
    for key in ("attempts", "completed", *FAILED, "targets_uncounted", "sources_uncounted"):
        if key in other:
            stats[key] = stats.get(key, 0) + other[key]
    for name, overflow in (("targets", "targets_uncounted"), ("sources", "sources_uncounted")):
        if name not in other:
            continue
        counts = stats.setdefault(name, {})
        for key, n in other[name].items():
            if key in counts or len(counts) < MAX_KEYS:
                counts[key] = counts.get(key, 0) + n
            else:
                stats[overflow] = stats.get(overflow, 0) + n
    if "first_ts" in other:
        stats["first_ts"] = min(stats.get("first_ts", other["first_ts"]), other["first_ts"])
        stats["last_ts"] = max(stats.get("last_ts", other["last_ts"]), other["last_ts"])
    if "buckets" in other:
        _merge_histogram(stats, other["buckets"], other["bucket_s"])


def _merge_histogram(stats: dict, buckets: dict[int, int], width: float) -> None:
    """Both histograms at the wider one's width (widths are 1 s doubled k times), summed,
    then widened while there are more than MAX_BUCKETS buckets."""
    mine = stats.setdefault("buckets", {})
    mine_width = stats.setdefault("bucket_s", width)
    wide = max(mine_width, width)
    merged: dict[int, int] = {}
    for source, source_width in ((mine, mine_width), (buckets, width)):
        factor = round(wide / source_width)
        for k, n in source.items():
            merged[k // factor] = merged.get(k // factor, 0) + n
    while len(merged) > MAX_BUCKETS:
        wide *= 2
        halved: dict[int, int] = {}
        for k, n in merged.items():
            halved[k // 2] = halved.get(k // 2, 0) + n
        merged = halved
    stats["buckets"] = merged
    stats["bucket_s"] = wide


def failed(stats: dict) -> int:
    return sum(stats.get(k, 0) for k in FAILED)


def peak_rate(stats: dict) -> float:
    """The highest failed attempts per second over one histogram bucket."""
    buckets = stats.get("buckets") or {}
    return max(buckets.values(), default=0) / stats.get("bucket_s", 1.0)


def top(counts: dict, n: int) -> list[tuple[str, int]]:
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
