# C types for the compiled build of arrays.py: cimport these where numbers are appended
# per packet or per round (`from tcpforensics.arrays cimport push_d` in the .pxd, and
# `from cython.cimports.tcpforensics.arrays import push_d` under `cython.compiled`).
cimport cython
from cpython.array cimport array

# the array object's allocated size (cpython.array declares only its item count)
cdef extern from *:
    ctypedef struct ArrayHead "arrayobject":
        Py_ssize_t allocated

@cython.locals(head="ArrayHead *")
cdef int _make_room(array a, Py_ssize_t n) except -1

# a C return value to test for errors (not PyErr_Occurred after each push)
@cython.locals(n=Py_ssize_t)
cdef int push_d(array a, double x) except -1
@cython.locals(n=Py_ssize_t)
cdef int push_q(array a, long long x) except -1
@cython.locals(n=Py_ssize_t)
cdef int push_u(array a, unsigned int x) except -1
@cython.locals(n=Py_ssize_t)
cdef Py_ssize_t extend_d(array a, Py_ssize_t k) except -1
@cython.locals(n=Py_ssize_t, p="long long *")
cdef int push4(array a, long long w, long long x, long long y, long long z) except -1
@cython.locals(scaled=double, r=double, err=double)
cpdef double round6(double x)
@cython.locals(out=array, i=Py_ssize_t)
cpdef array rounded6(array a)

# Reading and writing one item of an array('d') / array('q') without boxing it (the pure
# build binds these to array.__getitem__ / __setitem__).  No bounds check: the caller
# keeps the index inside the array.
cdef inline double get_d(array a, Py_ssize_t i) noexcept:
    return a.data.as_doubles[i]
cdef inline void set_d(array a, Py_ssize_t i, double x) noexcept:
    a.data.as_doubles[i] = x
cdef inline long long get_q(array a, Py_ssize_t i) noexcept:
    return a.data.as_longlongs[i]
cdef inline void set_q(array a, Py_ssize_t i, long long x) noexcept:
    a.data.as_longlongs[i] = x
