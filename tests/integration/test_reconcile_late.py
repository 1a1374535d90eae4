"""A Kafka outage longer than the reconciliation window, on the real stack: payments accepted
half an hour ago and published only now. One is then lost: the background check counts it
missing and the reconcile_missing_events gauge (what BooksDoNotBalance watches) says so,
until it is dead-lettered. One is processed: it is not counted. The shared Kafka is never
stopped; the outage is written into the API's outbox rows."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from tests.databases import libpq
from tests.integration.test_reconcile import _post_and_drain

API = "transaction_api.payment_requests"
S = "notification_consumer"
GAUGE = re.compile(r"^reconcile_missing_events (\S+)$", re.MULTILINE)


async def _published_after_an_outage(conn: asyncpg.Connection, event_id: str,
                                     minutes_ago: int) -> None:
    """Accepted `minutes_ago`, published a minute ago: both sides keep the event's time."""
    await conn.execute(f"""UPDATE {API} SET created_at = date_trunc('second', now())
        - make_interval(mins => $2), published_at = now() - interval '1 minute'
        WHERE event_id = $1""", event_id, minutes_ago)
    await conn.execute(f"""UPDATE {S}.processed_events SET occurred_at =
        (SELECT created_at FROM {API} WHERE event_id = $1) WHERE event_id = $1""", event_id)


async def _missing_gauge(consumer: httpx.AsyncClient) -> float:
    found = GAUGE.search((await consumer.get("/metrics")).text)
    assert found, "reconcile_missing_events is not exported"
    return float(found.group(1))


async def test_a_late_published_lost_payment_is_missing_until_dead_lettered(
        stack: Any) -> None:
    url, api, consumer, reconciler = stack
    lost, processed = (await _post_and_drain(api, url, 5))[:2]
    conn = await asyncpg.connect(libpq(url))
    try:
        await _published_after_an_outage(conn, lost, 30)
        await _published_after_an_outage(conn, processed, 40)
        await conn.execute(f"DELETE FROM {S}.notifications WHERE event_id = $1", lost)
        await conn.execute(f"DELETE FROM {S}.processed_events WHERE event_id = $1", lost)

        await reconciler.reconcile_recent()
        assert await _missing_gauge(consumer) == 1
        # Both were found; the processed one's minute balanced and is forgotten.
        assert len(reconciler.late.followed) == 1
        assert reconciler.late.totals() == (1, 0, 0)
        # The window alone (what the background check compared before) cannot see it.
        window = (await consumer.get("/reconcile",
                                     params={"since": _iso_minutes_ago(15)})).json()
        assert window["missing"] == 0

        # Later runs no longer see a fresh publish, yet keep counting it.
        await reconciler.reconcile_recent()
        assert await _missing_gauge(consumer) == 1

        # Once dead-lettered it is accounted for: the gauge drops, the minute is forgotten.
        await conn.execute(f"""INSERT INTO {S}.dead_letters (group_id, topic, partition,
            "offset", reason, error_class, error_message, attempts, event_id)
            VALUES ('g', 't', 0, 0, 'processing_failed', 'X', 'x', 3, $1)""", lost)
        await reconciler.reconcile_recent()
        assert await _missing_gauge(consumer) == 0
        assert reconciler.late.followed == {}
    finally:
        await conn.close()


async def test_published_minutes_are_keyset_paginated_and_bounded(stack: Any) -> None:
    url, api, _, _ = stack
    ids = await _post_and_drain(api, url, 3)
    conn = await asyncpg.connect(libpq(url))
    try:
        for minutes_ago, event_id in zip((20, 30, 40), ids, strict=True):
            await _published_after_an_outage(conn, event_id, minutes_ago)
    finally:
        await conn.close()
    seen: list[str] = []
    after: str | None = None
    for _ in range(5):
        params = {"accepted_before": _iso_minutes_ago(10), "limit": "2"}
        if after:
            params["after"] = after
        body = (await api.get("/outbox/published-minutes", params=params)).json()
        seen += body["minutes"]
        after = body["next"]
        if after is None:
            break
    assert len(seen) == 3 and seen == sorted(seen)
    response = await api.get("/outbox/published-minutes", params={"limit": "100000"})
    assert response.status_code in (400, 422)


def _iso_minutes_ago(minutes: int) -> str:
    return (datetime.now(UTC) - timedelta(minutes=minutes)).isoformat()
