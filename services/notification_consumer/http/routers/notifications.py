"""/notifications: the debit and credit notices derived from events."""

from fastapi import APIRouter

from notification_consumer.http.dependencies import AccountPageDep, Context
from notification_consumer.http.schemas import Notification, Page, problems
from notification_consumer.store import reads

router = APIRouter(tags=["notifications"])


@router.get("/notifications", response_model=Page[Notification],
            responses=problems(400, 401, 503),
            summary="Notifications derived from events, newest first")
async def list_notifications(ctx: Context, q: AccountPageDep) -> Page[Notification]:
    rows = await reads.list_notifications(ctx.engine, q.account_id, q.limit, q.cursor,
                                            q.scope)
    return Page[Notification].of(rows, Notification.from_row)
