"""Finished flows held compactly, so that memory does not grow with a capture's length.

A finished flow's result is about 12 KB of Python objects (dicts of facts, counters,
state changes), and the cross-flow findings need every flow until the capture ends: a
long capture of short connections holds hundreds of thousands of them.  `ResultStore`
keeps the first `plain` results as they are; each later one is packed with marshal
(about 2.5 KB of bytes) and its bytes are held in memory up to `packed_memory`, then in
an anonymous temporary file.  In memory that leaves about 16 bytes per spilled flow.

The store is a read-only sequence of flows in id order.  A packed flow is rebuilt as a
`PackedFlowResult` when it is read: its scalar fields are plain attributes, and each of
its nested parts (endpoints, facts, stalls, state changes, RTT summary) is decoded from
the bytes when that object first reads it.  Those parts are read-only: a change made to
them is not kept.  Findings are linked with `link_findings`.
"""

from __future__ import annotations

import marshal
import os
import tempfile
import weakref
from array import array
from collections.abc import Callable, Iterator, Sequence
from typing import Any, overload

from .model import Endpoint, FlowResult, Stall, StateChange

# Where an entry lives, in the low two bits of its slot; the next bit says whether a
# packed flow had finding ids when it was packed (most have none yet: the findings are
# linked later, and then none are read from the bytes); the rest is the index.
_PLAIN, _MEMORY, _FILE = 0, 1, 2
_HAD_FINDINGS = 4
_SPILL_CHUNK = 1 << 20  # bytes gathered before one write to the temporary file


# The parts of a packed flow, each marshalled on its own so that a reader decodes only
# what it touches (the findings rules read the facts, endpoints and stalls, not the
# state changes; sorting and grouping read the scalars).
_PARTS = ("scalars", "findings", "rtt", "endpoints", "states", "stalls", "tcp", "cwnd")
_PART = {name: i for i, name in enumerate(_PARTS)}
# an empty list's part, written once: most flows have no findings yet and no stalls
_EMPTY_LIST = marshal.dumps([])


def pack(result: FlowResult) -> bytes | None:
    """The result as marshal bytes, or None to keep it as it is.

    marshal writes anything with a buffer as bytes: the report's cwnd series are arrays,
    so a flow that has them stays plain.  Everything else in a result is built-in types
    (tests/test_results.py walks the results of the sample captures to keep it so).
    """
    if result.cwnd:
        return None
    dumps = marshal.dumps
    try:
        parts = (
            dumps((result.id, result.client, result.server, result.start, result.end,
                   result.state, result.handshake, result.syn_rtt)),
            dumps(result.findings) if result.findings else _EMPTY_LIST,
            dumps(result.rtt),
            dumps([(e.addr, e.role, e.packets, e.payload_bytes, e.mss, e.wscale,
                    e.sack_permitted, e.timestamps, e.counters, e.cca)
                   for e in result.endpoints]),
            dumps([(s.ts, s.endpoint, s.state) for s in result.states]),
            dumps([(s.kind, s.endpoint, s.start, s.duration, s.detail)
                   for s in result.stalls]) if result.stalls else _EMPTY_LIST,
            dumps(result.tcp),
            _EMPTY_LIST,  # cwnd: a flow with series is not packed
        )
    except ValueError:  # a type marshal does not know: keep the flow plain
        return None
    # the parts hold no strings to share: version 2 writes them without setting up the
    # table of back-references (the parts themselves use it for their repeated strings)
    return dumps(parts, 2)


class _Part:
    """A field of PackedFlowResult: decoded from the packed bytes when the object first
    reads it, then an ordinary attribute of that object (the findings rules read a
    flow's facts dozens of times)."""

    name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, flow: PackedFlowResult | None, owner: type | None = None) -> Any:
        if flow is None:
            return self
        # no __set__: from now on the instance attribute is found first
        value = flow.__dict__[self.name] = flow._store._part(flow._slot, self.name)
        return value


class PackedFlowResult(FlowResult):
    """One packed flow, read back: scalars as attributes, nested parts decoded on access."""

    # plain attributes on top of FlowResult's: the store and where the bytes live
    def __init__(self, store: ResultStore, slot: int, scalars: tuple) -> None:
        (self.id, self.client, self.server, self.start, self.end, self.state,
         self.handshake, self.syn_rtt) = scalars
        self._store = store
        self._slot = slot

    # the dataclass fields FlowResult declares, served from the packed bytes
    rtt = _Part()  # type: ignore[assignment]
    endpoints = _Part()  # type: ignore[assignment]
    states = _Part()  # type: ignore[assignment]
    stalls = _Part()  # type: ignore[assignment]
    tcp = _Part()  # type: ignore[assignment]
    cwnd = _Part()  # type: ignore[assignment]
    findings = property(lambda self: self._store._findings_of(self.id, self._slot))  # type: ignore[assignment]

    def __reduce__(self) -> tuple:
        # pickled (to another process) as the plain result it stands for
        return (FlowResult, tuple(getattr(self, name) for name in _FIELDS))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FlowResult):
            return NotImplemented
        return all(getattr(self, n) == getattr(other, n) for n in _FIELDS)

    __hash__ = None  # type: ignore[assignment]


# the parts a PackedFlowResult decodes into attributes of its own
_DECODED = tuple(name for name, v in vars(PackedFlowResult).items() if isinstance(v, _Part))

def _nothing() -> None:
    return None


_FIELDS = ("id", "client", "server", "start", "end", "state", "handshake", "syn_rtt", "rtt",
           "endpoints", "states", "stalls", "findings", "tcp", "cwnd")


class ResultStore(Sequence[FlowResult]):
    """Finished flows: the first `plain` as objects, later ones packed (see the module)."""

    def __init__(self, plain: int = 0, packed_memory: int = 32 << 20) -> None:
        self.plain_limit = plain
        self.packed_memory = packed_memory
        self._plain: list[FlowResult] = []
        self._blobs: list[bytes] = []
        self._blob_bytes = 0
        self._file: Any = None  # the temporary file, once results spill
        self._pending = bytearray()  # spilled bytes not yet written
        self._written = 0
        self._offsets = array("q")
        self._lengths = array("q")
        self._ids = array("q")  # flow id of each entry, in arrival order
        self._slots = array("q")  # where each entry lives, in arrival order
        self._order: array | None = None  # slots in id order, once sorted
        self._findings: dict[int, list[str]] = {}  # finding ids of packed flows
        self._cache_slot = -1
        self._cache_blobs: tuple[bytes, ...] = ()
        self._cache_parts: dict[str, Any] = {}
        self._last_read: Callable[[], PackedFlowResult | None] = _nothing

    # --- intake ----------------------------------------------------------------------
    def append(self, result: FlowResult) -> None:
        blob = pack(result) if len(self._plain) >= self.plain_limit else None
        if blob is None:
            slot = len(self._plain) << 3 | _PLAIN
            self._plain.append(result)
        elif self._blob_bytes + len(blob) <= self.packed_memory:
            slot = len(self._blobs) << 3 | _MEMORY
            self._blobs.append(blob)
            self._blob_bytes += len(blob)
        else:
            slot = len(self._offsets) << 3 | _FILE
            self._spill(blob)
        if blob is not None and result.findings:
            slot |= _HAD_FINDINGS
        self._ids.append(result.id)
        self._slots.append(slot)
        self._order = None

    def _spill(self, blob: bytes) -> None:
        if self._file is None:
            # lives as long as the store (close() or garbage collection removes it)
            self._file = tempfile.TemporaryFile(prefix="tcpforensics-flows-")  # noqa: SIM115
        self._offsets.append(self._written + len(self._pending))
        self._lengths.append(len(blob))
        self._pending += blob
        if len(self._pending) >= _SPILL_CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._file.seek(0, os.SEEK_END)
            self._file.write(self._pending)
            self._file.flush()
            self._written += len(self._pending)
            self._pending = bytearray()

    def sort(self) -> None:
        """Put the flows in id order (they arrive in the order they ended)."""
        ids, slots = self._ids, self._slots
        self._order = array("q", (slots[i] for i in sorted(range(len(ids)),
                                                           key=ids.__getitem__)))

    #: Flow ids are unique here (the analysis numbers flows): findings rules may cache
    #: per-flow numbers by id, though each read rebuilds a packed flow.
    unique_ids = True

    @property
    def packed(self) -> int:
        """How many flows are held packed (in memory or in the file)."""
        return len(self._blobs) + len(self._offsets)

    @property
    def spilled(self) -> int:
        """How many flows went to the temporary file."""
        return len(self._offsets)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    # --- reading ---------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, i: int) -> FlowResult: ...
    @overload
    def __getitem__(self, i: slice) -> list[FlowResult]: ...

    def __getitem__(self, i: int | slice) -> FlowResult | list[FlowResult]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        if self._order is None:
            self.sort()
        return self._read(self._order[i])  # type: ignore[index]

    def __iter__(self) -> Iterator[FlowResult]:
        if self._order is None:
            self.sort()
        read = self._read
        for slot in self._order:  # type: ignore[union-attr]
            yield read(slot)

    def _read(self, slot: int) -> FlowResult:
        if slot & 3 == _PLAIN:
            return self._plain[slot >> 3]
        # Only the packed flow read last keeps its decoded parts: the findings rules hold
        # on to the flows they pick out, and memory must not grow with them.  The one
        # read before goes back to decoding what it reads.
        last = self._last_read()
        if last is not None:
            held = last.__dict__
            for name in _DECODED:
                held.pop(name, None)
        flow = PackedFlowResult(self, slot, self._part(slot, "scalars"))
        # weakly: the flow refers to the store, and a cycle would leave the store with its
        # temporary file to the garbage collector (tests/test_collector.py)
        self._last_read = weakref.ref(flow)
        return flow

    def _part(self, slot: int, name: str) -> Any:
        if slot != self._cache_slot:
            where, i = slot & 3, slot >> 3
            if where == _MEMORY:
                blob = self._blobs[i]
            else:
                offset, length = self._offsets[i], self._lengths[i]
                if offset + length > self._written:
                    self._flush()
                blob = os.pread(self._file.fileno(), length, offset)
            self._cache_blobs = marshal.loads(blob)
            self._cache_parts = {}
            self._cache_slot = slot
        parts = self._cache_parts
        if name not in parts:
            parts[name] = _build(name, marshal.loads(self._cache_blobs[_PART[name]]))
        return parts[name]

    def _findings_of(self, flow_id: int, slot: int) -> list[str]:
        linked = self._findings.get(flow_id)
        if linked is not None:
            return list(linked)
        return list(self._part(slot, "findings")) if slot & _HAD_FINDINGS else []

    def link_findings(self, linked: dict[int, list[str]]) -> None:
        """Add finding ids to the flows they concern ({flow id: [finding ids]}), as
        FlowResult.findings, without duplicates."""
        for flow_id, slot in zip(self._ids, self._slots, strict=True):
            finding_ids = linked.get(flow_id)
            if not finding_ids:
                continue
            if slot & 3 == _PLAIN:
                held = self._plain[slot >> 3].findings
            else:
                held = self._findings.get(flow_id)
                if held is None:
                    held = self._findings[flow_id] = self._findings_of(flow_id, slot)
            for finding_id in finding_ids:
                if finding_id not in held:
                    held.append(finding_id)


def _build(name: str, value: Any) -> Any:
    if name == "endpoints":
        return [Endpoint(*e) for e in value]
    if name == "states":
        return [StateChange(*s) for s in value]
    if name == "stalls":
        return [Stall(*s) for s in value]
    return value
