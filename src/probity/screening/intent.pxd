# Cython declarations for intent.py (an "augmenting" .pxd, like engine.pxd: the .py stays the
# reference and the pure-Python fallback; setup.py compiles it with these C types). The module
# is compiled with annotation_typing=False (as engine.py): only what is declared here is typed.
# tests/screening/test_screening_compiled.py proves both paths give identical results.

cimport cython

@cython.locals(n=Py_ssize_t, j=Py_ssize_t, col=list, re=double, im=double,
               z=cython.doublecomplex,
               i=Py_ssize_t)
cpdef _add_ids(list totals, list packed, set ids)

@cython.locals(w=double[::1], i=Py_ssize_t, j=Py_ssize_t, s0=double, s1=double, s2=double,
               s3=double)
cpdef _add_flat(list totals, object flat, set ids)

cpdef double _sigmoid(double x)

@cython.locals(best=double, v=double, i=Py_ssize_t)
cpdef double _max_flagged(dict scores)

@cython.locals(by_compact=dict)
cpdef object _cached(dict by_role, str role, str compact)

# A text's scores: read by learned.with_model as struct fields (learned.pxd cimports it).
cdef class IntentScores:
    cdef public dict scores
    cdef public list drivers
    cdef public bint notable, over

@cython.locals(hit=object)
cpdef IntentScores score_of(object model, str text, str role, object compact)

@cython.locals(pieces=list, parts=list, n=Py_ssize_t, i=Py_ssize_t, start=Py_ssize_t,
               c=Py_UCS4, d=Py_UCS4, f=Py_UCS4, cp=Py_ssize_t, end=Py_ssize_t, piece=str,
               g=str)
cpdef list _view_pieces(str text, str table, dict fast)

# The caches' raw sums: four doubles and no object field, so Cython gives the type no
# garbage-collector slots (an instance is never tracked).
cdef class _Sums:
    cdef public double s0, s1, s2, s3
    cpdef list values(self)

cpdef _Sums _sums(list raw)

@cython.locals(up=bint, i=Py_ssize_t, v=double)
cpdef bint _fold_in(_Sums pr, list base, list whole, list raw)
