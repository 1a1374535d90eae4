"""Reading a JSON body: the deadline covers the whole read whether or not a receive waits, a
body already there is read at once, and a disconnect or a cancellation passes through."""

import asyncio
from typing import Any

import pytest
from starlette.requests import Request
from starlette.types import Message

from service_kit import bodies
from service_kit.problems import Problem

JSON = [(b"content-type", b"application/json")]


def request(messages: list[Message], delays: list[float]) -> Request:
    """A request whose receive() yields `messages`, the i-th after sleeping delays[i]."""
    pending = list(zip(delays, messages, strict=True))

    async def receive() -> Message:
        delay, message = pending.pop(0)
        if delay:
            await asyncio.sleep(delay)
        return message

    return Request({"type": "http", "method": "POST", "path": "/", "headers": JSON}, receive)


def chunk(body: bytes, more: bool = False) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_a_body_already_there_is_read_without_waiting() -> None:
    got = await bodies.read_json_object(request([chunk(b'{"a": 1}')], [0]), 1024)
    assert got == {"a": 1}


async def test_a_body_in_chunks_that_wait_is_read_in_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bodies, "BODY_READ_TIMEOUT_S", 1.0)
    req = request([chunk(b'{"a":', True), chunk(b" 2}")], [0.01, 0.01])
    assert await bodies.read_json_object(req, 1024) == {"a": 2}


async def test_the_deadline_covers_the_whole_body_not_each_chunk(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bodies, "BODY_READ_TIMEOUT_S", 0.2)
    # Each wait alone is within the limit; together they pass it.
    req = request([chunk(b"{", True), chunk(b"", True), chunk(b"}")], [0.0, 0.15, 0.15])
    with pytest.raises(Problem) as refused:
        await bodies.read_json_object(req, 1024)
    assert refused.value.status == 408


async def test_a_body_never_sent_is_408(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bodies, "BODY_READ_TIMEOUT_S", 0.05)
    with pytest.raises(Problem) as refused:
        await bodies.read_json_object(request([chunk(b"{}")], [30]), 1024)
    assert refused.value.status == 408


async def test_a_disconnect_is_400_and_a_cancellation_stays_one() -> None:
    with pytest.raises(Problem) as refused:
        await bodies.read_json_object(request([{"type": "http.disconnect"}], [0]), 1024)
    assert refused.value.status == 400
    task: asyncio.Task[Any] = asyncio.create_task(
        bodies.read_json_object(request([chunk(b"{}")], [30]), 1024))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_chunked_body_past_the_limit_is_413() -> None:
    req = request([chunk(b"x" * 600, True), chunk(b"x" * 600)], [0, 0])
    with pytest.raises(Problem) as refused:
        await bodies.read_json_object(req, 1024)
    assert refused.value.status == 413
