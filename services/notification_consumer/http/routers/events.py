"""/events: processed events, visible to the key that created them."""

from uuid import UUID

from fastapi import APIRouter

from notification_consumer.http.dependencies import AccountPageDep, CallerDep, Context
from notification_consumer.http.schemas import Page, ProcessedEvent, problems
from notification_consumer.store import reads
from service_kit.errors import NotFound

router = APIRouter(tags=["events"])


@router.get("/events/{event_id}", response_model=ProcessedEvent,
            responses=problems(401, 404, 503),
            summary="A processed event, with its Kafka partition and offset")
async def read_event(event_id: UUID, ctx: Context, caller: CallerDep) -> ProcessedEvent:
    row = await reads.get_event(ctx.engine, event_id, caller.scope)
    if row is None:
        raise NotFound(f"event {event_id} has not been processed (yet)")
    return ProcessedEvent.from_row(row)


@router.get("/events", response_model=Page[ProcessedEvent], responses=problems(400, 401, 503),
            summary="Processed events, newest first (payer or payee)")
async def list_events(ctx: Context, q: AccountPageDep) -> Page[ProcessedEvent]:
    rows = await reads.list_events(ctx.engine, q.account_id, q.limit, q.cursor, q.scope)
    return Page[ProcessedEvent].of(rows, ProcessedEvent.from_row)
