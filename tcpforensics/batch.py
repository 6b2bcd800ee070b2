"""Many captures on Dask distributed, lazy flow streaming, and shard mode.

`run_batch` analyzes captures on an embedded LocalCluster (processes) or on an existing
cluster given by scheduler address.  Each capture's tables go to partitioned Parquet,

    OUT/<table>/capture=<key>/part-0.parquet      table in capture, flows, endpoints,
                                                  stalls, findings (frames.TABLES)
    OUT/_done/<key>.json                          done-marker, written last
    OUT/summary.json                              the batch summary

so `pandas.read_parquet(OUT / "flows")` reads every capture with a `capture` column.
A capture that fails is reported in the summary and the others go on; a rerun skips
captures whose done-marker matches the file (same path, size and mtime).

Shard mode splits each capture across workers by a hash of the flow's canonical
4-tuple: every shard reads the whole file, keeps only its own flows, and reports each
flow's first frame; the merge renumbers flows in first-frame order (exactly how the flow
table numbers them in a single pass) and runs the cross-flow diagnosis once, so results
match a single-process run.  Workers and the driver must see the same filesystem paths.
"""

from __future__ import annotations

import contextlib
import hashlib
import heapq
import json
import logging
import os
import re
import shutil
import time
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import TcpForensicsError, UsageError
from .flows import shard_of  # noqa: F401  (part of this module's API: shard mode)
from .frames import SEVERITIES, TABLE_SCHEMA_VERSION, TABLES, severity_at_least
from .results import ResultStore, Shapes

if TYPE_CHECKING:
    import pandas as pd

    from .analysis import Analysis, Options, Source
    from .model import CaptureInfo, FlowResult

BATCH_SCHEMA = "tcpforensics-batch/1"
log = logging.getLogger("tcpforensics.batch")
log.addHandler(logging.NullHandler())  # the CLI decides where (and whether) logs go


# --- lazy flows -------------------------------------------------------------------------
def _options(options: Options | None, overrides: dict[str, Any]) -> Options:
    from .analysis import Options

    opts = options or Options()
    for key, value in overrides.items():
        if not hasattr(opts, key):
            raise UsageError(f"unknown option {key!r}")
        setattr(opts, key, value)
    return opts


def iter_flows(source: Source, *, options: Options | None = None,
               **overrides: Any) -> Iterator[FlowResult]:
    """Yield each flow's result as soon as the flow ends, holding only live flows.

    Flows come in the order they finish (not by id).  Cross-flow diagnosis needs every
    flow, so each result's `findings` stays empty here; use `analyze()` for findings.
    """
    from .analysis import _Run

    # results are handed out as they end: none is held, so none needs packing
    run = _Run(source, replace(_options(options, overrides), plain_results=None))
    segments = run.segments()
    try:
        for _ in segments:
            if run.results:
                yield from run.results
                run.results.clear()
    finally:
        segments.close()  # closes the capture if the consumer stops early
    yield from run.results
    run.results.clear()


# --- shard mode -------------------------------------------------------------------------
def analyze_shard(source: str, shard: int, shards: int, options: Options | None = None
                  ) -> tuple[CaptureInfo, list[tuple[int, FlowResult]]]:
    """One shard's flows, each with the frame number of its first segment."""
    info, flows = _run_shard(source, shard, shards, options)
    return info, list(flows)


def _shard_run(source: str, shard: int, shards: int, options: Options | None,
               first_frames: bool = False) -> Any:
    """Run one shard (an analysis._Run): every process reads and decodes the whole
    file; the TCP core and the observers run only for this shard's flows.  With
    `first_frames` a results store keeps each flow's first frame (shard_items)."""
    from . import collector
    from .analysis import _Run

    opts = shard_options(options or _options(None, {}), shards)
    if first_frames and opts.plain_results and shards > 1:
        # the merge keeps plain_results flows plain: each shard keeps its share so, and
        # packs the others, which then go over as they are (_packed_shard)
        opts = replace(opts, plain_results=-(-opts.plain_results // shards))
    run = _Run(source, opts)
    if first_frames and isinstance(run.results, ResultStore):
        run.results.first_frames = array("q")
    if shards > 1:
        run.loop.set_shard(shard, shards)
    with collector.paused():
        run.run(None)
    return run


def _run_shard(source: str, shard: int, shards: int, options: Options | None
               ) -> tuple[CaptureInfo, Iterator[tuple[int, FlowResult]]]:
    """Run one shard; its capture facts and its flows (with their first frames), in
    first-frame order, read one at a time from the run's results."""
    run = _shard_run(source, shard, shards, options)
    # ids number a shard's flows in order of their first frames
    return run.info, ((r.tcp["first_frame"], r) for r in run.finished())


def _packed_shard(source: str, shard: int, shards: int, options: Options | None
                  ) -> tuple[CaptureInfo, Iterator[tuple], Shapes]:
    """_run_shard for another process's merge: (first frame, flow, screen) in
    first-frame order, where the flows a results store packed stay packed bytes (with
    their screen), and the key shapes those bytes use (ResultStore.shard_items)."""
    run = _shard_run(source, shard, shards, options, first_frames=True)
    results = run.finished()
    if isinstance(results, ResultStore):
        return run.info, results.shard_items(), results.shapes
    return run.info, ((r.tcp["first_frame"], r, None) for r in results), Shapes()


# The bounds on flows listed (without payload, in all): each shard lists its share, so
# that together the shards list what one pass would.  Which flows a bound cuts can still
# differ from one pass (a shard sees only its flows), so the JSON matches one pass
# exactly only when no bound is reached.  The bounds on flows held while the capture is
# read (live, lingering after close) are not shared out: a shard whose hash share runs
# high would reach one that one pass does not (1,000 closing flows split 503/497 would
# end 3 early), and each process holds at most one pass's worth.
_SHARED_BOUNDS = ("max_empty_flows", "max_flow_results")


def shard_options(options: Options, shards: int) -> Options:
    """The options of one of `shards` shards."""
    if shards <= 1:
        return options
    return replace(options, **{name: max(1, -(-getattr(options, name) // shards))
                               for name in _SHARED_BOUNDS})


def merge_shards(parts: list[tuple[CaptureInfo, list[tuple[int, FlowResult]]]],
                 options: Options | None = None, source: str | None = None) -> Analysis:
    """Merge shard results into the Analysis a single pass would have produced."""
    if not parts:
        raise UsageError("no shard results to merge")
    ordered = heapq.merge(*(sorted(p[1], key=_first_frame) for p in parts), key=_first_frame)
    return _merge([p[0] for p in parts], ordered, options, source)


def _first_frame(pair: tuple[int, FlowResult]) -> int:
    return pair[0]


def _merge(infos: list[CaptureInfo], ordered: Iterable[tuple],
           options: Options | None, source: str | None,
           shapes: Sequence[Shapes] = ()) -> Analysis:
    """The shards' capture facts merged, and their flows (`ordered`: by first frame)
    renumbered and diagnosed as one pass does.  With `plain_results` set the flows go
    into a results store, so the merge holds no more than one pass would.  A flow the
    shard k handed over packed, (first frame, bytes, screen, k), goes into that store as
    it is, with `shapes[k]` (the shard's key shapes)."""
    from .analysis import Analysis, _findings_screen, bound_warnings
    from .diagnose.handshakes import merge_tally

    opts = options or _options(None, {})
    info = infos[0]  # every shard read the whole file: the same records and skips
    share = shard_options(opts, len(infos))
    # the reader's warnings (the same in every shard), without the shard's bound warnings
    info.warnings = info.warnings[:len(info.warnings) - len(bound_warnings(share, info))]
    firsts = [i.first_ts for i in infos if i.first_ts is not None]
    lasts = [i.last_ts for i in infos if i.last_ts is not None]
    info.first_ts = min(firsts) if firsts else None
    info.last_ts = max(lasts) if lasts else None
    info.evicted_flows = sum(i.evicted_flows for i in infos)
    info.closed_early_flows = sum(i.closed_early_flows for i in infos)
    for other in infos[1:]:
        for key, n in other.folded_flows.items():
            info.folded_flows[key] = info.folded_flows.get(key, 0) + n
        merge_tally(info.handshakes, other.handshakes)
    info.warnings += bound_warnings(opts, info)
    results: list[FlowResult] | ResultStore = (
        [] if opts.plain_results is None
        else ResultStore(opts.plain_results, opts.packed_memory,
                         screen=_findings_screen() if opts.observers else None))
    tables = ([results.adopt_shapes(table) for table in shapes]
              if isinstance(results, ResultStore) else [])
    for new_id, item in enumerate(ordered):
        result = item[1]
        # single-pass ids count flows in order of their first frame
        if type(result) is bytes:
            if not tables:
                raise TcpForensicsError("a packed flow came from a shard to a merge that "
                                        "keeps no results store")
            results.append_packed(new_id, result, item[2], tables[item[3]])
        else:
            result.id = new_id
            results.append(result)
    findings = []
    if opts.observers:
        from .diagnose import diagnose

        findings = diagnose(results, info)
    return Analysis(capture=info, flow_results=results, finding_results=findings,
                    source=source)


def analyze_parallel(source: str, jobs: int, options: Options | None = None) -> Analysis:
    """Analyze one capture file with `jobs` local processes, one flow-hash shard each.

    Every process reads and decodes the whole file but runs the TCP core, the observers
    and the result building only for its own flows, so the per-flow work is split across
    the cores; the merge gives what a single pass gives (tests/test_parallel.py).  The
    shards hand their flows over in batches, in first-frame order, and the merge takes
    them one at a time: no process holds more flows than a single pass would.
    """
    import multiprocessing

    if jobs <= 1:
        from .analysis import analyze

        return analyze(source, options=options)
    ctx = multiprocessing.get_context("fork")  # the parent's imports are already warm
    workers, streams = [], []
    try:
        for shard in range(jobs):
            receive, send = ctx.Pipe(duplex=False)
            worker = ctx.Process(target=_shard_worker, args=(source, shard, jobs, options, send),
                                 daemon=True)
            worker.start()
            send.close()  # the worker holds the sending end: its exit ends the stream
            workers.append(worker)
            streams.append(_ShardStream(receive, shard))
        infos = [stream.info() for stream in streams]
        ordered = heapq.merge(*streams, key=_first_frame)
        return _merge(infos, ordered, options, source, [s.shapes for s in streams])
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()
            worker.join()


_SHARD_BATCH = 256  # flows per message from a shard process


def _shard_worker(source: str, shard: int, shards: int, options: Options | None,
                  send: Any) -> None:
    """A shard process: its capture facts, then its flows in first-frame order, in
    batches, then an empty batch.  An error is sent in their place."""
    try:
        # packed flows go over as their bytes, with the key shapes they use (those not
        # sent before go with each batch): no decoding, pickling and packing again
        info, flows, shapes = _packed_shard(source, shard, shards, options)
        send.send(("info", info))
        sent = 0  # shapes already sent

        def send_batch(batch: list) -> None:
            nonlocal sent
            send.send(("flows", (batch, shapes.shapes[sent:])))
            sent = len(shapes.shapes)

        batch = []
        for item in flows:
            batch.append(item)
            if len(batch) == _SHARD_BATCH:
                send_batch(batch)
                batch = []
        if batch:
            send_batch(batch)
        send_batch([])  # the end of the stream
    except BaseException as exc:  # noqa: BLE001  (handed to the parent, which raises it)
        with contextlib.suppress(Exception):
            send.send(("error", exc))
    finally:
        send.close()


class _ShardStream:
    """The parent's end of one shard process: its capture facts, then its flows, as
    (first frame, flow or packed bytes, screen, k) for the k-th stream; `shapes` is a
    copy of the shard's key shapes that grows as the batches arrive."""

    def __init__(self, receive: Any, k: int = 0) -> None:
        self.receive = receive
        self.k = k
        self.shapes = Shapes()

    def _next(self, kind: str) -> Any:
        try:
            got, value = self.receive.recv()
        except EOFError:
            raise TcpForensicsError("a --jobs worker process ended without its "
                                    "results") from None
        if got == "error":
            raise value
        if got != kind:
            raise TcpForensicsError(f"a --jobs worker sent {got!r} where {kind!r} was due")
        return value

    def info(self) -> CaptureInfo:
        return self._next("info")

    def __iter__(self) -> Iterator[tuple]:
        k = self.k
        while True:
            batch, shapes = self._next("flows")
            self.shapes.extend(shapes)  # before the flows that use them
            if not batch:
                break
            for first, flow, screen in batch:
                yield first, flow, screen, k
        self.receive.close()


# --- batch outputs ----------------------------------------------------------------------
def capture_keys(captures: list[str]) -> dict[str, str]:
    """Partition key per capture path: its file name, made unique within the batch."""
    keys: dict[str, str] = {}
    used: set[str] = set()
    for path in captures:
        absolute = os.path.abspath(path)
        if absolute in keys:
            continue
        key = re.sub(r"[^A-Za-z0-9._-]", "_", os.path.basename(absolute)) or "capture"
        if key.startswith(("_", ".")):  # pyarrow ignores such directories
            key = "c" + key
        if key in used:
            key = f"{key}-{hashlib.sha1(absolute.encode()).hexdigest()[:8]}"
        used.add(key)
        keys[absolute] = key
    return keys


def _file_identity(path: str) -> dict:
    st = os.stat(path)
    return {"path": os.path.abspath(path), "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _marker_path(out_dir: Path, key: str) -> Path:
    return out_dir / "_done" / f"{key}.json"


def _read_marker(out_dir: Path, key: str) -> dict | None:
    try:
        return json.loads(_marker_path(out_dir, key).read_text())
    except (OSError, ValueError):
        return None


def _atomic_write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_partition(analysis: Analysis, out_dir: str | os.PathLike, key: str) -> list[str]:
    """Write one capture's tables into the partitioned dataset (replacing old parts)."""
    import pyarrow.parquet as pq

    from .export import arrow_table

    out = Path(out_dir)
    written = []
    for table in TABLES:
        part_dir = out / table / f"capture={key}"
        if part_dir.exists():
            shutil.rmtree(part_dir)  # leftovers of an interrupted run
        part_dir.mkdir(parents=True)
        tmp = part_dir / ".part-0.parquet.tmp"  # dot files are invisible to readers
        pq.write_table(arrow_table(analysis, table), tmp, compression="zstd")
        final = part_dir / "part-0.parquet"
        os.replace(tmp, final)
        written.append(str(final))
    return written


def _outcome_of(analysis: Analysis, identity: dict, key: str, seconds: float) -> dict:
    counts = dict.fromkeys(SEVERITIES, 0)
    for f in analysis.finding_results:
        counts[f.severity] = counts.get(f.severity, 0) + 1
    return {
        **identity, "key": key, "status": "done", "error": None,
        "records": analysis.capture.records, "tcp_segments": analysis.capture.tcp_segments,
        "flows": len(analysis.flow_results), "findings": counts,
        "worst": next((s for s in reversed(SEVERITIES) if counts.get(s)), None),
        "seconds": round(seconds, 3), "table_schema": TABLE_SCHEMA_VERSION,
    }


def _store(analysis: Analysis, path: str, key: str, out_dir: str, identity: dict,
           started: float) -> dict:
    write_partition(analysis, out_dir, key)
    outcome = _outcome_of(analysis, identity, key, time.time() - started)
    _atomic_write_text(_marker_path(Path(out_dir), key), json.dumps(outcome, indent=1))
    return outcome


def _capture_task(path: str, key: str, out_dir: str, options: Options | None) -> dict:
    """Worker side: analyze one capture, write its partition, then its done-marker."""
    from .analysis import analyze

    started = time.time()
    try:
        identity = _file_identity(path)
        analysis = analyze(path, options=options)
        return _store(analysis, path, key, out_dir, identity, started)
    except Exception as exc:  # reported in the summary; the batch goes on
        return {"path": path, "key": key, "status": "failed", "error": _error_text(exc)}


def _shard_task(path: str, shard: int, shards: int, options: Options | None):
    return analyze_shard(path, shard, shards, options)


def _merge_task(path: str, key: str, out_dir: str, options: Options | None, started: float,
                *parts) -> dict:
    identity = _file_identity(path)
    analysis = merge_shards(list(parts), options, source=path)
    # started is the driver's submit time (wall clock): includes the shards' run
    return _store(analysis, path, key, out_dir, identity, started)


# --- summary ----------------------------------------------------------------------------
@dataclass
class BatchSummary:
    """What a batch did, capture by capture (also written to OUT/summary.json)."""

    out_dir: str
    captures: list[dict] = field(default_factory=list)
    scheduler: str = ""
    workers: int = 0
    shard: bool = False
    fail_on: str | None = None
    seconds: float = 0.0

    @property
    def done(self) -> list[dict]:
        return [c for c in self.captures if c["status"] == "done"]

    @property
    def skipped(self) -> list[dict]:
        return [c for c in self.captures if c["status"] == "skipped"]

    @property
    def failed(self) -> list[dict]:
        return [c for c in self.captures if c["status"] == "failed"]

    def findings_at_least(self, severity: str) -> bool:
        """Any capture with findings at or above `severity` (done or skipped as done)."""
        pseudo = [{"severity": s} for c in self.captures if c["status"] != "failed"
                  for s, n in (c.get("findings") or {}).items() if n]
        return severity_at_least(pseudo, severity)

    @property
    def gate_failed(self) -> bool:
        """True when --fail-on was given and some capture reached that severity."""
        return bool(self.fail_on) and self.findings_at_least(self.fail_on)

    fail_on_hit = gate_failed  # the name cli.py asks for

    def to_dict(self) -> dict:
        d = asdict(self)
        d = {"schema": BATCH_SCHEMA, **d}
        d["totals"] = {
            "captures": len(self.captures), "done": len(self.done),
            "skipped": len(self.skipped), "failed": len(self.failed),
            "flows": sum(c.get("flows") or 0 for c in self.captures),
        }
        d["gate_failed"] = self.gate_failed
        return d


def _error_text(exc: BaseException) -> str:
    if isinstance(exc, TcpForensicsError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


# --- the driver -------------------------------------------------------------------------
@contextlib.contextmanager
def _client(scheduler: str | None, workers: int | None, tasks: int):
    from distributed import Client, LocalCluster

    if scheduler:
        client = Client(scheduler, timeout="30s")
        try:
            yield client
        finally:
            client.close()
        return
    n = workers or max(1, min(os.cpu_count() or 1, tasks))
    # No dashboard, and the scheduler's HTTP endpoint on a free port: batches must not
    # fight over :8787.  Worker logs stay quiet; failures come back in the summary.
    cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                           dashboard_address=None, silence_logs=logging.CRITICAL,
                           scheduler_kwargs={"dashboard": False, "dashboard_address": ":0"})
    try:
        client = Client(cluster)
        try:
            yield client
        finally:
            client.close()
    finally:
        cluster.close()


def _worker_slots(client: Any) -> int:
    info = client.scheduler_info()
    return max(1, sum(w.get("nthreads", 1) for w in info.get("workers", {}).values()))


def run_batch(captures: list[str], out_dir: str | os.PathLike, *, scheduler: str | None = None,
              workers: int | None = None, shard: bool = False, fail_on: str | None = None,
              options: Options | None = None, force: bool = False) -> BatchSummary:
    """Analyze captures on Dask; write partitioned Parquet and OUT/summary.json.

    `scheduler` is an existing cluster's address (default: an embedded LocalCluster of
    `workers` processes).  `shard` splits each capture across all worker slots by flow.
    `force` redoes captures already marked done.  Never raises for a bad capture: it
    is reported in the summary as failed.
    """
    from distributed import as_completed

    if fail_on is not None:
        from .frames import severity_rank

        severity_rank(fail_on)  # reject a bad severity before any work
    if options is None:  # only tables are written: the report's details would only weigh
        from .analysis import lean_options

        options = lean_options()
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keys = capture_keys([str(c) for c in captures])
    summary = BatchSummary(out_dir=str(out), shard=shard, fail_on=fail_on)
    outcomes: dict[str, dict] = {}
    todo: list[tuple[str, str]] = []
    for path, key in keys.items():
        try:
            identity = _file_identity(path)
        except OSError as exc:
            outcomes[path] = {"path": path, "key": key, "status": "failed",
                              "error": f"cannot read {path}: {exc.strerror}"}
            log.warning("capture failed", extra={"event": "capture_failed", **outcomes[path]})
            continue
        marker = _read_marker(out, key)
        if not force and marker and all(marker.get(k) == v for k, v in identity.items()):
            outcomes[path] = {**marker, "status": "skipped"}
            log.info("capture already done", extra={"event": "capture_skipped", "path": path,
                                                    "key": key})
            continue
        with contextlib.suppress(FileNotFoundError):
            _marker_path(out, key).unlink()  # its partition is about to be rewritten
        todo.append((path, key))

    if todo:
        with _client(scheduler, workers, len(todo)) as client:
            summary.scheduler = client.scheduler.address
            slots = _worker_slots(client)
            summary.workers = len(client.scheduler_info().get("workers", {}))
            futures = {}
            for path, key in todo:
                if shard and slots > 1:
                    parts = [client.submit(_shard_task, path, i, slots, options, pure=False)
                             for i in range(slots)]
                    future = client.submit(_merge_task, path, key, str(out), options,
                                           time.time(), *parts, pure=False)
                else:
                    future = client.submit(_capture_task, path, key, str(out), options,
                                           pure=False)
                futures[future] = (path, key)
            for future in as_completed(list(futures)):
                path, key = futures[future]
                try:
                    outcome = future.result()
                except Exception as exc:  # a shard failed or a worker died: report, go on
                    outcome = {"path": path, "key": key, "status": "failed",
                               "error": _error_text(exc)}
                if outcome["status"] == "failed":
                    log.warning("capture failed", extra={"event": "capture_failed", **outcome})
                else:
                    log.info("capture done", extra={"event": "capture_done", **outcome})
                outcomes[path] = outcome
    summary.captures = [outcomes[path] for path in keys]
    summary.seconds = round(time.perf_counter() - started, 3)
    _atomic_write_text(out / "summary.json", json.dumps(summary.to_dict(), indent=1))
    return summary


# --- reading the dataset back -----------------------------------------------------------
def read_table(out_dir: str | os.PathLike, table: str) -> pd.DataFrame:
    """One table of a batch output, every capture, with the documented dtypes.

    Adds a `capture` column (the partition key) in front.  Rows keep their order within
    a capture; captures come in key order.
    """
    import pandas as pd

    from .export import read_parquet
    from .frames import frame

    if table not in TABLES:
        raise UsageError(f"unknown table {table!r}; expected one of {', '.join(TABLES)}")
    base = Path(out_dir) / table
    frames = []
    if base.is_dir():
        for part in sorted(base.glob("capture=*")):
            for file in sorted(part.glob("*.parquet")):
                df = read_parquet(file, table)
                df.insert(0, "capture", pd.Series([part.name.split("=", 1)[1]] * len(df),
                                                  dtype=pd.StringDtype()))
                frames.append(df)
    if not frames:
        empty = frame({}, TABLES[table])
        empty.insert(0, "capture", pd.Series([], dtype=pd.StringDtype()))
        return empty
    return pd.concat(frames, ignore_index=True)


# --- machine-readable logs --------------------------------------------------------------
class JsonLogFormatter(logging.Formatter):
    """One JSON object per log record (for --log-format json); extras become fields."""

    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        out = {"ts": round(record.created, 3), "level": record.levelname.lower(),
               "logger": record.name, "msg": record.getMessage()}
        for name, value in vars(record).items():
            if name not in self._STANDARD and not name.startswith("_"):
                out[name] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str)
