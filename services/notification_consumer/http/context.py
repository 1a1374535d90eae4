"""What a request handler needs, built once by the app's lifespan (the composition root)."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.ingest.lag_monitor import LagMonitor
from notification_consumer.ingest.settings import GroupSettings
from notification_consumer.ingest.view import IngestView
from service_kit.app_state import app_state
from service_kit.auth import ApiKeys


@dataclass(frozen=True)
class ConsumerContext:
    settings: GroupSettings
    engine: AsyncEngine
    ingest: IngestView
    monitor: LagMonitor
    api_keys: ApiKeys


get_context = app_state("context", ConsumerContext)
