"""Per-caller counts of a held resource (open streams): taking one more than the limit is
QuotaExceeded (429). In-process: each replica counts its own."""

from collections import Counter
from collections.abc import Callable

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
