# C types for the compiled build of reader.py (Cython pure-Python mode).  The record
# loops are generator methods of a plain class: their local types are given with
# @cython.locals in reader.py itself.
cimport cython

@cython.locals(high=cython.longlong)
cdef long long _u32(bytes buf, Py_ssize_t pos, bint little) except -1
