# C declarations for the compiled build of findings.py (Cython pure-Python mode): the
# helpers every flow calls many times are C functions within the module.
cimport cython

cpdef object _counter(object f, object i, object name)
cpdef object _host(object addr)
cpdef tuple _count_retransmissions(object f, object d)
cpdef tuple _loss_repairs(object f, object d)
cpdef object _repairs(object f, object d, dict causes)
cpdef tuple _syn_retransmissions(object f, object fx)
cpdef dict _superframes(object f, object fx)
cpdef object _capture_gaps(object f)
@cython.locals(tcp=dict)
cpdef bint _keepalive_evidence(object f, dict fx) except -1
cpdef object _evidence(object ctx, object f)
@cython.locals(bits=cython.long, sides=cython.Py_ssize_t, d=cython.Py_ssize_t, tcp=dict)
cpdef object flow_evidence(object f, dict fx=*)
