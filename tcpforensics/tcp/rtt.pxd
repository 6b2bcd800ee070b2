# C types for the compiled build of rtt.py (Cython pure-Python mode).
cimport cython
from cpython.array cimport array

from tcpforensics.arrays cimport push_d

cdef unsigned long long _U64, _LCG_MUL, _LCG_ADD
cdef Py_ssize_t RESERVOIR
cdef double _RTO_MIN, _RTO_MAX, _CLOCK_G


@cython.final
cdef class RtoEstimator:
    cdef public double srtt
    cdef public double rttvar
    cdef public double rto
    cdef public long long samples
    cdef public long long backoffs

    @cython.locals(rto=double)
    cpdef void sample(self, double r)
    cpdef void backoff(self)
    cpdef dict as_dict(self)


@cython.final
cdef class RttSummary:
    cdef public double min
    cdef public double max
    cdef public long long count
    cdef public array _res
    cdef public unsigned long long _k

    @cython.locals(j="long long", res=array)
    cpdef void add(self, double r)
    @cython.locals(s=list, n=Py_ssize_t)
    cpdef dict as_dict(self)
