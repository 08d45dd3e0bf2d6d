"""Attempt limits for guessable secrets (sign-in, a guest's order number + phone digits), on a
shared store through the `limits` library.

The store is process memory by default and Redis when `PROBITY_REDIS_URL` is set (`configure`,
called by the app factory), so several app processes share one budget. Each attempt is counted
*before* the secret is checked (`take` is one atomic hit per key), so parallel guesses cannot
slip past the limit while earlier ones are still being checked. Keys expire with their window;
there is no global wipe an attacker could trigger by flooding keys.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter

from probity.errors import TooManyAttempts

__all__ = ["AttemptLimiter", "configure", "reset"]


class _Store:
    def __init__(self) -> None:
        self.storage: Storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)
        self.url: str | None = None

    def use(self, redis_url: str | None, prefix: str) -> None:
        if redis_url == self.url:
            return
        self.url = redis_url
        if redis_url:
            uri = redis_url if redis_url.startswith("async+") else f"async+{redis_url}"
            self.storage = RedisStorage(uri, implementation="redispy",
                                        key_prefix=f"{prefix}:limits")
        else:
            self.storage = MemoryStorage()
        self.limiter = MovingWindowRateLimiter(self.storage)


_STORE = _Store()


def configure(redis_url: str | None, prefix: str = "probity") -> None:
    """Count attempts in Redis (shared by every process) or, without a URL, in memory."""
    _STORE.use(redis_url, prefix)


def reset() -> None:
    """Forget every count (tests): a fresh in-memory store, or the same Redis store."""
    if _STORE.url is None:
        _STORE.storage = MemoryStorage()
        _STORE.limiter = MovingWindowRateLimiter(_STORE.storage)


class AttemptLimiter:
    """At most `max_attempts` attempts per key within `window_s` seconds; then 429, with a
    `Retry-After` of the seconds until the oldest attempt leaves the window."""

    def __init__(self, name: str, max_attempts: int, window_s: int) -> None:
        self.name = name
        self.max_attempts = max_attempts
        self.window_s = window_s
        self.item = RateLimitItemPerSecond(max_attempts, window_s)

    async def take(self, *keys: str) -> None:
        """Count one attempt against every key, or refuse (counting nothing more) when any key
        has no attempt left."""
        limiter = _STORE.limiter
        for key in keys:
            if not await limiter.test(self.item, self.name, key):
                await self._refuse(key)
        for key in keys:
            if not await limiter.hit(self.item, self.name, key):
                await self._refuse(key)

    async def retry_after(self, key: str) -> int:
        stats = await _STORE.limiter.get_window_stats(self.item, self.name, key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def _refuse(self, key: str) -> None:
        wait = await self.retry_after(key)
        raise TooManyAttempts(f"too many attempts; try again in {wait} s", retry_after=wait)

    async def clear(self, *keys: str) -> None:
        for key in keys:
            await _STORE.limiter.clear(self.item, self.name, key)
