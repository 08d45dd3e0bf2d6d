"""uvicorn under cProfile (the main thread: the application's event loop; the chat writer's
batches into OUT.writer), for `benchmarks/chat.py` with PROBITY_BENCH_CPROFILE=<dir>. Profiling
starts on SIGUSR2 (the benchmark sends it when its measured window starts) and the profiles are
written on SIGUSR1 (at the end of the window); each thread's stack is appended to OUT.stacks on
SIGRTMIN. The clock is the profiled thread's CPU time, not wall time: on a shared machine,
waiting for a core is not the code's cost.

With `--workers N` (N > 1) each worker process is profiled instead of uvicorn's supervisor:
uvicorn starts its workers with multiprocessing's spawn, which imports this file in each of them
as `__mp_main__`; there the profiler and the signal handlers are installed, and the profile is
written to OUT.<pid> (the benchmark signals each worker).

    python benchmarks/_cprofile_server.py OUT.prof <uvicorn arguments>
"""

from __future__ import annotations

import cProfile
import faulthandler
import os
import runpy
import signal
import sys
import time
from types import FrameType
from typing import Any

ENV = "PROBITY_BENCH_CPROFILE_OUT"


def install(out: str) -> cProfile.Profile:
    prof = cProfile.Profile(time.thread_time)
    # Every thread's stack on SIGRTMIN, appended to OUT.stacks (sampling what waits: the
    # profile's clock is CPU time, so waiting is not in it).
    faulthandler.register(signal.SIGRTMIN, open(f"{out}.stacks", "a"),  # noqa: SIM115
                          all_threads=True)

    writer = _profile_writer()

    def start(_signum: int = 0, _frame: FrameType | None = None) -> None:
        prof.enable()
        writer.enabled = True

    def dump(_signum: int = 0, _frame: FrameType | None = None) -> None:
        prof.disable()
        prof.dump_stats(out)
        writer.enabled = False
        writer.prof.dump_stats(f"{out}.writer")

    signal.signal(signal.SIGUSR2, start)
    signal.signal(signal.SIGUSR1, dump)
    return prof


class _WriterProfile:
    def __init__(self) -> None:
        self.prof = cProfile.Profile(time.thread_time)
        self.enabled = False


def _profile_writer() -> _WriterProfile:
    """The chat writer's thread, profiled too (OUT.writer): each of its batches (`_write`) runs
    under a profiler of its own while the window is measured."""
    from probity.chat.writer import MessageWriter

    state = _WriterProfile()
    write = MessageWriter._write

    def profiled(self: MessageWriter, *args: Any, **kwargs: Any) -> Any:
        if not state.enabled:
            return write(self, *args, **kwargs)
        return state.prof.runcall(write, self, *args, **kwargs)

    MessageWriter._write = profiled  # type: ignore[method-assign]
    return state


if __name__ == "__main__":
    out = sys.argv[1]
    sys.argv = ["uvicorn", *sys.argv[2:]]
    workers = int(sys.argv[sys.argv.index("--workers") + 1]) if "--workers" in sys.argv else 1
    if workers > 1:  # the workers profile themselves (below); the supervisor runs plain
        os.environ[ENV] = out
        # sys.modules["__main__"] stays this file, so that spawn imports it in the workers
        runpy.run_module("uvicorn", run_name="__main__", alter_sys=False)
    else:
        main_prof = install(out)
        try:
            runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
        finally:
            main_prof.disable()
            main_prof.dump_stats(out)
elif __name__ == "__mp_main__" and os.environ.get(ENV):
    install(f"{os.environ[ENV]}.{os.getpid()}")
