# Cython declarations for result.py (an "augmenting" .pxd, like engine.pxd: the .py stays the
# reference and the pure-Python fallback). ScreeningResult becomes an extension type: its
# fields are C struct members, so building a result costs no generic attribute stores.

cimport cython

cdef extern from "Python.h":
    # make_span's allocation (the type's tp_alloc, as tuple.__new__(Span, ...) calls it);
    # declared here with a type argument (cpython/type.pxd's takes an object).
    object _generic_alloc "PyType_GenericAlloc"(type t, Py_ssize_t nitems)

cdef class ScreeningResult:
    cdef public str decision
    cdef public list categories
    cdef public object severity
    cdef public list spans
    cdef public str masked
    cdef public object policy_version
    cdef public object model_scores
    cdef public list drivers
    cdef public str source
    cdef public object suppressed
    cdef public object negated
    cdef public object concrete
    cdef public list vetoed
    cpdef tuple _fields(self)

cpdef ScreeningResult allow_result(str masked, object policy_version)

cpdef object make_span(object start, object end, object category, object rule, object severity)

@cython.locals(r=ScreeningResult)
cpdef ScreeningResult rules_result(str decision, list categories, object severity, list spans,
                                   str masked, object policy_version)

cdef class EntryInfo:
    cdef public object entry
    cdef public str category
    cdef public object severity
    cdef public str rule
    cdef public int roles
    cdef public double max_gap
    cdef public object parts
    cdef public Py_ssize_t first
    cdef public int flags

cpdef int entry_flags(object entry)
