"""Who is calling: a scope (the key's digest prefix, never the key) and whether it may replay.

A minimal admin-key check of our own: service_kit.auth is gaining ADMIN_API_KEYS support;
when it lands, `Access.for_header` is the one place to switch over.
Rules: no keys configured -> open, everyone is admin (the contract's open mode); a key in
ADMIN_API_KEYS -> admin; a key in API_KEYS -> reader, and admin too while ADMIN_API_KEYS is
empty (the behaviour before admin keys existed).
"""

from dataclasses import dataclass

from pydantic import SecretStr

from service_kit.auth import ApiKeys


@dataclass(frozen=True, slots=True)
class Access:
    scope: str
    admin: bool


class ConsoleKeys:
    def __init__(self, api_keys: SecretStr, admin_api_keys: SecretStr) -> None:
        self.readers = ApiKeys(api_keys)
        self.admins = ApiKeys(admin_api_keys)

    @property
    def enabled(self) -> bool:
        return self.readers.enabled or self.admins.enabled

    def for_header(self, authorization: str | None) -> Access | None:
        if not self.enabled:
            return Access("public", admin=True)
        scope = self.admins.scope_for(authorization)
        if scope is not None:
            return Access(scope, admin=True)
        scope = self.readers.scope_for(authorization)
        if scope is not None:
            return Access(scope, admin=not self.admins.enabled)
        return None

    def for_key(self, key: str) -> Access | None:
        return self.for_header(f"Bearer {key}") if key.strip() else None
