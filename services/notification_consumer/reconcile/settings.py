"""Where the API's side is read, and how reconciliation runs."""

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSideSettings(BaseSettings):
    """The transaction API, as reconciliation, lineage and the console ask it."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    api_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where reconciliation, lineage and the console read the API's side.")
    api_key: SecretStr = Field(
        default=SecretStr(""),
        description="The key sent to the API; empty: the first of `API_KEYS` (both services "
                    "usually share their keys).")


class ReconcileSettings(ApiSideSettings):
    """The background check and the bounds of one reconciliation."""

    reconcile_interval_s: float = Field(
        default=60.0, ge=0, le=86_400,
        description="Seconds between background reconciliations; `0`: only on request.")
    reconcile_window_s: float = Field(
        default=900.0, gt=0, le=86_400,
        description="Seconds of history each background reconciliation checks.")
    reconcile_late_minutes_per_run: int = Field(
        default=60, ge=1, le=10_080,
        description="Older minutes that received a late publish, reconciled per background "
                    "run; each stays followed until nothing in it is missing or in flight.")
    reconcile_grace_s: float = Field(
        default=30.0, ge=0, le=86_400,
        description="A payment published less than this (plus the current lag) ago counts as "
                    "in flight, not missing.")
    reconcile_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Bound of one reconciliation.")
