# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""The learned layer's feature scan over the model's automaton (probity.screening._ac), in C:
what ``IntentModel._raw`` and ``IntentModel.drivers`` did through Python objects (a set of
int objects built by ``Automaton.key_set``: an int made and hashed per n-gram occurrence, a
second pass over the set converting each back; a ``(key, start, end)`` tuple per occurrence
for the drivers).

``add_sums``: the four weight sums over a text's distinct features, each the same additions
in the same order as ``sum(map(col.__getitem__, ids))`` over the set ``ids`` of the features'
indexes (the pure path), so the same floats bit for bit. A set's order is where its hash table
holds its items; for ints (hash = value) that follows from the order they were added in and
from CPython's set algorithm alone (setobject.c: linear probes of 9, then perturbation;
resized at 3/5 full to the next power of two above 4x the items). ``_Set`` below is that
table, for int32 indexes; ``SET_ORDER_OK`` is set at import by checking it against real sets
(random sequences, each size across several resizes): where it does not hold (another
interpreter's set), ``add_sums`` answers False and the caller takes the Python set's way.
tests/screening/test_screening_model_sums.py checks the sums bit for bit on corpus, joined
and random texts.

Built by setup.py beside _ac (optional, like it: without it intent uses key_set).
"""

import builtins
import random

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport (PyUnicode_4BYTE_KIND, PyUnicode_Compare, PyUnicode_Contains,
                              PyUnicode_FromKindAndData, Py_UNICODE_ISSPACE)
from libc.stdint cimport int32_t, uint32_t
from libc.stdlib cimport qsort
from libc.string cimport memset

from probity.screening._ac cimport Automaton, Edge, _step

cdef enum:
    LINEAR_PROBES = 9
    PERTURB_SHIFT = 5
    MINSIZE = 8


cdef struct _Set:
    int32_t* table  # -1: empty
    size_t mask
    Py_ssize_t fill
    Py_ssize_t used
    int32_t small[MINSIZE]


cdef inline void _init(_Set* s) noexcept:
    s.table = s.small
    s.mask = MINSIZE - 1
    s.fill = 0
    s.used = 0
    memset(s.small, 0xFF, sizeof(s.small))


cdef inline void _release(_Set* s) noexcept:
    if s.table != s.small:
        PyMem_Free(s.table)
    s.table = s.small


cdef inline void _insert_clean(int32_t* table, size_t mask, int32_t key) noexcept:
    """setobject.c's set_insert_clean (hash = key)."""
    cdef size_t perturb = <size_t>key
    cdef size_t i = <size_t>key & mask
    cdef size_t j
    while True:
        if table[i] < 0:
            table[i] = key
            return
        if i + LINEAR_PROBES <= mask:
            for j in range(1, LINEAR_PROBES + 1):
                if table[i + j] < 0:
                    table[i + j] = key
                    return
        perturb >>= PERTURB_SHIFT
        i = (i * 5 + 1 + perturb) & mask


cdef int _resize(_Set* s, Py_ssize_t minused) except -1:
    """setobject.c's set_table_resize (no dummies: nothing is ever removed)."""
    cdef size_t newsize = MINSIZE
    while newsize <= <size_t>minused:
        newsize <<= 1
    cdef int32_t* table = <int32_t*>PyMem_Malloc(newsize * sizeof(int32_t))
    if table == NULL:
        raise MemoryError()
    memset(table, 0xFF, newsize * sizeof(int32_t))
    cdef size_t i
    cdef int32_t* old = s.table
    for i in range(s.mask + 1):
        if old[i] >= 0:
            _insert_clean(table, newsize - 1, old[i])
    _release(s)
    s.table = table
    s.mask = newsize - 1
    s.fill = s.used
    return 0


cdef inline int _add(_Set* s, int32_t key) except -1:
    """setobject.c's set_add_entry (hash = key; an equal item found: nothing added)."""
    cdef size_t mask = s.mask
    cdef size_t i = <size_t>key & mask
    cdef size_t perturb = <size_t>key
    cdef size_t j
    cdef int probes
    cdef int32_t e
    cdef int32_t* table = s.table
    while True:
        j = i
        probes = LINEAR_PROBES if i + LINEAR_PROBES <= mask else 0
        while True:
            e = table[j]
            if e < 0:
                table[j] = key
                s.fill += 1
                s.used += 1
                if <size_t>s.fill * 5 < mask * 3:
                    return 0
                return _resize(s, s.used * 2 if s.used > 50000 else s.used * 4)
            if e == key:
                return 0
            if probes == 0:
                break
            probes -= 1
            j += 1
        perturb >>= PERTURB_SHIFT
        i = (i * 5 + 1 + perturb) & mask


cdef int _scan(Automaton a, str text, _Set* s) except -1:
    """Every key occurring in ``text`` added to ``s`` in the order Automaton.key_set adds
    them (by end position; at one end the state's own keys, then down the dictionary links)."""
    cdef Py_ssize_t state = 0, t, pid
    cdef Edge* cur = NULL
    cdef Py_UCS4 c
    for c in text:
        if 0xD800 <= c <= 0xDFFF:
            text.encode("utf-8")  # raises UnicodeEncodeError, as key_set does
        state = _step(a, state, c, &cur, &t)
        while t > 0:
            pid = a.own[t]
            while pid >= 0:
                _add(s, <int32_t>pid)
                pid = a.pid_next[pid]
            t = a.dlink[t]
    return 0


cpdef bint add_sums(Automaton a, str text, const double[::1] flat, list totals) except *:
    """``totals[c] += Σ flat[4 i + c]`` over the distinct keys ``i`` found in ``text`` (four
    classes), each sum from 0.0 in the set's order (see the module's docstring). False, and
    ``totals`` untouched, where the set emulation does not hold here."""
    if not SET_ORDER_OK:
        return False
    cdef _Set s
    cdef size_t i
    cdef Py_ssize_t j
    cdef double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
    _init(&s)
    try:
        _scan(a, text, &s)
        if s.used == 0:
            return True  # no feature: the totals as they are (the pure path adds nothing)
        for i in range(s.mask + 1):
            if s.table[i] >= 0:
                j = 4 * <Py_ssize_t>s.table[i]
                s0 += flat[j]
                s1 += flat[j + 1]
                s2 += flat[j + 2]
                s3 += flat[j + 3]
    finally:
        _release(&s)
    totals[0] += s0
    totals[1] += s1
    totals[2] += s2
    totals[3] += s3
    return True


cpdef list weighted(Automaton a, str text, const double[::1] flat, Py_ssize_t cls,
                    Py_ssize_t lo, Py_ssize_t hi, list keys):
    """``(keys[i], w)`` for each distinct key ``i`` found in ``text`` whose length is within
    ``lo..hi`` and whose weight for class ``cls`` (``w = flat[4 i + cls]``) is above 0, in no
    particular order (the drivers sort them)."""
    cdef _Set s
    cdef size_t i
    cdef int32_t pid
    cdef double w
    cdef list out = []
    _init(&s)
    try:
        _scan(a, text, &s)
        for i in range(s.mask + 1):
            pid = s.table[i]
            if pid >= 0 and lo <= a.plen[pid] <= hi:
                w = flat[4 * <Py_ssize_t>pid + cls]
                if w > 0:
                    out.append((keys[pid], w))
    finally:
        _release(&s)
    return out


cdef struct _Found:
    double w
    int32_t pid


cdef int _by_weight(const void* x, const void* y) noexcept nogil:
    """Weight descending, then index (only to make the sort total: equal weights are put in
    their n-grams' order afterwards, with the GIL)."""
    cdef const _Found* a = <const _Found*>x
    cdef const _Found* b = <const _Found*>y
    if a.w > b.w:
        return -1
    if a.w < b.w:
        return 1
    return (a.pid > b.pid) - (a.pid < b.pid)


_ROUND = builtins.round  # (Python's round(w, 3), correctly rounded: the drivers' weights)


cpdef list drivers(Automaton a, str text, const double[::1] flat, Py_ssize_t cls,
                   Py_ssize_t lo, Py_ssize_t hi, list keys, Py_ssize_t k):
    """``IntentModel.drivers``'s result from one C scan: the distinct keys found in ``text``
    of ``lo..hi`` characters with a weight for class ``cls`` above 0, sorted in C by weight
    (descending; equal weights by n-gram, as the pure path's ``(-w, g)`` key orders them),
    then taken in that order, skipping an n-gram that holds or is held by one already
    taken, until ``k`` are taken: ``[(g, round(w, 3)), ...]``. Only the n-grams looked at
    become strings (``keys[i]``): no tuple per feature, no Python sort."""
    cdef _Set s
    cdef size_t i
    cdef Py_ssize_t n = 0, p, q, r, j
    cdef int32_t pid
    cdef double w
    cdef _Found* found = NULL
    cdef _Found tmp
    cdef list chosen = []
    cdef list taken = []  # the chosen n-grams
    cdef str g, c
    cdef bint skip
    _init(&s)
    try:
        _scan(a, text, &s)
        if s.used == 0:
            return chosen
        found = <_Found*>PyMem_Malloc(s.used * sizeof(_Found))
        if found == NULL:
            raise MemoryError()
        for i in range(s.mask + 1):
            pid = s.table[i]
            if pid >= 0 and lo <= a.plen[pid] <= hi:
                w = flat[4 * <Py_ssize_t>pid + cls]
                if w > 0:
                    found[n].w = w
                    found[n].pid = pid
                    n += 1
        if n == 0:
            return chosen
        qsort(found, n, sizeof(_Found), _by_weight)
        p = 0
        while p < n:
            # A run of equal weights: in their n-grams' order (insertion sort; runs are short).
            q = p + 1
            while q < n and found[q].w == found[p].w:
                q += 1
            for r in range(p + 1, q):
                tmp = found[r]
                g = <str>keys[tmp.pid]
                j = r
                while j > p and PyUnicode_Compare(<str>keys[found[j - 1].pid], g) > 0:
                    found[j] = found[j - 1]
                    j -= 1
                found[j] = tmp
            # ...then taken in order, as the pure loop takes them.
            for r in range(p, q):
                g = <str>keys[found[r].pid]
                skip = False
                for c in taken:
                    if PyUnicode_Contains(c, g) or PyUnicode_Contains(g, c):
                        skip = True
                        break
                if skip:
                    continue
                taken.append(g)
                chosen.append((g, _ROUND(found[r].w, 3)))
                if len(chosen) == k:
                    return chosen
            p = q
    finally:
        _release(&s)
        PyMem_Free(found)
    return chosen


cpdef list set_order(list keys):
    """The order a set of these ints (0 <= k < 2**31) iterates in, added in this order, as
    ``_Set`` makes it (for the import-time check and the tests)."""
    cdef _Set s
    cdef size_t i
    cdef list out = []
    _init(&s)
    try:
        for k in keys:
            _add(&s, <int32_t>k)
        for i in range(s.mask + 1):
            if s.table[i] >= 0:
                out.append(s.table[i])
    finally:
        _release(&s)
    return out


def _check_set_order(sizes: tuple[int, ...] = (0, 1, 5, 6, 7, 40, 300, 1500)) -> bool:
    """``set_order`` against sets of random ints (few and many distinct, small and large:
    every resize up to 2,048 slots and long probe chains). A few ms at import; the tests
    check more and bigger sets (test_screening_model_sums)."""
    rng = random.Random(1917)
    for n, top in [(n, top) for n in sizes for top in (64, 5000, 70000, 2**31 - 1)]:
        keys = [rng.randrange(top) for _ in range(n)]
        ref = set()
        for k in keys:
            ref.add(k)
        if set_order(keys) != list(ref):
            return False
    return True


SET_ORDER_OK = _check_set_order()


cdef inline bint _ends(Py_UCS4 c) noexcept:
    """A character of intent._SENTENCES's run of sentence ends (。！？!?；;\\n)."""
    return (c == 0x3002 or c == 0xFF01 or c == 0xFF1F or c == 0x21 or c == 0x3F
            or c == 0xFF1B or c == 0x3B or c == 0x0A)


cpdef list view_pieces(str text, str table, dict fast):
    """intent._view_pieces (the reference, with the same contract: None where the caller
    folds the reference way) writing the folded characters to one C buffer and making each
    sentence's string at once, instead of slices, one-character strings and a join per
    sentence. test_screening_model_pieces runs its checks on both."""
    if "+" in text and text.isascii():
        return None
    cdef Py_ssize_t n = len(text), i = 0, end, o = 0
    cdef Py_UCS4 c, f
    cdef uint32_t cp
    cdef object g
    cdef list pieces = []
    if n == 0:
        return pieces
    cdef Py_UCS4* buf = <Py_UCS4*>PyMem_Malloc(n * sizeof(Py_UCS4))
    if buf == NULL:
        raise MemoryError()
    try:
        while i < n:
            c = text[i]
            cp = <uint32_t>c
            if 0x13A0 <= cp <= 0x13F5:
                return None
            end = 0
            if _ends(c):
                end = 1
                while i + end < n and _ends(text[i + end]):
                    end += 1
            elif c == 0x2E and i + 1 < n and Py_UNICODE_ISSPACE(text[i + 1]):
                end = 2
            if end:
                f = 0x9F98
            elif cp >= 0x10000:
                g = fast.get(cp)
                if g is None or not isinstance(g, str) or len(<str>g) != 1 \
                        or g == text[i:i + 1]:
                    return None  # (a fold to other than one character: the reference way)
                f = (<str>g)[0]
            else:
                f = table[cp]
            if end or f == 0x9F98:  # _BOUND: the sentence ends
                if o:
                    pieces.append(PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, o))
                    o = 0
                i += end if end else 1
                continue
            if 0x31 <= f <= 0x39:  # 1-9
                buf[o] = 0x30
                o += 1
            elif f != 0 and f != 1:  # SEP, EXPAND: dropped
                buf[o] = f
                o += 1
            i += 1
        if o:
            pieces.append(PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, buf, o))
    finally:
        PyMem_Free(buf)
    return pieces
