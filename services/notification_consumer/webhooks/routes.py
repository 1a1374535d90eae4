"""`/webhooks`: subscriptions (create, list, read, delete, rotate the secret, re-enable) and
their deliveries (list with every attempt, redeliver by hand)."""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Response
from pydantic import BaseModel, Field

from notification_consumer.http.dependencies import Cursor, Limit
from notification_consumer.http.schemas import problems as _problems
from notification_consumer.store import reads
from notification_consumer.webhooks import signing, ssrf, subscriptions
from notification_consumer.webhooks.context import CallerDep, Ctx
from payment_events.events import ACCOUNT_ID_PATTERN
from service_kit.errors import NotFound, QuotaExceeded, RequestRejected

router = APIRouter(prefix="/webhooks", tags=["webhooks"])
# No control character (Unicode Cc: C0, DEL, C1): the same grammar in the model, its JSON
# Schema and the README.
DESCRIPTION_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*$"
DeliveryId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class NewSubscription(BaseModel):
    url: str = Field(max_length=ssrf.MAX_URL_LENGTH, examples=["https://example.com/hooks"])
    account_id: str | None = Field(default=None, pattern=ACCOUNT_ID_PATTERN,
                                   description="only this account's notifications; "
                                               "none = every notification of your payments")
    description: str | None = Field(default=None, max_length=280, pattern=DESCRIPTION_PATTERN,
                                    description="at most 280 characters, no control "
                                                "characters (Unicode category Cc)")
    ordering: Literal["account"] | None = Field(
        default=None, description="`account`: one account's deliveries go one at a time, in "
                                  "event order; a failing one holds that account's later "
                                  "ones (for this subscription only). None: unordered")


class Subscription(BaseModel):
    id: UUID
    url: str
    account_id: str | None
    description: str | None
    ordering: str | None = Field(description="`account`, or none (unordered)")
    status: str = Field(description="`active`, or `disabled` after repeated failure")
    consecutive_failures: int
    disabled_at: datetime | None
    disabled_reason: str | None
    created_at: datetime
    previous_secret_expires_at: datetime | None


class SubscriptionWithSecret(Subscription):
    secret: str = Field(description="`whsec_…`: shown only in this answer")


class Subscriptions(BaseModel):
    items: list[Subscription]


class Delivery(BaseModel):
    id: int
    subscription_id: UUID
    notification_id: int
    webhook_id: str
    state: str = Field(description="`pending`, `delivered` or `failed` (retries used up)")
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    delivered_at: datetime | None
    last_status: int | None
    last_error: str | None
    held_by: int | None = Field(
        default=None, description="ordered subscription: the older pending delivery of the "
                                  "same account this one waits behind (in its lease or "
                                  "waiting for a retry)")
    attempt_log: list[dict[str, Any]] = []

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Delivery":
        return cls(**row, webhook_id=f"msg_{row['message_id'].hex}")


class Deliveries(BaseModel):
    items: list[Delivery]
    next_cursor: str | None


class BadUrl(RequestRejected):
    field = "url"


def _found(row: dict[str, Any] | None, what: str) -> dict[str, Any]:
    if row is None:
        raise NotFound(f"no such {what}")
    return row


@router.post("", status_code=201, response_model=SubscriptionWithSecret,
             responses=_problems(400, 401, 413, 422, 429, 503),
             summary="Subscribe a URL to notifications")
async def create(ctx: Ctx, caller: CallerDep, body: NewSubscription) -> SubscriptionWithSecret:
    try:
        await ssrf.resolve(body.url, ctx.settings.webhook_allow_private_networks)
    except ssrf.UnsafeTarget as exc:
        raise BadUrl(f"url: {exc}") from exc
    secret = signing.new_secret()
    async with ctx.creating.hold(caller.quota_key):
        row = await subscriptions.create(ctx.engine, caller.owner, body.url, body.account_id,
                                         body.description, secret,
                                         ctx.settings.webhook_max_subscriptions_per_key,
                                         body.ordering)
    if row is None:
        raise QuotaExceeded("subscriptions", ctx.settings.webhook_max_subscriptions_per_key,
                            "WEBHOOK_MAX_SUBSCRIPTIONS_PER_KEY")
    return SubscriptionWithSecret(**row, secret=secret)


@router.get("", response_model=Subscriptions, responses=_problems(401, 503),
            summary="Your subscriptions")
async def list_all(ctx: Ctx, caller: CallerDep) -> Subscriptions:
    rows = await subscriptions.list_owned(ctx.engine, caller.owner)
    return Subscriptions(items=[Subscription(**r) for r in rows])


@router.get("/{sub_id}", response_model=Subscription, responses=_problems(401, 404, 503))
async def read(ctx: Ctx, caller: CallerDep, sub_id: UUID) -> Subscription:
    return Subscription(**_found(await subscriptions.get(ctx.engine, caller.owner, sub_id),
                                 "subscription"))


@router.delete("/{sub_id}", status_code=204, responses=_problems(401, 404, 503),
               summary="Delete a subscription and its pending deliveries")
async def delete(ctx: Ctx, caller: CallerDep, sub_id: UUID) -> Response:
    if not await subscriptions.delete(ctx.engine, caller.owner, sub_id):
        raise NotFound("no such subscription")
    return Response(status_code=204)


@router.post("/{sub_id}/rotate-secret", response_model=SubscriptionWithSecret,
             responses=_problems(401, 404, 503),
             summary="A new secret; the old one also signs until the grace period ends")
async def rotate_secret(ctx: Ctx, caller: CallerDep, sub_id: UUID) -> SubscriptionWithSecret:
    secret = signing.new_secret()
    row = await subscriptions.rotate_secret(ctx.engine, caller.owner, sub_id, secret,
                                                   ctx.settings.webhook_secret_grace_s)
    return SubscriptionWithSecret(**_found(row, "subscription"), secret=secret)


@router.post("/{sub_id}/enable", response_model=Subscription, responses=_problems(401, 404, 503),
             summary="Re-enable a disabled subscription (its pending deliveries resume)")
async def enable(ctx: Ctx, caller: CallerDep, sub_id: UUID) -> Subscription:
    row = await subscriptions.enable(ctx.engine, caller.owner, sub_id)
    return Subscription(**_found(row, "subscription"))


@router.get("/{sub_id}/deliveries", response_model=Deliveries,
            responses=_problems(400, 401, 404, 503),
            summary="Deliveries, newest first, each with every attempt")
async def deliveries(ctx: Ctx, caller: CallerDep, sub_id: UUID, limit: Limit = 50,
                     cursor: Cursor = None) -> Deliveries:
    before = reads.decode_cursor(cursor)
    _found(await subscriptions.get(ctx.engine, caller.owner, sub_id), "subscription")
    rows = await subscriptions.deliveries(ctx.engine, caller.owner, sub_id, limit + 1, before)
    more = len(rows) > limit
    rows = rows[:limit]
    return Deliveries(items=[Delivery.from_row(r) for r in rows],
                      next_cursor=reads.encode_cursor(rows[-1]["id"]) if more else None)


@router.post("/{sub_id}/deliveries/{delivery_id}/redeliver", status_code=202,
             response_model=Delivery, responses=_problems(401, 404, 503),
             summary="Send a delivery again now (same webhook-id), with a fresh retry window")
async def redeliver(ctx: Ctx, caller: CallerDep, sub_id: UUID,
                    delivery_id: DeliveryId) -> Delivery:
    row = await subscriptions.redeliver(ctx.engine, caller.owner, sub_id, delivery_id,
                                               ctx.settings.webhook_retry_window_s)
    return Delivery.from_row(_found(row, "delivery"))
