# C types for the compiled build of cubic.py (Cython pure-Python mode).
cimport cython

from tcpforensics.cwnd.replicas.base cimport Replica

# the model's constants as C numbers (BETA and C stay Python objects: the tests use them)
cdef double HYSTART_ACK_DELTA, RENO_ALPHA, _UNSET
cdef long HYSTART_LOW_WINDOW, HYSTART_MIN_SAMPLES


cdef class CubicReplica(Replica):
    cdef public double w_max
    cdef public double epoch_start     # seconds, _UNSET: no congestion-avoidance epoch
    cdef public double k
    cdef public double origin
    cdef public double ack_cnt
    cdef public double w_est
    cdef public double delay_min
    cdef public double cwnd_cnt
    cdef public double cnt
    cdef public bint hystart
    cdef public double hs_round_start  # seconds, _UNSET before the first round
    cdef public double hs_last_ack
    cdef public double hs_curr_rtt
    cdef public long hs_samples
    cdef public bint hs_found
    cdef _hystart(self, double now, double rtt)
    cdef _exit_slow_start(self)
    @cython.locals(cwnd=double, t=double, target=double, cnt=double, max_cnt=double)
    cdef _update(self, double now, double acked)
    # overrides of Replica's methods (same signatures)
    cpdef anchor(self, double cwnd, double now)
    cpdef on_ack(self, double now, double acked, double rtt=*, double inflight=*,
                 double rate=*, bint cwnd_limited=*)
    cpdef on_loss(self, double now)
    cpdef new_round(self, double now)
    cpdef on_rto(self, double now)
