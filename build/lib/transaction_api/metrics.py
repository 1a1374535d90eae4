"""The API's Prometheus metrics (HTTP metrics live in service_kit.http_metrics)."""

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

PUBLISH_LATENCY = Histogram(
    "payment_publish_duration_seconds",
    "Time from sending an event to Kafka's acknowledgement (request path)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
PUBLISH_FAILURES = Counter(
    "payment_publish_failures_total", "Request-path publishes left to the relay"
)
PAYMENTS_ACCEPTED = Counter(
    "payments_accepted_total", "Payment requests durably recorded", ["replayed"]
)
OUTBOX_BACKLOG = Gauge("outbox_backlog_events", "Recorded payments not yet published to Kafka")
OUTBOX_OLDEST_AGE = Gauge(
    "outbox_oldest_unpublished_age_seconds", "Age of the oldest unpublished payment (0 if none)"
)
RELAY_PUBLISHED = Counter("relay_published_total", "Events published by the relay")
RELAY_FAILURES = Counter("relay_publish_failures_total", "Relay publishes not acknowledged")


async def observe_outbox(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        row = (await conn.execute(text("""
            SELECT count(*) AS n,
                   COALESCE(EXTRACT(EPOCH FROM now() - min(created_at)), 0) AS age
            FROM transaction_api.payment_requests WHERE published_at IS NULL
        """))).one()
    OUTBOX_BACKLOG.set(row.n)
    OUTBOX_OLDEST_AGE.set(float(row.age))
