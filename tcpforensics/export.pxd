# C types for the compiled build of export.py (Cython pure-Python mode): FlowJson's
# methods call each other as C functions, its fields are struct slots.
cimport cython


@cython.locals(n=cython.longlong, whole=cython.longlong, frac=cython.longlong)
cpdef str float_text(double v)
@cython.locals(shift=cython.int, scale=cython.double, big=cython.longlong, q=cython.int,
               decimals=cython.int, low_bits=cython.int, five=cython.longlong,
               high=cython.longlong, tail=cython.longlong, n=cython.longlong,
               twice=cython.longlong, half=cython.longlong, whole=cython.longlong,
               frac=cython.longlong)
cpdef object _shortest_decimal(double v)


@cython.final
cdef class FlowJson:
    cdef public object compact
    cdef public str item_sep, key_sep
    cdef tuple flow_pieces, endpoint_pieces, state_pieces, stall_pieces
    cdef str detail_key
    cdef object contract_counters, counter_keys, endpoint_dict, string
    cdef dict counters_memo, tails, strings

    cpdef str value(self, object v)
    cpdef str mapping(self, object d)
    cpdef str flow(self, object f)
    cpdef str state_tail(self, object endpoint, object state)
    cpdef str endpoint(self, object e)
    cpdef object counters(self, object counters)
    cpdef str stall(self, object s)
