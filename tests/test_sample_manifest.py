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
