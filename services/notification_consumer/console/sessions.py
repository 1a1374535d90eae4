"""Console sessions: an opaque random id in an HttpOnly, SameSite=Strict cookie; the key and
the CSRF token stay in this process's memory (bounded, expiring). The cookie never holds the
key. The key is kept only to forward it to the API for the lineage's API half, so the API's
per-key visibility applies to console users too. Sessions end when the process restarts.
"""

import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from service_kit.auth import Caller

COOKIE = "paystream_console"
MAX_SESSIONS = 10_000
TTL_S = 8 * 3600.0


@dataclass
class Session:
    caller: Caller
    key: str | None  # None in open mode
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    expires: float = field(default_factory=lambda: time.monotonic() + TTL_S)


class Sessions:
    def __init__(self) -> None:
        self._by_id: OrderedDict[str, Session] = OrderedDict()

    def create(self, caller: Caller, key: str | None) -> tuple[str, Session]:
        while len(self._by_id) >= MAX_SESSIONS:
            self._by_id.popitem(last=False)  # the oldest goes first
        sid = secrets.token_urlsafe(32)
        session = self._by_id[sid] = Session(caller, key)
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        if not sid or len(sid) > 100:
            return None
        session = self._by_id.get(sid)
        if session is None:
            return None
        if session.expires < time.monotonic():
            self._by_id.pop(sid, None)
            return None
        return session

    def end(self, sid: str | None) -> None:
        if sid:
            self._by_id.pop(sid, None)


def csrf_ok(session: Session, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(session.csrf.encode(),
                                                         presented.encode())
