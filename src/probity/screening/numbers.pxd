# Cython declarations for numbers.py (an "augmenting" .pxd, like engine.pxd: the .py stays
# the reference and the pure-Python fallback; setup.py compiles it with these C types).
# tests/screening/test_screening_compiled.py proves both paths give identical results.

cimport cython

@cython.locals(view=str, latin=frozenset, out=list, n=Py_ssize_t, i=Py_ssize_t,
               cp=Py_ssize_t, v=Py_UCS4, s=Py_ssize_t, e=Py_ssize_t, plain=bint,
               has_digit=bint, alnum=bint)
cpdef list _groups_loop(str text)
