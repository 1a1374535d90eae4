"""A request header read straight from the ASGI scope, for the hot path.

Starlette's `Headers.get` answers a missing header by raising and catching a KeyError inside
`Mapping.get`, about a microsecond each, and a POST /payments asks for four headers it usually
lacks (Origin, Transfer-Encoding, Authorization, Idempotency-Key). This gives the same answer
(ASGI servers lowercase header names; the first value wins; latin-1) without the exception.
"""

from collections.abc import Iterable, MutableMapping
from typing import Any


def first_header(scope: MutableMapping[str, Any], name: bytes) -> str | None:
    """`Headers(scope=scope).get(name)`; `name` lowercase."""
    headers: Iterable[tuple[bytes, bytes]] = scope["headers"]
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def declared_length(scope: MutableMapping[str, Any]) -> int | None:
    """The Content-Length as the HTTP server framed the body by it: ASCII digits with optional
    whitespace around them (httptools accepts `20000 ` and passes the space on), else None."""
    value = first_header(scope, b"content-length")
    if value is None:
        return None
    value = value.strip(" \t")
    return int(value) if value.isascii() and value.isdigit() else None
