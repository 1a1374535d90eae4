"""HTTP <-> schemas. Maps our errors to status codes and problem+json; no business logic."""

import logging
import re
import time
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID, uuid4

from fastapi import APIRouter, Depends, Header, Request
from pydantic import ValidationError

from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from payment_events.money import canonical_amount
from service_kit.bodies import read_json_object
from service_kit.db import is_transient
from service_kit.errors import PublishFailed
from service_kit.problems import PROBLEM_RESPONSE_SCHEMA, Problem, validation_problem
from service_kit.responses import JsonResponse
from service_kit.tracing import current_trace
from transaction_api import metrics
from transaction_api.context import ApiContext, get_context
from transaction_api.requests import (
    IdempotencyKeyReused,
    get_payment,
    record_payment_request,
    request_hash,
)
from transaction_api.schemas import PaymentAcceptedResponse, PaymentRecord, PaymentRequest

log = logging.getLogger(__name__)
router = APIRouter()
Context = Annotated[ApiContext, Depends(get_context)]
RETRY_AFTER = {"Retry-After": "2"}


async def caller_scope(ctx: Context, authorization: Annotated[str | None, Header()] = None) -> str:
    if not ctx.api_keys.enabled:
        return "public"
    scope = ctx.api_keys.scope_for(authorization)
    if scope is None:
        raise Problem(401, "a valid API key is required (Authorization: Bearer <key>)",
                      field="Authorization", headers={"WWW-Authenticate": "Bearer"})
    return scope


Scope = Annotated[str, Depends(caller_scope)]


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: PROBLEM_RESPONSE_SCHEMA for code in codes}


IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


@router.post(
    "/payments",
    status_code=202,
    response_model=PaymentAcceptedResponse,
    responses=_problems(400, 401, 408, 413, 415, 422, 503),
    openapi_extra={
        "parameters": [{
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "the same key with the same body returns the same event",
            "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern, "maxLength": 255},
        }],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PaymentRequest.model_json_schema()}},
        },
    },
    summary="Accept a payment: durable on 202, published to Kafka at once or by the relay",
)
async def create_payment(request: Request) -> JsonResponse:
    # The hot path reads its headers itself: FastAPI's parameter and dependency machinery
    # cost a tenth of this handler's CPU in a profile (see BENCHMARKS.md).
    ctx: ApiContext = request.app.state.context
    scope = await caller_scope(ctx, request.headers.get("authorization"))
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        raise Problem(422, "Idempotency-Key must be 1-255 printable ASCII characters",
                      field="Idempotency-Key")
    body = await read_json_object(request, ctx.settings.max_body_bytes)
    try:
        payment = PaymentRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_problem(list(exc.errors())) from exc
    event = PaymentAccepted(
        event_id=uuid4(),
        payer_id=payment.payer_id,
        payee_id=payment.payee_id,
        amount=payment.decimal_amount,
        currency=payment.currency,
        description=payment.description,
        occurred_at=datetime.now(UTC),
    )
    trace = current_trace.get()
    record = encode(event, trace.traceparent if trace else None)
    try:
        stored = await record_payment_request(
            ctx.statements, scope=scope, idempotency_key=idempotency_key,
            hash_=request_hash(payment.canonical()), event=event, record=record,
        )
    except IdempotencyKeyReused as exc:
        raise Problem(422, "this Idempotency-Key was used with a different request body",
                      field="Idempotency-Key", type_="/problems/idempotency-key-reused") from exc
    except Exception as exc:
        if is_transient(exc):
            log.warning("database unavailable", extra={"error": repr(exc)})
            raise Problem(503, "payment store unavailable, retry later",
                          headers=RETRY_AFTER) from exc
        raise
    metrics.PAYMENTS_ACCEPTED.labels(str(stored.replayed).lower()).inc()
    published = stored.published
    if not stored.replayed:
        published = await _publish_now(ctx, event.event_id, record)
    log.info("payment accepted", extra={"event_id": str(stored.event_id),
                                        "replayed": stored.replayed, "published": published})
    response = PaymentAcceptedResponse(
        event_id=stored.event_id, status="published" if published else "accepted",
        created_at=stored.created_at,
    )
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else None
    return JsonResponse(response.model_dump(mode="json"), status_code=202, headers=headers)


async def _publish_now(ctx: ApiContext, event_id: UUID, record: Any) -> bool:
    """The request path's one bounded attempt; whatever fails here the relay publishes."""
    started = time.perf_counter()
    try:
        await ctx.publisher.publish(record, ctx.settings.publish_timeout_s)
    except (TimeoutError, PublishFailed) as exc:
        metrics.PUBLISH_FAILURES.inc()
        log.warning("publish deferred to relay", extra={"event_id": str(event_id),
                                                        "error": str(exc)})
        return False
    metrics.PUBLISH_LATENCY.observe(time.perf_counter() - started)
    ctx.marker.mark(event_id)
    return True


@router.get(
    "/payments/{event_id}",
    response_model=PaymentRecord,
    responses=_problems(404, 422, 503),
    summary="The accepted request and whether it has been published",
)
async def read_payment(event_id: UUID, ctx: Context) -> PaymentRecord:
    try:
        row = await get_payment(ctx.engine, event_id)
    except Exception as exc:
        if is_transient(exc):
            raise Problem(503, "payment store unavailable, retry later",
                          headers=RETRY_AFTER) from exc
        raise
    if row is None:
        raise Problem(404, f"no payment {event_id}")
    return PaymentRecord(
        **{k: v for k, v in row.items() if k != "amount"},
        amount=canonical_amount(row["amount"], row["currency"]),
        status="published" if row["published_at"] else "accepted",
    )
