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
@cython.locals(n=Py_ssize_t, p="long long *")
cdef int push4(array a, long long w, long long x, long long y, long long z) except -1
@cython.locals(scaled=double, r=double, err=double)
cpdef double round6(double x)
@cython.locals(out=array, i=Py_ssize_t)
cpdef array rounded6(array a)
