# C types for the compiled build of cubic.py (Cython pure-Python mode).
from tcpforensics.cwnd.replicas.base cimport Replica


cdef class CubicReplica(Replica):
    cdef public double w_max
    cdef public object epoch_start     # seconds, None: no congestion-avoidance epoch
    cdef public double k
    cdef public double origin
    cdef public double ack_cnt
    cdef public double w_est
    cdef public double delay_min
    cdef public double cwnd_cnt
    cdef public double cnt
    cdef public bint hystart
    cdef public object hs_round_start  # seconds, None before the first round
    cdef public double hs_last_ack
    cdef public double hs_curr_rtt
    cdef public long hs_samples
    cdef public bint hs_found
    cdef _hystart(self, double now, object rtt)
    cdef _exit_slow_start(self)
    cdef _update(self, double now, double acked)
    # overrides of Replica's methods (same signatures)
    cpdef anchor(self, double cwnd, double now)
    cpdef on_ack(self, double now, double acked, object rtt=*, object inflight=*,
                 object rate=*, bint cwnd_limited=*)
    cpdef on_loss(self, double now)
    cpdef new_round(self, double now)
    cpdef on_rto(self, double now)
