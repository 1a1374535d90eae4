"""The composition root: create_app(settings) wires the real adapters; http_app(context)
builds the HTTP surface, the same for the real app and the unit tests' fakes. No logic here."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from fastapi import APIRouter, FastAPI

from service_kit.auth import ApiKeys
from service_kit.db import StatementPool, make_engine
from service_kit.http_app import Lifespan, service_app
from service_kit.lifecycle import stop_in_order
from service_kit.ops_routes import Check, database_check
from service_kit.request_guard import GuardRules, allowed_hosts
from transaction_api.accept import Payments
from transaction_api.buckets import router as buckets_router
from transaction_api.config import Settings
from transaction_api.context import ApiContext
from transaction_api.http import routes
from transaction_api.lineage import router as lineage_router
from transaction_api.outbox.dispatch import Dispatcher
from transaction_api.outbox.group_commit import GroupCommitter
from transaction_api.outbox.marker import PublishedMarker
from transaction_api.outbox.publisher import Publisher
from transaction_api.outbox.relay import run_relay
from transaction_api.outbox.requests import PostgresRequestStore

log = logging.getLogger(__name__)

# One router per resource; a new resource adds its router here.
RESOURCE_ROUTERS: list[APIRouter] = [routes.router, buckets_router, lineage_router]


def http_app(context: ApiContext, checks: dict[str, Check], required: set[str],
             lifespan: Lifespan | None = None, *, hot: bool = True) -> FastAPI:
    """`hot`: POST /payments is served by the middleware stack itself (service_kit.hot_routes);
    off only to check that both ways answer alike (tests/unit/test_hot_routes.py)."""
    return service_app(
        "transaction-api", "Transaction API",
        "Accepts payments durably and publishes one event per payment to Kafka.",
        routers=RESOURCE_ROUTERS, checks=checks, required=required, lifespan=lifespan,
        state={"context": context},
        hot={("POST", "/payments"): routes.create_payment} if hot else None,
        guard=GuardRules(context.max_body_bytes, context.api_keys,
                         allowed_hosts=context.allowed_hosts))


def create_app(settings: Settings) -> FastAPI:
    # A connection leaked mid-transaction must not hold its row locks for the life of the
    # process (the relay's SKIP LOCKED would pass those rows by for ever): the server ends a
    # transaction idle for longer than the relay's longest publish wait, plus a margin.
    idle_ms = int((2 * settings.publish_timeout_s + 15) * 1000)
    engine = make_engine(settings, server_settings={
        "idle_in_transaction_session_timeout": str(idle_ms)})
    publisher = Publisher(settings)
    statements = StatementPool(settings, lock_timeout_s=settings.idempotency_lock_timeout_s)
    # One connection of its own: a mark may wait on a row the relay holds, as long as it must.
    marks = StatementPool(settings, max_size=1)
    marker = PublishedMarker(marks)
    # The relay leaves a new row alone while the request path may still be publishing it.
    relay_grace = timedelta(seconds=settings.publish_timeout_s + 1.0)
    committer = (GroupCommitter(statements, writers=settings.group_commit_writers)
                 if settings.group_commit_writers else None)
    store = PostgresRequestStore(statements, relay_grace, committer)
    dispatcher = Dispatcher(publisher, marker.mark)
    context = ApiContext(Payments(store, dispatcher),
                         ApiKeys(settings.api_keys), settings.max_body_bytes,
                         allowed_hosts(settings.allowed_hosts))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await statements.start()
        await marks.start()
        if committer is not None:
            committer.start()
        publisher.start()
        marker.start()
        dispatcher.start()
        relay = asyncio.create_task(run_relay(engine, publisher, settings), name="relay")
        # Give Kafka a moment so the first requests publish at once; with Kafka down we
        # serve anyway (payments are durable in PostgreSQL and the relay publishes later).
        await publisher.wait_ready(settings.startup_kafka_wait_s)
        log.info("transaction api started", extra={"port": settings.port})
        try:
            yield
        finally:
            relay.cancel()
            await stop_in_order([
                ("relay", lambda: asyncio.gather(relay, return_exceptions=True)),
                *([("group commit", committer.stop)] if committer is not None else []),
                # Queued events to the producer, its flush acks them, then their marks.
                ("dispatch", lambda: dispatcher.stop(settings.publish_timeout_s)),
                ("publisher", publisher.stop), ("marker", marker.stop),
                ("statements", statements.close), ("marks", marks.close),
                ("database", engine.dispose)])
            log.info("transaction api stopped")

    async def kafka() -> tuple[bool, str]:
        # Reported, not required: with Kafka down the API still accepts payments durably.
        return publisher.ready, "connected" if publisher.ready else "not connected (relay waits)"

    app = http_app(context, {"database": database_check(engine), "kafka": kafka},
                   {"database"}, lifespan)
    app.state.engine = engine  # for resources added later that read the outbox
    return app
