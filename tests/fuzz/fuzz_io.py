#!/usr/bin/env python3
"""Fuzz harness for the capture reader and the decoder (atheris / libFuzzer).

    python tests/fuzz/fuzz_io.py tests/fuzz/corpus -max_total_time=600 -timeout=20

An input starting with b"D" drives decode() alone: the next byte picks a link type and
the rest is the frame.  Any other input is read as a capture file (any format, any
compression) and every record is decoded.  The only allowed exception is CaptureError
from open_capture; everything else, and any wrong result type, is a finding.

Without atheris, ``check_input`` is what tests/fuzz/test_fuzz_corpus.py replays over the
committed corpus.
"""

from __future__ import annotations

import io
import sys

LINKTYPES = (0, 1, 9, 10, 12, 14, 50, 51, 101, 104, 105, 108, 113, 127, 129, 178, 228,
             229, 242, 276, -1, 147)


def _imports():
    from tcpforensics.errors import CaptureError
    from tcpforensics.io import decode, open_capture
    from tcpforensics.model import SKIP_REASONS, RawPacket, Segment
    return CaptureError, decode, open_capture, SKIP_REASONS, RawPacket, Segment


def check_input(data: bytes) -> None:
    CaptureError, decode, open_capture, SKIP_REASONS, RawPacket, Segment = _imports()

    def check(result: object) -> None:
        if isinstance(result, Segment):
            assert 0 <= result.captured_payload <= result.length
        else:
            assert result in SKIP_REASONS, result

    if data[:1] == b"D" and len(data) >= 2:
        frame = data[2:]
        linktype = LINKTYPES[data[1] % len(LINKTYPES)]
        check(decode(RawPacket(1, 0, linktype, len(frame), len(frame) + data[1], frame)))
        return
    try:
        cap = open_capture(io.BytesIO(data))
    except CaptureError as exc:
        assert "\n" not in str(exc)
        return
    with cap:
        n = 0
        for raw in cap:
            n += 1
            assert raw.frame == n and raw.caplen == len(raw.data)
            check(decode(raw))
        assert cap.records == n
        assert all("\n" not in w for w in cap.warnings)


def main() -> None:
    import importlib.util
    import os

    import atheris

    if importlib.util.find_spec("tcpforensics") is None:  # a checkout, not installed
        from pathlib import Path
        sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    # Coverage comes from Python bytecode: fuzz the .py reference of any compiled module.
    os.environ.setdefault("TCPFORENSICS_PURE", "1")
    _imports()
    # Instrument after importing, not with instrument_imports(): the package __init__
    # loads the reader and the decoder itself, and in pure mode through its own import
    # finder, so an import hook would leave them uninstrumented (libFuzzer then sees no
    # coverage at all and mutates blind, which the bounded test checks for).
    atheris.instrument_all()
    atheris.Setup(sys.argv, check_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
