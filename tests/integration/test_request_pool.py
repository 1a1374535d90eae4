"""Callers cannot starve the loop: REST, the console and reconciliation read through a pool
of their own whose statements are bounded, so even with every one of its connections held,
payments keep being processed."""

import asyncio
from typing import Any

from sqlalchemy import text

from tests.support import consumer_app, db_value, in_process, unique, wait_until
from tests.webhooks_support import produce_for


async def test_payments_flow_while_every_request_connection_is_held(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    app = consumer_app(database_url, main, dlq, db_pool_size=2)
    async with in_process(app) as client:
        requests = app.state.context.engine
        assert requests.pool.size() == 2
        async with requests.connect() as conn:
            timeout = (await conn.execute(text("SHOW statement_timeout"))).scalar_one()
        assert timeout == "1min", timeout  # a request's statement cannot run for ever
        release = asyncio.Event()

        async def hold() -> None:
            async with requests.connect() as conn:
                await conn.execute(text("SELECT 1"))
                await release.wait()

        holders = [asyncio.create_task(hold()) for _ in range(2)]
        try:
            await asyncio.sleep(0.5)  # both request connections are now checked out
            account = unique("acct")
            await produce_for(main, account, 20)

            async def processed() -> Any:
                n = await db_value(database_url, "SELECT count(*) FROM "
                                   "notification_consumer.processed_events WHERE payer_id = $1",
                                   account)
                return n if n == 20 else None

            assert await wait_until(processed, 60, what="20 payments written") == 20
        finally:
            release.set()
            await asyncio.gather(*holders)
        assert (await client.get("/stats")).status_code == 200  # and requests resume
