"""Idempotency-key expiry rate against a real PostgreSQL.

`measure_expiry(database_url)` fills the API's table with keys (some past the retention, the
rest fresh, under a scope of their own), times `expire_idempotency_keys` until nothing is
left to expire, removes its rows and returns the figures. `make bench` runs it as `expiry`;
by hand: `python -m bench.expiry` (DATABASE_URL).
"""

import asyncio
import os
import time
from datetime import timedelta
from typing import Any

import asyncpg

from bench.settings import EXPIRY_KEYS
from service_kit.db import make_engine
from service_kit.migrate import upgrade
from service_kit.settings import CommonSettings
from transaction_api.cli import MIGRATIONS
from transaction_api.config import SCHEMA
from transaction_api.outbox.retention import expire_idempotency_keys

SCOPE = "bench-expiry"
_FILL = """
    INSERT INTO transaction_api.payment_requests (event_id, scope, idempotency_key,
        request_hash, payer_id, payee_id, amount, currency, event_key, event_value,
        event_headers, created_at, published_at)
    SELECT gen_random_uuid(), $1, 'key-' || i, 'h', 'acct_a', 'acct_b', 1, 'EUR', 'k', 'v',
           '[]', now() - make_interval(hours => $2), now()
    FROM generate_series(1, $3) AS i
"""


async def measure_expiry(database_url: str, expired: int = 100_000,
                         fresh: int = 200_000, batch_size: int = 1_000) -> dict[str, Any]:
    await asyncio.to_thread(upgrade, MIGRATIONS, database_url, SCHEMA)  # runs its own loop
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""), timeout=10)
    engine = make_engine(CommonSettings(database_url=database_url))
    try:
        await conn.execute("DELETE FROM transaction_api.payment_requests WHERE scope = $1",
                           SCOPE)
        await conn.execute(_FILL, SCOPE, 48, expired)
        await conn.execute(_FILL.replace("'key-'", "'fresh-'"), SCOPE, 0, fresh)
        await conn.execute("ANALYZE transaction_api.payment_requests")
        started = time.perf_counter()
        done = 0
        while (n := await expire_idempotency_keys(
                engine, timedelta(hours=24), batch_size=batch_size)) > 0:
            done += n
        elapsed = time.perf_counter() - started
        left = await conn.fetchval(
            "SELECT count(*) FROM transaction_api.payment_requests "
            "WHERE scope = $1 AND idempotency_key LIKE 'key-%'", SCOPE)
        return {"expired": done, "fresh_kept": fresh, "left": int(left),
                "batch_size": batch_size, "seconds": round(elapsed, 3),
                "keys_per_s": round(done / elapsed)}
    finally:
        await conn.execute("DELETE FROM transaction_api.payment_requests WHERE scope = $1",
                           SCOPE)
        await conn.close()
        await engine.dispose()


def bench_expiry(url: str) -> dict[str, Any]:
    result = asyncio.run(measure_expiry(url, expired=EXPIRY_KEYS, fresh=2 * EXPIRY_KEYS))
    if result["left"] or result["expired"] != EXPIRY_KEYS:
        result["error"] = f"expired {result['expired']} of {EXPIRY_KEYS}, {result['left']} left"
    return result


if __name__ == "__main__":
    url = os.environ.get("DATABASE_URL", CommonSettings().database_url)
    print(asyncio.run(measure_expiry(url)))
