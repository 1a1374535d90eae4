"""A console form (application/x-www-form-urlencoded) read within a byte bound and a time
bound, so a hostile POST is refused before it is held in memory whole. FastAPI's `Form()`
reads the whole body first and answers a JSON 422; these pages answer a page."""

import asyncio
from urllib.parse import parse_qsl

from fastapi import Request
from starlette.requests import ClientDisconnect

from service_kit.problems import Problem

READ_TIMEOUT_S = 10.0
MAX_FIELDS = 20


class FormRefused(Problem):
    """The pages catch it and answer a page; were it to escape, it is a problem+json 4xx."""


async def read_form(request: Request, max_bytes: int) -> dict[str, str]:
    """The form's fields (the last of a repeated name wins). Raises FormRefused."""
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        raise FormRefused(415, "Send the form from the console's own page.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise FormRefused(413, f"The form is larger than {max_bytes:,} bytes.")
    body = bytearray()
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            async for chunk in request.stream():
                body += chunk
                if len(body) > max_bytes:
                    raise FormRefused(413, f"The form is larger than {max_bytes:,} bytes.")
    except TimeoutError as exc:
        raise FormRefused(408, "The form was not received in time.") from exc
    except ClientDisconnect as exc:
        raise FormRefused(400, "The form was cut off.") from exc
    try:
        # Percent-escapes that are not UTF-8 become U+FFFD: never a lone surrogate.
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True,
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise FormRefused(400, "The form is not URL-encoded UTF-8 text.") from exc
    return dict(pairs)
