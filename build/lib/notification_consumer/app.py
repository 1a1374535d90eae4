"""create_app(settings): the consumer loop and its REST API in one process. No logic here."""

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from notification_consumer.config import Settings
from notification_consumer.console.runtime import Console, install
from notification_consumer.consumer import NotificationConsumer
from notification_consumer.context import ConsumerContext
from notification_consumer.monitor import LagMonitor
from notification_consumer.routes import router
from service_kit.auth import ApiKeys
from service_kit.db import make_engine
from service_kit.http_metrics import HttpMetricsMiddleware
from service_kit.ops_routes import database_check, ops_router
from service_kit.problems import document_problems, install_problem_handlers

log = logging.getLogger(__name__)
STUCK_AFTER_S = 60.0


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings)
    consumer = NotificationConsumer(settings, engine)
    monitor = LagMonitor(settings, engine, consumer)
    context = ConsumerContext(settings, engine, consumer, monitor, ApiKeys(settings.api_keys))
    console = Console(settings, engine, consumer, monitor)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        consumer.start()
        monitor.start()
        console.start()
        log.info("notification consumer started", extra={"port": settings.port})
        try:
            yield
        finally:
            await console.stop()
            await monitor.stop()
            await consumer.stop()
            await engine.dispose()
            log.info("notification consumer stopped")

    async def consuming() -> tuple[bool, str]:
        status = consumer.status()
        if consumer.consumer is None:
            return False, str(consumer.degraded or "not connected")
        if consumer.degraded:
            return False, consumer.degraded
        if time.monotonic() - consumer.last_progress > STUCK_AFTER_S:
            return False, "no fetch for over a minute"
        return True, f"assigned partitions {status['assigned_partitions']}"

    app = FastAPI(
        title="Notification consumer",
        version="1.0.0",
        description="Processes payment events exactly once in effect and serves them over REST.",
        lifespan=lifespan,
    )
    app.state.context = context
    install_problem_handlers(app)
    document_problems(app)
    app.include_router(router)
    install(app, console)
    app.include_router(ops_router({"database": database_check(engine), "consumer": consuming},
                                  {"database", "consumer"}))
    app.add_middleware(HttpMetricsMiddleware)
    return app
