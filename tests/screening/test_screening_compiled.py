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
