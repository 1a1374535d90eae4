"""What the webhook and stream routes need, built once by the app (app.state.webhooks)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.webhooks.settings import WebhookSettings
from notification_consumer.webhooks.stream import StreamHub
from service_kit.auth import ApiKeys
from service_kit.problems import Problem


@dataclass(frozen=True)
class WebhookContext:
    settings: WebhookSettings
    engine: AsyncEngine
    api_keys: ApiKeys
    hub: StreamHub


async def get_webhook_context(request: Request) -> WebhookContext:
    context: WebhookContext = request.app.state.webhooks
    return context


Ctx = Annotated[WebhookContext, Depends(get_webhook_context)]


async def owner_scope(ctx: Ctx, authorization: Annotated[str | None, Header()] = None
                      ) -> str | None:
    """The caller's key scope; None when auth is off. A key is required when it is on."""
    if not ctx.api_keys.enabled:
        return None
    scope = ctx.api_keys.scope_for(authorization)
    if scope is None:
        raise Problem(401, "a valid API key is required (Authorization: Bearer <key>)",
                      field="Authorization", headers={"WWW-Authenticate": "Bearer"})
    return scope


Owner = Annotated[str | None, Depends(owner_scope)]
