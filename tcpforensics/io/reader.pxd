# C types for the compiled build of reader.py (Cython pure-Python mode).  Capture is a
# C struct so the pcap and pcapng record loops (_pcap_record, _pcapng_record) keep their
# state in typed fields; the snoop loop is a generator method whose local types are given
# with @cython.locals in reader.py itself.  Every attribute is public: open_capture and the
# tests set and read them as on the Python class of the pure build.
cimport cython
from tcpforensics.model cimport RawPacket, Segment

ctypedef const unsigned char *cbytes


cdef inline long long _u32(cbytes buf, Py_ssize_t pos, bint little) noexcept

cdef int _byte_order(bytes buf, Py_ssize_t pos) except -2

@cython.locals(raw=RawPacket)
cdef RawPacket _new_raw(long long frame, object ts_ns, long long linktype, long long caplen,
                        long long wirelen, bytes data, long long iface)


cdef int _PCAP, _PCAPNG, _SNOOP
cdef dict _KINDS
cdef long long MAX_RECORD
cdef long long _PCAPNG_SHB


@cython.final
cdef class Capture:
    cdef public str format
    cdef public int _kind
    cdef public object compression
    cdef public str path
    cdef public object snaplen
    cdef public list linktypes
    cdef public list interfaces
    cdef public list comments
    cdef public list warnings
    cdef public long long records
    cdef public bint nanosecond
    cdef public list _owned
    cdef public object _read
    cdef public bytes _buf
    cdef public long long _base
    cdef public object _gen
    cdef public bint _closed
    cdef public object _counter
    cdef public long long _produced
    cdef public object _broken
    cdef public str _order
    cdef public long long _frac_ns
    cdef public Py_ssize_t _rec_len
    cdef public long long _linktype
    cdef public int _swapped
    cdef public bint _started
    cdef public bint _done
    cdef public Py_ssize_t _pos
    cdef public Py_ssize_t _n
    cdef public bint _little
    cdef public long long _snap
    cdef public long long _limit
    cdef public long long _backwards
    cdef public long long _first_back
    cdef public long long _over_snap
    cdef public long long _over_wire
    cdef public object _why
    cdef public Py_ssize_t _start
    cdef public long long _caplen
    cdef public long long _wirelen
    cdef public long long _ts
    cdef public bint _ts_exact
    cdef public object _ts_big
    cdef public long long _iface
    cdef public object _unpack
    cdef public list _ifaces
    cdef public set _linktype_set
    cdef public long long _cur
    cdef public bint _fast
    cdef public long long _fast_mul
    cdef public long long _bad_iface
    cdef public long long _unknown
    cdef public long long _trailer_bad
    cdef public long long _bad_packet

    cpdef object next_decoded(self)
    cdef inline bint _read_record(self) except -1
    cpdef void _set_format(self, str name) except *
    cdef object _next_from_gen(self)
    @cython.locals(view=cbytes, pair=cython.longlong, bitmap=cbytes, sport=Py_ssize_t,
                   dport=Py_ssize_t)
    cpdef object next_decoded_for(self, bytes ports)
    @cython.locals(view=cbytes, start=Py_ssize_t, caplen=Py_ssize_t, seg=Segment)
    cdef inline object _decode_record(self)
    cpdef double record_time(self)
    @cython.locals(view=cbytes, start=Py_ssize_t)
    cdef RawPacket _raw_record(self)
    @cython.locals(rec_len=Py_ssize_t, pos=Py_ssize_t, n=Py_ssize_t, view=cbytes,
                   little=bint, sec=cython.longlong, frac=cython.longlong,
                   caplen=cython.longlong, wirelen=cython.longlong, swapped=int,
                   frame=cython.longlong, start=Py_ssize_t, end=Py_ssize_t,
                   ts=cython.longlong)
    cdef bint _pcap_record(self) except -1
    cdef object _start_pcap(self)
    cdef bint _refill(self, Py_ssize_t need) except -1
    @cython.locals(n=Py_ssize_t)
    cdef bint _refill_header(self, Py_ssize_t need) except -1
    cdef bint _end_records(self, object why) except -1
    cdef object _start_pcapng(self)
    @cython.locals(buf=bytes, pos=Py_ssize_t, n=Py_ssize_t, end=Py_ssize_t, start=Py_ssize_t,
                   opt_at=Py_ssize_t, room=Py_ssize_t, frame=cython.longlong,
                   btype=cython.longlong, blen=cython.longlong, iface=cython.longlong,
                   caplen=cython.longlong, wirelen=cython.longlong, hi=cython.longlong,
                   lo=cython.longlong, tsc=cython.longlong, little=bint, new_little=int,
                   exact=bint, back=bint)
    cdef bint _pcapng_record(self) except -1
    cdef object _use_iface(self, long long iface)
    cdef object _scaled_time(self, long long iface, long long hi, long long lo)
