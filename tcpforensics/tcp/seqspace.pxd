# C types for the compiled build of seqspace.py (Cython pure-Python mode).
cdef class Unwrapper:
    cdef public long long base
    cdef public long long last
    cpdef long long rel(self, long long value)
    cpdef long long peek(self, long long value)
