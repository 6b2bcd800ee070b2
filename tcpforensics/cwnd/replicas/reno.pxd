# C types for the compiled build of reno.py (Cython pure-Python mode).
cimport cython

from tcpforensics.cwnd.replicas.base cimport Replica


cdef class RenoReplica(Replica):
    cdef public double cwnd_cnt
    # overrides of Replica's methods (same signatures)
    @cython.locals(cnt=object)
    cpdef on_ack(self, double now, double acked, double rtt=*, double inflight=*,
                 double rate=*, bint cwnd_limited=*)
    cpdef on_loss(self, double now)
