"""Per-caller counts of a held resource (open streams): taking one more than the limit is
QuotaExceeded (429). In-process: each replica counts its own."""

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Callable

from service_kit.errors import QuotaExceeded


class KeyQuota:
    def __init__(self, limit: int, what: str, setting: str) -> None:
        self.limit = limit
        self.what = what
        self.setting = setting
        self._held: Counter[str] = Counter()

    def held(self, key: str) -> int:
        return self._held[key]

    def take(self, key: str) -> Callable[[], None]:
        """One unit for `key`, or QuotaExceeded; returns its release (safe to call twice)."""
        if self._held[key] >= self.limit:
            raise QuotaExceeded(self.what, self.limit, self.setting)
        self._held[key] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._held[key] -= 1
                if self._held[key] <= 0:
                    del self._held[key]

        return release


class KeyedLocks:
    """One asyncio lock per caller, dropped when nobody holds or waits for it: one caller's
    burst of requests then queues in memory, holding no database connection meanwhile, so
    it cannot take the pool every other caller shares."""

    def __init__(self) -> None:
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users <= 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)
