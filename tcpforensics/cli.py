"""Command line: the only module that prints or exits.

Exit codes (contract): 0 ok; 1 findings at or above --fail-on; 2 usage or unreadable
input (one line on stderr); 3 internal error.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from . import collector
from .errors import TcpForensicsError, UsageError

EXIT_OK, EXIT_FAIL_ON, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
SEVERITIES = ("info", "warning", "critical")


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors exit 2 with a single line (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"tcpforensics: error: {message}\n")
        raise SystemExit(EXIT_USAGE)


def _build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tcpforensics", description=(
        "Explain what TCP did in a packet capture: retransmissions, stalls, zero windows, "
        "congestion control, and what to change."))
    parser.add_argument("--version", action="version", version=f"tcpforensics {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def common(p: argparse.ArgumentParser, *, fail_on: bool = True) -> None:
        p.add_argument("capture",
                       help="pcap/pcapng file (optionally .gz/.bz2/.xz/.zst), or - for stdin")
        p.add_argument("-q", "--quiet", action="store_true", help="no progress, no warnings")
        p.add_argument("--log-format", choices=("text", "json"), default="text",
                       help="how warnings are written to stderr")
        if fail_on:
            p.add_argument("--fail-on", choices=SEVERITIES, default=None,
                           help="exit 1 when a finding at or above this severity exists")

    p = sub.add_parser("report", help="write one self-contained HTML report (the main job)")
    common(p)
    p.add_argument("-o", "--output", help="HTML file (default reports/<stem>.html)")
    p.add_argument("--plotly", choices=("inline", "cdn"), default="inline",
                   help="inline plotly.js (opens offline) or load it from a CDN (small file)")
    p.add_argument("--flow", type=int, action="append", dest="flows",
                   help="show detail for this flow id (repeatable)")
    p.add_argument("--top", type=int, default=5, help="detail for the N worst flows")

    p = sub.add_parser("analyze", help="flows, endpoints and findings as JSON/JSONL/CSV/Parquet")
    common(p)
    p.add_argument("--format", choices=("json", "jsonl", "csv", "parquet"), default="json")
    p.add_argument("-o", "--output", default="-", help="output file or directory (default stdout)")
    p.add_argument("--jobs", type=int, default=1, metavar="N",
                   help="split the flows of one capture file across N processes (same result)")

    p = sub.add_parser("events", help="one row per TCP segment")
    common(p, fail_on=False)
    p.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    p.add_argument("-o", "--output", default="-")

    p = sub.add_parser("crosscheck", help="per-flag agreement with tshark")
    common(p, fail_on=False)
    p.add_argument("--json", action="store_true", help="print the comparison as JSON")

    p = sub.add_parser("batch", help="many captures on Dask, to partitioned Parquet")
    p.add_argument("captures", nargs="+")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")
    p.add_argument("--workers", type=int, default=None, help="local workers (default: cores)")
    p.add_argument("--shard", action="store_true",
                   help="split each capture by flow hash across workers")
    p.add_argument("--fail-on", choices=SEVERITIES, default=None)
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--log-format", choices=("text", "json"), default="text")
    return parser


def _version() -> str:
    from . import __version__

    return __version__


class _Log:
    def __init__(self, quiet: bool, fmt: str) -> None:
        self.quiet, self.fmt = quiet, fmt

    def warn(self, message: str, **fields: object) -> None:
        if self.quiet:
            return
        if self.fmt == "json":
            sys.stderr.write(json.dumps({"level": "warning", "message": message, **fields}) + "\n")
        else:
            sys.stderr.write(f"tcpforensics: warning: {message}\n")

    def info(self, message: str, **fields: object) -> None:
        if self.quiet:
            return
        if self.fmt == "json":
            sys.stderr.write(json.dumps({"level": "info", "message": message, **fields}) + "\n")
        else:
            sys.stderr.write(f"{message}\n")


def _progress(args: argparse.Namespace) -> Callable[[int], None] | None:
    if args.quiet or not sys.stderr.isatty():
        return None

    def show(records: int) -> None:
        sys.stderr.write(f"\r  read {records:,} records ...")
        sys.stderr.flush()

    return show


def _end_progress(args: argparse.Namespace) -> None:
    if not args.quiet and sys.stderr.isatty():
        sys.stderr.write("\r\033[K")


def _spool_stdin() -> str:
    """Copy stdin to a temporary file: the report reads the capture twice."""
    import shutil  # (here, not at the top: `analyze` starts faster without them)
    import tempfile

    fd, path = tempfile.mkstemp(prefix="tcpforensics-", suffix=".pcap")
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out, 1 << 20)
    return path


def _analyze(args: argparse.Namespace, log: _Log, source: str | None = None,
             segment_sink=None, options=None):
    from .analysis import analyze

    analysis = analyze(source or args.capture, options=options, progress=_progress(args),
                       segment_sink=segment_sink)
    _end_progress(args)
    for warning in analysis.capture.warnings:
        log.warn(warning, capture=analysis.capture.path)
    return analysis


def _fail_on_status(analysis, fail_on: str | None) -> int:
    if fail_on is None:
        return EXIT_OK
    floor = SEVERITIES.index(fail_on)
    worst = [f for f in analysis.finding_results if SEVERITIES.index(f.severity) >= floor]
    return EXIT_FAIL_ON if worst else EXIT_OK


def _cmd_report(args: argparse.Namespace, log: _Log) -> int:
    from .analysis import report_options
    from .report import write_report
    from .report.series import FirstPassSeries

    spooled = _spool_stdin() if args.capture == "-" else None
    try:
        source = spooled or args.capture
        # The chart series ride along the analysis pass when the capture is small enough;
        # otherwise the report reads the capture again for the detailed flows only.
        first_pass = FirstPassSeries()
        analysis = _analyze(args, log, source, first_pass, options=report_options())
        if args.output:
            out = Path(args.output)
        else:
            stem = "stdin" if args.capture == "-" else Path(args.capture).name.split(".")[0]
            out = Path("reports") / f"{stem}.html"
        out.parent.mkdir(parents=True, exist_ok=True)
        written = write_report(analysis, out, source=source, plotly=args.plotly,
                               flows=args.flows, top=args.top, first_pass=first_pass)
        log.info(f"report written to {written}", output=str(written))
        return _fail_on_status(analysis, args.fail_on)
    finally:
        if spooled:
            os.unlink(spooled)


def _cmd_analyze(args: argparse.Namespace, log: _Log) -> int:
    from .analysis import lean_options
    from .export import write_analysis

    if args.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    if args.jobs > 1 and args.capture != "-" and os.path.isfile(args.capture):
        from .batch import analyze_parallel

        analysis = analyze_parallel(args.capture, args.jobs, lean_options())
        for warning in analysis.capture.warnings:
            log.warn(warning, capture=analysis.capture.path)
    else:
        # only the JSON/tables are written: the report's details would only hold memory,
        # and finished flows past a few thousand are held packed
        analysis = _analyze(args, log, options=lean_options())
    write_analysis(analysis, args.format, args.output)
    return _fail_on_status(analysis, args.fail_on)


def _cmd_events(args: argparse.Namespace, log: _Log) -> int:
    from .export import write_events

    write_events(args.capture, args.format, args.output)
    return EXIT_OK


def _cmd_crosscheck(args: argparse.Namespace, log: _Log) -> int:
    from .crosscheck import crosscheck, format_crosscheck

    if args.capture == "-":
        raise _usage("crosscheck needs a capture file, not stdin (tshark reads it too)")
    result = crosscheck(args.capture)
    if args.json:
        print(json.dumps(result, indent=2, default=str))
    else:
        print(format_crosscheck(result))
    return EXIT_OK


def _cmd_batch(args: argparse.Namespace, log: _Log) -> int:
    import logging

    from .batch import JsonLogFormatter, run_batch

    handler = logging.StreamHandler(sys.stderr)
    if args.log_format == "json":
        handler.setFormatter(JsonLogFormatter())
    batch_log = logging.getLogger("tcpforensics.batch")
    batch_log.addHandler(handler)
    batch_log.setLevel(logging.WARNING if args.quiet else logging.INFO)
    try:
        summary = run_batch(args.captures, args.out, scheduler=args.scheduler,
                            workers=args.workers, shard=args.shard, fail_on=args.fail_on)
    finally:
        batch_log.removeHandler(handler)
    for item in summary.failed:
        log.warn(f"{item['path']}: {item['error']}", kind="capture_failed")
    log.info(f"batch: results in {args.out}")
    if summary.fail_on_hit:
        return EXIT_FAIL_ON
    return EXIT_USAGE if summary.failed and not summary.done and not summary.skipped else EXIT_OK


def _usage(message: str) -> TcpForensicsError:
    from .errors import UsageError

    return UsageError(message)


_COMMANDS = {"report": _cmd_report, "analyze": _cmd_analyze, "events": _cmd_events,
             "crosscheck": _cmd_crosscheck, "batch": _cmd_batch}


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    log = _Log(getattr(args, "quiet", False), getattr(args, "log_format", "text"))
    try:
        with collector.paused():  # the output is written with it paused too (collector.py)
            return _COMMANDS[args.command](args, log)
    except TcpForensicsError as exc:
        sys.stderr.write(f"tcpforensics: error: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        # The reader of our stdout went away (e.g. `| head`): not an error of ours.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        return EXIT_OK
    except KeyboardInterrupt:
        sys.stderr.write("tcpforensics: interrupted\n")
        return 130
    except Exception as exc:  # noqa: BLE001 - the contract: one line, exit 3, no traceback
        if os.environ.get("TCPFORENSICS_DEBUG"):
            raise
        sys.stderr.write(f"tcpforensics: internal error: {type(exc).__name__}: {exc} "
                         "(set TCPFORENSICS_DEBUG=1 for a traceback)\n")
        return EXIT_INTERNAL


def run() -> int:
    """The console entry point: main(), for a process that ends right after."""
    code = main()
    # Frozen objects are left out of the interpreter's last collection, which would
    # otherwise visit every object still alive on the way out (a tenth of a second and
    # more after a report of thousands of flows); nothing is left to finalize but files,
    # and those are closed.
    gc.freeze()
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
