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
    """Notification consumer: the group, batches, failures, lag and reconciliation."""

    port: int = 8001
    consumer_roles: str = Field(
        default=",".join(ROLES),
        description="What this process runs: `ingest` (the Kafka loop, lag monitor and "
                    "background reconciliation), `http` (REST, webhook subscriptions, "
                    "streams), `webhooks` (the delivery worker), `console`. "
                    "`serve --roles` overrides it.")
    kafka_group_id: str = Field(
        default="transaction-consumers", description="The Kafka consumer group.")
    kafka_dlq_topic: str = Field(
        default="events.transactions.dlq",
        description="The dead-letter topic: poison records with why and where they came from.")
    kafka_group_instance_id: str = Field(
        default="", max_length=249,
        description="Static membership: one stable id per replica (a restart within the "
                    "session timeout then causes no rebalance). Empty: dynamic membership.")
    admin_api_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Comma-separated keys that may also read and replay dead letters and see "
                    "every payment; valid for everything else too.")
    batch_max_records: int = Field(
        default=500, ge=1, le=10_000, description="Records per batch (one transaction).")
    batch_wait_ms: int = Field(
        default=100, ge=0, le=10_000,
        description="Milliseconds a fetch waits for records to fill a batch.")
    max_attempts: int = Field(
        default=3, ge=1, le=100,
        description="A record failing for its own reasons is tried this many times, then "
                    "dead-lettered.")
    record_hold_max_s: float = Field(
        default=180.0, gt=0,
        description="No record holds its partition longer than this while PostgreSQL and "
                    "Kafka are healthy.")
    # The broker's default limit is 1 MiB.
    dlq_max_record_bytes: int = Field(
        default=1_000_000, ge=16_384,
        description="Largest dead letter on the DLQ topic; a larger original is truncated "
                    "there (and says so) and kept whole in the table.")
    claim_stale_s: float = Field(
        default=600.0, gt=0,
        description="A partition claim unused for this long may be taken by a lower group "
                    "generation (the group was deleted and Kafka restarted its generations).")
    max_loop_restarts: int = Field(
        default=5, ge=0,
        description="Crashes of the consumer loop in a row that are restarted; one more and "
                    "the process exits with code 70 for its supervisor.")
    backoff_initial_s: float = Field(
        default=0.2, gt=0,
        description="First delay of the capped, jittered backoff on transient failures.")
    backoff_max_s: float = Field(
        default=15.0, gt=0, description="Cap of that backoff.")
    stop_timeout_s: float = Field(
        default=20.0, gt=0,
        description="On SIGTERM, seconds the batch in flight may take to finish before it is "
                    "rolled back (and redelivered later).")
    lag_sample_interval_s: float = Field(
        default=5.0, gt=0, description="Seconds between lag samples (`/stats`, metrics).")
    lag_window_samples: int = Field(
        default=12, ge=2, le=1000,
        description="Samples in the window that judges each partition `OK`, `WARN`, `STALL` "
                    "or `STOP`.")
    session_timeout_ms: int = Field(
        default=10_000, ge=1000,
        description="The group's `session.timeout.ms`: how long a silent member keeps its "
                    "partitions.")
    heartbeat_interval_ms: int = Field(
        default=3_000, ge=100, description="The group's `heartbeat.interval.ms`.")
    api_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where reconciliation, lineage and the console read the API's side.")
    api_key: SecretStr = Field(
        default=SecretStr(""),
        description="The key sent to the API; empty: the first of `API_KEYS` (both services "
                    "usually share their keys).")
    reconcile_interval_s: float = Field(
        default=60.0, ge=0, le=86_400,
        description="Seconds between background reconciliations; `0`: only on request.")
    reconcile_window_s: float = Field(
        default=900.0, gt=0, le=86_400,
        description="Seconds of history each background reconciliation checks.")
    reconcile_grace_s: float = Field(
        default=30.0, ge=0, le=86_400,
        description="A payment published less than this (plus the current lag) ago counts as "
                    "in flight, not missing.")
    reconcile_timeout_s: float = Field(
        default=30.0, gt=0, le=600, description="Bound of one reconciliation.")
    console_sample_interval_s: float = Field(
        default=5.0, gt=0, le=60, description="Seconds between the console's overview samples.")
    replay_rate_per_s: float = Field(
        default=20.0, gt=0, le=1000,
        description="Dead letters per second a bulk replay from the console publishes.")
    park_keys: bool = Field(
        default=True,
        description="A record dead-lettered for its content parks its key on its partition: "
                    "the key's later records are stored, not applied, until the letter is "
                    "discarded or replayed. Off: no new key is parked (keys already parked "
                    "stay parked until released).")
    release_poll_s: float = Field(
        default=1.0, gt=0, le=60,
        description="How often the ingest loop looks for released keys to apply.")
    release_keys_per_step: int = Field(
        default=20, ge=1, le=1000,
        description="Released keys applied per release transaction.")
    release_records_per_step: int = Field(
        default=500, ge=1, le=10_000,
        description="Parked records of one key applied per release transaction.")

    @field_validator("consumer_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        return ",".join(r for r in ROLES if r in parse_roles(value))

    @property
    def roles(self) -> frozenset[str]:
        return parse_roles(self.consumer_roles)
