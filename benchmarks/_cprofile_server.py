"""uvicorn under cProfile (the main thread: the application's event loop), for
`benchmarks/chat.py` with PROBITY_BENCH_CPROFILE=<dir>. Profiling starts on SIGUSR2 (the
benchmark sends it when its measured window starts) and the profile is written on SIGUSR1 (at
the end of the window). The clock is the main thread's CPU time, not wall time: on a shared
machine, waiting for a core is not the code's cost.

    python benchmarks/_cprofile_server.py OUT.prof <uvicorn arguments>
"""

from __future__ import annotations

import cProfile
import runpy
import signal
import sys
import time
from types import FrameType

out = sys.argv[1]
sys.argv = ["uvicorn", *sys.argv[2:]]
prof = cProfile.Profile(time.thread_time)


def start(_signum: int = 0, _frame: FrameType | None = None) -> None:
    prof.enable()


def dump(_signum: int = 0, _frame: FrameType | None = None) -> None:
    prof.disable()
    prof.dump_stats(out)


signal.signal(signal.SIGUSR2, start)
signal.signal(signal.SIGUSR1, dump)
try:
    runpy.run_module("uvicorn", run_name="__main__", alter_sys=True)
finally:
    prof.disable()
    prof.dump_stats(out)
