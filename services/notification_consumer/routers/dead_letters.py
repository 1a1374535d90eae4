"""/dead-letters: what could not be processed (admin keys only: they hold anyone's bytes),
and the replay of one letter to the main topic."""

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import text

from notification_consumer import queries
from notification_consumer.dead_letters import original_headers
from notification_consumer.dependencies import AdminDep, Context, Cursor, Limit
from notification_consumer.errors import NotFound
from notification_consumer.queries import reading_errors
from notification_consumer.schemas import DeadLetterView, Page, ReplayResult, problems
from notification_consumer.store import S
from payment_events.codec import KafkaRecord

router = APIRouter(tags=["dead letters"])


@router.get("/dead-letters", response_model=Page[DeadLetterView],
            responses=problems(400, 401, 403, 503),
            summary="Records that could not be processed, newest first")
async def list_dead_letters(ctx: Context, admin: AdminDep, limit: Limit = 50,
                            cursor: Cursor = None) -> Page[DeadLetterView]:
    page = await queries.list_dead_letters(ctx.engine, limit, cursor)
    return Page[DeadLetterView](items=[DeadLetterView.from_row(r) for r in page["items"]],
                                next_cursor=page["next_cursor"])


@router.post("/dead-letters/{letter_id}/replay", response_model=ReplayResult,
             responses=problems(401, 403, 404, 503),
             summary="Republish a dead letter's original bytes to the main topic (once)")
async def replay_dead_letter(
    ctx: Context, admin: AdminDep, letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)]
) -> ReplayResult:
    async with reading_errors(), ctx.engine.begin() as conn:
        row = (await conn.execute(text(
            f"SELECT key, value, header_keys, header_values, replayed_at FROM {S}.dead_letters "
            "WHERE id = :id FOR UPDATE"), {"id": letter_id})).first()
        if row is None:
            raise NotFound(f"no dead letter {letter_id}")
        if row.replayed_at is not None:
            return ReplayResult(id=letter_id, replayed_at=row.replayed_at, already_replayed=True)
        headers = [(bytes(k).decode("utf-8", "replace"), bytes(v))
                   for k, v in zip(row.header_keys, row.header_values, strict=True)]
        record = KafkaRecord(row.key, row.value or b"", original_headers(headers))
        await ctx.consumer.republisher.republish(record)
        when = (await conn.execute(text(
            f"UPDATE {S}.dead_letters SET replayed_at = now() WHERE id = :id "
            "RETURNING replayed_at"), {"id": letter_id})).scalar_one()
    return ReplayResult(id=letter_id, replayed_at=when, already_replayed=False)
