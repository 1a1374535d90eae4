"""Session fixtures: one fresh PostgreSQL database per test run (both services' migrations
applied), one fresh topic pair per test. Tests never share topics or consumer groups."""

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest

from notification_consumer.cli import MIGRATIONS as CONSUMER_MIGRATIONS
from notification_consumer.config import SCHEMA as CONSUMER_SCHEMA
from service_kit.kafka import KafkaSettings, delete_topics, ensure_topics
from service_kit.migrate import upgrade
from tests.support import ADMIN_DATABASE_URL, BOOTSTRAP, connection, unique
from transaction_api.cli import MIGRATIONS as API_MIGRATIONS
from transaction_api.config import SCHEMA as API_SCHEMA


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    name = f"paystream_test_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        async with connection(ADMIN_DATABASE_URL) as conn:
            await conn.execute(sql)

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    url = _with_database(ADMIN_DATABASE_URL, name)
    upgrade(API_MIGRATIONS, url, API_SCHEMA)
    upgrade(CONSUMER_MIGRATIONS, url, CONSUMER_SCHEMA)
    yield url
    if not os.environ.get("KEEP_TEST_DATABASE"):
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
async def topics() -> AsyncIterator[tuple[str, str]]:
    """A fresh (main, dead-letter) topic pair with 3 partitions."""
    main = unique("test.transactions")
    dlq = f"{main}.dlq"
    settings = KafkaSettings(kafka_bootstrap_servers=BOOTSTRAP)
    await ensure_topics(settings, [main, dlq], 3)
    yield main, dlq
    # A local broker must not collect thousands of partitions over many runs; best effort,
    # a broker a fault test just restarted may still refuse.
    with contextlib.suppress(Exception):
        await delete_topics(settings, [main, dlq])
