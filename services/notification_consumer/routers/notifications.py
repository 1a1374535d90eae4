"""/notifications: the debit and credit notices derived from events."""

from fastapi import APIRouter

from notification_consumer import queries
from notification_consumer.dependencies import AccountPageDep, Context
from notification_consumer.schemas import Notification, Page, problems

router = APIRouter(tags=["notifications"])


@router.get("/notifications", response_model=Page[Notification],
            responses=problems(400, 401, 503),
            summary="Notifications derived from events, newest first")
async def list_notifications(ctx: Context, q: AccountPageDep) -> Page[Notification]:
    rows = await queries.list_notifications(ctx.engine, q.account_id, q.limit, q.cursor,
                                            q.scope)
    return Page[Notification].of(rows, Notification.from_row)
