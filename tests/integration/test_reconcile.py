"""Reconciliation against the real servers: balanced books after a real flow, then each kind
of imbalance planted in the data and found (missing, mismatched, duplicate, in flight,
dead-lettered), and bad windows refused with problem+json."""

from typing import Any

import asyncpg
import httpx
import pytest

from tests.databases import fresh_database, libpq
from tests.integration.conftest import read_api_in_process
from tests.support import api_app, consumer_app, in_process, payment, wait_until

N = 120


async def _post_and_drain(api: httpx.AsyncClient, url: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        response = await api.post("/payments", json=payment(amount=f"{i + 1}.25"))
        assert response.status_code == 202, response.text
        ids.append(response.json()["event_id"])

    async def processed() -> bool:
        sql = "SELECT count(*) FROM notification_consumer.processed_events"
        return bool(await _fetchval(url, sql) == n)

    await wait_until(processed, 60, interval=0.1, what=f"{n} events processed")
    return ids


async def _fetchval(url: str, sql: str, *args: Any) -> Any:
    conn = await asyncpg.connect(libpq(url))
    try:
        return await conn.fetchval(sql, *args)
    finally:
        await conn.close()


async def test_books_balance_after_a_real_flow(stack: Any) -> None:
    url, api, consumer, _ = stack
    await _post_and_drain(api, url, N)
    buckets = (await api.get("/outbox/buckets")).json()["buckets"]
    assert sum(b["count"] for b in buckets) == N
    report = (await consumer.get("/reconcile")).json()
    assert report["accepted"] == report["processed"] == N
    assert report["missing"] == report["duplicates"] == report["mismatched"] == 0
    assert report["in_flight"] == report["dead_lettered"] == report["unaccepted"] == 0
    assert report["buckets_compared_by_id"] == 0  # equal digests: no id was compared
    assert report["balanced"] is True


async def test_each_planted_imbalance_is_found_and_named(stack: Any) -> None:
    url, api, consumer, _ = stack
    ids = await _post_and_drain(api, url, N)
    gone, altered, doubled, lettered = ids[0], ids[1], ids[2], ids[3]
    conn = await asyncpg.connect(libpq(url))
    try:
        s = "notification_consumer"
        # Missing: the effects of one published event vanish.
        await conn.execute(f"DELETE FROM {s}.notifications WHERE event_id = $1", gone)
        await conn.execute(f"DELETE FROM {s}.processed_events WHERE event_id = $1", gone)
        # Mismatched: another was processed with a different amount.
        await conn.execute(f"UPDATE {s}.processed_events SET amount = amount + 1 "
                           "WHERE event_id = $1", altered)
        # Duplicate: without its unique key, a notification is written twice.
        await conn.execute(f"ALTER TABLE {s}.notifications "
                           "DROP CONSTRAINT notifications_once_per_event")
        await conn.execute(f"""INSERT INTO {s}.notifications (event_id, account_id, kind, amount,
            currency, counterparty_id) SELECT event_id, account_id, kind, amount, currency,
            counterparty_id FROM {s}.notifications WHERE event_id = $1 AND kind = 'credit'""",
                           doubled)
        # Dead-lettered: one event's row goes, and a dead letter names it.
        await conn.execute(f"DELETE FROM {s}.notifications WHERE event_id = $1", lettered)
        await conn.execute(f"DELETE FROM {s}.processed_events WHERE event_id = $1", lettered)
        await conn.execute(f"""INSERT INTO {s}.dead_letters (group_id, topic, partition,
            "offset", reason, error_class, error_message, attempts, event_id)
            VALUES ('g', 't', 0, 0, 'processing_failed', 'X', 'x', 3, $1)""", lettered)
        # In flight: accepted a moment ago and not yet published.
        await conn.execute("""INSERT INTO transaction_api.payment_requests (event_id, scope,
            request_hash, payer_id, payee_id, amount, currency, event_key, event_value,
            event_headers) VALUES (gen_random_uuid(), 'public', 'h', 'a1', 'b2', 1, 'EUR',
            '', '', '[]')""")
    finally:
        await conn.close()
    report = (await consumer.get("/reconcile")).json()
    assert report["accepted"] == N + 1
    assert report["processed"] == N - 2
    assert report["missing"] == 1 and report["missing_ids"] == [gone]
    assert report["mismatched"] == 1 and report["mismatched_ids"] == [altered]
    assert report["duplicates"] == 1 and report["duplicate_ids"] == [doubled]
    assert report["dead_lettered"] == 1
    assert report["in_flight"] == 1
    assert report["balanced"] is False
    assert 1 <= report["buckets_compared_by_id"] <= report["buckets"]


@pytest.mark.parametrize("query", [
    "since=yesterday", "since=2026-11-26T12:00:00", "until=2026-13-40T00:00:00Z",
    "since=2026-11-26T12:00:00Z&until=2026-11-26T11:00:00Z",
    "since=2026-11-01T00:00:00Z&until=2026-11-26T00:00:00Z", "since=" + "9" * 41,
    "until=0001-01-01T00:00:00Z",
])
async def test_bad_windows_are_400_problems(stack: Any, query: str) -> None:
    _, api, consumer, _ = stack
    for client, path in ((consumer, "/reconcile"), (api, "/outbox/buckets")):
        response = await client.get(f"{path}?{query}")
        assert response.status_code in (400, 422), (path, query, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    response = await api.get("/outbox/buckets/2026-11-26T12:00:30Z")
    assert response.status_code == 400 and response.json()["field"] == "minute"


async def test_with_api_keys_both_sides_need_one_and_the_consumer_sends_its_first(
    topics: tuple[str, str]
) -> None:
    main, dlq = topics
    async with fresh_database() as url:
        api = api_app(url, main, api_keys="key-one,key-two")
        consumer = consumer_app(url, main, dlq, reconcile_interval_s=0, api_keys="key-one")
        async with in_process(api) as api_client, in_process(consumer) as consumer_client:
            read_api_in_process(consumer, api)
            assert (await api_client.get("/outbox/buckets")).status_code == 401
            assert (await consumer_client.get("/reconcile")).status_code == 401
            response = await api_client.post("/payments", json=payment(),
                                              headers={"Authorization": "Bearer key-two"})
            assert response.status_code == 202
            report = await consumer_client.get("/reconcile",
                                               headers={"Authorization": "Bearer key-one"})
            assert report.status_code == 200, report.text
            assert report.json()["accepted"] == 1  # the API answered the consumer's key
