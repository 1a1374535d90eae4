from pydantic import Field

from service_kit.settings import CommonSettings

SCHEMA = "transaction_api"


class Settings(CommonSettings):
    """Transaction API: publishing, the relay, idempotency keys and request bodies."""

    port: int = 8000
    publish_timeout_s: float = Field(
        default=2.0, gt=0, le=30,
        description="The relay leaves a new row alone this long plus 1 s (it is being "
                    "published right after its answer), and waits twice this for its own acks; "
                    "a stopping API waits this long to hand its queue to Kafka. The answer "
                    "never waits for Kafka.")
    relay_interval_s: float = Field(
        default=0.5, gt=0, le=60,
        description="Seconds between the relay's passes over unpublished requests.")
    relay_batch_size: int = Field(
        default=500, ge=1, le=10_000, description="Unpublished requests the relay claims per pass.")
    relay_backoff_max_s: float = Field(
        default=10.0, gt=0,
        description="Cap of the relay's backoff: for a row Kafka refused, and between passes "
                    "while the database fails.")
    idempotency_retention_h: float = Field(
        default=24.0, gt=0,
        description="Hours an `Idempotency-Key` is remembered; the payment itself stays.")
    startup_kafka_wait_s: float = Field(
        default=5.0, ge=0, le=60,
        description="Seconds the API waits for Kafka at start; it serves anyway after that "
                    "(payments are durable in PostgreSQL, the relay publishes later).")
    group_commit_writers: int = Field(
        default=4, ge=0, le=32,
        description="Concurrent payments share one `INSERT` and one commit, up to this many "
                    "at a time; `0`: each payment commits alone.")
    idempotency_lock_timeout_s: float = Field(
        default=5.0, gt=0, le=60,
        description="Seconds a request waits for its twin (same `Idempotency-Key`) to be "
                    "recorded, then `409`.")
    # 0: a lone payment is sent at once. Under load records still batch, because aiokafka keeps
    # one request in flight per partition and queues behind it.
    producer_linger_ms: int = Field(
        default=0, ge=0, le=1000,
        description="The producer's `linger.ms`: how long a record waits for others to share "
                    "its batch.")
