"""Group commit against the real PostgreSQL: rows inserted together keep their own outcomes."""

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

import asyncpg
import pytest

from service_kit.db import StatementPool
from service_kit.settings import CommonSettings
from tests.support import unique
from transaction_api.outbox.group_commit import GroupCommitter


def row(scope: str, key: str | None, amount: Decimal = Decimal("1.25")) -> tuple[Any, ...]:
    now = datetime.now(UTC)
    return (uuid4(), scope, key, "hash", "acct_a", "acct_b", amount, "EUR", None, b"k", b"v",
            "[]", now, now)


async def test_a_refused_row_fails_alone_and_twins_in_one_batch_insert_once(
    database_url: str
) -> None:
    pool = StatementPool(CommonSettings(database_url=database_url))
    await pool.start()
    committer = GroupCommitter(pool, writers=1)
    committer.start()
    scope = unique("scope")
    # Over numeric(24,4): PostgreSQL refuses this one row (a data error, not an outage).
    rows = [row(scope, None), row(scope, None, Decimal("1e30")), row(scope, "twin"),
            row(scope, "twin"), row(scope, None)]
    try:
        outcomes = await asyncio.gather(*(committer.insert(r) for r in rows),
                                        return_exceptions=True)
    finally:
        await committer.stop()
        await pool.close()
    assert outcomes[0] is True and outcomes[4] is True
    assert isinstance(outcomes[1], asyncpg.DataError)
    assert {outcomes[2], outcomes[3]} == {False, True}  # one twin inserted, one found
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        stored = await conn.fetchval(
            "SELECT count(*) FROM transaction_api.payment_requests WHERE scope = $1", scope)
    finally:
        await conn.close()
    assert stored == 3


async def test_insert_after_stop_is_a_transient_error(database_url: str) -> None:
    from service_kit.errors import TransientStoreError

    pool = StatementPool(CommonSettings(database_url=database_url))
    committer = GroupCommitter(pool)
    with pytest.raises(TransientStoreError):
        await committer.insert(row(unique("scope"), None))
