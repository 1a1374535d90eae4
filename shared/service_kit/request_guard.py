"""The door every request passes before any route reads it: the body's size, the key, and in
open mode (no keys) the local-only rules. Pure ASGI, so nothing is read or parsed first.

    body over MAX_BODY_BYTES      413, from Content-Length before a byte is read, or as soon
                                  as a chunked body passes the limit (the rest is never read)
    keys on, no valid key         401 before the body is read, for requests that carry one
                                  (paths under `key_exempt`, such as the console's login
                                  form, check their own way)
    open mode, state-changing     the Host must be a loopback name or in ALLOWED_HOSTS, an
                                  Origin the same host, and a body JSON: a web page cannot
                                  drive a local instance (DNS rebinding, cross-site forms)
"""

import ipaddress
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service_kit.auth import ApiKeys
from service_kit.errors import BodyTooLarge, Unauthorized
from service_kit.problems import Problem, problem_response, service_problem
from service_kit.scope_headers import declared_length, first_header

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
LOOPBACK_NAMES = frozenset({"localhost"})


@lru_cache(maxsize=256)  # bounded: hostile Host headers only evict each other
def is_local_host(host_header: str, allowed: frozenset[str]) -> bool:
    """`host[:port]` names this machine (or an allowed name)."""
    host = urlsplit(f"//{host_header}").hostname or ""
    if host in LOOPBACK_NAMES or host in allowed:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class GuardRules:
    max_body_bytes: int
    keys: ApiKeys
    key_exempt: tuple[str, ...] = ()
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)


def allowed_hosts(setting: str) -> frozenset[str]:
    """ALLOWED_HOSTS, comma-separated, as the guard compares them."""
    return frozenset(h.strip().lower() for h in setting.split(",") if h.strip())


class _Progress:
    def __init__(self) -> None:
        self.read = 0
        self.over = False
        self.started = False
        self.answered = False


def _length_is_declared(scope: Scope) -> bool:
    """The body's length is its Content-Length: one is given, and no Transfer-Encoding."""
    if first_header(scope, b"transfer-encoding") is not None:
        return False
    return declared_length(scope) is not None


class RequestGuard:
    def __init__(self, app: ASGIApp, rules: GuardRules) -> None:
        self.app = app
        self.max = rules.max_body_bytes
        self.keys = rules.keys
        self.key_exempt = rules.key_exempt
        self.allowed = rules.allowed_hosts

    def refusal(self, scope: Scope) -> Problem | None:
        method, path = scope["method"], scope["path"]
        length = declared_length(scope)
        if length is not None and length > self.max:
            return service_problem(BodyTooLarge(self.max))
        declared = first_header(scope, b"content-length")
        has_body = (bool(declared and declared != "0")
                    or first_header(scope, b"transfer-encoding") is not None)
        exempt = path.startswith(self.key_exempt) if self.key_exempt else False
        if self.keys.enabled:
            if has_body and not exempt \
                    and self.keys.scope_for(first_header(scope, b"authorization")) is None:
                return service_problem(Unauthorized())
            return None
        if method not in STATE_CHANGING:
            return None
        host = first_header(scope, b"host") or ""
        if not is_local_host(host, self.allowed):
            return Problem(403, "open mode (no API_KEYS) answers changes only to a local Host "
                           "(or one in ALLOWED_HOSTS)", field="Host")
        origin = first_header(scope, b"origin")
        if origin is not None and urlsplit(origin).netloc.lower() != host.lower():
            return Problem(403, "a request from another origin may not change anything",
                           field="Origin")
        media = (first_header(scope, b"content-type") or "").partition(";")[0].strip().lower()
        if has_body and not exempt and media != "application/json" \
                and not media.endswith("+json"):
            return Problem(415, "Content-Type must be application/json", field="Content-Type")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is not None:
            await problem_response(refused, scope["path"])(scope, receive, send)
            return
        if _length_is_declared(scope):
            # Within the limit (refusal checked it), and the server frames the body by that
            # length (HTTP/1.1; HTTP/2 refuses a mismatch): no read can pass the limit, so
            # the counting below would only cost its wrappers (3 µs of every POST).
            await self.app(scope, receive, send)
            return
        state = _Progress()

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state.read += len(message.get("body", b""))
                if state.read > self.max:
                    state.over = True
                    raise BodyTooLarge(self.max)
            return message

        async def answer_413() -> None:
            if not state.started and not state.answered:
                state.answered = True
                response = problem_response(service_problem(BodyTooLarge(self.max)),
                                            scope["path"])
                await response(scope, receive, send)

        async def guarded_send(message: Message) -> None:
            if state.over:  # whatever the app makes of the refused body, the answer is 413
                await answer_413()
                return
            if message["type"] == "http.response.start":
                state.started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if not state.over:
                raise
        if state.over:
            await answer_413()
