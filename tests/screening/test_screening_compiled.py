"""The compiled screening modules (setup.py, Cython) and their pure-Python sources give the
same results: the pinned decisions pass on both paths, and a seeded stream of generated and
random texts gives identical full results (decision, spans, masking, scores, drivers…).

The compiled path runs where ``make install`` built it; ``PROBITY_SCREENING_PURE=1`` forces
the fallback in a child process. Without a build, only the fallback is there and the
comparison is skipped.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import probity.screening as screening

HERE = Path(__file__).parent
CANDIDATES = ("_ac", "_features", "engine", "intent", "learned", "normalize", "numbers", "result",
              "scope")

_PROBE = r"""
import hashlib, json, random, sys
import probity.screening as s
from probity.screening import default_policy, screen_message
from probity.screening.engine import screen_rules
from probity.screening.intent import load_model
sys.path.insert(0, sys.argv[1])
from test_screening_pinned_decisions import _messages, _record, _rows, _sources

policy = default_policy()
rng = random.Random(17)
alphabet = ("加我微信薇信v信VX号码电话扣扣企鹅私下转账红包现金不要谢谢您好订单退款"
            "0123456789０１２３abcxyzWXQQ@.-_ 　，。！？:：/\n\t😀①㊀ⅷ𠮶嗰唔俾")
texts = []
for path in _sources():
    texts += list(_messages(_rows(path)))
for _ in range(1500):
    n = rng.randint(0, rng.choice([12, 60, 400]))
    texts.append(("".join(rng.choice(alphabet) for _ in range(n)),
                  rng.choice(["customer", "agent"])))
h = hashlib.sha256()
model = load_model()
for text, role in texts:
    rec = [_record(screen_message(text, role, policy)), _record(screen_rules(text, role, policy)),
           sorted(model.score(text, role, explain=True).scores.items())]
    h.update(json.dumps(rec, ensure_ascii=False, sort_keys=True).encode())
print(json.dumps({"compiled": s.compiled_modules(), "digest": h.hexdigest(), "n": len(texts)}))
"""


def _built() -> list[str]:
    here = Path(screening.__file__).parent
    return sorted({p.name.split(".")[0] for p in here.iterdir()
                   if p.suffix in (".so", ".pyd")} & set(CANDIDATES))


def _run(*args: str, pure: bool) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("PROBITY_SCREENING_PURE", None)
    if pure:
        env["PROBITY_SCREENING_PURE"] = "1"
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                          timeout=600, check=False)


def test_pinned_decisions_on_the_pure_python_fallback() -> None:
    """The fallback (what a machine without a C compiler runs) keeps every pinned decision;
    this process runs the same test file on the compiled path where it is built."""
    out = _run("-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
               str(HERE / "test_screening_pinned_decisions.py"), pure=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]


def test_compiled_and_pure_python_give_identical_results() -> None:
    built = _built()
    if not built:
        pytest.skip("no compiled screening modules in this checkout (`make install` builds them)")
    fast = _run("-c", _PROBE, str(HERE), pure=False)
    slow = _run("-c", _PROBE, str(HERE), pure=True)
    assert fast.returncode == 0, fast.stderr[-3000:]
    assert slow.returncode == 0, slow.stderr[-3000:]
    a = json.loads(fast.stdout.strip().splitlines()[-1])
    b = json.loads(slow.stdout.strip().splitlines()[-1])
    assert b["compiled"] == []
    # Every built module is in use: none older than its source (else `make install`).
    assert a["compiled"] == built, "stale compiled modules: run `make install`"
    assert a["n"] == b["n"] > 3000
    assert a["digest"] == b["digest"]


_NO_CYTHON = r"""
import sys
sys.modules["cython"] = None  # import cython raises ImportError: a machine without Cython
import probity.screening as s
from probity.screening import default_policy, screen_message
from probity.screening.engine import Hit, _Ctx, _Weights
from probity.screening.normalize import Folded
from probity.screening.result import ScreeningResult
r = screen_message("加我薇信 abc12345", "customer", default_policy())
print(s.compiled_modules(), r.decision, r.categories,
      [c.__name__ for c in (Hit, _Ctx, _Weights, Folded, ScreeningResult)])
"""


def test_the_sources_run_without_cython() -> None:
    """The classes' ``@cython.freelist``/``@cython.cclass`` decorators (a C free list where
    setup.py compiles them) come from probity.screening._nocython where Cython is not
    installed: the pure-Python sources import and screen."""
    out = _run("-c", _NO_CYTHON, pure=True)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.split("\n")[0] == (
        "[] block ['contact'] ['Hit', '_Ctx', '_Weights', 'Folded', 'ScreeningResult']")


def test_objects_taken_from_the_free_lists_start_empty() -> None:
    """Compiled, ScreeningResult, Hit, _Ctx, _Weights, Folded and _ac.Matches keep freed
    objects for reuse (@cython.freelist): one made right after another was freed has every
    field at its empty value, not the freed object's."""
    from probity.screening import compiled_modules

    if "engine" not in compiled_modules():
        pytest.skip("the engine runs from source here (free lists are a compiled feature)")
    from probity.screening._ac import Automaton

    from probity.screening.engine import Hit, _Ctx, _Weights
    from probity.screening.normalize import Folded
    from probity.screening.result import ScreeningResult, allow_result

    for _ in range(3):
        made = [allow_result("x", 3) for _ in range(20)]
        made += [Hit([(0, 1)], "contact", 3, "微信", 0, 1, [(0, 1)], None, False)
                 for _ in range(40)]
        del made
        r = ScreeningResult.__new__(ScreeningResult)
        assert r._fields() == (None,) * 13
        h = Hit.__new__(Hit)
        assert (h.segs, h.category, h.severity, h.rule, h.us, h.ue, h.part_units, h.entry,
                h.literal, h.flags) == (None, None, None, None, 0, 0, None, None, None, 0)
        c = _Ctx.__new__(_Ctx)
        assert c.by_kind is None
        w = _Weights.__new__(_Weights)
        assert w.compact is None
        f = Folded.__new__(Folded)
        assert (f.text, f.compact, f.starts, f.ends) == (None, None, None, None)
    a = Automaton(["微信", "加"])
    for _ in range(20):
        m = a.matches("加我微信" * 40)  # past 64 matches: the heap buffer, freed with the object
        assert len(m) == 80
    assert len(a.matches("微信")) == 1
    assert len(a.matches("")) == 0
