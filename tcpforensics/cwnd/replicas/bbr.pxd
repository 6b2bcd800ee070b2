# C types for the compiled build of bbr.py (Cython pure-Python mode).
cimport cython

from tcpforensics.arrays cimport Ring
from tcpforensics.cwnd.replicas.base cimport Replica

# the model's constants as C numbers (PACING_GAINS and the mode names stay Python objects;
# _GAINS is PACING_GAINS as a C global)
cdef double HIGH_GAIN, DRAIN_GAIN, CWND_GAIN, MIN_RTT_WINDOW, PROBE_RTT_TIME, MIN_CWND
cdef double FULL_BW_THRESH
cdef long BW_WINDOW_ROUNDS, FULL_BW_ROUNDS
cdef int _STARTUP, _DRAIN, _PROBE_BW, _PROBE_RTT
cdef tuple _GAINS
cdef long _CYCLE


cdef Py_ssize_t _BW_SLOTS, _BW_SLOTS_MAX


cdef class BbrReplica(Replica):
    cdef public int phase              # the mode: _STARTUP | _DRAIN | _PROBE_BW | _PROBE_RTT
    cdef public double bw              # max of the filter's samples (0.0: none yet)
    cdef public Ring bw_filter
    cdef public long long round
    cdef public double min_rtt
    cdef public double min_rtt_stamp
    cdef public long cycle_idx
    cdef public double cycle_stamp
    cdef public double full_bw
    cdef public long full_bw_cnt
    cdef public double probe_rtt_done  # seconds, inf outside PROBE_RTT
    cdef public double prior_cwnd
    cdef public double pacing_gain
    cdef public long probe_rtt_count
    cdef public double last_rtt
    cpdef double bdp(self)
    cpdef double target_cwnd(self, double gain=*)
    cpdef _enter_probe_rtt(self, double now)  # cpdef: the synthetic tests call it
    @cython.locals(f=Ring, oldest="long long", i=Py_ssize_t)
    cdef _bw_sample(self, double rate)
    cdef _update_mode(self, double now, double inflight)
    cdef _update_cwnd(self, double acked)
    # overrides of Replica's methods (same signatures)
    cpdef on_ack(self, double now, double acked, double rtt=*, double inflight=*,
                 double rate=*, bint cwnd_limited=*)
    cpdef on_loss(self, double now)
    cpdef on_recovery_end(self, double now)
    cpdef new_round(self, double now)
    cpdef on_rto(self, double now)
    cpdef double inflight_target(self)
