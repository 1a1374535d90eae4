"""/dead-letters: what could not be processed (admin keys only: they hold anyone's bytes).
Replaying a letter, exactly once, is console/rest.py's (letter_replay.py)."""

from typing import Annotated

from fastapi import APIRouter, Path

from notification_consumer.http.dependencies import AdminDep, Context, Cursor, Limit
from notification_consumer.http.schemas import DeadLetterView, Page, problems
from notification_consumer.store import reads
from service_kit.errors import NotFound

router = APIRouter(tags=["dead letters"])


@router.get("/dead-letters", response_model=Page[DeadLetterView],
            responses=problems(400, 401, 403, 503),
            summary="Records that could not be processed, newest first")
async def list_dead_letters(ctx: Context, admin: AdminDep, limit: Limit = 50,
                            cursor: Cursor = None) -> Page[DeadLetterView]:
    page = await reads.list_dead_letters(ctx.engine, limit, cursor)
    return Page[DeadLetterView].of(page, DeadLetterView.from_row)


@router.get("/dead-letters/{letter_id}", response_model=DeadLetterView,
            responses=problems(401, 403, 404, 422, 503),
            summary="One dead letter, its original bytes whole (a truncated copy on the "
                    "dead-letter topic points here in dlq_fetch)")
async def read_dead_letter(ctx: Context, admin: AdminDep,
                           letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)]) -> DeadLetterView:
    row = await reads.get_dead_letter(ctx.engine, letter_id)
    if row is None:
        raise NotFound(f"no dead letter {letter_id}")
    return DeadLetterView.from_row(row)
