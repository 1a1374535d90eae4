from pydantic import Field, SecretStr, field_validator

from notification_consumer.webhooks.settings import WebhookSettings
from service_kit.settings import CommonSettings

SCHEMA = "notification_consumer"
ROLES = ("ingest", "http", "webhooks", "console")


def parse_roles(value: str) -> frozenset[str]:
    """`ingest,http` -> the roles; unknown or none at all is an error that names them."""
    roles = frozenset(r.strip() for r in value.split(",") if r.strip())
    unknown = roles - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles must be a comma-separated subset of {','.join(ROLES)}; "
                         f"got {value!r}")
    return roles


class Settings(WebhookSettings, CommonSettings):
    port: int = 8001
    consumer_roles: str = Field(
        default=",".join(ROLES),
        description="What this process runs: `ingest` (the Kafka loop, lag monitor and "
                    "background reconciliation), `http` (REST, webhook subscriptions, "
                    "streams), `webhooks` (the delivery worker), `console`. "
                    "`serve --roles` overrides it.")
    kafka_group_id: str = "transaction-consumers"
    kafka_dlq_topic: str = "events.transactions.dlq"
    # Static membership: one stable id per replica; a restart within the session timeout
    # then causes no rebalance. Empty = dynamic membership.
    kafka_group_instance_id: str = Field(default="", max_length=249)
    # Keys allowed to replay dead letters and reset offsets (also valid for reads).
    admin_api_keys: SecretStr = SecretStr("")
    batch_max_records: int = Field(default=500, ge=1, le=10_000)
    batch_wait_ms: int = Field(default=100, ge=0, le=10_000)
    # A record failing for its own reasons is retried this many times, then dead-lettered.
    max_attempts: int = Field(default=3, ge=1, le=100)
    # No record holds its partition longer than this while PostgreSQL and Kafka are healthy.
    record_hold_max_s: float = Field(default=180.0, gt=0)
    # A dead letter's copy on the DLQ topic stays under this size (the broker's default
    # limit is 1 MiB); larger originals are truncated there and kept whole in the table.
    dlq_max_record_bytes: int = Field(default=1_000_000, ge=16_384)
    # A claim nobody has used for this long can be taken by a lower generation (the group
    # was deleted and Kafka restarted its generations).
    claim_stale_s: float = Field(default=600.0, gt=0)
    max_loop_restarts: int = Field(default=5, ge=0)
    backoff_initial_s: float = Field(default=0.2, gt=0)
    backoff_max_s: float = Field(default=15.0, gt=0)
    stop_timeout_s: float = Field(default=20.0, gt=0)
    lag_sample_interval_s: float = Field(default=5.0, gt=0)
    lag_window_samples: int = Field(default=12, ge=2, le=1000)
    session_timeout_ms: int = Field(default=10_000, ge=1000)
    heartbeat_interval_ms: int = Field(default=3_000, ge=100)
    # Reconciliation: where the API's side is read, with which key (empty: the first of
    # API_KEYS, which suits the usual deployment where both services share their keys).
    api_url: str = "http://127.0.0.1:8000"
    api_key: SecretStr = SecretStr("")
    reconcile_interval_s: float = Field(default=60.0, ge=0, le=86_400)  # 0 = no background run
    reconcile_window_s: float = Field(default=900.0, gt=0, le=86_400)
    reconcile_grace_s: float = Field(default=30.0, ge=0, le=86_400)
    reconcile_timeout_s: float = Field(default=30.0, gt=0, le=600)
    console_sample_interval_s: float = Field(default=5.0, gt=0, le=60)
    replay_rate_per_s: float = Field(default=20.0, gt=0, le=1000)

    @field_validator("consumer_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        return ",".join(r for r in ROLES if r in parse_roles(value))

    @property
    def roles(self) -> frozenset[str]:
        return parse_roles(self.consumer_roles)
