"""Reading a JSON request body strictly: type, size, encoding and syntax, each a clear 4xx."""

import asyncio
import types
from collections.abc import Generator
from typing import Any

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect
from starlette.types import Message, Receive

from service_kit.problems import Problem
from service_kit.scope_headers import declared_length, first_header

BODY_READ_TIMEOUT_S = 10.0


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    scope = request.scope
    media, _, params = (first_header(scope, b"content-type") or "").partition(";")
    media = media.strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Problem(415, "Content-Type must be application/json", field="Content-Type")
    charset = params.strip().lower().removeprefix("charset=").strip('"')
    if params.strip() and params.strip().lower().startswith("charset=") and charset not in (
        "utf-8",
        "utf8",
    ):
        raise Problem(415, "only UTF-8 JSON is accepted", field="Content-Type")
    declared = declared_length(scope)
    if declared is not None and declared > max_bytes:
        raise Problem(413, f"body larger than {max_bytes} bytes")
    try:
        body = await _read_capped(request.receive, max_bytes)
    except TimeoutError as exc:
        raise Problem(408, "request body not received in time") from exc
    except ClientDisconnect as exc:  # nobody to answer; not a server error either
        raise Problem(400, "client disconnected before sending the body") from exc
    if not body:
        raise Problem(400, "request body is empty")
    try:
        parsed = orjson.loads(body)  # rejects invalid UTF-8 and nesting deeper than 1024
    except orjson.JSONDecodeError as exc:
        raise Problem(400, f"malformed JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise Problem(422, "body must be a JSON object")
    return parsed


async def _read_capped(receive: Receive, max_bytes: int) -> bytes:
    """The body from the ASGI channel (as Request.stream reads it, without its async
    generator; the route must not have read the body itself), all of it within
    BODY_READ_TIMEOUT_S of the start, as one asyncio.timeout around the read did."""
    deadline = asyncio.get_running_loop().time() + BODY_READ_TIMEOUT_S
    body = bytearray()
    while True:
        message = await _receive_by(receive, deadline)
        if message["type"] == "http.request":
            body += message.get("body", b"")
            if len(body) > max_bytes:
                raise Problem(413, f"body larger than {max_bytes} bytes")
            if not message.get("more_body", False):
                return bytes(body)
        elif message["type"] == "http.disconnect":
            raise ClientDisconnect()


async def _receive_by(receive: Receive, deadline: float) -> Message:
    """receive(), or TimeoutError once the loop's clock passes `deadline`. The receive is
    first run up to its first wait: a body that came with the headers (nearly every request)
    is there at once and arms no timer; arming and cancelling one per request (what
    asyncio.timeout does) was 6 µs of a POST. Only a receive that has to wait gets one."""
    steps = receive().__await__()
    try:
        waiting = steps.send(None)
    except StopIteration as done:
        message: Message = done.value
        return message
    async with asyncio.timeout_at(deadline):
        return await _finish(steps, waiting)


@types.coroutine
def _finish(steps: Generator[Any, Any, Message], waiting: Any) -> Generator[Any, Any, Message]:
    """The rest of an await already run up to `waiting` (what it yielded to the task):
    what `yield from` would do, so the task waits on it, and a cancellation (the timeout's)
    is thrown into it where it waits."""
    while True:
        try:
            sent = yield waiting
        except GeneratorExit:
            steps.close()
            raise
        except BaseException as exc:  # noqa: BLE001 - handed on, as yield from does
            try:
                waiting = steps.throw(exc)
            except StopIteration as done:
                result: Message = done.value
                return result
            continue
        try:
            waiting = steps.send(sent)
        except StopIteration as done:
            result = done.value
            return result
