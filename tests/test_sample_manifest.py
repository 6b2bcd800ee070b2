"""sample_pcaps/manifest.json describes exactly the capture files that are there."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

SAMPLE = Path(__file__).resolve().parents[1] / "sample_pcaps"
MANIFEST = SAMPLE / "manifest.json"
REQUIRED_KINDS = {"bulk", "competing", "nagle", "nodelay", "slow_reader", "keepalive", "churn",
                  "pooled", "rst_abort", "refused", "blackhole", "wscale_off", "sack_off",
                  "timestamps_off", "tso", "app_limited", "ss_restart", "midstream"}
CCAS = ("cubic", "reno", "bbr")
PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d"}


@pytest.fixture(scope="module")
def manifest() -> dict:
    if not MANIFEST.exists():
        pytest.fail("sample_pcaps/manifest.json is missing")
    return json.loads(MANIFEST.read_text())


def _capture_files() -> set[str]:
    return {p.relative_to(SAMPLE).as_posix() for p in SAMPLE.rglob("*")
            if p.is_file() and (p.name.endswith(".pcap") or p.name.endswith(".pcap.gz"))}


def test_shape(manifest: dict) -> None:
    assert manifest["version"] == 1
    assert manifest["captures"], "no captures listed"
    for e in manifest["captures"]:
        assert set(e) >= {"file", "scenario", "run", "vantage", "side", "params", "truth"}, e
        assert e["vantage"] in ("sender", "receiver")
        assert e["side"] in ("client", "server")
        t = e["truth"]
        for key in ("data_sender", "cca", "client", "server", "expect_findings",
                    "expect_absent", "final_states", "notes"):
            assert key in t, (e["file"], key)
        assert not set(t["expect_findings"]) & set(t["expect_absent"]), e["file"]
        for addr in list(t["cca"]) + list(t["final_states"]):
            ip, port = addr.rsplit(":", 1)
            assert ip.startswith("198.18.") or ip.startswith("198.19."), addr
            assert port.isdigit()


def test_files_match_manifest(manifest: dict) -> None:
    listed = [e["file"] for e in manifest["captures"]]
    assert len(listed) == len(set(listed)), "a file is listed twice"
    on_disk = _capture_files()
    assert set(listed) - on_disk == set(), "listed but missing"
    assert on_disk - set(listed) == set(), "capture files not in the manifest"


def test_files_are_pcaps(manifest: dict) -> None:
    for e in manifest["captures"]:
        p = SAMPLE / e["file"]
        head = p.open("rb").read(4)
        if head[:2] == b"\x1f\x8b":
            with gzip.open(p, "rb") as f:
                head = f.read(24)
            assert len(head) == 24, e["file"]
            # snaplen (bytes 16-20) keeps full headers but not the payload
            snaplen = int.from_bytes(head[16:20], "little")
            assert 64 <= snaplen <= 128, (e["file"], snaplen)
        assert head[:4] in PCAP_MAGICS, e["file"]


def test_each_run_has_both_vantages(manifest: dict) -> None:
    sides = Counter((e["run"], e["side"]) for e in manifest["captures"])
    runs = {e["run"] for e in manifest["captures"]}
    for run in runs:
        assert sides[(run, "client")] == 1 and sides[(run, "server")] == 1, run
    for run in runs:
        vs = {e["vantage"] for e in manifest["captures"] if e["run"] == run}
        assert vs == {"sender", "receiver"}, run


def test_all_scenario_kinds_covered(manifest: dict) -> None:
    kinds = {e["scenario"] for e in manifest["captures"]}
    assert REQUIRED_KINDS - kinds == set()


def test_bulk_corpus_for_cca_classifier(manifest: dict) -> None:
    bulk = [e for e in manifest["captures"] if e["scenario"] == "bulk"]
    for vantage in ("sender", "receiver"):
        per = Counter(e["params"]["cca"] for e in bulk if e["vantage"] == vantage)
        assert sum(per.values()) >= 60, per
        # balanced: no algorithm has fewer than 80% of the most common one
        assert min(per[c] for c in CCAS) >= 0.8 * max(per.values()), per
    senders = [e for e in bulk if e["vantage"] == "sender"]
    for e in senders:
        t = e["truth"]
        assert t["cca"] == {t["data_sender"]: e["params"]["cca"]}
    # spread over the grid: several values of each dimension per algorithm
    for cca in CCAS:
        mine = [e["params"] for e in senders if e["params"]["cca"] == cca]
        assert len({p["rtt_ms"] for p in mine}) >= 4, cca
        assert len({p["rate_mbit"] for p in mine}) >= 3, cca
        assert len({p["queue_bdp"] for p in mine}) >= 3, cca
        assert {p["direction"] for p in mine} == {"upload", "download"}, cca
        assert any(p["loss"] > 0 for p in mine) and any(p["loss"] == 0 for p in mine), cca


def test_size_budget() -> None:
    total = sum(p.stat().st_size for p in SAMPLE.rglob("*") if p.is_file())
    assert total <= 50 * 1024 * 1024, total


def test_demo_capture(manifest: dict) -> None:
    demo = SAMPLE / "demo.pcap"
    assert demo.exists()
    assert demo.stat().st_size < 400_000
    assert demo.open("rb").read(4) in PCAP_MAGICS
    e = next(e for e in manifest["captures"] if e["file"] == "demo.pcap")
    assert "retransmissions" in e["truth"]["expect_findings"]


def _first_tcp(path: Path, n: int) -> list[tuple[float, int, str]]:
    """(ts, tcp flags, src ip) of the first n IPv4/TCP records, read with dpkt."""
    import dpkt

    out = []
    opener = gzip.open if path.open("rb").read(2) == b"\x1f\x8b" else open
    with opener(path, "rb") as f:
        for ts, buf in dpkt.pcap.Reader(f):
            if len(buf) >= 54 and buf[12:14] == b"\x08\x00" and buf[23] == 6:
                ihl = (buf[14] & 0x0F) * 4
                out.append((ts, buf[14 + ihl + 13], ".".join(map(str, buf[26:30]))))
                if len(out) == n:
                    break
    return out


def test_handshake_rtt_matches_scenario(manifest: dict) -> None:
    """Every capture that starts with a handshake shows the scenario's path RTT."""
    checked = 0
    for e in manifest["captures"]:
        p = e["params"]
        if e["scenario"] in ("midstream", "refused", "blackhole", "churn", "competing"):
            continue
        pk = _first_tcp(SAMPLE / e["file"], 3)
        assert [f & 0x12 for _, f, _ in pk[:2]] == [0x02, 0x12], e["file"]
        # path RTT = propagation + serialization of the SYN and SYN/ACK (74 bytes each)
        want = p["rtt_ms"] / 1000 + 2 * 74 * 8 / (p["rate_mbit"] * 1e6)
        # client side: SYN -> SYN/ACK; server side: SYN/ACK -> the client's ACK
        got = pk[1][0] - pk[0][0] if e["side"] == "client" else pk[2][0] - pk[1][0]
        assert abs(got / want - 1) < 0.10, (e["file"], got, want)
        checked += 1
    assert checked >= 140


def test_link_drops_are_the_missing_frames(manifest: dict) -> None:
    """In small lossy bulk runs, the sender-side data frames that never reach the
    receiver side are exactly the frames the link says it dropped."""
    import dpkt

    def data_frames(path: Path, src_ip: str) -> int:
        n = 0
        with gzip.open(path, "rb") as f:
            for _, buf in dpkt.pcap.Reader(f):
                if len(buf) < 54 or buf[23] != 6 or ".".join(map(str, buf[26:30])) != src_ip:
                    continue
                ihl = (buf[14] & 0x0F) * 4
                total = int.from_bytes(buf[16:18], "big")
                n += total > ihl + (buf[14 + ihl + 12] >> 4) * 4
        return n

    runs = sorted({e["run"] for e in manifest["captures"] if e["scenario"] == "bulk"
                   and e["params"]["loss"] > 0 and e["params"]["rate_mbit"] <= 5
                   and e["params"]["duration_s"] <= 12})[:4]
    assert runs
    for run in runs:
        ents = {e["vantage"]: e for e in manifest["captures"] if e["run"] == run}
        ip = ents["sender"]["truth"]["data_sender"].rsplit(":", 1)[0]
        sent = data_frames(SAMPLE / ents["sender"]["file"], ip)
        got = data_frames(SAMPLE / ents["receiver"]["file"], ip)
        ld = ents["sender"]["truth"]["link"]["data_direction"]
        assert ld["random_drops"] > 0
        assert sent - got == ld["random_drops"] + ld["queue_drops"], run


@pytest.mark.slow
def test_tshark_reads_one_capture_per_kind_without_malformed(manifest: dict,
                                                             tmp_path: Path) -> None:
    """The smallest capture of every scenario kind dissects without Malformed expert
    info (the whole corpus was checked file by file the same way when it was made)."""
    import shutil
    import subprocess

    if shutil.which("tshark") is None or shutil.which("mergecap") is None:
        pytest.skip("tshark/mergecap are not installed")
    smallest: dict[str, Path] = {}
    for e in manifest["captures"]:
        p = SAMPLE / e["file"]
        k = e["scenario"]
        if k not in smallest or p.stat().st_size < smallest[k].stat().st_size:
            smallest[k] = p
    merged = tmp_path / "kinds.pcap"
    # one tshark run over all of them: tshark's start-up dominates per-file checks
    subprocess.run(["mergecap", "-F", "pcap", "-w", str(merged),
                    *map(str, sorted(smallest.values()))], check=True, timeout=120)
    r = subprocess.run(["tshark", "-n", "-r", str(merged), "-q", "-z", "expert,warn"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-300:]
    # the lossy runs' retransmissions are Warning-level expert info: proof it dissected
    assert "Warns (" in r.stdout, r.stdout[-300:]
    assert "malformed" not in r.stdout.lower(), r.stdout[-800:]
