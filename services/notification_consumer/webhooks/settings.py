"""The webhook and live-stream settings (WEBHOOK_*, STREAM_*), mixed into the consumer's."""

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebhookSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    # Loopback, private, link-local... targets: refused unless this is on (the local stack).
    # With it off, only https URLs are accepted.
    webhook_allow_private_networks: bool = False
    webhook_max_concurrency: int = Field(default=64, ge=1, le=1000)
    # In-flight requests per subscription: one slow endpoint holds at most this many slots.
    webhook_per_subscription_concurrency: int = Field(default=16, ge=1, le=100)
    webhook_timeout_s: float = Field(default=10.0, gt=0, le=120)
    # A claimed delivery is due again after this long (a worker that died mid-send).
    webhook_lease_s: float = Field(default=60.0, gt=0, le=3600)
    webhook_backoff_initial_s: float = Field(default=5.0, gt=0)
    webhook_backoff_max_s: float = Field(default=6 * 3600.0, gt=0)
    # How long a delivery is retried before it is given up (about 3 days).
    webhook_retry_window_s: float = Field(default=3 * 24 * 3600.0, gt=0)
    # Failed attempts in a row (no 2xx in between) after which a subscription is disabled.
    webhook_disable_after_failures: int = Field(default=200, ge=1)
    webhook_secret_grace_s: float = Field(default=24 * 3600.0, ge=0)
    webhook_poll_interval_s: float = Field(default=1.0, gt=0, le=60)
    webhook_response_excerpt_bytes: int = Field(default=1024, ge=0, le=65536)
    # Finished deliveries and their attempt log are deleted this long after they were created.
    webhook_history_retention_h: float = Field(default=30 * 24.0, gt=0)
    webhook_history_prune_interval_s: float = Field(default=3600.0, gt=0)
    webhook_metrics_interval_s: float = Field(default=5.0, gt=0)
    stream_max_clients: int = Field(default=100, ge=1, le=10_000)
    stream_heartbeat_s: float = Field(default=15.0, gt=0)
    # A client that does not take an event within this long is dropped, not buffered for.
    stream_send_timeout_s: float = Field(default=10.0, gt=0)
    stream_poll_interval_s: float = Field(default=0.25, gt=0, le=10)
