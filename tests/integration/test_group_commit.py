"""Group commit against the real PostgreSQL: rows inserted together keep their own outcomes."""

import asyncio
from datetime import UTC, datetime, timedelta
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
    """A payment row that no relay of a later test in this database takes (due in a day):
    these rows carry no real record."""
    now = datetime.now(UTC)
    return (uuid4(), scope, key, "hash", "acct_a", "acct_b", amount, "EUR", None, b"k", b"v",
            "[]", now, now + timedelta(days=1))


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


async def test_every_column_is_stored_exactly(database_url: str) -> None:
    """Bytes, decimals, text and times come out as they went in."""
    pool = StatementPool(CommonSettings(database_url=database_url))
    await pool.start()
    committer = GroupCommitter(pool, writers=1)
    committer.start()
    now = datetime.now(UTC)
    values = (uuid4(), unique("scope"), 'k"\\ey€', "hash", "acct_a", "acct_b",
              Decimal("0.001"), "KWD", 'dîner "à deux"\n', b"\x00\xffkey", b'{"v": "\xc3\xa9"}\xff',
              '[["ce_id", "x"]]', now, now.replace(microsecond=0))
    try:
        assert await committer.insert(values) is True
    finally:
        await committer.stop()
        await pool.close()
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        stored = await conn.fetchrow(
            "SELECT event_id, scope, idempotency_key, request_hash, payer_id, payee_id, amount,"
            " currency, description, event_key, event_value, event_headers::text, created_at,"
            " next_attempt_at FROM transaction_api.payment_requests WHERE event_id = $1",
            values[0])
        # Published, so no relay of a later test in this database sends it anywhere.
        await conn.execute("UPDATE transaction_api.payment_requests SET published_at = now()"
                           " WHERE event_id = $1", values[0])
    finally:
        await conn.close()
    assert tuple(stored) == values
    assert str(stored["amount"]) == "0.0010"  # numeric(24,4), as any insert stores it
