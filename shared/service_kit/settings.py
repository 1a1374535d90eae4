"""Settings both services read from the environment (names as in the product contract)."""

from pydantic import Field, SecretStr, field_validator

from service_kit.kafka import KafkaSettings

DEFAULT_DATABASE_URL = "postgresql+asyncpg://paystream@127.0.0.1:5432/paystream"


class CommonSettings(KafkaSettings):
    database_url: str = DEFAULT_DATABASE_URL
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_connect_timeout_s: float = Field(default=2.0, gt=0, le=60)

    api_keys: SecretStr = SecretStr("")
    host: str = "127.0.0.1"
    port: int = 8000  # each service's Settings sets its own
    log_level: str = "INFO"

    @field_validator("database_url")
    @classmethod
    def _asyncpg_driver(cls, url: str) -> str:
        # Accept the libpq spelling users already have; SQLAlchemy needs the driver named.
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+asyncpg://" + url[len(prefix) :]
        return url
