"""What the webhook and stream routes need, built once by the app (app.state.webhooks)."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.stream.hub import StreamHub
from notification_consumer.webhooks.settings import WebhookSettings
from service_kit.app_state import app_state
from service_kit.auth import ApiKeys, required_scope


@dataclass(frozen=True)
class WebhookContext:
    settings: WebhookSettings
    engine: AsyncEngine
    api_keys: ApiKeys
    hub: StreamHub


Ctx = Annotated[WebhookContext, Depends(app_state("webhooks", WebhookContext))]


async def owner_scope(ctx: Ctx, authorization: Annotated[str | None, Header()] = None
                      ) -> str | None:
    """The caller's key scope; None when auth is off. A key is required when it is on."""
    return required_scope(ctx.api_keys, authorization)


Owner = Annotated[str | None, Depends(owner_scope)]
