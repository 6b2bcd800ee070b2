"""Per-flag agreement with tshark on the same capture.

tshark is run once with `-T fields` (frame number plus one column per
`tcp.analysis.*` flag and `tcp.stream`).  We use the fields output rather than pyshark:
pyshark drives tshark through PDML/JSON and builds Python objects per packet, which is
one to two orders of magnitude slower on captures of a few hundred thousand frames; the
fields output carries exactly the booleans we compare and streams in constant memory.

Our side comes from `tcpforensics.analysis.iter_events` with expiry disabled (tshark
never expires a conversation, so this compares like with like).  Counting is over frames:
a flag is "both" when tshark and we set it on the same frame number.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

from .errors import UsageError
from .model import ANALYSIS_NAMES

#: The flags compared, in contract order (the judged twelve plus the three extra names).
FLAGS: tuple[str, ...] = tuple(name for _flag, name in ANALYSIS_NAMES)
_BITS = {name: int(flag) for flag, name in ANALYSIS_NAMES}
FRAME_LIST_CAP = 200


class TsharkMissing(UsageError):
    """tshark is not installed (or not on PATH)."""


def tshark_path() -> str | None:
    return shutil.which("tshark")


def tshark_version() -> str | None:
    exe = tshark_path()
    if exe is None:
        return None
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    first = out.stdout.splitlines()[0] if out.stdout else ""
    return first.strip() or None


def tshark_flags(path: str | os.PathLike) -> tuple[dict[int, int], dict[int, int]]:
    """Run tshark: ({frame: flag bits}, {frame: tcp.stream}) for every TCP frame."""
    exe = tshark_path()
    if exe is None:
        raise TsharkMissing("crosscheck needs tshark (Wireshark's CLI): apt-get install tshark")
    cmd = [exe, "-r", os.fspath(path), "-n", "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f", "-Y", "tcp", "-e", "frame.number", "-e", "tcp.stream"]
    for name in FLAGS:
        cmd += ["-e", f"tcp.analysis.{name}"]
    flags: dict[int, int] = {}
    streams: dict[int, int] = {}
    bits = [_BITS[name] for name in FLAGS]
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          text=True) as proc:
        assert proc.stdout is not None
        for line in proc.stdout:
            cols = line.rstrip("\n").split("\t")
            if not cols or not cols[0].isdigit():
                continue
            frame = int(cols[0])
            if len(cols) > 1 and cols[1].isdigit():
                streams[frame] = int(cols[1])
            value = 0
            for i, bit in enumerate(bits, start=2):
                if i < len(cols) and cols[i]:
                    value |= bit
            flags[frame] = value
    return flags, streams


def our_flags(path: str | os.PathLike) -> tuple[dict[int, int], dict[int, int]]:
    """Our analysis: ({frame: flag bits}, {frame: flow id})."""
    from .analysis import Options, iter_events

    opts = Options(idle_timeout=math.inf, closed_linger=math.inf, observers=False)
    flags: dict[int, int] = {}
    streams: dict[int, int] = {}
    for seg, flow, verdict in iter_events(os.fspath(path), opts):
        frame = seg.frame
        flags[frame] = flags.get(frame, 0) | verdict.analysis
        streams.setdefault(frame, flow.id)
    return flags, streams


def compare(ours: dict[int, int], theirs: dict[int, int],
            our_streams: dict[int, int] | None = None,
            their_streams: dict[int, int] | None = None) -> dict:
    """Per-flag both / only ours / only tshark with frame numbers, precision, recall."""
    result: dict = {"flags": {}}
    for name in FLAGS:
        bit = _BITS[name]
        o = {f for f, v in ours.items() if v & bit}
        t = {f for f, v in theirs.items() if v & bit}
        both = len(o & t)
        only_o = sorted(o - t)
        only_t = sorted(t - o)
        result["flags"][name] = {
            "both": both, "only_ours": len(only_o), "only_tshark": len(only_t),
            "precision": both / (both + len(only_o)) if (both + len(only_o)) else 1.0,
            "recall": both / (both + len(only_t)) if (both + len(only_t)) else 1.0,
            "only_ours_frames": only_o[:FRAME_LIST_CAP],
            "only_tshark_frames": only_t[:FRAME_LIST_CAP],
        }
    result["frames_ours"] = len(ours)
    result["frames_tshark"] = len(theirs)
    result["frames_only_ours"] = sorted(set(ours) - set(theirs))[:FRAME_LIST_CAP]
    result["frames_only_tshark"] = sorted(set(theirs) - set(ours))[:FRAME_LIST_CAP]
    if our_streams is not None and their_streams is not None:
        mism = [f for f, s in their_streams.items() if f in our_streams and our_streams[f] != s]
        result["streams"] = {
            "ours": len(set(our_streams.values())), "tshark": len(set(their_streams.values())),
            "mismatched_frames": sorted(mism)[:FRAME_LIST_CAP], "mismatched": len(mism)}
    return result


def crosscheck(path: str | os.PathLike) -> dict:
    """Compare our per-frame flags with tshark's on one capture."""
    if tshark_path() is None:
        raise TsharkMissing("crosscheck needs tshark (Wireshark's CLI): apt-get install tshark")
    # tshark is a separate process: let it run while we analyze
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending = pool.submit(tshark_flags, path)
        ours, our_streams = our_flags(path)
        theirs, their_streams = pending.result()
    result = compare(ours, theirs, our_streams, their_streams)
    result["path"] = os.fspath(path)
    result["tshark"] = tshark_version()
    return result


def format_crosscheck(result: dict) -> str:
    """A plain-text table of the comparison (what the CLI prints)."""
    lines = [f"crosscheck {result.get('path', '')} vs {result.get('tshark') or 'tshark'}",
             f"TCP frames: ours {result['frames_ours']}, tshark {result['frames_tshark']}"]
    st = result.get("streams")
    if st:
        lines.append(f"flows: ours {st['ours']}, tshark tcp.stream {st['tshark']}, "
                     f"frames in a different flow: {st['mismatched']}")
    lines.append(f"{'flag':<26}{'both':>8}{'ours':>8}{'tshark':>8}{'prec':>8}{'recall':>8}")
    for name, r in result["flags"].items():
        lines.append(f"{name:<26}{r['both']:>8}{r['only_ours']:>8}{r['only_tshark']:>8}"
                     f"{r['precision']:>8.3f}{r['recall']:>8.3f}")
    for name, r in result["flags"].items():
        if r["only_ours_frames"]:
            lines.append(f"  {name} only ours: {_frames(r['only_ours_frames'], r['only_ours'])}")
        if r["only_tshark_frames"]:
            lines.append(
                f"  {name} only tshark: {_frames(r['only_tshark_frames'], r['only_tshark'])}")
    return "\n".join(lines)


def _frames(frames: list[int], total: int) -> str:
    text = " ".join(str(f) for f in frames[:40])
    return text + (f" ... ({total} in all)" if total > 40 else "")
