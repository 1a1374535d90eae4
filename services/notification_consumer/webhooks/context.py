"""What the webhook and stream routes need, built once by the app (app.state.webhooks)."""

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.stream.hub import StreamHub
from notification_consumer.webhooks.settings import WebhookSettings
from service_kit.app_state import app_state
from service_kit.auth import ApiKeys, Caller, required_caller
from service_kit.quotas import KeyedLocks


@dataclass(frozen=True)
class WebhookContext:
    settings: WebhookSettings
    engine: AsyncEngine
    api_keys: ApiKeys
    hub: StreamHub
    # Subscriptions are created one at a time per key (the quota's count-then-insert).
    creating: KeyedLocks = field(default_factory=KeyedLocks)


Ctx = Annotated[WebhookContext, Depends(app_state("webhooks", WebhookContext))]


async def get_caller(ctx: Ctx, authorization: Annotated[str | None, Header()] = None
                     ) -> Caller:
    """Who is calling (service_kit.auth's one rule); a key is required when keys are on."""
    return required_caller(ctx.api_keys, authorization)


CallerDep = Annotated[Caller, Depends(get_caller)]
