"""What a request handler needs, built once by the app's lifespan (the composition root)."""

from dataclasses import dataclass

from fastapi import Request
from sqlalchemy.ext.asyncio import AsyncEngine

from service_kit.auth import ApiKeys
from service_kit.db import StatementPool
from transaction_api.config import Settings
from transaction_api.marker import PublishedMarker
from transaction_api.publisher import Publisher


@dataclass(frozen=True)
class ApiContext:
    settings: Settings
    engine: AsyncEngine
    statements: StatementPool
    publisher: Publisher
    marker: PublishedMarker
    api_keys: ApiKeys


async def get_context(request: Request) -> ApiContext:
    context: ApiContext = request.app.state.context
    return context
