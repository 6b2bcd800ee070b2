# C types for the compiled build of seqspace.py (Cython pure-Python mode).
cimport cython

cdef long long _MASK, _HALF, _SPAN


cdef class Unwrapper:
    cdef public long long base
    cdef public long long last
    @cython.locals(last="long long", d="long long", r="long long")
    cpdef long long rel(self, long long value)
    @cython.locals(d="long long")
    cpdef long long peek(self, long long value)
