"""`GET /notifications/stream`: Server-Sent Events, one per notification, resumable.

Each event's `id:` is the notification's cursor; `Last-Event-ID` (header, or `last_event_id`
in the query for clients that cannot set headers) resumes strictly after it. Without one, the
stream starts at the present. Comment lines every STREAM_HEARTBEAT_S keep proxies from closing
an idle stream (sse-starlette frames the events and sends them).
"""

import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query
from sqlalchemy import text
from sse_starlette import ServerSentEvent

from notification_consumer.http.dependencies import AccountId
from notification_consumer.http.schemas import Notification
from notification_consumer.http.schemas import problems as _problems
from notification_consumer.store import reads
from notification_consumer.store.batch_sql import S
from notification_consumer.stream.hub import EventStreamResponse, TooManyStreams
from notification_consumer.webhooks.context import CallerDep, Ctx, WebhookContext
from service_kit.errors import BadRequest


class BadLastEventId(BadRequest):
    field = "Last-Event-ID"


router = APIRouter(tags=["notifications"])
log = logging.getLogger(__name__)
PAGE = 200
EventId = Annotated[str | None, Query(max_length=100)]


def _select(owner: str | None, account_id: str | None) -> Any:
    where = ["n.id > :after", "n.id <= :upto"]
    if account_id is not None:
        where.append("n.account_id = :account")
    join = ""
    if owner is not None:
        join = f"JOIN {S}.processed_events e ON e.event_id = n.event_id"
        where.append("e.owner_scope = :owner")
    return text(f"""
        SELECT n.id, n.event_id, n.account_id, n.kind, n.amount, n.currency,
            n.counterparty_id, n.created_at
        FROM {S}.notifications n {join} WHERE {' AND '.join(where)}
        ORDER BY n.id LIMIT {PAGE}""")


def _event(row: dict[str, Any]) -> ServerSentEvent:
    data = orjson.dumps(Notification.from_row(row).model_dump(mode="json")).decode()
    return ServerSentEvent(data, id=reads.encode_cursor(row["id"]), event="notification")


async def _events(ctx: WebhookContext, owner: str | None, account_id: str | None,
                  cursor: int) -> AsyncIterator[ServerSentEvent]:
    hub, query = ctx.hub, _select(owner, account_id)
    ends = time.monotonic() + ctx.settings.stream_max_duration_s
    async with hub.client():
        yield ServerSentEvent(comment="stream open", retry=2000)
        while not hub.closed and time.monotonic() < ends:
            upto = hub.horizon
            if upto > cursor:
                async with ctx.engine.connect() as conn:
                    rows = [dict(r._mapping) for r in (await conn.execute(query, {
                        "after": cursor, "upto": upto, "account": account_id,
                        "owner": owner})).all()]
                for row in rows:
                    yield _event(row)
                # Below the horizon nothing more can appear: skip ahead past what matched none.
                cursor = rows[-1]["id"] if len(rows) == PAGE else upto
            else:  # the response's heartbeat keeps the connection busy meanwhile
                await hub.wait_beyond(cursor, ctx.settings.stream_heartbeat_s)


@router.get("/notifications/stream", response_class=EventStreamResponse, status_code=200,
            responses={200: {"content": {"text/event-stream": {}},
                             "description": "Server-Sent Events, `event: notification`"},
                       **_problems(400, 401, 429, 503)},
            summary="Live notifications as Server-Sent Events, resumable with Last-Event-ID")
async def stream(ctx: Ctx, caller: CallerDep, account_id: AccountId = None,
                 last_event_id: EventId = None,
                 last_event_id_header: Annotated[str | None, Header(
                     alias="Last-Event-ID", max_length=100)] = None) -> EventStreamResponse:
    resume = last_event_id_header or last_event_id
    try:
        cursor = reads.decode_cursor(resume)
    except reads.BadCursor as exc:
        raise BadLastEventId("Last-Event-ID is not an id this stream sent") from exc
    if ctx.hub.clients >= ctx.settings.stream_max_clients:
        raise TooManyStreams
    release = ctx.hub.per_key.take(caller.quota_key)
    try:
        if cursor is None:
            async with reads.reading_errors():  # an outage is a 503; a bug stays a 500
                cursor = await ctx.hub.fence()
        # An admin sees every payment's notifications, anyone else their own (Caller.scope).
        return EventStreamResponse(_guarded(_events(ctx, caller.scope, account_id, cursor)),
                                   ctx.settings.stream_send_timeout_s,
                                   ctx.settings.stream_heartbeat_s, on_close=release)
    except BaseException:
        release()
        raise


async def _guarded(events: AsyncIterator[ServerSentEvent]) -> AsyncIterator[ServerSentEvent]:
    """A stream that cannot start (full) or whose database goes away simply ends; the
    client's reconnect (with Last-Event-ID) is the retry."""
    try:
        async for chunk in events:
            yield chunk
    except TooManyStreams:
        return
    except Exception as exc:  # noqa: BLE001 - the response has started: end it cleanly
        log.warning("stream ended by an error", extra={"error": repr(exc)})
    finally:
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()
