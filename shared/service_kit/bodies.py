"""Reading a JSON request body strictly: type, size, encoding and syntax, each a clear 4xx."""

import asyncio
from typing import Any

import orjson
from fastapi import Request
from starlette.requests import ClientDisconnect

from service_kit.problems import Problem

BODY_READ_TIMEOUT_S = 10.0


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    media, _, params = request.headers.get("content-type", "").partition(";")
    media = media.strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise Problem(415, "Content-Type must be application/json", field="Content-Type")
    charset = params.strip().lower().removeprefix("charset=").strip('"')
    if params.strip() and params.strip().lower().startswith("charset=") and charset not in (
        "utf-8",
        "utf8",
    ):
        raise Problem(415, "only UTF-8 JSON is accepted", field="Content-Type")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise Problem(413, f"body larger than {max_bytes} bytes")
    try:
        # asyncio.timeout, not wait_for: no extra task per request.
        async with asyncio.timeout(BODY_READ_TIMEOUT_S):
            body = await _read_capped(request, max_bytes)
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


async def _read_capped(request: Request, max_bytes: int) -> bytes:
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise Problem(413, f"body larger than {max_bytes} bytes")
    return bytes(body)
