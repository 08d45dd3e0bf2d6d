# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Compiled texts of UTC datetimes (setup.py builds it; optional). ``probity.utctext`` chooses
it or the pure-Python forms, which these are byte for byte (tests/finance/test_time_texts.py):

* :func:`utc_texts` — ``d.isoformat(" ", "microseconds")`` of each value
  (``2026-09-30 16:00:30.000000+00:00``), as ``probity.bulk.utc_texts``;
* :func:`iso_texts` — ``d.isoformat()`` of each value (``2026-09-30T16:00:30+00:00``; the
  microseconds only when not zero), the ledger leaf's form.

Each returns None unless *values* is a non-empty list of exact ``datetime`` objects whose
tzinfo is ``datetime.UTC`` (the callers then take their pure-Python path). The digits are
written into a C buffer from the datetime's fields (no ``utcoffset`` call, no format parsing):
~0.01 s per 100,000 values against ~0.15-0.25 s for ``isoformat``.
"""

from cpython.datetime cimport (
    PyDateTime_CheckExact,
    datetime_day,
    datetime_hour,
    datetime_microsecond,
    datetime_minute,
    datetime_month,
    datetime_second,
    datetime_tzinfo,
    datetime_year,
    import_datetime,
)
from cpython.list cimport PyList_GET_ITEM, PyList_GET_SIZE, PyList_New, PyList_SET_ITEM
from cpython.ref cimport Py_INCREF
from cpython.unicode cimport PyUnicode_DecodeASCII

import_datetime()

from datetime import UTC as _UTC_OBJ

cdef object _UTC = _UTC_OBJ


cdef inline void _digits(char* buf, int pos, int value, int width) noexcept nogil:
    cdef int i
    for i in range(width - 1, -1, -1):
        buf[pos + i] = <char>(48 + value % 10)
        value = value // 10


cdef bint _all_utc(list values):
    cdef Py_ssize_t i, n = PyList_GET_SIZE(values)
    cdef object v
    if n == 0:
        return False
    for i in range(n):
        v = <object>PyList_GET_ITEM(values, i)
        if not PyDateTime_CheckExact(v) or datetime_tzinfo(v) is not _UTC:
            return False
    return True


cdef list _format(list values, char sep, bint always_micro):
    cdef Py_ssize_t i, n = PyList_GET_SIZE(values)
    cdef char buf[40]
    cdef int length, micro
    cdef object v, text
    cdef list out = PyList_New(n)
    for i in range(n):
        v = <object>PyList_GET_ITEM(values, i)
        _digits(buf, 0, datetime_year(v), 4)
        buf[4] = b'-'
        _digits(buf, 5, datetime_month(v), 2)
        buf[7] = b'-'
        _digits(buf, 8, datetime_day(v), 2)
        buf[10] = sep
        _digits(buf, 11, datetime_hour(v), 2)
        buf[13] = b':'
        _digits(buf, 14, datetime_minute(v), 2)
        buf[16] = b':'
        _digits(buf, 17, datetime_second(v), 2)
        length = 19
        micro = datetime_microsecond(v)
        if always_micro or micro:
            buf[19] = b'.'
            _digits(buf, 20, micro, 6)
            length = 26
        buf[length] = b'+'
        buf[length + 1] = b'0'
        buf[length + 2] = b'0'
        buf[length + 3] = b':'
        buf[length + 4] = b'0'
        buf[length + 5] = b'0'
        text = PyUnicode_DecodeASCII(buf, length + 6, NULL)
        Py_INCREF(text)
        PyList_SET_ITEM(out, i, text)
    return out


def utc_texts(values):
    """``[d.isoformat(" ", "microseconds") for d in values]`` for a non-empty list of UTC
    datetimes, else None."""
    if type(values) is not list or not _all_utc(<list>values):
        return None
    return _format(<list>values, b' ', True)


def iso_texts(values):
    """``[d.isoformat() for d in values]`` for a non-empty list of UTC datetimes, else
    None."""
    if type(values) is not list or not _all_utc(<list>values):
        return None
    return _format(<list>values, b'T', False)
