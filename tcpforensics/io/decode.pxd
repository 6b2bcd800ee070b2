# C types for the compiled build of decode.py (Cython pure-Python mode).  Offsets are
# Py_ssize_t; byte indexing of a typed `bytes` stays bounds-checked (boundscheck is on);
# the hot paths read through a `cbytes` pointer (`view`) after checking the length.
cimport cython
from tcpforensics.model cimport RawPacket, Segment

ctypedef const unsigned char *cbytes

# module constants read per packet: C globals instead of dict lookups
cdef bytes _NOP_NOP_TS
cdef int _MAX_DEPTH
cdef frozenset _AF_INET6
cdef frozenset _EXT_8
cdef dict _LINK
cdef list _ADDRS
cdef Segment _SPARE
cdef Py_ssize_t _ADDR_SLOTS


@cython.locals(data=bytes, lt=cython.longlong, etype=int)
cpdef object decode(RawPacket raw)

cdef inline int _u16(bytes data, Py_ssize_t off) except -1
@cython.locals(high=cython.longlong)
cdef inline long long _u32(bytes data, Py_ssize_t off) except -1
@cython.locals(overflow=int, ns=cython.longlong)
cdef double _seconds(object ts_ns) except? -1.0
cdef tuple _u32_pair(bytes data, Py_ssize_t off)

cdef inline int _be16(cbytes view, Py_ssize_t off) noexcept
@cython.locals(high=cython.longlong)
cdef inline long long _be32(cbytes view, Py_ssize_t off) noexcept

@cython.locals(cview=cbytes, slot=Py_ssize_t, low=cython.ulonglong, cached=bytes, addr=bytes)
cdef bytes _addr(cbytes view, Py_ssize_t off, Py_ssize_t size)

@cython.locals(etype=int, vihl=int, total=Py_ssize_t, ip_id=int, frag=int, ttl=int, proto=int,
               sport=int, dport=int, seq=cython.longlong, ack=cython.longlong, offbyte=int,
               flagbyte=int, win=int, urg=int, ipmax=Py_ssize_t, hlen=Py_ssize_t,
               length=Py_ssize_t, have=Py_ssize_t, captured=Py_ssize_t, tsval=cython.longlong,
               tsecr=cython.longlong)
cdef Segment _ether_ipv4_tcp(cbytes view, Py_ssize_t n, long long wire, long long frame)

@cython.locals(seg=Segment)
cdef Segment _segment(long long frame, double ts, bytes src, bytes dst, int sport, int dport, long long seq,
                      long long ack, int flags, int win, long long length, object mss,
                      object wscale, bint sack_perm, tuple sacks, long long tsval,
                      long long tsecr, bint tfo, bint mptcp, long long ip_id, long long ttl,
                      long long captured, int urg)

@cython.locals(n=Py_ssize_t, bottom=int)
cdef object _ether_type(RawPacket raw, bytes data, int etype, Py_ssize_t off, int depth)

@cython.locals(version=int)
cdef object _ip_by_version(RawPacket raw, bytes data, Py_ssize_t off, int depth)

cdef object _ppp_proto(RawPacket raw, bytes data, int proto, Py_ssize_t off, int depth)

cdef object _af(RawPacket raw, bytes data, long long family)

@cython.locals(n=Py_ssize_t)
cdef object _ppp_at(RawPacket raw, bytes data, Py_ssize_t off, int depth)

@cython.locals(n=Py_ssize_t, fc0=int, fc1=int, subtype=int, hlen=Py_ssize_t,
               llc=Py_ssize_t)
cdef object _ieee80211(RawPacket raw, bytes data, Py_ssize_t off)

@cython.locals(wire=Py_ssize_t, n=Py_ssize_t)
cdef Py_ssize_t _wire_end(RawPacket raw, bytes data) except -1

@cython.locals(view=cbytes, n=Py_ssize_t, vihl=int, total=Py_ssize_t, ip_id=int, frag=int, ttl=int,
               proto=int, src=bytes, dst=bytes, ihl=Py_ssize_t, wire_len=Py_ssize_t,
               toff=Py_ssize_t)
cdef object _ipv4(RawPacket raw, bytes data, Py_ssize_t off, int depth)

@cython.locals(view=cbytes, n=Py_ssize_t, version=int, plen=Py_ssize_t, nxt=int, hlim=int, src=bytes,
               dst=bytes, wire_len=Py_ssize_t, end=Py_ssize_t, p=Py_ssize_t,
               hl=Py_ssize_t)
cdef object _ipv6(RawPacket raw, bytes data, Py_ssize_t off, int depth)

@cython.locals(n=Py_ssize_t, flags=int, proto=int, version=int, hlen=Py_ssize_t,
               p=Py_ssize_t)
cdef object _gre(RawPacket raw, bytes data, Py_ssize_t off, int depth)

@cython.locals(n=Py_ssize_t, sport=int, dport=int, p=Py_ssize_t, q=Py_ssize_t, proto=int,
               gflags=int, nxt=int, elen=Py_ssize_t, lflags=int)
cdef object _udp(RawPacket raw, bytes data, Py_ssize_t off, int depth)

@cython.locals(view=cbytes, n=Py_ssize_t, sport=int, dport=int, seq=cython.longlong,
               ack=cython.longlong, offbyte=int, flagbyte=int, win=int, urg=int,
               hlen=Py_ssize_t, length=Py_ssize_t, have=Py_ssize_t, captured=Py_ssize_t,
               flags=int, ostart=Py_ssize_t, oend=Py_ssize_t, p=Py_ssize_t, kind=int,
               olen=Py_ssize_t, k=Py_ssize_t, i=Py_ssize_t, sack_perm=bint, tfo=bint,
               mptcp=bint, sacks=tuple, tsval=cython.longlong, tsecr=cython.longlong)
cdef object _tcp(RawPacket raw, bytes data, Py_ssize_t off, Py_ssize_t ip_payload, bytes src,
                 bytes dst, long long ip_id, int ttl)

@cython.locals(etype=int, vihl=int, total=Py_ssize_t, frag=int, proto=int, ipmax=Py_ssize_t,
               hlen=Py_ssize_t)
cdef long long common_frame_ports(cbytes view, Py_ssize_t n, long long wire) noexcept
