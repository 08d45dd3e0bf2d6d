# The Automaton of _ac.pyx, declared for cimport: engine.pxd types the policy view's
# automata with it, so the engine calls the scan as a C method (no attribute look-up or
# keyword parsing per call). Final: its C methods are direct calls, inlined by the compiler.

cimport cython
from libc.stdint cimport int32_t, uint32_t, uint64_t


@cython.final
cdef class Matches:
    # Automaton.scan's result: (key index, start, end) as C int triples, buf[3*i..3*i+2] for
    # match i of n, in find_matches_as_indexes's order; buf is small (no allocation) for up to
    # 64 matches, else on the heap.
    cdef int32_t* buf
    cdef Py_ssize_t n
    cdef Py_ssize_t cap
    cdef int32_t small[192]
    cdef int _grow(self) except -1


@cython.final
cdef class Automaton:
    cdef uint64_t alpha[1024]  # a bit per BMP code point that occurs in some key
    cdef uint64_t* hkeys
    cdef int32_t* hvals
    cdef uint64_t hsize
    cdef int hshift  # > 0: hsize is a power of two (small automata), the hash's top bits
    cdef int32_t* fail
    cdef int32_t* dlink
    cdef int32_t* own
    cdef int32_t* pid_next
    cdef int32_t* plen
    cdef Py_ssize_t n_states
    cdef Py_ssize_t n_keys
    cdef tuple ids  # the key indexes as int objects, made once (most are past the small ints)

    cdef uint64_t _slot(self, uint64_t key) noexcept
    cdef int32_t _get(self, Py_ssize_t state, Py_UCS4 c) noexcept
    cdef void _put(self, Py_ssize_t state, Py_UCS4 c, int32_t child) noexcept
    cdef _build(self, list ks, Py_ssize_t total)
    cpdef list find_matches_as_indexes(self, str haystack, bint overlapping=*)
    cpdef set key_set(self, str haystack)
    cdef Matches scan(self, str haystack)


cdef inline Py_ssize_t _step(Automaton a, Py_ssize_t state, Py_UCS4 c) noexcept:
    """The state after reading ``c`` in ``state`` (goto, else down the failure chain): the one
    step every scan takes per character (here and in _features.pyx), inlined into each."""
    cdef uint32_t cp = <uint32_t>c
    cdef Py_ssize_t nxt
    if cp < 65536 and not ((a.alpha[cp >> 6] >> (cp & 63)) & 1):
        return 0  # in no key: no transition from any state, the root has no keys
    while True:
        nxt = a._get(state, c)
        if nxt >= 0:
            return nxt
        if state == 0:
            return 0
        state = a.fail[state]


@cython.final
cdef class PartOcc:
    # The lexicon-part occurrences of one message: engine._screen_slow records them here from
    # its scan (where the engine is compiled) and engine._term_hits_occ reads them, instead of
    # a dict of lists of (start, end, literal) tuples. Occurrence i of n (in the order found)
    # is occ[5*i .. 5*i+4]: part id, unit start, unit end, 1 literal / 0 a homophone or pinyin
    # spelling, the next occurrence of the same part (-1: none). After finish(), head(pid)
    # is a part's first occurrence (-1: it does not occur) and sorted_run(pid) puts a part's
    # occurrences in run[0..k), sorted by (start, end, literal) as sorted() sorts the tuples.
    # Small buffers inline (32 occurrences, 64 table slots), else on the heap.
    cdef int* occ
    cdef Py_ssize_t n
    cdef Py_ssize_t cap
    cdef int* table  # open addressing over the part ids: (pid, first, last) per slot
    cdef Py_ssize_t mask
    cdef int* run
    cdef int small[160]
    cdef int small_table[192]
    cdef int small_run[32]
    cdef int add(self, Py_ssize_t pid, Py_ssize_t us, Py_ssize_t ue, int lit) except -1
    cdef int finish(self) except -1
    cdef Py_ssize_t head(self, Py_ssize_t pid) noexcept
    cdef Py_ssize_t sorted_run(self, Py_ssize_t pid) noexcept
