# C declarations for the compiled build of findings.py (Cython pure-Python mode): the
# helpers every flow calls many times are C functions within the module.
cpdef object _counter(object f, object i, object name)
