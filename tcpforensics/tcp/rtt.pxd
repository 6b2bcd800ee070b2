# C types for the compiled build of rtt.py (Cython pure-Python mode).
cimport cython
from cpython.array cimport array

from tcpforensics.arrays cimport _set_length, push_d

cdef unsigned long long _U64, _LCG_MUL, _LCG_ADD
cdef Py_ssize_t RESERVOIR
cdef double _RTO_MIN, _RTO_MAX, _CLOCK_G
cdef array _NO_SAMPLES


@cython.final
@cython.no_gc
@cython.freelist(16)
cdef class RtoEstimator:
    cdef public double srtt
    cdef public double rttvar
    cdef public double rto
    cdef public long long samples
    cdef public long long backoffs

    cdef void _reset(self)
    @cython.locals(rto=double)
    cpdef void sample(self, double r)
    cpdef void backoff(self)
    cpdef dict as_dict(self)


@cython.final
@cython.no_gc
@cython.freelist(16)
cdef class RttSummary:
    cdef public double min
    cdef public double max
    cdef public long long count
    cdef public array _res
    cdef public unsigned long long _k

    cdef void _reset(self)
    @cython.locals(j="long long", res=array)
    cpdef void add(self, double r)
    cpdef dict as_dict(self)


@cython.locals(est=RtoEstimator)
cpdef RtoEstimator new_rto()
@cython.locals(summ=RttSummary)
cpdef RttSummary new_summary()


@cython.locals(n=Py_ssize_t, buf=array, p="double *", k=Py_ssize_t, i=Py_ssize_t,
               lower=double, s=list)
cdef double _median(array a) except? -1.0
@cython.locals(p="double *", i=Py_ssize_t, x=double)
cdef bint _all_ordered(array a) noexcept
@cython.locals(lo=Py_ssize_t, hi=Py_ssize_t, mid=Py_ssize_t, i=Py_ssize_t, j=Py_ssize_t,
               pivot=double)
cdef void _select(double *p, Py_ssize_t n, Py_ssize_t k) noexcept
