"""/parked and discarding a dead letter (admin keys only). Discarding releases the key the
letter parked; replaying it is console/rest.py's. `?dry_run=true` says what would happen."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from pydantic import ValidationError

from notification_consumer.dead_letters.release import Discarded, LetterReplayed, discard
from notification_consumer.dead_letters.replay import LetterNotFound, LetterNotOurs, lock_letter
from notification_consumer.http.dependencies import AdminDep, Context, Cursor, Limit
from notification_consumer.http.parking_schemas import (
    MAX_REASON_CHARS,
    DiscardRequest,
    DiscardResult,
    ParkedKeyView,
    ReleasePreview,
)
from notification_consumer.http.schemas import Page, problems
from notification_consumer.store import parked_reads
from notification_consumer.store.reads import reading_errors
from notification_consumer.store.text import safe_text
from service_kit.bodies import read_json_object
from service_kit.problems import Problem

router = APIRouter(tags=["dead letters"])
LetterId = Annotated[int, Path(ge=1, le=2**63 - 1)]
DISCARD_BODY_BYTES = 4096  # a reason of MAX_REASON_CHARS, JSON-escaped, fits


@router.get("/parked", response_model=Page[ParkedKeyView], responses=problems(400, 401, 403, 503),
            summary="Parked keys per partition, oldest park first")
async def list_parked(ctx: Context, admin: AdminDep, limit: Limit = 50,
                      cursor: Cursor = None) -> Page[ParkedKeyView]:
    page = await parked_reads.list_parked(ctx.engine, ctx.settings.kafka_group_id,
                                          ctx.settings.kafka_topic, limit, cursor)
    return Page[ParkedKeyView].of(page, ParkedKeyView.from_row)


@router.post("/dead-letters/{letter_id}/discard",
             response_model=DiscardResult | ReleasePreview,
             responses=problems(400, 401, 403, 404, 409, 413, 415, 422, 503),
             summary="Discard a dead letter with a reason; releases the key it parked")
async def discard_letter(request: Request, ctx: Context, admin: AdminDep, letter_id: LetterId,
                         dry_run: Annotated[bool, Query()] = False
                         ) -> DiscardResult | ReleasePreview:
    group, topic = ctx.settings.kafka_group_id, ctx.settings.kafka_topic
    try:
        if dry_run:
            async with reading_errors():
                return ReleasePreview(**await parked_reads.release_preview(
                    ctx.engine, group, topic, letter_id))
        reason = await _reason(request)
        # Who, for the audit: the key's scope (a digest prefix), never the key.
        actor = ctx.api_keys.scope_for(request.headers.get("authorization")) or "open"
        async with reading_errors(), ctx.engine.begin() as conn:
            letter = await lock_letter(conn, letter_id, group, topic)
            done: Discarded = await discard(conn, letter, actor, reason)
    except LetterNotFound as exc:
        raise Problem(404, f"no dead letter {letter_id}") from exc
    except (LetterNotOurs, LetterReplayed) as exc:
        raise Problem(409, str(exc)) from exc
    return DiscardResult(id=letter_id, discarded_at=done.discarded_at,
                         already_discarded=done.already,
                         released_key=done.released.id if done.released else None,
                         parked_records=done.released.records if done.released else 0)


async def _reason(request: Request) -> str:
    try:
        body = DiscardRequest.model_validate(
            await read_json_object(request, DISCARD_BODY_BYTES))
    except ValidationError as exc:
        raise Problem(422, "the body must be {\"reason\": \"...\"} with a reason of 1 to "
                      f"{MAX_REASON_CHARS} characters", field="reason") from exc
    return safe_text(body.reason, MAX_REASON_CHARS)
