"""What a request handler needs, built once by the composition root, as `Annotated`
dependencies the routers share. All `async def`: FastAPI runs a plain `def` dependency in a
thread pool, a thread hop per request."""

import re
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from service_kit.auth import ApiKeys
from service_kit.problems import Problem
from transaction_api.accept import ANONYMOUS, Caller, Payments


@dataclass(frozen=True)
class ApiContext:
    payments: Payments
    api_keys: ApiKeys
    max_body_bytes: int


async def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context


Context = Annotated[ApiContext, Depends(get_context)]


async def get_engine(request: Request) -> AsyncEngine:
    """The SQLAlchemy engine, for the read-only resources (reconciliation, lineage)."""
    engine: AsyncEngine = request.app.state.engine
    return engine


Engine = Annotated[AsyncEngine, Depends(get_engine)]


async def get_caller(ctx: Context, authorization: Annotated[str | None, Header()] = None) -> Caller:
    if not ctx.api_keys.enabled:
        return ANONYMOUS
    scope = ctx.api_keys.scope_for(authorization)
    if scope is None:
        raise Problem(401, "a valid API key is required (Authorization: Bearer <key>)",
                      field="Authorization", headers={"WWW-Authenticate": "Bearer"})
    return Caller(scope, owner_scope=scope)


CallerDep = Annotated[Caller, Depends(get_caller)]

# Printable ASCII, no spaces: a key is an opaque token and ends up in logs and SQL parameters.
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


async def get_idempotency_key(
    idempotency_key: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> str | None:
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        raise Problem(422, "Idempotency-Key must be 1-255 printable ASCII characters",
                      field="Idempotency-Key")
    return idempotency_key


IdempotencyKey = Annotated[str | None, Depends(get_idempotency_key)]
