"""What a request handler needs, built once by the composition root, as `Annotated`
dependencies the routers share (all `async def`, see service_kit.app_state)."""

import re
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.ext.asyncio import AsyncEngine

from service_kit.app_state import app_state
from service_kit.auth import ApiKeys, required_scope
from service_kit.problems import Problem
from transaction_api.accept import ANONYMOUS, Caller, Payments


@dataclass(frozen=True)
class ApiContext:
    payments: Payments
    api_keys: ApiKeys
    max_body_bytes: int
    allowed_hosts: frozenset[str] = field(default_factory=frozenset)


Context = Annotated[ApiContext, Depends(app_state("context", ApiContext))]
# The SQLAlchemy engine, for the read-only resources (reconciliation, lineage).
Engine = Annotated[AsyncEngine, Depends(app_state("engine", AsyncEngine))]


def caller_of(ctx: ApiContext, authorization: str | None) -> Caller:
    scope = required_scope(ctx.api_keys, authorization)
    return ANONYMOUS if scope is None else Caller(scope, owner_scope=scope)


async def get_caller(ctx: Context, authorization: Annotated[str | None, Header()] = None) -> Caller:
    return caller_of(ctx, authorization)


CallerDep = Annotated[Caller, Depends(get_caller)]

# Printable ASCII, no spaces: a key is an opaque token and ends up in logs and SQL parameters.
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")


def checked_idempotency_key(idempotency_key: str | None) -> str | None:
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        raise Problem(422, "Idempotency-Key must be 1-255 printable ASCII characters",
                      field="Idempotency-Key")
    return idempotency_key
