"""`Annotated` dependencies the routers share: the context, the caller (key and scope),
and the query parameters every list takes (with the caller's scope: AccountPage)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query

from notification_consumer.http.context import ConsumerContext, get_context
from payment_events.events import ACCOUNT_ID_PATTERN
from service_kit.auth import Caller, caller_for
from service_kit.errors import Forbidden, Unauthorized


async def get_caller(
    ctx: Annotated[ConsumerContext, Depends(get_context)],
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    caller = caller_for(ctx.api_keys, authorization)
    if caller is None:
        raise Unauthorized
    return caller


async def get_admin(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    if not caller.admin:
        raise Forbidden
    return caller


Context = Annotated[ConsumerContext, Depends(get_context)]
CallerDep = Annotated[Caller, Depends(get_caller)]
AdminDep = Annotated[Caller, Depends(get_admin)]
Limit = Annotated[int, Query(ge=1, le=500)]
Cursor = Annotated[str | None, Query(max_length=100)]
# The same rule as the API's ids: it also keeps NUL bytes, which PostgreSQL text cannot hold,
# away from the queries.
AccountId = Annotated[str | None, Query(pattern=ACCOUNT_ID_PATTERN, max_length=64)]


@dataclass(frozen=True, slots=True)
class AccountPage:
    """A list request: whose rows (one account's, or all), which page, and the caller's
    scope."""

    account_id: str | None
    limit: int
    cursor: str | None
    scope: str | None


async def get_account_page(caller: CallerDep, account_id: AccountId = None, limit: Limit = 50,
                           cursor: Cursor = None) -> AccountPage:
    return AccountPage(account_id, limit, cursor, caller.scope)


AccountPageDep = Annotated[AccountPage, Depends(get_account_page)]
