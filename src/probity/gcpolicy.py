"""The serving process's garbage-collector policy: full collections that walk only what is new.

Why (issue 17, measured in docs/BENCHMARKS.md, "Chat saturation"): CPython's full (generation 2)
collection stops every thread while it walks every tracked container. A serving process holds
~280,000 of them after start-up (modules, the FastAPI app, SQLAlchemy's mappers), ~100,000 more
once the screener is compiled and ~200 more per open WebSocket, so with 2,000 sockets a full
collection walked 600,000-900,000 objects and stopped the process for 0.4-1.5 s on the 2-core
machine; and a full collection runs whenever a quarter as many again have been promoted since
the last one, which at ~300-400 msg/s was every 10-20 s. That was the chat's "stall": every
socket of the process waited for it.

The policy (`install`, once per process, from the app's lifespan):
* at start-up, what is live after a collection is frozen (`gc.freeze`): never walked again;
* after every full collection, what survived it is frozen too, so the next full collection
  walks only the objects promoted since the last one: its pause is bounded by what was
  promoted meanwhile (CPython runs it after at most ten collections of the middle generation),
  not by the size of the heap. Frozen objects are still freed by reference counting as soon
  as they are dropped (a closed socket's objects are); only a reference cycle among objects
  that were frozen waits for a sweep;
* a sweep — the next full collection unfreezes everything first and walks it all, one long
  pause (0.4-1.1 s with 2,000 sockets) — runs `sweep_s` after the last one (six hours by
  default). `sweeps` counts them. Measured: 3 × 400 sockets opened, used and closed left ~500
  objects for the sweep to free. (A sweep when the frozen set had doubled was tried first: it
  fell in the middle of a connection ramp, when the heap grows fastest, and cost a 0.55-1.1 s
  pause there; the time bound alone keeps the pauses predictable.)

* the youngest generation is collected after `young` (20,000) net allocations of tracked
  objects instead of CPython's 700. A serving process allocates a few hundred containers per
  chat message, nearly all of them dead within the same turn of the event loop: with 700, a
  young collection ran every few messages and promoted whatever was in flight at that instant
  (pending sends, futures, frames), which then cost the middle and the full collections their
  walks. With 20,000 a young collection runs every ~50-100 messages, walks at most 20,000
  objects (a few milliseconds), and far fewer short-lived objects are ever promoted. The
  middle and old thresholds stay CPython's (10, 10).

None of this changes what the program computes; it changes when garbage in reference cycles is
found. `tests/test_gcpolicy.py` checks the policy's behaviour.
"""

from __future__ import annotations

import gc
import threading
import time
from dataclasses import dataclass, field
from typing import Any

SWEEP_S = 6 * 3600.0
YOUNG = 20_000  # generation 0's threshold while installed (CPython: 700)


@dataclass
class GcPolicy:
    sweep_s: float = SWEEP_S
    installed: bool = False
    full: int = 0  # full collections since install
    sweeps: int = 0  # of which, those that walked everything (unfrozen first)
    swept_size: int = 0  # the frozen set's size after the last sweep (or install)
    # gc.get_threshold() before install (restored by uninstall)
    previous_threshold: tuple[int, ...] = ()
    _last_sweep: float = field(default_factory=time.monotonic)
    _sweeping: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def sweep_due(self) -> bool:
        return time.monotonic() - self._last_sweep >= self.sweep_s

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            if self.sweep_due():
                gc.unfreeze()  # this collection walks everything: frozen cycles are freed
                self._sweeping = True
            return
        # "stop": what is tracked now survived a full collection (the younger generations
        # were merged into it): freeze it, so that the next one walks only what is new.
        self.full += 1
        gc.freeze()
        if self._sweeping:
            self._sweeping = False
            self.sweeps += 1
            self._last_sweep = time.monotonic()
            self.swept_size = gc.get_freeze_count()


_POLICY = GcPolicy()


def policy() -> GcPolicy:
    return _POLICY


def install(sweep_s: float = SWEEP_S, young: int = YOUNG) -> GcPolicy:
    """Apply the policy to this process (idempotent): collect, freeze what survived (start-up's
    objects), and from now on freeze the survivors of every full collection; the youngest
    generation is collected every `young` net allocations (0: CPython's threshold kept)."""
    p = _POLICY
    with p._lock:
        p.sweep_s = sweep_s
        if not p.installed:
            p.installed = True
            p._sweeping = True  # this first collection counts as a sweep
            p.previous_threshold = gc.get_threshold()
            gc.callbacks.append(p._callback)
        if young > 0:
            _, middle, old = p.previous_threshold
            gc.set_threshold(young, middle, old)
    gc.collect()
    return p


def uninstall() -> None:
    """Back to CPython's behaviour (tests): unfreeze everything and drop the callback."""
    p = _POLICY
    with p._lock:
        if not p.installed:
            return
        gc.callbacks.remove(p._callback)
        p.installed = False
        p._sweeping = False
        if p.previous_threshold:
            gc.set_threshold(*p.previous_threshold)
    gc.unfreeze()
