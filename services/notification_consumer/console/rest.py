"""JSON endpoints: dead-letter replay (admin, exactly once per letter) and a payment's
lineage. Errors are problem+json like the rest of the API."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from pydantic import ValidationError

from notification_consumer.console.lineage import compose
from notification_consumer.console.runtime import Console, ConsoleDep
from notification_consumer.dead_letters.bulk import close_audit, open_audit
from notification_consumer.dead_letters.replay import (
    ReplayOutcome,
)
from notification_consumer.http.parking_schemas import ReleasePreview, ReplayRequest
from notification_consumer.http.schemas import ReplayResult
from notification_consumer.store.parked_reads import release_preview
from notification_consumer.store.reads import reading_errors
from service_kit.auth import Caller
from service_kit.bodies import read_json_object
from service_kit.errors import (
    Forbidden,
    NotFound,
    OutcomePending,
    PublishFailed,
    Unauthorized,
)
from service_kit.problems import PROBLEM_RESPONSE_SCHEMA, Problem

router = APIRouter()
REPLAY_BODY_BYTES = 256 * 1024  # a corrected value of 65,536 characters, JSON-escaped


async def reader(console: ConsoleDep,
                 authorization: Annotated[str | None, Header()] = None) -> Caller:
    caller = console.keys.for_header(authorization)
    if caller is None:
        raise Unauthorized
    return caller


async def admin(caller: Annotated[Caller, Depends(reader)]) -> Caller:
    if not caller.sees_dead_letters:
        raise Forbidden("replaying dead letters needs an admin key (ADMIN_API_KEYS)")
    return caller


async def replay_one(console: Console, letter_id: int, actor: str, reason: str,
                     corrected: bytes | None = None) -> ReplayOutcome:
    """One letter, audited; our errors become problems, never a second publish."""
    async with reading_errors():
        audit_id = await open_audit(console.engine, actor, "replay", reason,
                                    {"letter_id": letter_id,
                                     "corrected": corrected is not None}, 1)
        try:
            outcome = await console.replayer.replay(letter_id, actor, audit_id, corrected)
        except BaseException as exc:
            await close_audit(console.engine, audit_id, 0, 0, 1)
            if isinstance(exc, PublishFailed):  # recorded as pending before the publish
                raise OutcomePending(str(exc)) from exc
            raise
        await close_audit(console.engine, audit_id, int(not outcome.already_replayed),
                          int(outcome.already_replayed), 0)
        return outcome


@router.post("/dead-letters/{letter_id}/replay", response_model=ReplayResult | ReleasePreview,
             responses={c: PROBLEM_RESPONSE_SCHEMA for c in (401, 403, 404, 409, 413, 415,
                                                             422, 503)},
             tags=["dead letters"],
             summary="Replay a dead letter exactly once (optionally corrected); a letter that "
                     "parked its key is applied first, then the key's parked records")
async def replay_dead_letter(
    request: Request, console: ConsoleDep, caller: Annotated[Caller, Depends(admin)],
    letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    dry_run: Annotated[bool, Query()] = False,
) -> ReplayResult | ReleasePreview:
    if dry_run:
        return ReleasePreview(**await release_preview(
            console.engine, console.settings.kafka_group_id, console.settings.kafka_topic,
            letter_id))
    corrected = await _corrected(request)
    outcome = await replay_one(console, letter_id, caller.actor,
                               "REST replay" + (" (corrected)" if corrected else ""), corrected)
    return ReplayResult(id=letter_id, replayed_at=outcome.published_at,
                        already_replayed=outcome.already_replayed,
                        replay_id=outcome.replay_id, partition=outcome.partition,
                        offset=outcome.offset)


async def _corrected(request: Request) -> bytes | None:
    """The optional body's corrected value; no body at all is a plain replay."""
    if request.headers.get("content-length", "0") == "0" \
            and "transfer-encoding" not in request.headers:
        return None
    try:
        body = ReplayRequest.model_validate(await read_json_object(request, REPLAY_BODY_BYTES))
    except ValidationError as exc:
        raise Problem(422, "the body must be {\"corrected_value\": \"...\"} (at most "
                      "65,536 characters) or absent", field="corrected_value") from exc
    if body.corrected_value is None:
        return None
    try:
        return body.corrected_value.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate from a \ud800 escape
        raise Problem(422, "corrected_value is not valid Unicode",
                      field="corrected_value") from exc


@router.get("/lineage/{event_id}", tags=["events"],
            responses={c: PROBLEM_RESPONSE_SCHEMA for c in (401, 404, 503)},
            summary="A payment's chain from the HTTP request to its rows, each step timed")
async def lineage(console: ConsoleDep, event_id: UUID,
                  caller: Annotated[Caller, Depends(reader)],
                  authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    key = authorization.partition(" ")[2].strip() if authorization else None
    chain = await compose(console.engine, console.api, event_id, key, console.keys.enabled,
                          caller)
    if chain is None:
        raise NotFound(f"no payment {event_id} (for this key)")
    return chain
