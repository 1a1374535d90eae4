"""The console's parts, built once by the app (the composition root) and reached by handlers
through `ConsoleDep`."""

from pathlib import Path
from typing import Annotated, Protocol

from fastapi import Depends
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncEngine

from notification_consumer.console.access import ConsoleKeys
from notification_consumer.console.api_client import ApiClient
from notification_consumer.console.group import GroupView
from notification_consumer.console.overview import duration
from notification_consumer.console.sampler import Sampler
from notification_consumer.console.sessions import Sessions
from notification_consumer.console.settings import ConsoleSettings
from notification_consumer.dead_letters.replay import LetterReplayer
from notification_consumer.dead_letters.republish import ReplayPublisher
from notification_consumer.ingest.lag_monitor import LagMonitor
from notification_consumer.ingest.view import IngestView
from service_kit.app_state import app_state
from service_kit.quotas import KeyQuota

HERE = Path(__file__).parent
TEMPLATES = Jinja2Templates(directory=HERE / "templates")
TEMPLATES.env.filters["duration"] = duration



class StreamLimits(Protocol):
    """The live overview is a stream like /notifications/stream, with the same limits."""

    @property
    def stream_max_per_key(self) -> int: ...
    @property
    def stream_max_duration_s(self) -> float: ...

class Console:
    def __init__(self, settings: ConsoleSettings, engine: AsyncEngine, ingest: IngestView,
                 monitor: LagMonitor, keys: ConsoleKeys, streams: StreamLimits) -> None:
        self.settings = settings
        self.engine = engine
        self.keys = keys
        self.sessions = Sessions()
        self.api = ApiClient(settings.api_url)
        self.publisher = ReplayPublisher(settings)
        self.replayer = LetterReplayer(settings, engine, self.publisher)
        self.sampler = Sampler(ingest, monitor, self.api, settings.console_sample_interval_s)
        self.group = GroupView(settings, engine)
        self.ingest = ingest
        self.streams = KeyQuota(streams.stream_max_per_key, "open console streams",
                                "STREAM_MAX_PER_KEY")
        self.stream_max_duration_s = streams.stream_max_duration_s

    def start(self) -> None:
        self.sampler.start()

    async def stop(self) -> None:
        await self.sampler.stop()
        await self.group.close()
        await self.publisher.close()
        await self.api.close()


get_console = app_state("console", Console)
ConsoleDep = Annotated[Console, Depends(get_console)]
