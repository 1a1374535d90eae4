"""The one place that reads a stored dead letter's headers and bytes back.

Dead-letter header storage is changing (JSON with base64 values today, bytea later): adapt
`stored_headers` and nothing else.
"""

import base64
import binascii
from typing import Any

import orjson

from notification_consumer.dead_letters import original_headers
from payment_events.codec import KafkaRecord

Headers = list[tuple[str, bytes]]


def stored_headers(stored: Any) -> Headers:
    """Headers as (name, raw bytes); anything unreadable becomes a visible placeholder."""
    if isinstance(stored, bytes | bytearray | memoryview):
        try:
            stored = orjson.loads(bytes(stored))
        except orjson.JSONDecodeError:
            return [("(unreadable headers)", bytes(stored))]
    headers: Headers = []
    for item in stored or []:
        try:
            name, value = item
            raw = value if isinstance(value, bytes) else base64.b64decode(value, validate=True)
            headers.append((name if isinstance(name, str) else str(name), raw))
        except (ValueError, TypeError, binascii.Error):
            headers.append(("(unreadable header)", repr(item).encode()[:200]))
    return headers


def letter_record(key: bytes | None, value: bytes | None, stored: Any) -> KafkaRecord:
    """What a replay republishes: the original key, value and headers, no dlq_* additions."""
    return KafkaRecord(key, value or b"", original_headers(stored_headers(stored)))


def display(raw: bytes | None, limit: int = 64_000) -> str:
    """Bytes for a human: UTF-8 when it is UTF-8, else a hex dump (never raises)."""
    if raw is None:
        return ""
    data = raw[:limit]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.hex(" ", 1) + (" …" if len(raw) > limit else "")
    return text + (" …" if len(raw) > limit else "")
