"""API keys: `Authorization: Bearer <key>` checked in constant time against key digests."""

import hashlib
import hmac
from dataclasses import dataclass

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


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, the one rule every surface (REST, console, streams, lineage) applies.

    `key_scope` is the key's scope (a digest prefix, never the key); None in open mode (no
    keys configured). `admin`: a key in ADMIN_API_KEYS, or open mode. An admin sees every
    payment; anyone else only the payments their key created. Dead letters hold anyone's
    bytes: only an admin sees them, on every surface."""

    key_scope: str | None
    admin: bool

    @property
    def scope(self) -> str | None:
        """The scope reads are filtered by; None = every payment (an admin)."""
        return None if self.admin else self.key_scope

    @property
    def owner(self) -> str | None:
        """Whose name what the caller creates (a subscription) goes under."""
        return self.key_scope

    @property
    def quota_key(self) -> str:
        """What per-key quotas count by; open mode is one caller."""
        return self.key_scope or "open"

    @property
    def actor(self) -> str:
        """How audit rows name the caller."""
        return self.key_scope or "public"

    @property
    def sees_dead_letters(self) -> bool:
        return self.admin


OPEN_MODE = Caller(None, admin=True)


def caller_for(keys: ApiKeys, authorization: str | None) -> Caller | None:
    """The caller the header names; None when keys are on and it carries no valid one."""
    if not keys.enabled:
        return OPEN_MODE
    scope = keys.scope_for(authorization)
    if scope is None:
        return None
    return Caller(scope, admin=keys.is_admin(authorization))


def required_caller(keys: ApiKeys, authorization: str | None) -> Caller:
    """The caller, or 401 with a Bearer challenge when keys are on and none is valid."""
    caller = caller_for(keys, authorization)
    if caller is None:
        raise Unauthorized
    return caller


def required_scope(keys: ApiKeys, authorization: str | None) -> str | None:
    """The caller's scope; None when no keys are configured (auth is off). With keys on, a
    request without a valid one is refused: 401 with a Bearer challenge."""
    return required_caller(keys, authorization).key_scope


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
