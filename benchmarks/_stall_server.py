"""uvicorn with stall instrumentation, for `benchmarks/chat.py` with PROBITY_BENCH_STALLS=<dir>
(one app process). Records, to <dir>/stalls-<port>.jsonl, with time.perf_counter() stamps (the
same CLOCK_MONOTONIC as the load generator's, so they line up with its per-second timeline):

* loop lag: a task on the application's loop sleeps 5 ms at a time; every wake-up later than
  20 ms is a stall of the loop ({"k": "lag"}), and a watchdog thread samples the main thread's
  Python stack every 5 ms while the loop is late ({"k": "stack"}, the innermost frames);
* GC: each collection's generation, duration and the objects it saw ({"k": "gc"}), whoever
  triggered it;
* the chat writer: per transaction its items, how long the oldest waited in the queue, the
  time in the transaction and in its COMMIT, the path (and why it fell back: ``why``), whether
  the direct path signed a ledger checkpoint in it (``ckpt``), and the WAL file's size
  ({"k": "batch"}); and the finisher's delay (hand-back to the app's loop → run) ({"k": "fin"});
* once a second, the process's and its threads' CPU ({"k": "cpu"}).

    python benchmarks/_stall_server.py OUT_DIR <uvicorn arguments>
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import runpy
import signal
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import Any

out_dir = Path(sys.argv[1])
sys.argv = ["uvicorn", *sys.argv[2:]]
port = sys.argv[sys.argv.index("--port") + 1] if "--port" in sys.argv else str(os.getpid())
out_dir.mkdir(parents=True, exist_ok=True)
_out = open(out_dir / f"stalls-{port}.jsonl", "w", buffering=1)  # noqa: SIM115
_out_lock = threading.Lock()
now = time.perf_counter


def emit(**rec: Any) -> None:
    line = json.dumps(rec, default=str)
    with _out_lock:
        _out.write(line + "\n")


# ---- GC --------------------------------------------------------------------------------------
_gc_start: dict[str, float] = {}


def _gc_cb(phase: str, info: dict[str, Any]) -> None:
    if phase == "start":
        _gc_start["t"] = now()
    else:
        t0 = _gc_start.pop("t", None)
        if t0 is not None:
            ms = 1000 * (now() - t0)
            if info["generation"] == 2 or ms > 5:
                emit(k="gc", t=t0, ms=ms, gen=info["generation"], collected=info["collected"],
                     thread=threading.current_thread().name,
                     objects=len(gc.get_objects(2)) if info["generation"] == 2 else None)


gc.callbacks.append(_gc_cb)

# ---- loop lag + watchdog ---------------------------------------------------------------------
_beat = {"t": now(), "main": threading.main_thread().ident}
LAG_S = 0.020
TICK_S = 0.005


async def _heartbeat() -> None:
    while True:
        t0 = now()
        _beat["t"] = t0
        await asyncio.sleep(TICK_S)
        late = now() - t0 - TICK_S
        _beat["t"] = now()
        if late > LAG_S:
            emit(k="lag", t=t0, ms=1000 * late)


def _watchdog() -> None:
    main = _beat["main"]
    while True:
        time.sleep(TICK_S)
        behind = now() - _beat["t"]
        if behind > LAG_S:
            frame = sys._current_frames().get(main)
            if frame is not None:
                stack = traceback.extract_stack(frame)[-12:]
                emit(k="stack", t=now(), behind_ms=1000 * behind,
                     stack=[f"{Path(f.filename).name}:{f.lineno}:{f.name}" for f in stack])


def _cpu() -> None:
    pid = os.getpid()
    tck = os.sysconf("SC_CLK_TCK")
    while True:
        time.sleep(1.0)
        threads = {}
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
            except OSError:
                continue
            name = stat[stat.index("(") + 1:stat.rindex(")")]
            f = stat.rsplit(")", 1)[1].split()
            threads[f"{name}:{tid}"] = (int(f[11]) + int(f[12])) / tck
        emit(k="cpu", t=now(), threads=threads)


# ---- the chat writer -------------------------------------------------------------------------
def _wal_size(url: str) -> int | None:
    from sqlalchemy.engine import make_url

    try:
        return Path(f"{make_url(url).database}-wal").stat().st_size
    except (OSError, ValueError):
        return None


def _patch_writer() -> None:
    from probity.chat import writer as w

    orig_write_once = w.MessageWriter._write_once
    orig_finish_put = w.MessageWriter._hand_back

    class TimedCon:
        def __init__(self, con: Any) -> None:
            self._con = con
            self.commit_ms = 0.0

        def execute(self, sql: str, *a: Any) -> Any:
            if sql == "COMMIT":
                t0 = now()
                try:
                    return self._con.execute(sql, *a)
                finally:
                    self.commit_ms = 1000 * (now() - t0)
            return self._con.execute(sql, *a)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._con, name)

    def write_once(self: Any, batch: list[Any], *args: Any) -> None:
        if self._direct is not None and not isinstance(self._direct.con, TimedCon):
            self._direct.con = TimedCon(self._direct.con)
        t0 = now()
        wait = time.monotonic() - min(i.queued_at for i in batch)
        d0 = self.direct_batches
        fb0 = self.fallbacks
        c0 = getattr(self._direct, "checkpoints", 0)
        try:
            orig_write_once(self, batch, *args)
        finally:
            t1 = now()
            wal = _wal_size(self.url)
            emit(k="batch", t=t0, ms=1000 * (t1 - t0), wait_ms=1000 * wait,
                 sends=sum(1 for i in batch if i.send is not None),
                 receipts=sum(1 for i in batch if i.receipt is not None),
                 job=batch[0].job is not None, direct=self.direct_batches > d0,
                 fallback=self.fallbacks > fb0,
                 why=getattr(self, "fallback_reason", None) if self.fallbacks > fb0 else None,
                 # a ledger checkpoint signed on the direct path in this transaction
                 ckpt=getattr(self._direct, "checkpoints", 0) > c0,
                 commit_ms=(self._direct.con.commit_ms if self.direct_batches > d0 else None),
                 queue=len(self._pending), wal=wal)

    def hand_back(self: Any, done: Any) -> None:
        t0 = now()
        orig_effects = list(done.effects)
        n = len(done.items)

        async def stamp() -> None:
            emit(k="fin", t=t0, ms=1000 * (now() - t0), items=n)

        done.effects = [stamp, *orig_effects]
        orig_finish_put(self, done)

    w.MessageWriter._write_once = write_once  # type: ignore[method-assign]
    w.MessageWriter._hand_back = hand_back  # type: ignore[method-assign]


def _patch_uvicorn() -> None:
    import uvicorn.server

    orig = uvicorn.server.Server._serve

    async def _serve(self: Any, sockets: Any = None) -> None:
        _beat["main"] = threading.get_ident()
        asyncio.get_running_loop().create_task(_heartbeat())
        await orig(self, sockets)

    uvicorn.server.Server._serve = _serve  # type: ignore[method-assign]


def _census(_signum: int = 0, _frame: Any = None) -> None:
    """SIGUSR2: the GC-tracked objects by type and generation (the cost of a full collection)."""
    import collections
    import signal  # noqa: F401

    gens = [len(gc.get_objects(g)) for g in range(3)]
    types = collections.Counter(
        f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())
    emit(k="census", t=now(), gens=gens, frozen=gc.get_freeze_count(),
         top=types.most_common(40))


def _freeze(_signum: int = 0, _frame: Any = None) -> None:
    """SIGUSR1: how much of the frozen set is garbage (reference cycles that waited for a
    sweep): unfreeze, collect everything, freeze again."""
    t0 = now()
    before = gc.get_freeze_count()
    gc.unfreeze()
    collected = gc.collect()
    gc.freeze()
    emit(k="sweep", t=t0, ms=1000 * (now() - t0), frozen_before=before, collected=collected,
         frozen=gc.get_freeze_count())


signal.signal(signal.SIGUSR2, _census)
signal.signal(signal.SIGUSR1, _freeze)
_patch_uvicorn()
_patch_writer()
threading.Thread(target=_watchdog, name="stall-watchdog", daemon=True).start()
threading.Thread(target=_cpu, name="stall-cpu", daemon=True).start()
runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
