"""The relay against real Kafka and PostgreSQL: rows Kafka refuses wait their own backoff and
never hold up the healthy rows behind them; the outbox gauges follow a failing backlog; the
recorded failure reason is Kafka's; the relay republishes the owner scope."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID, uuid4

import asyncpg
import orjson
from aiokafka.structs import RecordMetadata, TopicPartition
from prometheus_client import REGISTRY

from payment_events.codec import KafkaRecord, encode
from payment_events.events import PaymentAccepted
from tests.support import api_app, in_process, payment, read_topic, unique, wait_until
from transaction_api import metrics
from transaction_api.app import create_app
from transaction_api.config import Settings

INSERT = """
    INSERT INTO transaction_api.payment_requests (event_id, scope, request_hash, payer_id,
        payee_id, amount, currency, event_key, event_value, event_headers, created_at,
        next_attempt_at)
    VALUES ($1, 'public', 'h', $2, 'acct_payee', 1.25, 'EUR', $3, $4, $5::jsonb, $6, $6)
"""


async def connect(database_url: str) -> asyncpg.Connection:
    return await asyncpg.connect(database_url.replace("+asyncpg", ""), timeout=10)


async def insert(conn: asyncpg.Connection, record: KafkaRecord, event_id: UUID,
                 at: datetime) -> None:
    headers = orjson.dumps([[k, v.decode()] for k, v in record.headers]).decode()
    await conn.execute(INSERT, event_id, unique("payer"), record.key, record.value, headers, at)


def healthy_record(event_id: UUID) -> KafkaRecord:
    return encode(PaymentAccepted(event_id=event_id, payer_id=unique("payer"),
                                  payee_id="acct_payee", amount=Decimal("1.25"), currency="EUR",
                                  occurred_at=datetime.now(UTC)))


async def until_published(conn: asyncpg.Connection, ids: list[UUID]) -> None:
    """Until every row of `ids` is marked published (after Kafka's ack)."""
    async def all_published() -> bool:
        done = await conn.fetchval(
            "SELECT count(*) FROM transaction_api.payment_requests "
            "WHERE event_id = ANY($1) AND published_at IS NOT NULL", ids)
        return int(done) == len(ids)

    await wait_until(all_published, 30, what="healthy rows published")


async def attempts(conn: asyncpg.Connection, ids: list[UUID]) -> list[asyncpg.Record]:
    return list(await conn.fetch(
        "SELECT publish_attempts, last_publish_error, published_at, next_attempt_at "
        "FROM transaction_api.payment_requests WHERE event_id = ANY($1)", ids))


def gauge(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_refused_rows_do_not_block_healthy_rows_and_the_gauges_follow(
    database_url: str, topics: tuple[str, str]
) -> None:
    old = datetime.now(UTC) - timedelta(minutes=2)
    refused = [uuid4() for _ in range(12)]
    healthy = [uuid4() for _ in range(3)]
    # Over the producer's 1 MiB request limit: Kafka refuses these records every time.
    too_large = KafkaRecord(b"k", b"x" * 1_100_000, [])
    conn = await connect(database_url)
    try:
        for event_id in refused:  # the oldest rows, first in line, more than a batch
            await insert(conn, too_large, event_id, old)
        for event_id in healthy:
            await insert(conn, healthy_record(event_id), event_id, old + timedelta(seconds=30))
        app = api_app(database_url, topics[0], relay_batch_size=5, relay_interval_s=0.2)
        async with in_process(app):

            await until_published(conn, healthy)
            # Only refused rows are left failing: the gauges must still be refreshed.
            metrics.OUTBOX_BACKLOG.set(-1)

            async def gauges_refreshed() -> bool:
                return gauge("outbox_backlog_events") >= len(refused)

            await wait_until(gauges_refreshed, 10, what="outbox gauges refreshed")
            assert gauge("outbox_oldest_unpublished_age_seconds") >= 100
        rows = await attempts(conn, refused)
    finally:
        await conn.execute("DELETE FROM transaction_api.payment_requests "
                           "WHERE event_id = ANY($1)", refused)
        await conn.close()
    assert all(r["published_at"] is None and r["publish_attempts"] >= 1 for r in rows)
    assert all("MessageSizeTooLarge" in r["last_publish_error"] for r in rows), rows[0]
    assert all(r["next_attempt_at"] > old for r in rows)  # each waits its own backoff
    # Marked published only after Kafka's ack, so all three are in the topic by now (with
    # whatever else of the shared test database the relay found unpublished).
    published = await read_topic(topics[0], 10_000, timeout=5)
    assert set(healthy) <= {UUID(dict(m.headers)["ce_id"].decode()) for m in published}


async def test_the_relay_publishes_the_owner_scope_it_was_accepted_with(
    database_url: str, topics: tuple[str, str]
) -> None:
    from tests.support import free_port

    alpha = {"Authorization": "Bearer alpha-key"}
    # The request path cannot reach Kafka: the payment is durable, left to the relay.
    offline = create_app(Settings(
        database_url=database_url, kafka_topic=topics[0], api_keys="alpha-key",
        startup_kafka_wait_s=0, kafka_bootstrap_servers=f"127.0.0.1:{free_port()}"))
    async with in_process(offline) as api:
        response = await api.post("/payments", json=payment(), headers=alpha)
    assert response.status_code == 202 and response.json()["status"] == "accepted"
    event_id = response.json()["event_id"]
    expected = offline.state.context.api_keys.scope_for("Bearer alpha-key")
    async with in_process(api_app(database_url, topics[0], publish_timeout_s=0.5)):
        async def relayed() -> list[object]:
            found = [m for m in await read_topic(topics[0], 1, timeout=2)
                     if dict(m.headers)["ce_id"].decode() == event_id]
            return found

        [message] = await wait_until(relayed, 30, interval=0.2, what="relayed event")
    assert dict(message.headers)["ce_ownerscope"].decode() == expected  # type: ignore[attr-defined]


class WedgedUntilReplaced:
    """Stands in for the producer only: every send fails with the sequence error aiokafka's
    idempotent producer can keep returning after a broker restart (#1017), until replaced."""

    ready = True

    def __init__(self) -> None:
        self.restarts = 0
        self.sent: list[KafkaRecord] = []

    async def publish_many(self, records: list[KafkaRecord],
                           timeout_s: float) -> list[RecordMetadata | str]:
        if self.restarts == 0:
            return ["OutOfOrderSequenceNumber: [Error 45] OutOfOrderSequenceNumber"] * len(records)
        self.sent.extend(records)
        return [RecordMetadata("t", 0, TopicPartition("t", 0), len(self.sent) - len(records) + i,
                               -1, 0, 0) for i in range(len(records))]

    async def restart(self) -> None:
        self.restarts += 1


async def test_a_wedged_producer_is_replaced_and_the_backlog_published(database_url: str) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from transaction_api.outbox.relay import run_relay

    event_id = uuid4()
    conn = await connect(database_url)
    try:
        await insert(conn, healthy_record(event_id), event_id,
                     datetime.now(UTC) - timedelta(minutes=2))
    finally:
        await conn.close()
    publisher = WedgedUntilReplaced()
    engine = create_async_engine(database_url)
    settings = Settings(database_url=database_url, relay_interval_s=0.05)
    relay = asyncio.create_task(run_relay(engine, publisher, settings))  # type: ignore[arg-type]

    async def published() -> bool:
        conn = await connect(database_url)
        try:
            return bool(await conn.fetchval(
                "SELECT published_at IS NOT NULL FROM transaction_api.payment_requests "
                "WHERE event_id = $1", event_id))
        finally:
            await conn.close()

    try:
        await wait_until(published, 30, what="the relay to publish after replacing the producer")
    finally:
        relay.cancel()
        await asyncio.gather(relay, return_exceptions=True)
        await engine.dispose()
    assert publisher.restarts == 1  # at once, not after five timed-out passes
    assert any(("ce_id", str(event_id).encode()) in r.headers for r in publisher.sent)


async def test_unreadable_rows_wait_their_backoff_and_never_hold_up_the_healthy_ones(
    database_url: str, topics: tuple[str, str]
) -> None:
    """Rows only the API writes, but a row written by anything else (a migration gone wrong,
    a hand edit) whose headers cannot be read must fail alone, with the reason recorded."""
    old = datetime.now(UTC) - timedelta(minutes=2)
    shapes = ['{"ce_id": "x"}', '[["ce_id", null]]', '[["ce_id"]]', '[1, 2]', '"text"']
    unreadable = [uuid4() for _ in shapes]
    healthy = [uuid4() for _ in range(2)]
    conn = await connect(database_url)
    try:
        for event_id, shape in zip(unreadable, shapes, strict=True):  # first in line
            await conn.execute(INSERT, event_id, unique("payer"), b"k", b"{}", shape, old)
        for event_id in healthy:
            await insert(conn, healthy_record(event_id), event_id, old + timedelta(seconds=30))
        app = api_app(database_url, topics[0], relay_batch_size=3, relay_interval_s=0.2)
        async with in_process(app):

            await until_published(conn, healthy)
        rows = await attempts(conn, unreadable)
    finally:
        await conn.execute("DELETE FROM transaction_api.payment_requests "
                           "WHERE event_id = ANY($1)", unreadable)
        await conn.close()
    assert len(rows) == len(shapes)
    assert all(r["published_at"] is None and r["publish_attempts"] >= 1 for r in rows)
    assert all(r["last_publish_error"].startswith("unreadable outbox row") for r in rows)
    assert all(r["next_attempt_at"] > old for r in rows)
