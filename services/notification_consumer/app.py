"""create_app(settings): the consumer loop and its REST API in one process. No logic here."""

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

from notification_consumer.config import Settings
from notification_consumer.console.mount import install
from notification_consumer.console.runtime import Console
from notification_consumer.http.asyncapi_route import router as asyncapi_router
from notification_consumer.http.context import ConsumerContext
from notification_consumer.http.errors import install_error_handlers
from notification_consumer.http.routes import router
from notification_consumer.ingest.kafka_link import AioKafkaLink
from notification_consumer.ingest.lag_monitor import LagMonitor
from notification_consumer.ingest.loop import NotificationConsumer
from notification_consumer.reconcile.runner import Reconciler
from notification_consumer.reconcile.runner import router as reconcile_router
from notification_consumer.store.effects import PostgresEffects
from notification_consumer.webhooks.wiring import Webhooks
from service_kit.auth import ApiKeys
from service_kit.db import make_engine
from service_kit.http_app import service_app
from service_kit.lifecycle import stop_in_order
from service_kit.ops_routes import database_check

log = logging.getLogger(__name__)
STUCK_AFTER_S = 60.0
IDLE_IN_TRANSACTION_MS = 15_000


def create_app(settings: Settings, *,
               after_db_commit: Callable[[], None] | None = None) -> FastAPI:
    """`after_db_commit` is a test hook (crash injection between the two commits)."""
    # A frozen member (GC pause, SIGSTOP) must not hold its row locks for ever: the server
    # ends a transaction idle for longer than this, so the new owner's claim goes through.
    # Longer than the dead-letter publish a transaction may wait for.
    engine = make_engine(settings, server_settings={
        "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS)})
    store = PostgresEffects(engine, settings.kafka_group_id, settings.claim_stale_s)
    consumer = NotificationConsumer(settings, store, AioKafkaLink(settings),
                                    after_db_commit=after_db_commit)
    monitor = LagMonitor(settings, engine, consumer)
    reconciler = Reconciler(settings, engine, monitor.window)
    keys = ApiKeys(settings.api_keys, settings.admin_api_keys)
    context = ConsumerContext(settings, engine, consumer, monitor, keys)
    webhooks = Webhooks(settings, settings, keys)
    console = Console(settings, engine, consumer, monitor)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        consumer.start()
        monitor.start()
        reconciler.start()
        webhooks.start()
        console.start()
        log.info("notification consumer started", extra={"port": settings.port})
        try:
            yield
        finally:
            await stop_in_order([("console", console.stop), ("webhooks", webhooks.stop),
                                 ("reconciler", reconciler.stop), ("monitor", monitor.stop),
                                 ("consumer", consumer.stop), ("database", engine.dispose)])
            log.info("notification consumer stopped")

    async def consuming() -> tuple[bool, str]:
        health = consumer.health()
        if not health.connected:
            return False, str(health.degraded or "not connected")
        if health.degraded:
            return False, health.degraded
        if health.seconds_since_fetch > STUCK_AFTER_S:
            return False, "no fetch for over a minute"
        return True, f"assigned partitions {list(health.assigned)}"

    return service_app(
        "notification-consumer", "Notification consumer",
        "Processes payment events exactly once in effect and serves them over REST.",
        routers=[router, asyncapi_router, reconcile_router],
        checks={"database": database_check(engine), "consumer": consuming},
        required={"database", "consumer"}, lifespan=lifespan,
        state={"context": context, "reconciler": reconciler},
        extras=[install_error_handlers, webhooks.install, lambda app: install(app, console)])
