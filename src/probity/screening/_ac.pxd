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


cdef enum:
    HAS_OUT = 0x40000000  # Edge.child: a key ends on the child's dictionary chain
    STATE_MASK = 0x3FFFFFFF


cdef struct Slot:
    # The build's hash table: transition (state, code point) -> child, by insertion-order ids.
    uint64_t key  # (state << 21) | code point; _EMPTY: a free slot
    int32_t child


cdef struct Edge:
    # One transition into ``child``, with what the scan's next step needs of the child: its
    # failure state and its own transitions (edges[first .. first + n), sorted by code
    # point). States are numbered breadth-first and a state's edges are contiguous, so the
    # shallow states where most steps are, and their edges, sit together at the arrays'
    # start (a few cache lines), not spread over a hash table of the whole automaton.
    uint32_t cp
    int32_t child  # | HAS_OUT
    int32_t fail  # the child's failure state
    int32_t first
    int32_t n
    uint32_t bloom  # a bit (_bloom_bit) per code point of the child's own edges


@cython.final
cdef class Automaton:
    cdef uint64_t alpha[1024]  # a bit per BMP code point that occurs in some key
    cdef Slot* slots  # (build only: NULL after)
    cdef uint64_t hsize
    cdef int hshift  # > 0: hsize is a power of two (small automata), the hash's top bits
    cdef Edge* edges
    cdef int32_t* first  # per state: its first edge (the root's are edges[0 .. nchild[0]))
    cdef int32_t* nchild  # per state: its number of edges
    # The root's edges for the BMP code points of alpha, dense: the edge index of code point
    # cp (-1: none) at root[rank[cp >> 6] + its rank among alpha's bits of that word].
    cdef int32_t rank[1024]
    cdef int32_t* root
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
    cdef int _layout(self, Py_ssize_t states) except -1
    cpdef list find_matches_as_indexes(self, str haystack, bint overlapping=*)
    cpdef set key_set(self, str haystack)
    cdef Matches scan(self, str haystack)


cdef inline Py_ssize_t _popcount64(uint64_t x) noexcept nogil:
    """The number of bits set (inline: __builtin_popcountll is a call into libgcc without a
    -mpopcnt build)."""
    x = x - ((x >> 1) & 0x5555555555555555ULL)
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL)
    x = (x + (x >> 4)) & 0x0F0F0F0F0F0F0F0FULL
    return <Py_ssize_t>((x * 0x0101010101010101ULL) >> 56)


cdef inline uint32_t _bloom_bit(uint32_t cp) noexcept nogil:
    """Edge.bloom's bit for a transition on ``cp``."""
    return (<uint32_t>1) << ((cp * <uint32_t>2654435769U) >> 27)


cdef inline Edge* _edge_to(Edge* edges, Py_ssize_t first, Py_ssize_t n, uint32_t cp) noexcept:
    """The edge on ``cp`` among edges[first .. first + n) (sorted by code point), NULL: none."""
    cdef Py_ssize_t lo = first, hi = first + n, mid
    if n <= 8:
        while lo < hi:
            if edges[lo].cp >= cp:
                return &edges[lo] if edges[lo].cp == cp else NULL
            lo += 1
        return NULL
    while lo < hi:
        mid = (lo + hi) >> 1
        if edges[mid].cp < cp:
            lo = mid + 1
        else:
            hi = mid
    if lo < first + n and edges[lo].cp == cp:
        return &edges[lo]
    return NULL


cdef inline Py_ssize_t _step(Automaton a, Py_ssize_t state, Py_UCS4 c, Edge** cur,
                             Py_ssize_t* out) noexcept:
    """The state after reading ``c`` in ``state`` (goto, else down the failure chain): the one
    step every scan takes per character (here and in _features.pyx), inlined into each.
    ``cur``: the edge into ``state`` on entry (NULL at the root), into the new state on
    return; ``out``: set to the new state's first state with keys on its dictionary chain
    (0: none)."""
    cdef uint32_t cp = <uint32_t>c
    cdef uint64_t word = 0
    cdef Edge* e = NULL
    cdef Edge* x
    cdef int32_t child, k
    cdef Py_ssize_t s
    if cp < 65536:
        word = a.alpha[cp >> 6]
        if not ((word >> (cp & 63)) & 1):
            cur[0] = NULL
            out[0] = 0
            return 0  # in no key: no transition from any state, the root has no keys
    if state != 0:
        x = cur[0]
        if x.bloom & _bloom_bit(cp):  # (most steps past the root: no edge on cp, and the
            e = _edge_to(a.edges, x.first, x.n, cp)  # child's edges are not read)
        if e == NULL:
            s = x.fail
            while s != 0:
                e = _edge_to(a.edges, a.first[s], a.nchild[s], cp)
                if e != NULL:
                    break
                s = a.fail[s]
    if e == NULL:  # at the root, or down to it
        if cp < 65536:
            k = a.root[a.rank[cp >> 6] + _popcount64(word & ((<uint64_t>1 << (cp & 63)) - 1))]
            if k >= 0:
                e = &a.edges[k]
        else:
            e = _edge_to(a.edges, 0, a.nchild[0], cp)
        if e == NULL:
            cur[0] = NULL
            out[0] = 0
            return 0
    cur[0] = e
    child = e.child
    if child & HAS_OUT:
        s = child & STATE_MASK
        out[0] = s if a.own[s] >= 0 else a.dlink[s]
        return s
    out[0] = 0
    return child


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
