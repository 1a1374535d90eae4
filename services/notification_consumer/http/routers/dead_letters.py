"""/dead-letters: what could not be processed (admin keys only: they hold anyone's bytes).
Replaying a letter, exactly once, is console/rest.py's (letter_replay.py)."""


from fastapi import APIRouter

from notification_consumer.http.dependencies import AdminDep, Context, Cursor, Limit
from notification_consumer.http.schemas import DeadLetterView, Page, problems
from notification_consumer.store import reads

router = APIRouter(tags=["dead letters"])


@router.get("/dead-letters", response_model=Page[DeadLetterView],
            responses=problems(400, 401, 403, 503),
            summary="Records that could not be processed, newest first")
async def list_dead_letters(ctx: Context, admin: AdminDep, limit: Limit = 50,
                            cursor: Cursor = None) -> Page[DeadLetterView]:
    page = await reads.list_dead_letters(ctx.engine, limit, cursor)
    return Page[DeadLetterView].of(page, DeadLetterView.from_row)
