# C types for the compiled build of model.py (Cython pure-Python mode).  The per-packet
# records are cdef classes so every stage reads their fields at C speed:
#     from tcpforensics.model cimport Segment, SegmentVerdict
# Optional numbers are C fields with a -1 sentinel (`raw_*`), behind properties that
# give None; other fields that may be None stay `object`.
cimport cython


@cython.final
cdef class RawPacket:                  # free list: see model.py
    cdef public long long frame
    cdef public object ts_ns           # int; exceeds 64 bits on hostile pcapng input
    cdef public long long linktype
    cdef public long long caplen
    cdef public long long wirelen
    cdef public bytes data
    cdef public long long iface


@cython.final
@cython.freelist(8)
cdef class Segment:
    cdef public long long frame
    cdef public double ts
    cdef public bytes src              # packed address (4 or 16 bytes)
    cdef public bytes dst
    cdef public int sport
    cdef public int dport
    cdef public long long seq          # absolute 32-bit sequence number
    cdef public long long ack
    cdef public int flags
    cdef public int win                # raw, unscaled
    cdef public long long length
    cdef public object mss             # None when absent
    cdef public object wscale
    cdef public bint sack_perm
    cdef public tuple sacks            # of (left, right)
    cdef public long long raw_tsval    # -1: absent (the tsval property gives None)
    cdef public long long raw_tsecr
    cdef public bint tfo
    cdef public bint mptcp
    cdef public long long raw_ip_id
    cdef public long long raw_ttl
    cdef public long long captured_payload
    cdef public int urg_ptr


@cython.final
@cython.freelist(8)
cdef class SegmentVerdict:
    cdef public int direction
    cdef public long long rel_seq
    cdef public long long rel_ack
    cdef public long long win_scaled
    cdef public int analysis
    cdef public double raw_ack_rtt     # seconds; -1: none (the ack_rtt property gives None)
    cdef public long long raw_bytes_in_flight  # -1: none
    cdef public object retrans_cause
    cdef public object state
    cdef public long long acked_bytes
    cdef public long long sacked_bytes
    cdef public bint dsack


@cython.final
cdef class StateChange:
    cdef public double ts
    cdef public long long endpoint
    cdef public str state


@cython.final
cdef class Endpoint:
    cdef public object addr, role, packets, payload_bytes, mss, wscale
    cdef public object sack_permitted, timestamps, counters, cca


cdef class SegmentObserver:
    cpdef observe(self, Segment seg, SegmentVerdict verdict)
    cpdef finish(self, object result)
