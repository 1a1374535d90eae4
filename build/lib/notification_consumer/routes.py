"""HTTP <-> queries. Maps our errors to status codes and problem+json."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from notification_consumer import queries
from notification_consumer.context import ConsumerContext, get_context
from notification_consumer.schemas import (
    DeadLetterView,
    Notification,
    Page,
    ProcessedEvent,
    Stats,
)
from payment_events.events import ACCOUNT_ID_PATTERN
from service_kit.db import is_transient
from service_kit.problems import PROBLEM_RESPONSE_SCHEMA, Problem

router = APIRouter()
Context = Annotated[ConsumerContext, Depends(get_context)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=100)]
# The same rule as the API's ids: it also keeps NUL bytes, which PostgreSQL text cannot hold,
# away from the queries (schemathesis found that one as a 500).
AccountId = Annotated[str | None, Query(pattern=ACCOUNT_ID_PATTERN, max_length=64)]
RETRY_AFTER = {"Retry-After": "2"}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: PROBLEM_RESPONSE_SCHEMA for code in codes}


async def _guard(call: Any) -> Any:
    try:
        return await call
    except queries.BadCursor as exc:
        raise Problem(400, str(exc), field="cursor") from exc
    except Exception as exc:
        if is_transient(exc):
            raise Problem(503, "database unavailable, retry later", headers=RETRY_AFTER) from exc
        raise


@router.get("/events/{event_id}", response_model=ProcessedEvent, responses=_problems(404, 503),
            tags=["events"], summary="A processed event, with its Kafka partition and offset")
async def read_event(event_id: UUID, ctx: Context) -> ProcessedEvent:
    row = await _guard(queries.get_event(ctx.engine, event_id))
    if row is None:
        raise Problem(404, f"event {event_id} has not been processed (yet)")
    return ProcessedEvent.from_row(row)


@router.get("/events", response_model=Page[ProcessedEvent], responses=_problems(400, 503),
            tags=["events"], summary="Processed events, newest first (payer or payee)")
async def list_events(ctx: Context, account_id: AccountId = None, limit: Limit = 50,
                      cursor: Cursor = None) -> Page[ProcessedEvent]:
    page = await _guard(queries.list_events(ctx.engine, account_id, limit, cursor))
    return Page[ProcessedEvent](items=[ProcessedEvent.from_row(r) for r in page["items"]],
                                next_cursor=page["next_cursor"])


@router.get("/notifications", response_model=Page[Notification], responses=_problems(400, 503),
            tags=["notifications"], summary="Notifications derived from events, newest first")
async def list_notifications(ctx: Context, account_id: AccountId = None, limit: Limit = 50,
                             cursor: Cursor = None) -> Page[Notification]:
    page = await _guard(queries.list_notifications(ctx.engine, account_id, limit, cursor))
    return Page[Notification](items=[Notification.from_row(r) for r in page["items"]],
                              next_cursor=page["next_cursor"])


@router.get("/dead-letters", response_model=Page[DeadLetterView], responses=_problems(400, 503),
            tags=["dead letters"], summary="Records that could not be processed, newest first")
async def list_dead_letters(ctx: Context, limit: Limit = 50,
                            cursor: Cursor = None) -> Page[DeadLetterView]:
    page = await _guard(queries.list_dead_letters(ctx.engine, limit, cursor))
    return Page[DeadLetterView](items=[DeadLetterView(**r) for r in page["items"]],
                                next_cursor=page["next_cursor"])


# POST /dead-letters/{id}/replay lives in console/rest.py (exactly once, audited).


@router.get("/stats", response_model=Stats, responses=_problems(503), tags=["operations"],
            summary="Processed, duplicates, dead letters, lag per partition and in total")
async def stats(ctx: Context) -> Stats:
    snapshot = await _guard(ctx.monitor.snapshot())
    return Stats(**snapshot, consumer=ctx.consumer.status())
