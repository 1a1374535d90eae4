"""How long `GET /reconcile` takes over a day of traffic (default 100,000 payments).

    .venv/bin/python -m bench.reconcile_day [N]

Fills the bench's database, made afresh (both schemas), with N accepted payments spread over
24 hours and the same N processed events with two notifications each, then times the
reconciliation of the whole day: balanced (buckets only), and with one processed row removed
(one bucket compared id by id). The API runs in process and is called over ASGI; the
consumer's side is the real code against the real PostgreSQL.
"""

import asyncio
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
from sqlalchemy import text

from bench.infra import bench_database, libpq
from bench.settings import BOOTSTRAP
from notification_consumer.config import Settings
from notification_consumer.ingest.lag import LagWindow
from notification_consumer.reconcile.runner import Reconciler
from notification_consumer.reconcile.sources import ApiBuckets
from service_kit.db import make_engine
from transaction_api.app import create_app
from transaction_api.config import Settings as ApiSettings

FILL = """
WITH p AS (
    SELECT gen_random_uuid() AS id, 'acct_' || (i % 997) AS payer, 'acct_' || (i % 991 + 1000)
           AS payee, (i % 5000 + 1) / 100.0 AS amount, $2::timestamptz + i * ($3 / $1::float)
           * interval '1 second' AS at
    FROM generate_series(0, $1 - 1) AS i
), api AS (
    INSERT INTO transaction_api.payment_requests (event_id, scope, request_hash, payer_id,
        payee_id, amount, currency, event_key, event_value, event_headers, created_at,
        published_at)
    SELECT id, 'public', 'h', payer, payee, amount, 'EUR', '', '', '[]', at, at FROM p
), ev AS (
    INSERT INTO notification_consumer.processed_events (event_id, payer_id, payee_id, amount,
        currency, occurred_at, topic, partition, "offset", payload_hash)
    SELECT id, payer, payee, amount, 'EUR', at, 't', 0, 0, 'h' FROM p
)
INSERT INTO notification_consumer.notifications (event_id, account_id, kind, amount, currency,
    counterparty_id)
SELECT id, payer, 'debit', amount, 'EUR', payee FROM p
UNION ALL SELECT id, payee, 'credit', amount, 'EUR', payer FROM p
"""


async def main(n: int) -> None:
    url = await asyncio.to_thread(bench_database)
    start = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(days=1)
    conn = await asyncpg.connect(libpq(url))
    try:
        began = time.perf_counter()
        await conn.execute(FILL, n, start, 86_400.0)
        await conn.execute("ANALYZE")
        print(f"filled {n:,} payments over 24 h in {time.perf_counter() - began:.1f}s")
    finally:
        await conn.close()
    api = create_app(ApiSettings(database_url=url, kafka_bootstrap_servers=BOOTSTRAP,
                                 kafka_topic="bench.unused"))
    async with api.router.lifespan_context(api):
        settings = Settings(database_url=url, kafka_bootstrap_servers=BOOTSTRAP)
        engine = make_engine(settings)
        reconciler = Reconciler(settings, engine, LagWindow(2))
        reconciler.api = ApiBuckets("http://api", None,
                                    transport=httpx.ASGITransport(app=api))
        until = start + timedelta(days=1)
        for label in ("balanced", "one row missing"):
            times = []
            for _ in range(5):
                began = time.perf_counter()
                report = await reconciler.run(start, until)
                times.append(time.perf_counter() - began)
            print(f"{label}: accepted {report.accepted:,} processed {report.processed:,} "
                  f"missing {report.missing} buckets {report.buckets} compared by id "
                  f"{report.buckets_compared_by_id}; median {statistics.median(times):.3f}s"
                  f" (min {min(times):.3f}s, max {max(times):.3f}s over 5 runs)")
            async with engine.begin() as c:
                await c.execute(text(
                    "DELETE FROM notification_consumer.processed_events WHERE event_id = "
                    "(SELECT event_id FROM notification_consumer.processed_events LIMIT 1)"))
        await reconciler.stop()
        await engine.dispose()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
