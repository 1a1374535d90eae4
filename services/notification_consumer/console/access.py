"""The console's keys: a login or an Authorization header becomes the same `Caller` as REST's
(service_kit.auth): no keys configured -> open, everyone is admin (the contract's open mode);
a key in ADMIN_API_KEYS -> admin; a key in API_KEYS -> its own payments, no dead letters.
"""

from pydantic import SecretStr

from service_kit.auth import ApiKeys, Caller, caller_for


class ConsoleKeys:
    def __init__(self, api_keys: SecretStr, admin_api_keys: SecretStr) -> None:
        self.keys = ApiKeys(api_keys, admin_api_keys)

    @property
    def enabled(self) -> bool:
        return self.keys.enabled

    def for_header(self, authorization: str | None) -> Caller | None:
        return caller_for(self.keys, authorization)

    def for_key(self, key: str) -> Caller | None:
        return self.for_header(f"Bearer {key}") if key.strip() else None
