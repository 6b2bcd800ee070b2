# C types for the compiled build of seqspace.py (Cython pure-Python mode).
# (nothing to declare: the comparisons are plain functions on ints)
