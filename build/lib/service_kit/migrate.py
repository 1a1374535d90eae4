"""Alembic, driven from code: each service owns one PostgreSQL schema and its own history.

Migrations run from `make` / the console scripts' `migrate` command, never on import.
"""

import asyncio
import hashlib
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool


def upgrade(migrations_dir: Path, database_url: str, schema: str) -> None:
    """Bring `schema` to the newest revision (synchronous: call it from a thread in async code)."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["schema"] = schema
    command.upgrade(config, "head")


def run_env() -> None:
    """Body of every service's `env.py`: online migrations over asyncpg, under a lock."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    asyncio.run(_migrate(url, str(config.attributes["schema"])))


async def _migrate(url: str, schema: str) -> None:
    engine = create_async_engine(url, poolclass=NullPool)
    # Two replicas starting together must not both run the same revision.
    lock_id = int.from_bytes(hashlib.sha256(schema.encode()).digest()[:4], "big")
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:id)"), {"id": lock_id})
        try:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await conn.commit()
            await conn.run_sync(_run_migrations, schema)
            await conn.commit()
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": lock_id})
            await conn.commit()
    await engine.dispose()


def _run_migrations(connection: Connection, schema: str) -> None:
    context.configure(connection=connection, version_table_schema=schema)
    with context.begin_transaction():
        context.run_migrations()
