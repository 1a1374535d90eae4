"""Who is calling: a scope (the key's digest prefix, never the key) and whether it may replay.

The rules are service_kit.auth's: no keys configured -> open, everyone is admin (the
contract's open mode); a key in ADMIN_API_KEYS -> admin; a key in API_KEYS -> reader only.
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
        self.keys = ApiKeys(api_keys, admin_api_keys)

    @property
    def enabled(self) -> bool:
        return self.keys.enabled

    def for_header(self, authorization: str | None) -> Access | None:
        if not self.enabled:
            return Access("public", admin=True)
        scope = self.keys.scope_for(authorization)
        if scope is None:
            return None
        return Access(scope, admin=self.keys.is_admin(authorization))

    def for_key(self, key: str) -> Access | None:
        return self.for_header(f"Bearer {key}") if key.strip() else None
