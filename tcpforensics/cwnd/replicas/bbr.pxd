# C types for the compiled build of bbr.py (Cython pure-Python mode).
from tcpforensics.cwnd.replicas.base cimport Replica


cdef class BbrReplica(Replica):
    cdef public object mode            # STARTUP | DRAIN | PROBE_BW | PROBE_RTT
    cdef public list bw_samples
    cdef public long long round
    cdef public double min_rtt
    cdef public double min_rtt_stamp
    cdef public long cycle_idx
    cdef public double cycle_stamp
    cdef public double full_bw
    cdef public long full_bw_cnt
    cdef public object probe_rtt_done  # seconds, None outside PROBE_RTT
    cdef public double prior_cwnd
    cdef public double pacing_gain
    cdef public long probe_rtt_count
    cdef public double last_rtt
    cpdef double target_cwnd(self, double gain=*)
    cpdef _enter_probe_rtt(self, double now)  # cpdef: the synthetic tests call it
    cdef _update_mode(self, double now, object inflight)
    cdef _update_cwnd(self, double acked)
    # overrides of Replica's methods (same signatures)
    cpdef on_ack(self, double now, double acked, object rtt=*, object inflight=*,
                 object rate=*, bint cwnd_limited=*)
    cpdef on_loss(self, double now)
    cpdef on_recovery_end(self, double now)
    cpdef new_round(self, double now)
    cpdef on_rto(self, double now)
