# Cython declarations for engine.py (an "augmenting" .pxd: setup.py compiles engine.py with
# these C types; the .py stays the reference and the pure-Python fallback, unchanged by this
# file). Only offsets, ids and counters are typed as C integers; every value that becomes a
# Python object (a span tuple, a hit) is built from them exactly as the .py builds it.
# tests/screening/test_screening_compiled.py proves both paths give identical results.

cimport cython

from probity.screening._ac cimport Automaton, Matches, PartOcc
from probity.screening.normalize cimport Folded, fold_exact, quick_strip
from probity.screening.numbers cimport find_number_hits
from probity.screening.result cimport (EntryInfo, ScreeningResult, allow_result, entry_flags,
                                       make_span, rules_result)

# EntryInfo.flags bits (result.py; C integers here, set from the import)
cdef int NEEDS_CUE, ID_FOLLOWS, COUPON_SENSITIVE, EMAIL, OWN_NUMBER, PINNED
# _KIND_BITS of the context kinds _screen_slow tests (engine.py sets them)
cdef int K_OFFER, K_BENEFIT, K_FAVOR, K_SOLICIT, K_FAVOR_OFFER, K_CHANNEL_NOUN
cdef int K_CONTACT_REQUEST, K_PRIVATE, K_OFFICIAL_NUMBER, K_VERIFY, K_COUPON, K_INVOICE
cdef int K_ACCOUNT, K_ACCOUNT_PHONE, K_DECLINE, K_REFUSAL_STRONG, K_REFUSAL
cdef int K_REPORT, K_NEGATION, K_NEGATION_NEAR

cdef class Hit:
    cdef public list segs
    cdef public str category
    cdef public object severity
    cdef public str rule
    cdef public Py_ssize_t us
    cdef public Py_ssize_t ue
    cdef public list part_units
    cdef public object entry
    cdef public object literal
    cdef public int flags

cdef class _Ctx:
    cdef public dict by_kind
    cpdef list get(self, str kind)
    cpdef bint has(self, str kind)

cdef class _View:
    cdef readonly object anchor_matcher
    cdef readonly object matcher
    cdef readonly Automaton own_anchor
    cdef readonly Automaton own_matcher
    cdef readonly list anchor_flags
    cdef readonly list anchor_needs
    cdef readonly object request_keys
    cdef readonly object benefit_keys
    cdef readonly object favor_keys
    cdef readonly object favor_offer_keys
    cdef readonly list key_latin
    cdef readonly bytearray key_lat
    cdef readonly object version
    cdef readonly object model
    cdef readonly object cue_window
    cdef readonly object negation_window
    cdef readonly dict actions
    cdef readonly object block_at
    cdef readonly object warn_at
    cdef readonly object plain
    cdef readonly list other
    cdef readonly int[:] kind_bits
    cdef readonly int[:] single
    cdef readonly dict more
    cdef readonly tuple lexicon
    cdef readonly object lex
    cdef readonly object first
    cdef readonly dict multi
    cdef readonly list info

@cython.locals(cached=tuple)
cdef _View _view_of(object policy)

cdef _View _new_view(object policy)

cpdef bint _is_latin_char(str ch)

cpdef object _allow_result(str text, object version)

@cython.locals(view=_View, plus=bint, fold_needed=bint, flags=list, quick=str, compact=str, folded=Folded,
               own=Automaton, found=Matches, matches=list, n_found=Py_ssize_t, j=Py_ssize_t,
               aid=Py_ssize_t)
cpdef tuple _screen_rules(str text, str role, object policy)

@cython.locals(starts=list, prev=Py_ssize_t, s=Py_ssize_t)
cpdef object _one_to_one(Folded folded)

cpdef bint _any_in(object keys, str s)

cpdef bint _all_in(object keys, str s)

@cython.locals(view=_View, flags=Py_ssize_t, aid=Py_ssize_t, needs=list, aflags=list, digits=bint,
               found=Matches, n_found=Py_ssize_t, j=Py_ssize_t)
cpdef bint _worth_a_look(str text, str compact, str role, object policy, object matches=*)

@cython.locals(c=Py_UCS4)
cpdef bint _any_ascii_digit(str s)

@cython.locals(count=Py_ssize_t, c=Py_UCS4)
cpdef bint _has_digits(str compact, object text=*)

@cython.locals(countable=Py_ssize_t, n=Py_ssize_t, i=Py_ssize_t, start=Py_ssize_t,
               size=Py_ssize_t, c=Py_UCS4, run=str)
cpdef bint _ascii_digits_count(str compact, str text)

@cython.locals(low=str, c=Py_UCS4)
cpdef bint _has_special(str text)

@cython.locals(view=_View, kid=Py_ssize_t, us=Py_ssize_t, ue=Py_ssize_t, o=Py_ssize_t,
               n_text=Py_ssize_t, n_plain=Py_ssize_t, i=Py_ssize_t,
               lat=Py_ssize_t, starts=list, ends=list, key_lat=bytearray,
               plain=bytearray, part_occ=dict, by_kind=dict, allow_spans=list, hits=list,
               id_hits=list, kept=list, negated=list, final=list, report=bint,
               verify=bint, coupon=bint, negations=list, compact=str, concrete=bint,
               ctx=_Ctx, weights=_Weights, h=Hit, occs=list, spans=list, trip=tuple,
               phon_trip=tuple, span=tuple, hflags=int, other=list,
               found=Matches, n_comp=Py_ssize_t, j=Py_ssize_t, occ=PartOcc,
               ch=Py_UCS4, kind_bits=int[:], kinds_found=int, res=ScreeningResult)
cpdef object _screen_slow(str text, str role, object policy, Folded folded, list comp=*)

@cython.locals(h=Hit)
cdef Hit _term_hit(EntryInfo info, Py_ssize_t us, Py_ssize_t ue, list part_units,
                   object literal)

@cython.locals(info=EntryInfo)
cdef EntryInfo _entry_info(_View view, Py_ssize_t eid)

@cython.locals(view=_View, single=int[:], pid=Py_ssize_t, one=Py_ssize_t, eid=Py_ssize_t,
               us=Py_ssize_t, ue=Py_ssize_t, cur=Py_ssize_t, cand=list, hits=list, segs=list,
               literal=bint, lit=bint, ok=bint, occ=tuple, o_s=Py_ssize_t, best_s=Py_ssize_t,
               best_e=Py_ssize_t, best_lit=bint, max_gap=double, occs=list, others=tuple,
               q=object, infos=list, info=EntryInfo, bit=int, parts=tuple,
               n_parts=Py_ssize_t, k=Py_ssize_t)
cpdef list _term_hits(dict part_occ, str role, object policy, _Weights weights)

@cython.locals(view=_View, single=int[:], pid=Py_ssize_t, one=Py_ssize_t, eid=Py_ssize_t,
               us=Py_ssize_t, cur=Py_ssize_t, cand=list, hits=list, segs=list, n=Py_ssize_t,
               i=Py_ssize_t, j=Py_ssize_t, o=Py_ssize_t, n_run=Py_ssize_t, run=cython.p_int,
               buf=cython.p_int, literal=bint, ok=bint, o_s=Py_ssize_t, best_s=Py_ssize_t,
               best_e=Py_ssize_t, best_lit=bint, max_gap=double, others=tuple, q=object,
               infos=list, info=EntryInfo, bit=int, parts=tuple, n_parts=Py_ssize_t,
               k=Py_ssize_t)
cdef list _term_hits_occ(PartOcc occ, str role, object policy, _Weights weights)

@cython.locals(s=Py_ssize_t, e=Py_ssize_t, a=Py_ssize_t, b=Py_ssize_t)
cpdef object _first_outside(list spans, list allow)

@cython.locals(cum=list, w=Py_ssize_t, c=Py_UCS4)
cpdef list _prefix_weights(str compact)

@cython.locals(run=Py_ssize_t, c=Py_UCS4)
cpdef bint _cn_digit_run(str compact)

@cython.locals(prev=Py_UCS4, c=Py_UCS4)
cpdef bint _has_code_token(str text)

@cython.locals(c=Py_UCS4)
cpdef bint _any_digit(str s)

@cython.locals(stop=Py_ssize_t, end=Py_ssize_t, c=Py_UCS4, p=Py_ssize_t, k=Py_ssize_t,
               run=bint)
cpdef object _id_after(str text, Py_ssize_t pos, Hit h)

cdef class _Weights:
    cdef public str compact
    cdef list _cum
    @cython.locals(cum=list)
    cpdef double between(self, Py_ssize_t a, Py_ssize_t b)

@cython.locals(w=Py_ssize_t, cs=Py_ssize_t, ce=Py_ssize_t, a=Py_ssize_t, b=Py_ssize_t, inside=bint,
               spans=list, kind=str)
cpdef bint _has_cue(Hit h, _Ctx ctx, object policy, _Weights weights, list allow,
                    bint question_after=*)

@cython.locals(invoice=bint, compact=str, s0=Py_ssize_t, e0=Py_ssize_t, out=list)
cpdef list _email_and_link_hits(str text, Folded folded, _Ctx ctx, object policy)

@cython.locals(s=Py_ssize_t, e=Py_ssize_t, a=Py_ssize_t, b=Py_ssize_t)
cpdef bint _overlaps_any(object segs, list spans)

@cython.locals(h=Hit, s=Py_ssize_t, e=Py_ssize_t, near=Py_ssize_t, out=list, cancel=list,
               inside_term=bint, by_kind=dict)
cpdef list _valid_negations(_Ctx ctx, list hits)

@cython.locals(a=Py_ssize_t, b=Py_ssize_t)
cpdef bint _inside_gap(Hit h, Py_ssize_t s, Py_ssize_t e)

@cython.locals(s=Py_ssize_t, e=Py_ssize_t, near=Py_ssize_t, window=Py_ssize_t)
cpdef bint _is_negated(Hit h, list negations, str text, _Weights weights, list starts,
                       list ends, object policy)

@cython.locals(s=Py_ssize_t, e=Py_ssize_t, ls=Py_ssize_t, le=Py_ssize_t, sev=Py_ssize_t,
               lsev=Py_ssize_t, out=list, n=Py_ssize_t, i=Py_ssize_t, ps=Py_ssize_t,
               pe=Py_ssize_t, ordered=bint)
cpdef list _merge(list segs)

cdef inline bint _within(_Weights weights, Py_ssize_t a, Py_ssize_t b, double limit)

@cython.locals(c=Py_UCS4)
cpdef bint _com_cn_net(str compact)

@cython.locals(w=Py_ssize_t, top=double, i=Py_ssize_t, c=Py_UCS4)
cpdef bint _gap_within(str compact, Py_ssize_t a, Py_ssize_t b, double limit)

@cython.locals(view=_View, h=Hit, cat_sev=dict, raw=list, spans=list, pieces=list, pos=Py_ssize_t,
               a=Py_ssize_t, b=Py_ssize_t, s=Py_ssize_t, e=Py_ssize_t, severity=Py_ssize_t,
               sev=Py_ssize_t, rank=Py_ssize_t, act=Py_ssize_t, cap=Py_ssize_t,
               block_at=Py_ssize_t, warn_at=Py_ssize_t, first=bint, actions=dict,
               seg=tuple)
cpdef object _decide(str text, str role, object policy, list hits, object refusal_span,
                     list starts, list ends)

@cython.locals(n=Py_ssize_t, inside=bint, i=Py_ssize_t, e=Py_ssize_t, a=Py_ssize_t,
               pos=Py_ssize_t, c=Py_UCS4, buf=cython.p_Py_UCS4, pieces=list, seg=tuple)
cpdef str _mask_segments(str text, list segs)

@cython.locals(s=Py_ssize_t, e=Py_ssize_t, rs=Py_ssize_t, ne=Py_ssize_t, neg_ends=list)
cpdef bint _report_context(_Ctx ctx, object policy)
