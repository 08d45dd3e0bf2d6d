"""Failure-count limits for guessable secrets (e.g. a guest's order number + phone digits).

In-process: each app process counts on its own, so with N processes an attacker gets at most N
times the budget — still bounded, and it needs no shared store.
"""

from __future__ import annotations

import time
from collections import deque

from probity.errors import TooManyAttempts


class FailureLimiter:
    """At most `max_failures` failures per key within `window_s` seconds; then 429 until the
    oldest failure leaves the window."""

    def __init__(self, max_failures: int, window_s: float, max_keys: int = 100_000) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and now - q[0] > self.window_s:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def check(self, *keys: str) -> None:
        now = time.monotonic()
        for key in keys:
            q = self._recent(key, now)
            if len(q) >= self.max_failures:
                wait = int(self.window_s - (now - q[0])) + 1
                raise TooManyAttempts(f"too many failed attempts; try again in {wait} s",
                                      retry_after=wait)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        if len(self._failures) >= self.max_keys:  # bounded memory under a flood of keys
            self._failures.clear()
        for key in keys:
            self._failures.setdefault(key, deque()).append(now)

    def reset(self) -> None:
        self._failures.clear()
