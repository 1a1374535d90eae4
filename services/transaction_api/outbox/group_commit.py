"""Group commit: concurrent payment inserts share one multi-row statement and one commit.

A lone request goes straight out (a writer is idle, nothing waits for a tick); under load the
requests that arrive while the writers are busy queue up and go out together, so the database
pays one statement, one transaction and one WAL flush for many payments. Each caller awaits its
own row's outcome, and an idempotency conflict stays that row's own: it is skipped by
ON CONFLICT DO NOTHING and the caller looks up the earlier request itself.
"""

import asyncio
import contextlib
import contextvars
import logging
from dataclasses import dataclass, field
from typing import Any

from service_kit.db import StatementPool
from service_kit.errors import TransientStoreError
from service_kit.failures import is_transient
from service_kit.telemetry import recording

log = logging.getLogger(__name__)

COLUMNS = ("event_id", "scope", "idempotency_key", "request_hash", "payer_id", "payee_id",
           "amount", "currency", "description", "event_key", "event_value", "event_headers",
           "created_at", "next_attempt_at")
_TYPES = ("uuid", "text", "text", "text", "text", "text", "numeric", "text", "text", "bytea",
          "bytea", "text", "timestamptz", "timestamptz")
_SELECT = ", ".join("c12::jsonb" if i == 11 else f"c{i + 1}" for i in range(len(COLUMNS)))
INSERT_MANY = f"""
    INSERT INTO transaction_api.payment_requests ({", ".join(COLUMNS)})
    SELECT {_SELECT}
    FROM unnest({", ".join(f"${i + 1}::{t}[]" for i, t in enumerate(_TYPES))})
         AS r({", ".join(f"c{i + 1}" for i in range(len(COLUMNS)))})
    ON CONFLICT (scope, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
    RETURNING event_id
"""


@dataclass(slots=True)
class _Row:
    values: tuple[Any, ...]
    outcome: "asyncio.Future[bool]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future())
    # The caller's context (its trace), when spans are recorded: a batch's statement runs in
    # its first row's, so the database span of a lone request is a child of that request's
    # span. Without recording there is no span to parent: no copy, no task per batch.
    context: contextvars.Context | None = None


class GroupCommitter:
    """`insert(row)` -> True when the row was inserted, False when its (scope, key) exists."""

    def __init__(self, pool: StatementPool, *, writers: int = 4, max_rows: int = 256,
                 max_queue: int = 10_000) -> None:
        self._pool = pool
        self._queue: asyncio.Queue[_Row] = asyncio.Queue(max_queue)
        self._writers = writers
        self._max_rows = max_rows
        self._tasks: list[asyncio.Task[None]] = []
        self._traced = recording()

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._write_forever(), name=f"group-commit-{i}")
                       for i in range(self._writers)]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        while not self._queue.empty():  # nothing is left waiting forever
            row = self._queue.get_nowait()
            row.outcome.set_exception(TransientStoreError("service stopping"))

    async def insert(self, values: tuple[Any, ...]) -> bool:
        if not self._tasks:
            raise TransientStoreError("group commit not started")
        row = _Row(values, context=contextvars.copy_context() if self._traced else None)
        try:
            self._queue.put_nowait(row)
        except asyncio.QueueFull as exc:
            raise TransientStoreError("too many payments waiting for the database") from exc
        return await row.outcome

    async def _write_forever(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_rows and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            except asyncio.CancelledError:
                for row in batch:
                    if not row.outcome.done():
                        row.outcome.set_exception(TransientStoreError("service stopping"))
                raise

    async def _write(self, batch: list[_Row]) -> None:
        try:
            await self._in_context(batch, batch[0].context)
        except Exception as exc:  # noqa: BLE001 - each caller gets its own outcome
            if len(batch) == 1 or is_transient(exc):
                for row in batch:
                    _settle(row, exc)
                return
            # One row the database refuses must not fail its neighbours: one by one.
            for row in batch:
                try:
                    await self._in_context([row], row.context)
                except Exception as row_exc:  # noqa: BLE001 - handed to that row's caller
                    _settle(row, row_exc)

    async def _in_context(self, batch: list[_Row], context: contextvars.Context | None) -> None:
        if context is None:
            await self._insert(batch)
        else:
            await asyncio.create_task(self._insert(batch), context=context)

    async def _insert(self, batch: list[_Row]) -> None:
        """Insert the rows and settle each caller's outcome (inserted, or its key exists)."""
        # Every batch takes the idempotency index's locks in the same order: two batches
        # holding twins of each other's rows then wait, never deadlock.
        ordered = sorted(batch, key=lambda row: (row.values[1], row.values[2] or ""))
        columns = [list(column) for column in zip(*(row.values for row in ordered), strict=True)]
        async with self._pool.acquire() as conn:
            inserted = {r[0] for r in await conn.fetch(INSERT_MANY, *columns)}
            # The callers have their answer before the connection goes back to the pool
            # (asyncpg releases in a task of its own: a loop turn or two the 202s need not wait
            # for).
            for row in batch:
                _settle(row, row.values[0] in inserted)


def _settle(row: _Row, outcome: bool | BaseException) -> None:
    if row.outcome.done():  # the caller gave up (cancelled)
        return
    if isinstance(outcome, BaseException):
        row.outcome.set_exception(outcome)
    else:
        row.outcome.set_result(outcome)
