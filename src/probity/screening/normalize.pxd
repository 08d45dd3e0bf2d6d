# Cython declarations for normalize.py (an "augmenting" .pxd, like engine.pxd: the .py stays
# the reference and the pure-Python fallback; setup.py compiles it with these C types).

cimport cython

@cython.locals(starts=list, ends=list, i=Py_ssize_t, c=Py_UCS4)
cpdef tuple _unit_offsets(str one)

@cython.locals(one=str, starts=list, ends=list, i=Py_ssize_t, c=Py_UCS4, cp=Py_ssize_t,
               f=Py_UCS4, n=Py_ssize_t, k=Py_ssize_t, j=Py_ssize_t, kind=int,
               data=cython.p_void, pos=cython.p_Py_ssize_t, v=object)
cpdef tuple _content_offsets(str text)

@cython.locals(one=str, chars=list, starts=list, ends=list, i=Py_ssize_t, c=Py_UCS4,
               cp=Py_ssize_t, f=Py_UCS4, n=Py_ssize_t, k=Py_ssize_t, j=Py_ssize_t, v=object,
               kind=int, data=cython.p_void)
cpdef object _fold_bmp(str text)

@cython.locals(out=str)
cpdef str strip_separators(str s)

@cython.locals(out=str)
cpdef str quick_strip(str text)

@cython.locals(one=str, pieces=list, start=Py_ssize_t, n=Py_ssize_t, i=Py_ssize_t, c=Py_UCS4,
               cp=Py_ssize_t, k=Py_ssize_t, kind=int, data=cython.p_void, buf=cython.p_Py_UCS4)
cdef object _drop_separators(str s, bint alnum_stops)

@cython.locals(quick=str)
cpdef str _strip_chain(str text)

cdef class Folded:
    cdef public str text
    cdef public str compact
    cdef public list starts
    cdef public list ends

@cython.locals(f=Folded)
cpdef Folded _folded(str text, str compact, list starts, list ends)

@cython.locals(n=Py_ssize_t, starts=list, ends=list, chars=list, i=Py_ssize_t)
cpdef Folded fold_exact(str text, str one=*, str quick=*)
