"""Finished flows held compactly, so that memory does not grow with a capture's length.

A finished flow's result is about 12 KB of Python objects (dicts of facts, counters,
state changes), and the cross-flow findings need every flow until the capture ends: a
long capture of short connections holds hundreds of thousands of them.  `ResultStore`
keeps the first `plain` results as they are; each later one is packed with marshal
(about 1.4 KB of bytes for a short connection: the keys of its dicts are held once per
store, see `Shapes`) and its bytes are held in memory up to `packed_memory`, then in an
anonymous temporary file.  In memory that leaves about 60 bytes per spilled flow.

The store is a read-only sequence of flows in id order.  A packed flow is rebuilt as a
`PackedFlowResult` when it is read: its scalar fields are plain attributes, and each of
its three nested parts (the facts: endpoints, stalls; the tcp facts; the timeline: RTT
summary, state changes) is decoded from the bytes when that object first reads one of
its fields.  Those parts are read-only: a change made to them is not kept.  Findings are
linked with `link_findings`.

A `--jobs` shard hands its packed flows to the parent's store as they are
(`shard_items`, `append_packed`): the parent adopts the shard's key shapes as a table of
their own (`adopt_shapes`) and reads those flows with it.
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
# screen bits of a flow the store did not screen (a screen gives -1 or more)
_UNSCREENED = -2
# Past this many key sets a store packs further dicts with their keys (see Shapes): a
# bound on the table should some dict's keys vary from flow to flow.
_MAX_SHAPES = 4096


class Shapes:
    """The key sets of the dicts in a store's packed flows, each held once.

    Most of a packed flow is dicts with the same keys in every flow (an endpoint's
    counters, the TCP facts, the stall facts): marshal would write and read each key
    string again for every flow (most of its cost).  A dict is packed as
    (shape index, [values]) instead, the shape being its keys in order and which of its
    values are dicts packed the same way.  Dicts keyed by the flow's endpoints (their
    keys differ from flow to flow) stay dicts.
    """

    def __init__(self) -> None:
        self.index: dict[tuple, int] = {}
        self.shapes: list[tuple[tuple, tuple]] = []  # (keys, positions of packed dicts)
        # each shape's keys as a dict, to copy: the copy comes sized, with the keys
        # and their hashes in place (building a dict key by key resizes it as it grows)
        self.blanks: list[dict] = []

    def pack(self, d: dict, ends: tuple[str, str]) -> Any:
        """`d` as (shape index, [values]), or `d` itself once the table is full."""
        if type(d) is not dict:
            raise ValueError("not a dict")  # (pack keeps such a flow plain)
        values = list(d.values())
        nested = []
        for i, value in enumerate(values):
            if type(value) is dict and ends[0] not in value and ends[1] not in value:
                packed = self.pack(value, ends)
                if type(packed) is not dict:
                    values[i] = packed
                    nested.append(i)
        shape = (tuple(d), tuple(nested))
        index = self.index.get(shape)
        if index is None:
            if len(self.shapes) >= _MAX_SHAPES:
                return d
            index = self._add(shape)
        return (index, values)

    def _add(self, shape: tuple[tuple, tuple]) -> int:
        """A new shape after the others: its index."""
        index = len(self.shapes)
        self.index.setdefault(shape, index)
        self.shapes.append(shape)
        self.blanks.append(dict.fromkeys(shape[0]))
        return index

    def extend(self, shapes: list[tuple[tuple, tuple]]) -> None:
        """Add shapes after this table's own, in order: a copy of another table (another
        process's store) grows with the shapes it sends (`self.shapes[n:]` there)."""
        for keys, nested in shapes:
            self._add((tuple(keys), tuple(nested)))

    def unpack(self, packed: Any) -> dict:
        """The dict that `pack` gave `packed` for."""
        if type(packed) is dict:
            return packed
        index = packed[0]
        values = packed[1]
        keys, nested = self.shapes[index]
        for i in nested:
            values[i] = self.unpack(values[i])
        out = self.blanks[index].copy()
        for i in range(len(keys)):
            out[keys[i]] = values[i]
        return out


def pack(result: FlowResult, shapes: Shapes | None = None) -> bytes | None:
    """The result as marshal bytes, or None to keep it as it is.

    marshal writes anything with a buffer as bytes: the report's cwnd series are arrays,
    so a flow that has them stays plain.  Everything else in a result is built-in types
    (tests/test_results.py walks the results of the sample captures to keep it so).
    The bytes are the scalar fields and findings, then the rest in three parts
    marshalled on their own: reading a flow's id and times (sorting, grouping) decodes
    none, the findings rules read the facts (endpoints, stalls) and the tcp facts, not
    the timeline (RTT summary, state changes), and the analysis JSON reads the facts and
    the timeline, not the tcp facts (most of a short connection's bytes).
    """
    if result.cwnd:
        return None
    if shapes is None:
        shapes = Shapes()
    ends = (result.client, result.server)
    dumps = marshal.dumps
    states = result.states
    try:
        facts = dumps((
            [[e.addr, e.role, e.packets, e.payload_bytes, e.mss, e.wscale,
              e.sack_permitted, e.timestamps, shapes.pack(e.counters, ends), e.cca]
             for e in result.endpoints],
            [(s.kind, s.endpoint, s.start, s.duration, s.detail) for s in result.stalls],
        ))
        tcp = dumps(shapes.pack(result.tcp, ends))
        timeline = dumps((
            shapes.pack(result.rtt, ends),
            # three columns rather than a tuple for each state change
            [s.ts for s in states], [s.endpoint for s in states], [s.state for s in states],
        ))
        return dumps((result.id, result.client, result.server, result.start, result.end,
                      result.state, result.handshake, result.syn_rtt,
                      result.findings or None, facts, tcp, timeline))
    except ValueError:  # a type marshal does not know: keep the flow plain
        return None


def _unpack_facts(facts: bytes, shapes: Shapes) -> tuple:
    """The endpoints and stalls of a packed flow."""
    endpoints, stalls = marshal.loads(facts)
    for e in endpoints:
        e[8] = shapes.unpack(e[8])
    return [Endpoint(*e) for e in endpoints], [Stall(*s) for s in stalls]


def _unpack_tcp(tcp: bytes, shapes: Shapes) -> dict:
    """The tcp facts of a packed flow."""
    return shapes.unpack(marshal.loads(tcp))


def _unpack_timeline(timeline: bytes, shapes: Shapes) -> tuple:
    """The RTT summary and state changes of a packed flow."""
    rtt, ts, ends, states = marshal.loads(timeline)
    return shapes.unpack(rtt), list(map(StateChange, ts, ends, states))


class _Part:
    """A field of PackedFlowResult: decoded from the packed bytes when the object first
    reads it, with the other fields of its part (`facts`, `tcp` or `timeline`: decoding is
    cheap next to a call per field), then ordinary attributes of that object (the
    findings rules read a flow's facts dozens of times)."""

    def __init__(self, part: str) -> None:
        self.part = part
        self.name = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, flow: PackedFlowResult | None, owner: type | None = None) -> Any:
        if flow is None:
            return self
        # no __set__: from now on the instance attributes are found first
        flow._store._decode(flow, self.part)
        return flow.__dict__[self.name]


class PackedFlowResult(FlowResult):
    """One packed flow, read back: scalars as attributes, nested parts decoded on access."""

    # plain attributes on top of FlowResult's: the store and where the bytes live
    def __init__(self, store: ResultStore, slot: int, scalars: tuple) -> None:
        (self.id, self.client, self.server, self.start, self.end, self.state,
         self.handshake, self.syn_rtt, self._packed_findings) = scalars
        self._store = store
        self._slot = slot

    # the dataclass fields FlowResult declares, served from the packed bytes
    rtt = _Part("timeline")  # type: ignore[assignment]
    endpoints = _Part("facts")  # type: ignore[assignment]
    states = _Part("timeline")  # type: ignore[assignment]
    stalls = _Part("facts")  # type: ignore[assignment]
    tcp = _Part("tcp")  # type: ignore[assignment]
    cwnd = _Part("facts")  # type: ignore[assignment]

    @property  # type: ignore[misc]
    def findings(self) -> list[str]:  # type: ignore[override]
        linked = self._store._findings.get(self.id)
        if linked is not None:
            return list(linked)
        return list(self._packed_findings) if self._packed_findings else []

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
    """Finished flows: the first `plain` as objects, later ones packed (see the module).

    `screen`, when given, is applied to each flow the store packs, while it is still
    plain, and `screened()` hands its answer back with the flow: the findings rules
    screen every flow first (diagnose.findings.flow_evidence), and for a packed flow that
    would decode its facts from the bytes, most of the time only to find it clean.
    """

    def __init__(self, plain: int = 0, packed_memory: int = 32 << 20,
                 screen: Callable[[FlowResult], int] | None = None) -> None:
        self.plain_limit = plain
        self.packed_memory = packed_memory
        self.screen = screen
        self._screens = array("i")  # screen(flow) of each entry, in arrival order
        self._order_screens: array | None = None  # the same in id order, once sorted
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
        self._shapes = Shapes()
        # the key shapes of packed flows: this store's own (0), then those of other
        # stores whose packed flows it took as they were (append_packed), and the table
        # of each packed flow, by where it lives (as _blobs, as _offsets)
        self._tables: list[Shapes] = [self._shapes]
        self._blob_tables = array("H")
        self._file_tables = array("H")
        # set to an array to have each flow's first frame kept, in arrival order (a
        # --jobs shard hands its flows over in first-frame order: shard_items)
        self.first_frames: array | None = None
        self._cache_slot = -1  # the packed flow read last, and its parts' bytes
        self._cache_table = 0
        self._cache_facts = self._cache_tcp = self._cache_timeline = b""
        self._last_read: Callable[[], PackedFlowResult | None] = _nothing

    # --- intake ----------------------------------------------------------------------
    def append(self, result: FlowResult) -> None:
        blob = (pack(result, self._shapes) if len(self._plain) >= self.plain_limit
                else None)
        if blob is None:
            slot = len(self._plain) << 3 | _PLAIN
            self._plain.append(result)
        else:
            slot = self._put(blob, 0)
        if blob is not None and result.findings:
            slot |= _HAD_FINDINGS
        screen = self.screen
        self._screens.append(screen(result) if blob is not None and screen is not None
                             else _UNSCREENED)
        self._ids.append(result.id)
        self._slots.append(slot)
        if self.first_frames is not None:
            self.first_frames.append(result.tcp["first_frame"])
        self._order = None

    def end_together(self, live: int) -> None:
        """`live` flows are about to end at once (the end of the capture), their state
        all still held until each one's result is taken: memory is at its largest.

        A result kept plain then adds about as much again as a live flow holds (12 KB),
        and a packed one held in memory its 1.4 KB or so of bytes, which the memory the
        ended flows give back cannot take (Python's small-object pools; the bytes come
        from malloc).  With 20,000 flows live, the first 4,000 results kept plain took
        30 MiB more, and the others' bytes 24 MiB.  So with more than `plain` flows live
        each one past it takes the place of a plain result (none are left from twice
        `plain` on), and from `plain` flows live on, packed results go to the temporary
        file.  Up to `plain` flows live nothing changes."""
        plain = self.plain_limit
        if live >= plain:
            self.packed_memory = min(self.packed_memory, self._blob_bytes)
        self.plain_limit = max(len(self._plain), min(plain, 2 * plain - live))

    def _put(self, blob: bytes, table: int) -> int:
        """Hold a packed flow's bytes (in memory up to packed_memory, then in the file):
        its slot."""
        if self._blob_bytes + len(blob) <= self.packed_memory:
            slot = len(self._blobs) << 3 | _MEMORY
            self._blobs.append(blob)
            self._blob_bytes += len(blob)
            self._blob_tables.append(table)
        else:
            slot = len(self._offsets) << 3 | _FILE
            self._spill(blob)
            self._file_tables.append(table)
        return slot

    def adopt_shapes(self, shapes: Shapes) -> int:
        """Take another store's key shapes (a table that may still grow): the number to
        give append_packed for that store's packed flows."""
        self._tables.append(shapes)
        return len(self._tables) - 1

    def append_packed(self, flow_id: int, blob: bytes, screen: int, table: int) -> None:
        """A flow packed by another store (shard_items there), as it is, under a new id:
        `table` is what adopt_shapes gave for that store's shapes, `screen` what its
        screen gave the flow.  The flow had no findings yet (they are linked here)."""
        parts = marshal.loads(blob)
        if parts[8]:  # (findings: a store hands over flows before the diagnosis)
            raise ValueError("a packed flow handed over with findings")
        self._slots.append(self._put(marshal.dumps((flow_id, *parts[1:])), table))
        self._screens.append(screen)
        self._ids.append(flow_id)
        self._order = None

    @property
    def adopted(self) -> int:
        """How many flows were taken packed from another store (append_packed)."""
        return (sum(1 for table in self._blob_tables if table)
                + sum(1 for table in self._file_tables if table))

    def shard_items(self) -> Iterator[tuple[int, FlowResult | bytes, int | None]]:
        """(first frame, flow, screen) for every flow in id order, with `first_frames`
        kept: the result itself (screen None) if kept plain, else its packed bytes and
        its screen, for another store's append_packed (with this store's `shapes`)."""
        if self.first_frames is None:
            raise ValueError("this store keeps no first frames")
        firsts = self.first_frames
        for i in self._id_order():
            slot = self._slots[i]
            if slot & 3 == _PLAIN:
                yield firsts[i], self._plain[slot >> 3], None
            else:
                yield firsts[i], self._blob(slot), self._screens[i]

    @property
    def shapes(self) -> Shapes:
        """This store's own key shapes (those of the flows it packed itself)."""
        return self._shapes

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
        slots, screens = self._slots, self._screens
        order = self._id_order()
        self._order = array("q", (slots[i] for i in order))
        self._order_screens = array("i", (screens[i] for i in order))

    def _id_order(self) -> list[int]:
        """The entries (in arrival order) sorted by flow id: their positions."""
        ids = self._ids
        return sorted(range(len(ids)), key=ids.__getitem__)

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

    def screened(self) -> Iterator[tuple[FlowResult, int | None]]:
        """(flow, what `screen` gave it) for every flow in id order; None for a flow
        the store did not screen (kept plain, or no `screen`)."""
        if self._order is None:
            self.sort()
        read, screens = self._read, self._order_screens
        for slot, bits in zip(self._order, screens, strict=True):  # type: ignore[arg-type]
            yield read(slot), (None if bits == _UNSCREENED else bits)

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
        flow = PackedFlowResult(self, slot, self._scalars(slot))
        # weakly: the flow refers to the store, and a cycle would leave the store with its
        # temporary file to the garbage collector (tests/test_collector.py)
        self._last_read = weakref.ref(flow)
        return flow

    def _blob(self, slot: int) -> bytes:
        """The bytes of a packed flow."""
        i = slot >> 3
        if slot & 3 == _MEMORY:
            return self._blobs[i]
        offset, length = self._offsets[i], self._lengths[i]
        if offset + length > self._written:
            self._flush()
        return os.pread(self._file.fileno(), length, offset)

    def _scalars(self, slot: int) -> tuple:
        """The scalar fields and findings of a packed flow (and keep the rest's bytes)."""
        *scalars, self._cache_facts, self._cache_tcp, self._cache_timeline = \
            marshal.loads(self._blob(slot))
        i = slot >> 3
        self._cache_table = (self._blob_tables[i] if slot & 3 == _MEMORY
                             else self._file_tables[i])
        self._cache_slot = slot
        return scalars

    def _decode(self, flow: PackedFlowResult, part: str) -> None:
        """Set the fields of `part` of `flow` as attributes of its own."""
        if flow._slot != self._cache_slot:
            self._scalars(flow._slot)
        held = flow.__dict__
        shapes = self._tables[self._cache_table]
        if part == "facts":
            held["endpoints"], held["stalls"] = _unpack_facts(self._cache_facts, shapes)
            held["cwnd"] = []  # a flow with series is not packed
        elif part == "tcp":
            held["tcp"] = _unpack_tcp(self._cache_tcp, shapes)
        else:
            held["rtt"], held["states"] = _unpack_timeline(self._cache_timeline, shapes)

    def _findings_of(self, flow_id: int, slot: int) -> list[str]:
        linked = self._findings.get(flow_id)
        if linked is not None:
            return list(linked)
        packed = self._scalars(slot)[-1] if slot & _HAD_FINDINGS else None
        return list(packed) if packed else []

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

