"""A fresh PostgreSQL database with both services' schemas, for tests that count every row
of a table (reconciliation, cluster faults) and so must not share one with other tests."""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from notification_consumer.cli import MIGRATIONS as CONSUMER_MIGRATIONS
from notification_consumer.config import SCHEMA as CONSUMER_SCHEMA
from service_kit.migrate import upgrade
from tests.support import ADMIN_DATABASE_URL
from transaction_api.cli import MIGRATIONS as API_MIGRATIONS
from transaction_api.config import SCHEMA as API_SCHEMA


def libpq(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(libpq(ADMIN_DATABASE_URL), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@asynccontextmanager
async def fresh_database(prefix: str = "paystream_rec") -> AsyncIterator[str]:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    await _admin(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(ADMIN_DATABASE_URL)._replace(path=f"/{name}"))
    try:
        await asyncio.to_thread(upgrade, API_MIGRATIONS, url, API_SCHEMA)
        await asyncio.to_thread(upgrade, CONSUMER_MIGRATIONS, url, CONSUMER_SCHEMA)
        yield url
    finally:
        if not os.environ.get("KEEP_TEST_DATABASE"):
            await _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
