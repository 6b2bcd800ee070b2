# C types for the compiled build of sack.py (Cython pure-Python mode).
cimport cython


@cython.final
cdef class Scoreboard:
    cdef public list ranges
    cdef public long long sacked

    @cython.locals(rs=list, keep=list, total="long long", left="long long", right="long long")
    cpdef void advance(self, long long una)
    @cython.locals(rs=list, before="long long", merged=list, placed=bint, a="long long",
                   b="long long", total="long long", n=Py_ssize_t, last=list,
                   grown="long long")
    cpdef long long add(self, long long left, long long right, long long una)
