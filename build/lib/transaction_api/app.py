"""create_app(settings): FastAPI + lifespan wiring the adapters. No logic lives here."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from service_kit.auth import ApiKeys
from service_kit.db import StatementPool, make_engine
from service_kit.http_metrics import HttpMetricsMiddleware
from service_kit.ops_routes import database_check, ops_router
from service_kit.problems import document_problems, install_problem_handlers
from transaction_api.config import Settings
from transaction_api.context import ApiContext
from transaction_api.lineage import router as lineage_router
from transaction_api.marker import PublishedMarker
from transaction_api.publisher import Publisher
from transaction_api.relay import run_relay
from transaction_api.routes import router

log = logging.getLogger(__name__)


def create_app(settings: Settings) -> FastAPI:
    engine = make_engine(settings)
    publisher = Publisher(settings)
    marker = PublishedMarker(engine)
    statements = StatementPool(settings)
    context = ApiContext(settings, engine, statements, publisher, marker,
                         ApiKeys(settings.api_keys))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await statements.start()
        publisher.start()
        marker.start()
        relay = asyncio.create_task(run_relay(engine, publisher, settings), name="relay")
        # Give Kafka a moment so the first requests publish at once; with Kafka down we
        # serve anyway (payments are durable in PostgreSQL and the relay publishes later).
        await publisher.wait_ready(settings.startup_kafka_wait_s)
        log.info("transaction api started", extra={"port": settings.port})
        try:
            yield
        finally:
            relay.cancel()
            with suppress(asyncio.CancelledError):
                await relay
            await marker.stop()
            await publisher.stop()
            await statements.close()
            await engine.dispose()
            log.info("transaction api stopped")

    async def kafka() -> tuple[bool, str]:
        # Reported, not required: with Kafka down the API still accepts payments durably.
        return publisher.ready, "connected" if publisher.ready else "not connected (relay waits)"

    app = FastAPI(
        title="Transaction API",
        version="1.0.0",
        description="Accepts payments durably and publishes one event per payment to Kafka.",
        lifespan=lifespan,
    )
    app.state.context = context
    install_problem_handlers(app)
    document_problems(app)
    app.include_router(router, tags=["payments"])
    app.include_router(lineage_router)
    app.include_router(ops_router({"database": database_check(engine), "kafka": kafka},
                                  {"database"}))
    app.add_middleware(HttpMetricsMiddleware)
    return app
