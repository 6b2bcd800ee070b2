# C types for the compiled build of base.py (Cython pure-Python mode).  The estimator
# drives the replicas once per round through these cpdef methods (direct C calls through
# the vtable, positional C arguments).
cdef class Replica:
    cdef public double cwnd
    cdef public double ssthresh
    cdef public bint in_recovery
    cpdef anchor(self, double cwnd, double now)
    cpdef on_ack(self, double now, double acked, double rtt=*, double inflight=*,
                 double rate=*, bint cwnd_limited=*)
    cpdef on_loss(self, double now)
    cpdef on_recovery_end(self, double now)
    cpdef new_round(self, double now)
    cpdef on_rto(self, double now)
    cpdef double inflight_target(self)
