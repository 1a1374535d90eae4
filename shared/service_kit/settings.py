"""Settings both services read from the environment (names as in the product contract)."""

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from service_kit.kafka import KafkaSettings

DEFAULT_DATABASE_URL = "postgresql+asyncpg://paystream@127.0.0.1:5432/paystream"


class DatabaseSettings(BaseSettings):
    """PostgreSQL: where, and how many connections."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="PostgreSQL; `postgresql://` URLs are accepted too. Each service keeps its "
                    "tables in its own schema, so both may share one database.")
    db_pool_size: int = Field(
        default=10, ge=1, le=200, description="Connections each database pool may open.")
    db_connect_timeout_s: float = Field(
        default=2.0, gt=0, le=60,
        description="Seconds to open a database connection or wait for a pooled one.")

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, url: str) -> str:
        # Accept the libpq spelling users already have; SQLAlchemy needs the driver named.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url


class CommonSettings(DatabaseSettings, KafkaSettings):
    """Keys, the listening address and logs (with PostgreSQL and Kafka)."""

    api_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Comma-separated API keys. Empty: no auth. Set: every call but `/healthz`, "
                    "`/readyz` and `/metrics` needs `Authorization: Bearer <key>`, and a key "
                    "sees only the payments it created.")
    max_body_bytes: int = Field(
        default=16_384, ge=256, le=16 * 1024 * 1024,
        description="The largest request body accepted, in bytes; a larger one is `413`, "
                    "refused by its declared length before a byte is read, or as soon as a "
                    "chunked body passes it.")
    allowed_hosts: str = Field(
        default="",
        description="Open mode only (no `API_KEYS`): comma-separated host names, besides "
                    "loopback ones, that a state-changing request may name in `Host`.")
    host: str = Field(
        default="127.0.0.1",
        description="Address to listen on; the local default is loopback only (the Docker "
                    "image sets `0.0.0.0`).")
    port: int = Field(default=8000, description="TCP port to listen on.")
    log_level: str = Field(
        default="INFO",
        description="`DEBUG`, `INFO`, `WARNING` or `ERROR`; logs are JSON lines on stderr.")
