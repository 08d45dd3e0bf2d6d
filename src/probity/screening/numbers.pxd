# Cython declarations for numbers.py (an "augmenting" .pxd, like engine.pxd: the .py stays
# the reference and the pure-Python fallback; setup.py compiles it with these C types).
# tests/screening/test_screening_compiled.py proves both paths give identical results.

cimport cython

from probity.screening.normalize cimport Folded

@cython.locals(view=str, latin=frozenset, out=list, n=Py_ssize_t, i=Py_ssize_t,
               cp=Py_ssize_t, v=Py_UCS4, s=Py_ssize_t, e=Py_ssize_t, plain=bint,
               has_digit=bint, alnum=bint)
cpdef list _groups_loop(str text)

@cython.locals(out=bytearray, i=Py_ssize_t, v=Py_UCS4)
cdef str _run_digits(str text, Py_ssize_t s, Py_ssize_t e, str view)

cdef class _Group:
    cdef public Py_ssize_t start
    cdef public Py_ssize_t end
    cdef public str digits
    cdef public bint alnum

@cython.locals(i=Py_ssize_t)
cpdef bint _masked(str text, Py_ssize_t lo, Py_ssize_t hi)

@cython.locals(clusters=list, g=_Group, prev=_Group)
cpdef list _clusters(str text, list groups)

@cython.locals(one=str, i=Py_ssize_t, cp=Py_ssize_t)
cpdef bint _only_separators(str text, Py_ssize_t a, Py_ssize_t b)

@cython.locals(g=_Group)
cdef _Group _new_group(Py_ssize_t start, Py_ssize_t end, str digits, bint alnum)

@cython.locals(best=str, best_e=Py_ssize_t, oe=Py_ssize_t, ue=Py_ssize_t, by_kind=dict,
               ends=list, spans=list, kind=str)
cpdef object _nearest_cue(Py_ssize_t start, tuple kinds, object ctx, Folded folded)

@cython.locals(core=str, prefix=str, p=str)
cpdef bint _allowed(str digits, object policy)

cpdef bint is_cn_mobile(str digits)

@cython.locals(groups=list, hits=list, clusters=list, free=list, n_text=Py_ssize_t,
               s0=Py_ssize_t, e0=Py_ssize_t, cl=list, g=_Group, whole=str, acc=str,
               i=Py_ssize_t, j=Py_ssize_t, found=bint, official=bint, phone_talk=bint,
               n_acc=Py_ssize_t)
cpdef list find_number_hits(str text, object folded, object ctx, object policy)
