# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""An Aho-Corasick automaton over code points, in C arrays: the screening policy's key scans
(``policy._automaton``) without ahocorasick-rs's per-call costs (the GIL released and taken
again, the text encoded to UTF-8, byte offsets turned back into character offsets).

``Automaton(keys).find_matches_as_indexes(text, overlapping=True)`` returns what
``ahocorasick_rs.AhoCorasick(keys)`` returns for it (standard match kind, overlapping):
``(key index, start, end)`` in code points, ordered by end; at one end the longest key first
(a state's own keys in index order, then those of its failure state's chain).
tests/screening/test_screening_automaton.py pins it match for match against ahocorasick-rs.
Optional: setup.py builds it where a C compiler is; ``policy._automaton`` falls back to
ahocorasick-rs where it is not built (and on the pure-Python path,
``PROBITY_SCREENING_PURE=1``).

Layout: state 0 is the root. The trie is built in an open-addressing hash table of the
transitions (state, code point) -> state (linear probing, load <= 1/2; past 2**18 slots not
rounded up to a power of two, the hash scaled onto it by a multiply), then laid out for the
scan and the table freed (``_layout``): states renumbered breadth-first, each state's
transitions contiguous in ``edges`` and sorted by code point, each edge also holding what the
next step needs of its child (its failure state, where its own edges are and a 32-bit filter
of their code points, whether a key ends on its dictionary chain), so a step reads the edge it came by and its child's few edges
(at the start of the arrays for the shallow states where most steps are) instead of probing
a table spread over the whole automaton (the pass is bound by those cache misses); the
root's transitions on BMP characters through a dense index by the character's rank in the
alphabet bitmap below. Per state its failure state, the first of its own keys (-1: none;
duplicates chained by ``pid_next``) and its dictionary link (the nearest state down its
failure chain with keys of its own, 0: none); and a bitmap of the BMP code points that occur
in some key (any other character sends the scan back to the root without a look-up).
"""

cimport cython
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t, uint32_t, uint64_t
from libc.stdlib cimport qsort
from libc.string cimport memcpy, memset


cdef extern from *:
    ctypedef unsigned long long u128 "unsigned __int128"

cdef uint64_t _EMPTY = 0xFFFFFFFFFFFFFFFFULL
# Key indexes as shared int objects (no int made per match) up to this many keys; a bigger
# policy saves their memory instead (~40 bytes a key).
cdef Py_ssize_t _IDS_UP_TO = 20_000


@cython.freelist(8)
cdef class Matches:
    # (fields in _ac.pxd) What Automaton.scan found: the engine reads the triples from C.

    def __cinit__(self):
        self.buf = self.small
        self.n = 0
        self.cap = 64

    def __dealloc__(self):
        if self.buf != self.small:
            PyMem_Free(self.buf)

    cdef int _grow(self) except -1:
        cdef Py_ssize_t cap = self.cap * 2
        cdef int32_t* bigger = <int32_t*>PyMem_Malloc(3 * cap * sizeof(int32_t))
        if bigger == NULL:
            raise MemoryError()
        memcpy(bigger, self.buf, 3 * self.n * sizeof(int32_t))
        if self.buf != self.small:
            PyMem_Free(self.buf)
        self.buf = bigger
        self.cap = cap
        return 0

    def __len__(self):
        return self.n

    def __getitem__(self, Py_ssize_t i):
        """Match ``i`` as find_matches_as_indexes gives it (tests)."""
        if i < 0 or i >= self.n:
            raise IndexError(i)
        return (self.buf[3 * i], self.buf[3 * i + 1], self.buf[3 * i + 2])



@cython.freelist(8)
cdef class PartOcc:
    # (fields and contract in _ac.pxd) engine._screen_slow's part occurrences, read from C.

    def __cinit__(self):
        self.occ = self.small
        self.n = 0
        self.cap = 32
        self.table = self.small_table
        self.mask = -1  # finish() not run
        self.run = self.small_run

    def __dealloc__(self):
        if self.occ != self.small:
            PyMem_Free(self.occ)
        if self.table != self.small_table:
            PyMem_Free(self.table)
        if self.run != self.small_run:
            PyMem_Free(self.run)

    cdef int add(self, Py_ssize_t pid, Py_ssize_t us, Py_ssize_t ue, int lit) except -1:
        cdef Py_ssize_t cap, k
        cdef int* bigger
        if self.n == self.cap:
            cap = self.cap * 2
            bigger = <int*>PyMem_Malloc(5 * cap * sizeof(int))
            if bigger == NULL:
                raise MemoryError()
            memcpy(bigger, self.occ, 5 * self.n * sizeof(int))
            if self.occ != self.small:
                PyMem_Free(self.occ)
            self.occ = bigger
            self.cap = cap
        k = 5 * self.n
        self.occ[k] = <int>pid
        self.occ[k + 1] = <int>us
        self.occ[k + 2] = <int>ue
        self.occ[k + 3] = lit
        self.occ[k + 4] = -1
        self.n += 1
        return 0

    cdef int finish(self) except -1:
        """Links each part's occurrences in the order found and indexes the parts."""
        cdef Py_ssize_t size = 16, i, s, pid
        while size < 2 * self.n:
            size *= 2
        if size > 64:
            self.table = <int*>PyMem_Malloc(3 * size * sizeof(int))
            if self.table == NULL:
                self.table = self.small_table
                raise MemoryError()
        if self.n > 32:
            self.run = <int*>PyMem_Malloc(self.n * sizeof(int))
            if self.run == NULL:
                self.run = self.small_run
                raise MemoryError()
        self.mask = size - 1
        for s in range(size):
            self.table[3 * s] = -1
        for i in range(self.n):
            pid = self.occ[5 * i]
            s = (<size_t>pid * <size_t>2654435761U) & self.mask
            while self.table[3 * s] >= 0 and self.table[3 * s] != pid:
                s = (s + 1) & self.mask
            if self.table[3 * s] < 0:
                self.table[3 * s] = <int>pid
                self.table[3 * s + 1] = <int>i
            else:
                self.occ[5 * self.table[3 * s + 2] + 4] = <int>i
            self.table[3 * s + 2] = <int>i
        return 0

    cdef Py_ssize_t head(self, Py_ssize_t pid) noexcept:
        cdef Py_ssize_t s = (<size_t>pid * <size_t>2654435761U) & self.mask
        while self.table[3 * s] >= 0:
            if self.table[3 * s] == pid:
                return self.table[3 * s + 1]
            s = (s + 1) & self.mask
        return -1

    cdef Py_ssize_t sorted_run(self, Py_ssize_t pid) noexcept:
        cdef Py_ssize_t k = 0, j, i = self.head(pid)
        while i >= 0:
            # insertion sort by (start, end, literal)
            j = k
            while j > 0 and _occ_after(self.occ, self.run[j - 1], i):
                self.run[j] = self.run[j - 1]
                j -= 1
            self.run[j] = <int>i
            k += 1
            i = self.occ[5 * i + 4]
        return k

    def _record(self, Py_ssize_t pid, Py_ssize_t us, Py_ssize_t ue, bint lit):
        """``add`` from Python (tests)."""
        self.add(pid, us, ue, lit)

    def _parts(self):
        """{pid: [(start, end, literal), ...] in the order found} (tests): the dict of lists
        of tuples engine._term_hits reads, built from the links (finish() first)."""
        if self.mask < 0:
            self.finish()
        cdef dict out = {}
        cdef Py_ssize_t i, o
        for i in range(self.n):
            if self.head(self.occ[5 * i]) == i:
                lst = []
                o = i
                while o >= 0:
                    lst.append((self.occ[5 * o + 1], self.occ[5 * o + 2], self.occ[5 * o + 3] != 0))
                    o = self.occ[5 * o + 4]
                out[self.occ[5 * i]] = lst
        return out

    def _sorted(self, Py_ssize_t pid):
        """sorted_run's order as tuples (tests)."""
        if self.mask < 0:
            self.finish()
        cdef Py_ssize_t k = self.sorted_run(pid), j, i
        return [(self.occ[5 * self.run[j] + 1], self.occ[5 * self.run[j] + 2],
                 self.occ[5 * self.run[j] + 3] != 0) for j in range(k)]


cdef inline bint _occ_after(int* occ, Py_ssize_t a, Py_ssize_t b) noexcept:
    """Occurrence a sorts after occurrence b by (start, end, literal)."""
    if occ[5 * a + 1] != occ[5 * b + 1]:
        return occ[5 * a + 1] > occ[5 * b + 1]
    if occ[5 * a + 2] != occ[5 * b + 2]:
        return occ[5 * a + 2] > occ[5 * b + 2]
    return occ[5 * a + 3] > occ[5 * b + 3]


cdef struct _Tmp:
    int32_t parent
    uint32_t cp
    int32_t child


cdef int _by_parent_cp(const void* x, const void* y) noexcept nogil:
    cdef const _Tmp* a = <const _Tmp*>x
    cdef const _Tmp* b = <const _Tmp*>y
    if a.parent != b.parent:
        return -1 if a.parent < b.parent else 1
    return (a.cp > b.cp) - (a.cp < b.cp)


cdef int32_t* _renumbered(int32_t* values, int32_t* old_of, int32_t* new_id,
                          Py_ssize_t states) except NULL:
    """A per-state array in the breadth-first numbering (`Automaton._layout`): entry q is the
    old state old_of[q]'s value, itself renumbered through new_id when that is given (state
    ids: fail, dlink) and kept as it is otherwise (own). Frees `values`."""
    cdef int32_t* arr = <int32_t*>PyMem_Malloc(states * sizeof(int32_t))
    cdef Py_ssize_t q
    if arr == NULL:
        raise MemoryError()
    if new_id != NULL:
        for q in range(states):
            arr[q] = new_id[values[old_of[q]]]
    else:
        for q in range(states):
            arr[q] = values[old_of[q]]
    PyMem_Free(values)
    return arr


cdef class Automaton:
    # (its fields and C methods are declared in _ac.pxd: the engine calls the scan from C)

    def __cinit__(self, keys):
        memset(self.alpha, 0, sizeof(self.alpha))
        self.slots = NULL
        self.edges = NULL
        self.first = NULL
        self.nchild = NULL
        self.root = NULL
        self.fail = NULL
        self.dlink = NULL
        self.own = NULL
        self.pid_next = NULL
        self.plen = NULL
        self.n_states = 0
        self.n_keys = 0
        self.ids = ()

    def __init__(self, keys):
        if self.fail != NULL:
            raise RuntimeError("an Automaton is built once")
        cdef list ks = list(keys)
        cdef Py_ssize_t total = 1
        cdef object k
        for k in ks:
            if not isinstance(k, str):
                raise TypeError("keys must be str")
            if not k:
                raise ValueError("You passed in an empty string as a pattern")
            total += len(<str>k)
        if len(ks) > 0x3FFFFFFF or total > 0x3FFFFFFF:
            raise ValueError("too many keys for the automaton")
        self._build(ks, total)
        if len(ks) <= _IDS_UP_TO:
            self.ids = tuple(range(len(ks)))

    def __dealloc__(self):
        PyMem_Free(self.slots)
        PyMem_Free(self.edges)
        PyMem_Free(self.first)
        PyMem_Free(self.nchild)
        PyMem_Free(self.root)
        PyMem_Free(self.fail)
        PyMem_Free(self.dlink)
        PyMem_Free(self.own)
        PyMem_Free(self.pid_next)
        PyMem_Free(self.plen)

    cdef uint64_t _slot(self, uint64_t key) noexcept:
        cdef uint64_t h = key * 0x9E3779B97F4A7C15ULL
        if self.hshift > 0:
            return h >> self.hshift
        # A big automaton's table is not rounded up to a power of two (memory): the hash is
        # scaled onto [0, hsize) by a multiply instead (no division).
        return <uint64_t>((<u128>h * <u128>self.hsize) >> 64)

    cdef int32_t _get(self, Py_ssize_t state, Py_UCS4 c) noexcept:
        """The child of the transition (state, c) in the build's table, -1: none."""
        cdef uint64_t key = (<uint64_t>state << 21) | <uint64_t>c
        cdef uint64_t i = self._slot(key)
        cdef uint64_t k
        while True:
            k = self.slots[i].key
            if k == key:
                return self.slots[i].child
            if k == _EMPTY:
                return -1
            i += 1
            if i == self.hsize:
                i = 0

    cdef void _put(self, Py_ssize_t state, Py_UCS4 c, int32_t child) noexcept:
        cdef uint64_t key = (<uint64_t>state << 21) | <uint64_t>c
        cdef uint64_t i = self._slot(key)
        while self.slots[i].key != _EMPTY:
            i += 1
            if i == self.hsize:
                i = 0
        self.slots[i].key = key
        self.slots[i].child = child

    cdef _build(self, list ks, Py_ssize_t total):
        cdef Py_ssize_t n = len(ks)
        # At most total - 1 transitions: twice as many slots keeps the load <= 1/2; a power
        # of two up to 2**18 slots (4 MiB), the exact size above.
        cdef Py_ssize_t size = 2
        cdef int bits = 1
        while size < 2 * total:
            size <<= 1
            bits += 1
        if size <= (1 << 18):
            self.hshift = 64 - bits
        else:
            size = 2 * total
            self.hshift = 0
        self.hsize = <uint64_t>size
        self.slots = <Slot*>PyMem_Malloc(size * sizeof(Slot))
        self.fail = <int32_t*>PyMem_Malloc(total * sizeof(int32_t))
        self.dlink = <int32_t*>PyMem_Malloc(total * sizeof(int32_t))
        self.own = <int32_t*>PyMem_Malloc(total * sizeof(int32_t))
        self.pid_next = <int32_t*>PyMem_Malloc((n + 1) * sizeof(int32_t))
        self.plen = <int32_t*>PyMem_Malloc((n + 1) * sizeof(int32_t))
        # Build-only: each state's parent, entering code point and depth.
        cdef int32_t* parent = <int32_t*>PyMem_Malloc(total * sizeof(int32_t))
        cdef Py_UCS4* via = <Py_UCS4*>PyMem_Malloc(total * sizeof(Py_UCS4))
        cdef int32_t* depth = <int32_t*>PyMem_Malloc(total * sizeof(int32_t))
        cdef int32_t* last = <int32_t*>PyMem_Malloc(total * sizeof(int32_t))
        cdef int32_t* order = NULL
        cdef int32_t* count = NULL
        if (self.slots == NULL or self.fail == NULL or self.dlink == NULL
                or self.own == NULL or self.pid_next == NULL or self.plen == NULL
                or parent == NULL or via == NULL or depth == NULL or last == NULL):
            PyMem_Free(parent)
            PyMem_Free(via)
            PyMem_Free(depth)
            PyMem_Free(last)
            raise MemoryError()
        cdef uint64_t i
        cdef Py_ssize_t pid, state, nxt, states = 1, max_depth = 0, d, j, f, s
        for i in range(<uint64_t>size):
            self.slots[i].key = _EMPTY
        cdef Py_UCS4 c
        cdef uint32_t cp
        cdef str key
        parent[0] = -1
        depth[0] = 0
        self.own[0] = -1
        try:
            for pid in range(n):
                key = <str>ks[pid]
                state = 0
                for c in key:
                    cp = <uint32_t>c
                    if cp < 65536:
                        self.alpha[cp >> 6] |= (<uint64_t>1) << (cp & 63)
                    nxt = self._get(state, c)
                    if nxt < 0:
                        nxt = states
                        states += 1
                        parent[nxt] = <int32_t>state
                        via[nxt] = c
                        depth[nxt] = depth[state] + 1
                        if depth[nxt] > max_depth:
                            max_depth = depth[nxt]
                        self.own[nxt] = -1
                        self._put(state, c, <int32_t>nxt)
                    state = nxt
                self.plen[pid] = <int32_t>len(key)
                self.pid_next[pid] = -1
                if self.own[state] < 0:
                    self.own[state] = <int32_t>pid
                else:
                    self.pid_next[last[state]] = <int32_t>pid
                last[state] = <int32_t>pid
            self.n_states = states
            self.n_keys = n
            # States in breadth-first order (by depth; a counting sort).
            order = <int32_t*>PyMem_Malloc(states * sizeof(int32_t))
            count = <int32_t*>PyMem_Malloc((max_depth + 2) * sizeof(int32_t))
            if order == NULL or count == NULL:
                raise MemoryError()
            memset(count, 0, (max_depth + 2) * sizeof(int32_t))
            for s in range(states):
                count[depth[s] + 1] += 1
            for d in range(1, max_depth + 2):
                count[d] += count[d - 1]
            for s in range(states):
                order[count[depth[s]]] = <int32_t>s
                count[depth[s]] += 1
            self.fail[0] = 0
            self.dlink[0] = 0
            for j in range(1, states):
                s = order[j]
                if depth[s] == 1:
                    f = 0
                else:
                    f = self.fail[parent[s]]
                    c = via[s]
                    while True:
                        nxt = self._get(f, c)
                        if nxt >= 0:
                            f = nxt
                            break
                        if f == 0:
                            break
                        f = self.fail[f]
                self.fail[s] = <int32_t>f
                self.dlink[s] = <int32_t>f if self.own[f] >= 0 else self.dlink[f]
            self._layout(states)
        finally:
            PyMem_Free(parent)
            PyMem_Free(via)
            PyMem_Free(depth)
            PyMem_Free(last)
            PyMem_Free(order)
            PyMem_Free(count)

    cdef int _layout(self, Py_ssize_t states) except -1:
        """The scan's layout from the build's table: states renumbered breadth-first (a
        state's children in code-point order), each state's edges contiguous and sorted,
        every per-state array renumbered; the root's BMP edges indexed by alphabet rank.
        Frees the table."""
        cdef Py_ssize_t n_edges = 0, e, k, q, p, c, w, b, n_alpha
        cdef uint64_t i, abits
        cdef _Tmp* tmp = NULL
        cdef int32_t* start = NULL
        cdef int32_t* new_id = NULL
        cdef int32_t* old_of = NULL
        for i in range(self.hsize):
            if self.slots[i].key != _EMPTY:
                n_edges += 1
        try:
            tmp = <_Tmp*>PyMem_Malloc((n_edges + 1) * sizeof(_Tmp))
            start = <int32_t*>PyMem_Malloc((states + 1) * sizeof(int32_t))
            new_id = <int32_t*>PyMem_Malloc(states * sizeof(int32_t))
            old_of = <int32_t*>PyMem_Malloc(states * sizeof(int32_t))
            self.edges = <Edge*>PyMem_Malloc((n_edges + 1) * sizeof(Edge))
            self.first = <int32_t*>PyMem_Malloc(states * sizeof(int32_t))
            self.nchild = <int32_t*>PyMem_Malloc(states * sizeof(int32_t))
            if (tmp == NULL or start == NULL or new_id == NULL or old_of == NULL
                    or self.edges == NULL or self.first == NULL or self.nchild == NULL):
                raise MemoryError()
            # The transitions sorted by (parent, code point), in the old numbering.
            k = 0
            for i in range(self.hsize):
                if self.slots[i].key != _EMPTY:
                    tmp[k].parent = <int32_t>(self.slots[i].key >> 21)
                    tmp[k].cp = <uint32_t>(self.slots[i].key & 0x1FFFFF)
                    tmp[k].child = self.slots[i].child
                    k += 1
            qsort(tmp, n_edges, sizeof(_Tmp), _by_parent_cp)
            memset(start, 0, (states + 1) * sizeof(int32_t))
            for e in range(n_edges):
                start[tmp[e].parent + 1] += 1
            for q in range(states):
                start[q + 1] += start[q]
            # Breadth-first: the queue is the new numbering; edges laid out in queue order.
            new_id[0] = 0
            old_of[0] = 0
            c = 1
            k = 0
            for q in range(states):
                p = old_of[q]
                self.first[q] = <int32_t>k
                self.nchild[q] = start[p + 1] - start[p]
                for e in range(start[p], start[p + 1]):
                    new_id[tmp[e].child] = <int32_t>c
                    old_of[c] = tmp[e].child
                    self.edges[k].cp = tmp[e].cp
                    self.edges[k].child = <int32_t>c
                    c += 1
                    k += 1
            # The per-state arrays in the new numbering.
            self.fail = _renumbered(self.fail, old_of, new_id, states)
            self.dlink = _renumbered(self.dlink, old_of, new_id, states)
            self.own = _renumbered(self.own, old_of, NULL, states)
            # What a step needs of each child, on its edge.
            for e in range(n_edges):
                q = self.edges[e].child
                self.edges[e].fail = self.fail[q]
                self.edges[e].first = self.first[q]
                self.edges[e].n = self.nchild[q]
                self.edges[e].bloom = 0
                for k in range(self.first[q], self.first[q] + self.nchild[q]):
                    self.edges[e].bloom |= _bloom_bit(self.edges[k].cp)
                if self.own[q] >= 0 or self.dlink[q] > 0:
                    self.edges[e].child = <int32_t>(q | HAS_OUT)
            # The root's BMP edges, dense by alphabet rank.
            n_alpha = 0
            for w in range(1024):
                self.rank[w] = <int32_t>n_alpha
                n_alpha += _popcount64(self.alpha[w])
            self.root = <int32_t*>PyMem_Malloc((n_alpha + 1) * sizeof(int32_t))
            if self.root == NULL:
                raise MemoryError()
            e = 0  # the root's edges: edges[0 .. nchild[0]), by code point
            for w in range(1024):
                abits = self.alpha[w]
                k = self.rank[w]
                for b in range(64):
                    if (abits >> b) & 1:
                        while e < self.nchild[0] and self.edges[e].cp < <uint32_t>(w * 64 + b):
                            e += 1
                        if e < self.nchild[0] and self.edges[e].cp == <uint32_t>(w * 64 + b):
                            self.root[k] = <int32_t>e
                        else:
                            self.root[k] = -1
                        k += 1
        finally:
            PyMem_Free(tmp)
            PyMem_Free(start)
            PyMem_Free(new_id)
            PyMem_Free(old_of)
            PyMem_Free(self.slots)
            self.slots = NULL
        return 0

    cpdef list find_matches_as_indexes(self, str haystack, bint overlapping=False):
        """Every occurrence of every key, as ``(key index, start, end)`` code-point offsets
        (ahocorasick-rs's overlapping search; only that one is implemented)."""
        if not overlapping:
            raise NotImplementedError("only overlapping=True")
        cdef list out = []
        cdef Py_ssize_t i = 0, state = 0, t, pid
        cdef Edge* cur = NULL
        cdef Py_UCS4 c
        cdef bint ids_ok = len(self.ids) == self.n_keys
        for c in haystack:
            if 0xD800 <= c <= 0xDFFF:
                haystack.encode("utf-8")  # raises UnicodeEncodeError, as ahocorasick-rs does
            i += 1
            state = _step(self, state, c, &cur, &t)
            while t > 0:
                pid = self.own[t]
                while pid >= 0:
                    if ids_ok:
                        out.append((self.ids[pid], i - self.plen[pid], i))
                    else:
                        out.append((pid, i - self.plen[pid], i))
                    pid = self.pid_next[pid]
                t = self.dlink[t]
        return out

    cdef Matches scan(self, str haystack):
        """``find_matches_as_indexes(haystack, True)`` as C int triples in a Matches (the same
        matches in the same order), without a tuple and up to three ints per match: the
        engine's slow path reads them from C."""
        cdef Matches out = Matches.__new__(Matches)
        cdef Py_ssize_t i = 0, state = 0, t, pid, k
        cdef Edge* cur = NULL
        cdef Py_UCS4 c
        for c in haystack:
            if 0xD800 <= c <= 0xDFFF:
                haystack.encode("utf-8")  # raises UnicodeEncodeError, as ahocorasick-rs does
            i += 1
            state = _step(self, state, c, &cur, &t)
            while t > 0:
                pid = self.own[t]
                while pid >= 0:
                    if out.n == out.cap:
                        out._grow()
                    k = 3 * out.n
                    out.buf[k] = <int32_t>pid
                    out.buf[k + 1] = <int32_t>(i - self.plen[pid])
                    out.buf[k + 2] = <int32_t>i
                    out.n += 1
                    pid = self.pid_next[pid]
                t = self.dlink[t]
        return out

    def matches(self, str haystack):
        """``scan`` from Python (tests): the Matches, indexable like the list."""
        return self.scan(haystack)

    cpdef set key_set(self, str haystack):
        """The indexes of the keys that occur in ``haystack``: ``{m[0] for m in
        self.find_matches_as_indexes(haystack, overlapping=True)}`` built by the same additions
        in the same order (so the set iterates in the same order too), without a match tuple
        per occurrence (the learned layer's feature scan: hundreds of n-gram occurrences in a
        long message)."""
        cdef set out = set()
        cdef bint ids_ok = len(self.ids) == self.n_keys
        cdef Py_ssize_t state = 0, t, pid
        cdef Edge* cur = NULL
        cdef Py_UCS4 c
        for c in haystack:
            if 0xD800 <= c <= 0xDFFF:
                haystack.encode("utf-8")  # raises UnicodeEncodeError, as ahocorasick-rs does
            state = _step(self, state, c, &cur, &t)
            while t > 0:
                pid = self.own[t]
                while pid >= 0:
                    if ids_ok:
                        out.add(self.ids[pid])
                    else:
                        out.add(pid)
                    pid = self.pid_next[pid]
                t = self.dlink[t]
        return out
