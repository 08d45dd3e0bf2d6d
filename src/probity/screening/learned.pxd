# Cython declarations for learned.py (an "augmenting" .pxd, like engine.pxd: the .py stays the
# reference and the pure-Python fallback; setup.py compiles it with these C types; the module
# is compiled with annotation_typing=False, so only what is declared here is typed). The
# result's fields are read and written as struct members (result.pxd) on every message.
# tests/screening/test_screening_compiled.py proves both paths give identical results.

cimport cython

from probity.screening.result cimport ScreeningResult
from probity.screening.intent cimport IntentScores, score_of  # (C where both compiled)

@cython.locals(sc=IntentScores)
cpdef ScreeningResult with_model(ScreeningResult res, str text, str role, object policy,
                                 object model, object compact=*)

@cython.locals(v=double, best=double, first=bint)
cpdef double _max_flagged(dict scores)

@cython.locals(mf=double)
cpdef ScreeningResult _rules_flagged(ScreeningResult res, str text, object model, dict scores,
                                     object compact=*)

cpdef str _model_text(str text, object compact)
