"""The request guard in front of every route: sizes, keys and open mode's rules, decided
before the body is read (the app below never sees a refused request)."""

from typing import Any

import pytest
from pydantic import SecretStr
from starlette.types import Message, Receive, Scope, Send

from service_kit.auth import ApiKeys
from service_kit.request_guard import GuardRules, RequestGuard, is_local_host

LIMIT = 1024


class Recorder:
    """An app that reads the whole body and answers 200; it counts what it saw."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.calls += 1
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


async def call(guard: RequestGuard, headers: dict[str, str], chunks: list[bytes],
               method: str = "POST", path: str = "/webhooks") -> tuple[int, int]:
    """(status, chunks the app pulled)."""
    pulled = 0
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal pulled
        if pulled >= len(chunks):
            return {"type": "http.disconnect"}
        pulled += 1
        return {"type": "http.request", "body": chunks[pulled - 1],
                "more_body": pulled < len(chunks)}

    async def send(message: Message) -> None:
        sent.append(message)

    scope: dict[str, Any] = {
        "type": "http", "method": method, "path": path, "headers": [
            (k.lower().encode(), v.encode()) for k, v in headers.items()]}
    await guard(scope, receive, send)
    return next(m["status"] for m in sent if m["type"] == "http.response.start"), pulled


def guard(keys: str = "") -> tuple[RequestGuard, Recorder]:
    app = Recorder()
    rules = GuardRules(LIMIT, ApiKeys(SecretStr(keys)), key_exempt=("/console/",))
    return RequestGuard(app, rules), app


JSON = {"host": "127.0.0.1:8001", "content-type": "application/json"}


async def test_a_declared_oversize_body_is_413_before_a_byte_is_read() -> None:
    g, app = guard()
    status, pulled = await call(g, {**JSON, "content-length": str(300 * 2**20)}, [b"x"] * 10)
    assert (status, pulled, app.calls) == (413, 0, 0)


async def test_a_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit() -> None:
    g, _ = guard()
    status, pulled = await call(g, {**JSON, "transfer-encoding": "chunked"},
                                [b"x" * 512] * 1000)
    assert status == 413
    assert pulled == 3  # 1,536 bytes: the first read past 1,024, and not one more


async def test_with_keys_a_body_without_a_key_is_401_unread() -> None:
    g, app = guard("k1")
    status, pulled = await call(g, {**JSON, "transfer-encoding": "chunked"}, [b"{}"])
    assert (status, pulled, app.calls) == (401, 0, 0)
    status, _ = await call(g, {**JSON, "content-length": "2", "authorization": "Bearer k1"},
                           [b"{}"])
    assert status == 200
    # The console's login form carries its key in the body.
    status, _ = await call(g, {"host": "x", "content-length": "5"}, [b"key=k"],
                           path="/console/login")
    assert status == 200


@pytest.mark.parametrize(("headers", "status"), [
    ({**JSON, "host": "attacker.example"}, 403),
    ({**JSON, "origin": "https://attacker.example"}, 403),
    ({**JSON, "origin": "http://127.0.0.1:8001"}, 200),
    ({**JSON, "content-type": "text/plain"}, 415),
    ({**JSON, "host": "localhost:8001"}, 200),
    ({**JSON, "host": "[::1]:8001"}, 200),
])
async def test_open_mode_state_changes_are_local_only(headers: dict[str, str],
                                                      status: int) -> None:
    g, _ = guard()
    got, _ = await call(g, {**headers, "content-length": "2"}, [b"{}"])
    assert got == status


def test_local_hosts() -> None:
    assert is_local_host("127.0.0.2:80", frozenset())
    assert is_local_host("api", frozenset({"api"}))
    assert not is_local_host("127.0.0.1.attacker.example", frozenset())
    assert not is_local_host("", frozenset())


async def test_a_declared_length_within_the_limit_reaches_the_app_as_sent() -> None:
    g, app = guard()
    status, pulled = await call(g, {**JSON, "content-length": "512"}, [b"x" * 512])
    assert (status, pulled, app.calls) == (200, 1, 1)


@pytest.mark.parametrize("declared", ["300000000 ", " 300000000", "300000000\t"])
async def test_a_declared_oversize_length_with_whitespace_is_413_unread(declared: str) -> None:
    # httptools frames the body by a Content-Length with optional whitespace around it (RFC
    # 9110 OWS) and hands the value on with its trailing whitespace: the limit must see the
    # same number, not wait for the body and answer 408 after the read deadline.
    g, app = guard()
    status, pulled = await call(g, {**JSON, "content-length": declared}, [b"x"] * 10)
    assert (status, pulled, app.calls) == (413, 0, 0)
