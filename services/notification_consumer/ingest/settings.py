"""The ingest loop's settings: the group and its topics, batches, failures, lag, parking."""

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from service_kit.kafka import KafkaSettings


class GroupSettings(KafkaSettings):
    """The consumer group and its topics: what dead letters, resets and reads refer to."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", frozen=True)

    kafka_group_id: str = Field(
        default="transaction-consumers", description="The Kafka consumer group.")
    kafka_dlq_topic: str = Field(
        default="events.transactions.dlq",
        description="The dead-letter topic: poison records with why and where they came from.")


class IngestSettings(GroupSettings):
    """The batch loop: batches, failures and retries, membership, lag, parking."""

    kafka_group_instance_id: str = Field(
        default="", max_length=249,
        description="Static membership: one stable id per replica (a restart within the "
                    "session timeout then causes no rebalance). Empty: dynamic membership.")
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
    consumer_max_decompressed_batch_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024 * 1024,
        description="Most bytes a compressed record batch may expand to. A larger batch is "
                    "not decompressed: it is dead-lettered as one letter at its last offset "
                    "(reason `batch_too_large_decompressed`, with its offset range) and its "
                    "partition moves on. Keep it above the producers' batch size.")
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
