from pydantic import Field, SecretStr

from service_kit.settings import CommonSettings

SCHEMA = "notification_consumer"


class Settings(CommonSettings):
    port: int = 8001
    kafka_group_id: str = "transaction-consumers"
    kafka_dlq_topic: str = "events.transactions.dlq"
    batch_max_records: int = Field(default=500, ge=1, le=10_000)
    batch_wait_ms: int = Field(default=100, ge=0, le=10_000)
    # An unexpected error on one message is retried this many times, then dead-lettered.
    max_attempts: int = Field(default=3, ge=1, le=100)
    backoff_initial_s: float = Field(default=0.2, gt=0)
    backoff_max_s: float = Field(default=15.0, gt=0)
    stop_timeout_s: float = Field(default=20.0, gt=0)
    lag_sample_interval_s: float = Field(default=5.0, gt=0)
    lag_window_samples: int = Field(default=12, ge=2, le=1000)
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    # Fault injection for the test suite only: exit abruptly right after the N-th batch's
    # database commit, before its Kafka commit. 0 (the default) disables it.
    fault_exit_after_db_commits: int = Field(default=0, ge=0)
    # Console and dead-letter replay (console/ package). ADMIN_API_KEYS: keys allowed to
    # replay; when empty, any API key may (the behaviour before admin keys existed).
    admin_api_keys: SecretStr = SecretStr("")
    api_url: str = "http://127.0.0.1:8000"
    console_sample_interval_s: float = Field(default=5.0, gt=0, le=60)
    replay_rate_per_s: float = Field(default=20.0, gt=0, le=1000)
