"""The webhook and live-stream settings (WEBHOOK_*, STREAM_*), mixed into the consumer's."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from service_kit.settings import DatabaseSettings


class WebhookSettings(DatabaseSettings):
    """Webhooks and the live stream of notifications (their own connection pool)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    webhook_allow_private_networks: bool = Field(
        default=False,
        description="Allow loopback, private and other non-public targets, and `http`; for a "
                    "local stack only (`make up` sets it). Off: only `https` URLs that resolve "
                    "to public addresses.")
    webhook_max_concurrency: int = Field(
        default=64, ge=1, le=1000, description="Webhook requests in flight per process.")
    webhook_per_subscription_concurrency: int = Field(
        default=16, ge=1, le=100,
        description="Requests in flight per subscription: one slow endpoint holds at most "
                    "this many slots.")
    webhook_timeout_s: float = Field(
        default=10.0, gt=0, le=120,
        description="A delivery that gets no 2xx within this many seconds has failed.")
    webhook_lease_s: float = Field(
        default=60.0, gt=0, le=3600,
        description="A claimed delivery is due again after this long (its worker died "
                    "mid-send).")
    webhook_backoff_initial_s: float = Field(
        default=5.0, gt=0, description="First retry delay; it doubles, with jitter.")
    webhook_backoff_max_s: float = Field(
        default=6 * 3600.0, gt=0, description="Cap of the retry delay.")
    webhook_retry_window_s: float = Field(
        default=3 * 24 * 3600.0, gt=0,
        description="How long a delivery is retried before it is given up.")
    webhook_disable_after_failures: int = Field(
        default=200, ge=1,
        description="Failed attempts in a row (no 2xx between) after which a subscription is "
                    "disabled.")
    webhook_secret_grace_s: float = Field(
        default=24 * 3600.0, ge=0,
        description="After a secret rotation, the old secret keeps signing this long.")
    webhook_poll_interval_s: float = Field(
        default=1.0, gt=0, le=60,
        description="Seconds an idle sender waits before it looks for due deliveries again.")
    webhook_response_excerpt_bytes: int = Field(
        default=1024, ge=0, le=65536,
        description="Bytes of a receiver's answer that are read and kept with the attempt.")
    webhook_history_retention_h: float = Field(
        default=30 * 24.0, gt=0,
        description="Finished deliveries and their attempt log are deleted this many hours "
                    "after they were created; pending ones are kept.")
    webhook_history_prune_interval_s: float = Field(
        default=3600.0, gt=0, description="Seconds between two prunings of that history.")
    webhook_metrics_interval_s: float = Field(
        default=5.0, gt=0, description="Seconds between refreshes of the webhook gauges.")
    webhook_max_subscriptions_per_key: int = Field(
        default=100, ge=1, le=100_000,
        description="Subscriptions one API key (or open mode, as one caller) may hold; one "
                    "more is a 429 problem.")
    webhook_max_in_flight_per_key: int = Field(
        default=32, ge=1, le=1000,
        description="Webhook requests in flight at once for all of one key's subscriptions, "
                    "so one key's slow receivers cannot hold every sending slot.")
    stream_max_per_key: int = Field(
        default=5, ge=1, le=1000,
        description="Open live streams per API key, for each kind (the notification stream, "
                    "the console's overview stream); one more is a 429 problem.")
    stream_max_duration_s: float = Field(
        default=3600.0, gt=0, le=86_400,
        description="A live stream ends after this long, however active; the client "
                    "reconnects (with Last-Event-ID), so no connection is held for ever.")
    stream_max_clients: int = Field(
        default=100, ge=1, le=10_000,
        description="Live streams per process; one more is `503` with `Retry-After`.")
    stream_heartbeat_s: float = Field(
        default=15.0, gt=0,
        description="Seconds between comment lines that keep proxies from closing a stream.")
    stream_send_timeout_s: float = Field(
        default=10.0, gt=0,
        description="A client that does not take an event within this long is dropped, not "
                    "buffered for.")
    stream_poll_interval_s: float = Field(
        default=0.25, gt=0, le=10,
        description="Seconds between the stream's looks for new notifications.")
