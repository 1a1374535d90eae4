"""API keys: `Authorization: Bearer <key>` checked in constant time against key digests."""

import hashlib
import hmac

from pydantic import SecretStr

from service_kit.errors import Unauthorized


class ApiKeys:
    """The configured keys, kept only as SHA-256 digests; a key's scope is its digest prefix."""

    def __init__(self, raw: SecretStr, admin: SecretStr | None = None) -> None:
        self._admin = _digests(admin) if admin is not None else []
        # An admin key is also a valid key for everything else.
        self._digests = _digests(raw) + self._admin

    @property
    def enabled(self) -> bool:
        return bool(self._digests)

    def scope_for(self, authorization: str | None) -> str | None:
        """The caller's scope id, or None when the header carries no valid key."""
        match = _match(authorization, self._digests)
        return match.hex()[:16] if match is not None else None

    def is_admin(self, authorization: str | None) -> bool:
        """True when the header carries one of the admin keys (`ADMIN_API_KEYS`)."""
        return _match(authorization, self._admin) is not None


def required_scope(keys: ApiKeys, authorization: str | None) -> str | None:
    """The caller's scope; None when no keys are configured (auth is off). With keys on, a
    request without a valid one is refused: 401 with a Bearer challenge."""
    if not keys.enabled:
        return None
    scope = keys.scope_for(authorization)
    if scope is None:
        raise Unauthorized
    return scope


def _digests(raw: SecretStr) -> list[bytes]:
    keys = [k.strip() for k in raw.get_secret_value().split(",") if k.strip()]
    return [hashlib.sha256(k.encode()).digest() for k in keys]


def _match(authorization: str | None, digests: list[bytes]) -> bytes | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    presented = hashlib.sha256(token.strip().encode("utf-8", "surrogatepass")).digest()
    match = None
    for digest in digests:  # no early exit: every key is compared
        if hmac.compare_digest(presented, digest):
            match = digest
    return match
