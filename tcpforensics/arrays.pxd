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
# A first-in first-out ring of records of doubles (see arrays.py).  Not final, so that
# a queue with its own field accessors can extend it (one object, not two); its methods
# are final (direct C calls), the offsets inline here (arrays.py has them for the pure
# build only).
cdef class Ring:
    cdef double *p                     # data's buffer: one cache line less per access
    cdef public Py_ssize_t head, n, cap, width
    cdef public array data
    cdef public Py_ssize_t low, high
    @cython.final
    cdef inline double get(self, Py_ssize_t i) noexcept:
        return self.p[i]
    @cython.final
    cdef inline void put(self, Py_ssize_t i, double x) noexcept:
        self.p[i] = x
    @cython.final
    cdef void setup(self, Py_ssize_t width, Py_ssize_t low, Py_ssize_t high) noexcept
    @cython.final
    cdef inline Py_ssize_t size(self) noexcept:
        return self.n
    @cython.final
    cdef inline Py_ssize_t first(self) noexcept:
        return self.head * self.width
    @cython.final
    cdef inline Py_ssize_t second(self) noexcept:
        return ((self.head + 1) & (self.cap - 1)) * self.width
    @cython.final
    cdef inline Py_ssize_t last(self) noexcept:
        return ((self.head + self.n - 1) & (self.cap - 1)) * self.width
    @cython.final
    cdef inline Py_ssize_t at(self, Py_ssize_t k) noexcept:
        return ((self.head + k) & (self.cap - 1)) * self.width
    @cython.final
    @cython.locals(k=Py_ssize_t)
    cdef Py_ssize_t push(self) except -1
    @cython.final
    cdef inline void clear(self) noexcept:
        self.head = 0
        self.n = 0
    @cython.final
    cdef int pop_first(self) except -1
    @cython.final
    cdef int pop_last(self) except -1
    @cython.final
    @cython.locals(data=array, width=Py_ssize_t, head=Py_ssize_t, start=Py_ssize_t,
                   stop=Py_ssize_t, wrapped=Py_ssize_t)
    cdef int _resize(self, Py_ssize_t cap) except -1

cdef array _NO_RECORDS
cdef array _new_records(Py_ssize_t n)
cdef int _set_length(array a, Py_ssize_t n) except -1

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
