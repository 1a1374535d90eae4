"""API keys: `Authorization: Bearer <key>` checked in constant time against key digests."""

import hashlib
import hmac

from pydantic import SecretStr


class ApiKeys:
    """The configured keys, kept only as SHA-256 digests; a key's scope is its digest prefix."""

    def __init__(self, raw: SecretStr) -> None:
        keys = [k.strip() for k in raw.get_secret_value().split(",") if k.strip()]
        self._digests = [hashlib.sha256(k.encode()).digest() for k in keys]

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def scope_for(self, authorization: str | None) -> str | None:
        """The caller's scope id, or None when the header carries no valid key."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = hashlib.sha256(token.strip().encode()).digest()
        match = None
        for digest in self._digests:  # no early exit: every key is compared
            if hmac.compare_digest(presented, digest):
                match = digest
        return match.hex()[:16] if match is not None else None
