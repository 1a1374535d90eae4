"""The payments resource: HTTP <-> the service (accept.py). Errors map in service_kit.problems."""

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import ValidationError

from payment_events.money import canonical_amount
from service_kit.bodies import read_json_object
from service_kit.problems import PROBLEM_RESPONSE_SCHEMA, validation_problem
from service_kit.responses import JsonResponse
from service_kit.scope_headers import first_header
from service_kit.tracing import current_trace
from transaction_api.accept import accept_payment, find_payment
from transaction_api.context import (
    IDEMPOTENCY_KEY,
    ApiContext,
    CallerDep,
    Context,
    caller_of,
    checked_idempotency_key,
)
from transaction_api.http.schemas import PaymentAcceptedResponse, PaymentRecord, PaymentRequest

router = APIRouter(prefix="/payments", tags=["payments"])
# What the Authorization dependency of the other routes documents, for the hot route that
# reads the header itself.
AUTHORIZATION_PARAMETER = {
    "name": "authorization", "in": "header", "required": False,
    "schema": {"anyOf": [{"type": "string"}, {"type": "null"}], "title": "Authorization"},
}


def _problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: PROBLEM_RESPONSE_SCHEMA for code in codes}


@router.post(
    "",
    status_code=202,
    response_model=PaymentAcceptedResponse,
    responses=_problems(400, 401, 408, 409, 413, 415, 422, 503),
    openapi_extra={
        "parameters": [AUTHORIZATION_PARAMETER, {
            "name": "Idempotency-Key", "in": "header", "required": False,
            "description": "the same key with the same body returns the same event",
            "schema": {"type": "string", "pattern": IDEMPOTENCY_KEY.pattern, "maxLength": 255},
        }],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": PaymentRequest.model_json_schema()}},
        },
    },
    summary="Accept a payment: durable on 202, published to Kafka right after or by the relay",
)
async def create_payment(request: Request) -> JsonResponse:
    # The hot route takes no FastAPI dependencies (their solving was a tenth of a request's
    # CPU): the same checks, in the same order (401, then the key's 422, then the body), by
    # hand. The body is read by hand too: strict type, size, encoding and syntax, each a 4xx.
    ctx: ApiContext = request.app.state.context
    scope = request.scope
    caller = caller_of(ctx, first_header(scope, b"authorization"))
    idempotency_key = checked_idempotency_key(first_header(scope, b"idempotency-key"))
    body = await read_json_object(request, ctx.max_body_bytes)
    try:
        payment = PaymentRequest.model_validate(body)
    except ValidationError as exc:
        raise validation_problem(list(exc.errors())) from exc
    trace = current_trace.get()
    accepted = await accept_payment(ctx.payments, payment, caller,
                                    idempotency_key=idempotency_key,
                                    traceparent=trace.traceparent if trace else None)
    response = {"event_id": str(accepted.event_id),
                "status": "published" if accepted.published else "accepted",
                "created_at": accepted.created_at.isoformat().replace("+00:00", "Z")}
    replayed = {"Idempotent-Replayed": "true"} if accepted.replayed else None
    return JsonResponse(response, status_code=202, headers=replayed)


@router.get(
    "/{event_id}",
    response_model=PaymentRecord,
    responses=_problems(401, 404, 422, 503),
    summary="The accepted request, and when and where it was published (only to its own key)",
)
async def read_payment(event_id: UUID, ctx: Context, caller: CallerDep) -> PaymentRecord:
    view = await find_payment(ctx.payments, event_id, caller)
    return PaymentRecord(
        event_id=view.event_id, payer_id=view.payer_id, payee_id=view.payee_id,
        amount=canonical_amount(view.amount, view.currency), currency=view.currency,
        description=view.description, created_at=view.created_at,
        published_at=view.published_at, publish_attempts=view.publish_attempts,
        partition=view.published_partition, offset=view.published_offset,
        status="published" if view.published_at else "accepted",
    )
