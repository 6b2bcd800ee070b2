# C types for the compiled build of analysis.py (Cython pure-Python mode).
cimport cython

from tcpforensics.tcp.endpoint cimport EndpointState
from tcpforensics.tcp.unacked cimport Unacked

# flag bits as C constants (the names are not module attributes in the compiled build)
cdef long long ACK, FIN, RST, SYN, MASK, HALF
cdef long long RETRANSMISSION, FAST_RETRANSMISSION, SPURIOUS_RETRANSMISSION, OUT_OF_ORDER
cdef long long LOST_SEGMENT, ACK_LOST_SEGMENT, DUPLICATE_ACK, ZERO_WINDOW, ZERO_WINDOW_PROBE
cdef long long ZERO_WINDOW_PROBE_ACK, WINDOW_FULL, WINDOW_UPDATE, KEEP_ALIVE, KEEP_ALIVE_ACK
cdef long long REUSED_PORTS, ANY_RETRANS, _SFR, _SF
cdef double FAST_WINDOW, OOO_DEFAULT, EPS

cpdef void set_bases(EndpointState fwd, EndpointState rev, long long seq, long long ack,
                     long long flags)

@cython.locals(nextseq="long long", lastack="long long", no_sfr=bint, d="long long",
               shift="long long", rmax="long long", not_adv=bint, rlast="long long",
               dt=double, thres=double, nxt="long long")
cpdef (long long, bint) wireshark_flags(object conn, EndpointState fwd, EndpointState rev,
                                        long long frame, double ts, long long seq,
                                        long long ack, long long seglen, long long flags,
                                        long long window, long long ta, long long rel_seq)

@cython.locals(unacked=Unacked, inflight="long long", left="long long", right="long long")
cpdef long long bytes_in_flight(EndpointState fwd, EndpointState rev, long long seglen,
                                long long flags) except? -2
