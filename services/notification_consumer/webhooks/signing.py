"""Standard Webhooks signatures, made by the specification's reference library
(`standardwebhooks`): `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, keyed by the
base64 part of a `whsec_` secret. Several signatures are space-separated; a receiver accepts
the message when any one verifies (that is how a rotated secret keeps working)."""

import base64
import secrets
from datetime import UTC, datetime

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signature_header(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> str:
    """One signature per live secret (the current one first)."""
    when = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(Webhook(s).sign(message_id, when, body) for s in secrets_)


def headers(secrets_: list[str], message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets_, message_id, timestamp, body),
        "content-type": "application/json",
    }
