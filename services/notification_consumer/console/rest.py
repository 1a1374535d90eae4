"""JSON endpoints: dead-letter replay (admin, exactly once per letter) and a payment's
lineage. Errors are problem+json like the rest of the API."""

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Path

from notification_consumer.console.access import Access
from notification_consumer.console.lineage import compose
from notification_consumer.console.runtime import Console, ConsoleDep
from notification_consumer.dead_letters.bulk import close_audit, open_audit
from notification_consumer.dead_letters.replay import (
    ReplayOutcome,
)
from notification_consumer.http.schemas import ReplayResult
from notification_consumer.store.reads import reading_errors
from service_kit.errors import (
    Forbidden,
    NotFound,
    OutcomePending,
    PublishFailed,
    Unauthorized,
)
from service_kit.problems import PROBLEM_RESPONSE_SCHEMA

router = APIRouter()


def _unauthorized() -> Unauthorized:
    return Unauthorized()


async def reader(console: ConsoleDep,
                 authorization: Annotated[str | None, Header()] = None) -> Access:
    access = console.keys.for_header(authorization)
    if access is None:
        raise _unauthorized()
    return access


async def admin(access: Annotated[Access, Depends(reader)]) -> Access:
    if not access.admin:
        raise Forbidden("replaying dead letters needs an admin key (ADMIN_API_KEYS)")
    return access


async def replay_one(console: Console, letter_id: int, actor: str, reason: str) -> ReplayOutcome:
    """One letter, audited; our errors become problems, never a second publish."""
    async with reading_errors():
        audit_id = await open_audit(console.engine, actor, "replay", reason,
                                    {"letter_id": letter_id}, 1)
        try:
            outcome = await console.replayer.replay(letter_id, actor, audit_id)
        except BaseException as exc:
            await close_audit(console.engine, audit_id, 0, 0, 1)
            if isinstance(exc, PublishFailed):  # recorded as pending before the publish
                raise OutcomePending(str(exc)) from exc
            raise
        await close_audit(console.engine, audit_id, int(not outcome.already_replayed),
                          int(outcome.already_replayed), 0)
        return outcome


@router.post("/dead-letters/{letter_id}/replay", response_model=ReplayResult,
             responses={c: PROBLEM_RESPONSE_SCHEMA for c in (401, 403, 404, 409, 503)},
             tags=["dead letters"],
             summary="Republish a dead letter's original bytes to the main topic, exactly once")
async def replay_dead_letter(
    console: ConsoleDep, access: Annotated[Access, Depends(admin)],
    letter_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> ReplayResult:
    outcome = await replay_one(console, letter_id, access.scope, "REST replay")
    return ReplayResult(id=letter_id, replayed_at=outcome.published_at,
                        already_replayed=outcome.already_replayed,
                        replay_id=outcome.replay_id, partition=outcome.partition,
                        offset=outcome.offset)


@router.get("/lineage/{event_id}", tags=["events"],
            responses={c: PROBLEM_RESPONSE_SCHEMA for c in (401, 404, 503)},
            summary="A payment's chain from the HTTP request to its rows, each step timed")
async def lineage(console: ConsoleDep, event_id: UUID,
                  access: Annotated[Access, Depends(reader)],
                  authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
    key = authorization.partition(" ")[2].strip() if authorization else None
    chain = await compose(console.engine, console.api, event_id, key, console.keys.enabled)
    if chain is None:
        raise NotFound(f"no payment {event_id} (for this key)")
    return chain
