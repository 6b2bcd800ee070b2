# C types for the compiled build of export.py (Cython pure-Python mode): FlowJson's
# methods call each other as C functions, its fields are struct slots.
cimport cython

from tcpforensics.model cimport Endpoint, StateChange


@cython.locals(n=cython.longlong)
cpdef str float_text(double v)
@cython.locals(n=cython.longlong)
cpdef str int_text(object v)
# gcc's 128-bit integer, for the one product of _shortest_decimal that needs it (Cython
# takes it for an unsigned long long: it is never converted to a Python int)
cdef extern from *:
    """
    typedef unsigned __int128 tcpf_u128;
    """
    ctypedef unsigned long long u128 "tcpf_u128"


@cython.locals(shift=cython.int, scale=cython.double, big=cython.longlong,
               decimals=cython.int, low_bits=cython.int, five=cython.longlong,
               high=cython.longlong, low=u128, tail=u128, n=cython.longlong,
               twice=cython.longlong, half=cython.longlong)
cpdef object _shortest_decimal(double v)
@cython.locals(digits=str)
cdef str _fixed_text(long long n, int decimals)
@cython.locals(pos=cython.int)
cdef str _fixed_text_c(unsigned long long n, int decimals)


@cython.final
cdef class FlowJson:
    cdef public object compact
    cdef public str item_sep, key_sep
    cdef tuple flow_pieces, endpoint_pieces, state_pieces, stall_pieces
    cdef str detail_key
    cdef object contract_counters, counter_keys, endpoint_dict, string
    cdef tuple counter_layout
    cdef dict counters_memo, strings
    cdef tuple tails

    cpdef str value(self, object v)
    cpdef str mapping(self, object d)
    @cython.locals(change=StateChange)
    cpdef str flow(self, object f)
    @cython.locals(tails=dict)
    cpdef str state_tail(self, object endpoint, object state)
    cpdef str endpoint(self, object e)
    cdef str endpoint_fields(self, Endpoint e)
    cpdef object counters(self, object counters)
    @cython.locals(key=cython.Py_ssize_t, i=cython.Py_ssize_t, count=cython.int, layout=tuple)
    cdef Py_ssize_t counts_key(self, dict counters) except? -2
    cpdef str stall(self, object s)
