# C types for the compiled build of results.py (Cython pure-Python mode): what runs for
# every packed flow, twice when it is read (a packed flow's dicts).
cimport cython


@cython.final
cdef class Shapes:
    cdef public dict index
    cdef public list shapes
    cdef public list blanks

    @cython.locals(values=list, nested=list, i=Py_ssize_t, shape=tuple)
    cpdef object pack(self, object d, tuple ends)
    @cython.locals(index=Py_ssize_t)
    cdef Py_ssize_t _add(self, tuple shape) except -1
    @cython.locals(index=Py_ssize_t, values=list, keys=tuple, nested=tuple, i=Py_ssize_t,
                   out=dict)
    cpdef dict unpack(self, object packed)


@cython.locals(endpoints=list, e=list)
cpdef tuple _unpack_facts(bytes facts, Shapes shapes)
cpdef dict _unpack_tcp(bytes tcp, Shapes shapes)
cpdef tuple _unpack_timeline(bytes timeline, Shapes shapes)


@cython.locals(ends=tuple)
cpdef object pack(object result, Shapes shapes=*)
