"""Database engine set-up and the one place asyncpg/SQLAlchemy errors become our types."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from service_kit.errors import TransientStoreError
from service_kit.settings import DatabaseSettings


def make_engine(settings: DatabaseSettings, *, pool_size: int | None = None,
                server_settings: dict[str, str] | None = None) -> AsyncEngine:
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size or settings.db_pool_size,
        max_overflow=0,
        pool_timeout=settings.db_connect_timeout_s,
        pool_pre_ping=False,
        connect_args={
            "timeout": settings.db_connect_timeout_s,
            "command_timeout": 30,
            "server_settings": {"timezone": "UTC", **(server_settings or {})},
        },
    )


class StatementPool:
    """A small asyncpg pool for a request path's single statements: one round trip each,
    in autocommit. A statement that needs no session or transaction should not pay for
    SQLAlchemy's checkout on every request; everything else uses SQLAlchemy.

    Connections open lazily, so the service starts (and answers 503) with PostgreSQL down.
    """

    def __init__(self, settings: DatabaseSettings, max_size: int | None = None, *,
                 lock_timeout_s: float | None = None) -> None:
        self._dsn = make_url(settings.database_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        self._timeout = settings.db_connect_timeout_s
        self._max_size = max_size or settings.db_pool_size
        self._pool: asyncpg.Pool | None = None
        self._server_settings = {"timezone": "UTC"}
        if lock_timeout_s is not None:  # a statement waiting longer on a lock fails (55P03)
            self._server_settings["lock_timeout"] = f"{int(lock_timeout_s * 1000)}ms"

    async def start(self) -> None:
        self._pool = await asyncpg.create_pool(
            self._dsn, min_size=0, max_size=self._max_size, timeout=self._timeout,
            command_timeout=30, server_settings=self._server_settings, reset=_keep_session)

    @asynccontextmanager
    async def acquire(self) -> AsyncIterator[Any]:
        if self._pool is None:
            raise TransientStoreError("statement pool not started")
        # asyncio.timeout, not acquire(timeout=): the latter starts a task per checkout.
        async with asyncio.timeout(self._timeout):
            conn = await self._pool.acquire()
        try:
            yield conn
        finally:
            await self._pool.release(conn)

    async def close(self) -> None:
        if self._pool is not None:
            try:
                await asyncio.wait_for(self._pool.close(), 10)
            except TimeoutError:
                self._pool.terminate()


async def _keep_session(connection: Any) -> None:
    """No reset round trip on release: the pool only ever runs single autocommit statements
    (no SET, LISTEN, advisory lock or open transaction survives them), and asyncpg's default
    reset query would add a round trip to every request."""

