"""Session fixtures: one fresh PostgreSQL database per test run (both services' migrations
applied), one fresh topic pair per test. Tests never share topics or consumer groups."""

import asyncio
import contextlib
import functools
import inspect
import os
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from notification_consumer.cli import MIGRATIONS as CONSUMER_MIGRATIONS
from notification_consumer.config import SCHEMA as CONSUMER_SCHEMA
from service_kit.kafka import KafkaSettings, delete_topics, ensure_topics
from service_kit.migrate import upgrade
from tests.support import ADMIN_DATABASE_URL, BOOTSTRAP, connection, unique
from transaction_api.cli import MIGRATIONS as API_MIGRATIONS
from transaction_api.config import SCHEMA as API_SCHEMA

# Every async test has a bound: a hang becomes a failure that names the await it was stuck
# in (and every other task's), and the run goes on. pytest-timeout (pyproject) is the backstop
# for what this cannot interrupt: a fixture, or an event loop blocked by a synchronous call.
TEST_TIMEOUT_S = float(os.environ.get("PAYSTREAM_TEST_TIMEOUT_S", "240"))


async def _dump_state(test: str) -> None:
    """What a hung test was waiting for: every other task's stack, and the database sessions
    that are not idle (a lock wait shows here, with the session that holds it)."""
    current = asyncio.current_task()
    sys.stderr.write(f"\n--- {test}: over its time limit; the other tasks were at: ---\n")
    for task in asyncio.all_tasks():
        if task is not current:
            task.print_stack(limit=8, file=sys.stderr)
    with contextlib.suppress(Exception):
        async with asyncio.timeout(5), connection(ADMIN_DATABASE_URL) as conn:
            rows = await conn.fetch(
                "SELECT pid, datname, state, wait_event_type, wait_event,"
                " pg_blocking_pids(pid) AS blocked_by, now() - state_change AS for,"
                " left(query, 200) AS query FROM pg_stat_activity"
                " WHERE state <> 'idle' AND pid <> pg_backend_pid()")
            sys.stderr.write("--- database sessions not idle: ---\n")
            for row in rows:
                sys.stderr.write(f"{dict(row)}\n")


def _bounded(test: Callable[..., Awaitable[None]], name: str,
             limit: float) -> Callable[..., Awaitable[None]]:
    @functools.wraps(test)
    async def run(**kwargs: Any) -> None:
        bound = asyncio.timeout(limit)
        try:
            async with bound:
                await test(**kwargs)
        except TimeoutError as exc:
            if not bound.expired():
                raise  # the test's own TimeoutError, not the bound's
            await _dump_state(name)
            raise AssertionError(f"{name} did not finish within {limit:g} s; the traceback "
                                 "shows the await it was stuck in") from exc
    return run


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if isinstance(item, pytest.Function) and inspect.iscoroutinefunction(item.obj):
            marker = item.get_closest_marker("time_limit")
            limit = float(marker.args[0]) if marker else TEST_TIMEOUT_S
            item.obj = _bounded(item.obj, item.nodeid, limit)


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


@pytest.fixture
def group() -> str:
    """A fresh consumer group id: no test sees another's stored or committed offsets."""
    return unique("group")
