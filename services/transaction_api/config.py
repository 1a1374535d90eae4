from pydantic import Field

from service_kit.settings import CommonSettings

SCHEMA = "transaction_api"


class Settings(CommonSettings):
    port: int = 8000
    publish_timeout_s: float = Field(default=2.0, gt=0, le=30)
    relay_interval_s: float = Field(default=0.5, gt=0, le=60)
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_backoff_max_s: float = Field(default=10.0, gt=0)
    idempotency_retention_h: float = Field(default=24.0, gt=0)
    max_body_bytes: int = Field(default=16_384, ge=256, le=1_048_576)
    startup_kafka_wait_s: float = Field(default=5.0, ge=0, le=60)
    # Concurrent inserts share one statement and commit (group_commit.py); 0 = one each.
    group_commit_writers: int = Field(default=4, ge=0, le=32)
    # A twin request waits this long for the first one's record, then gets 409.
    idempotency_lock_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # 0: a lone payment is sent at once. Under load records still batch, because aiokafka keeps
    # one request in flight per partition and queues behind it (see BENCHMARKS.md).
    producer_linger_ms: int = Field(default=0, ge=0, le=1000)
