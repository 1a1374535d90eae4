"""/notifications: the debit and credit notices derived from events."""

from fastapi import APIRouter

from notification_consumer import queries
from notification_consumer.dependencies import AccountId, CallerDep, Context, Cursor, Limit
from notification_consumer.schemas import Notification, Page, problems

router = APIRouter(tags=["notifications"])


@router.get("/notifications", response_model=Page[Notification],
            responses=problems(400, 401, 503),
            summary="Notifications derived from events, newest first")
async def list_notifications(ctx: Context, caller: CallerDep, account_id: AccountId = None,
                             limit: Limit = 50, cursor: Cursor = None) -> Page[Notification]:
    page = await queries.list_notifications(ctx.engine, account_id, limit, cursor, caller.scope)
    return Page[Notification](items=[Notification.from_row(r) for r in page["items"]],
                              next_cursor=page["next_cursor"])
