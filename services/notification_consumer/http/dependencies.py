"""`Annotated` dependencies the routers share: the context, the caller (key and scope),
and the query parameters every list takes (with the caller's scope: AccountPage)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Query

from notification_consumer.http.context import ConsumerContext, get_context
from payment_events.events import ACCOUNT_ID_PATTERN
from service_kit.errors import Forbidden, Unauthorized


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is asking. `scope` limits reads to the payments that key created; None means
    everything (no keys configured, or an admin key)."""

    scope: str | None
    admin: bool


async def get_caller(
    ctx: Annotated[ConsumerContext, Depends(get_context)],
    authorization: Annotated[str | None, Header()] = None,
) -> Caller:
    keys = ctx.api_keys
    if not keys.enabled:
        return Caller(scope=None, admin=True)
    scope = keys.scope_for(authorization)
    if scope is None:
        raise Unauthorized
    admin = keys.is_admin(authorization)
    return Caller(scope=None if admin else scope, admin=admin)


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
