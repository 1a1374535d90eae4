"""create_app(settings): the parts this process's roles need, wired once. No logic here.

Roles (`serve --roles`, CONSUMER_ROLES; all by default): `ingest` runs the Kafka loop, the lag
monitor and the background reconciliation; `http` the REST API, webhook subscriptions and
streams; `webhooks` the delivery worker; `console` the operator console. Every process serves
/healthz, /readyz and /metrics, so each role can run apart over the same database.
"""

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI

from notification_consumer.config import Settings
from notification_consumer.console.access import ConsoleKeys
from notification_consumer.console.mount import install
from notification_consumer.console.runtime import Console
from notification_consumer.http.asyncapi_route import router as asyncapi_router
from notification_consumer.http.context import ConsumerContext
from notification_consumer.http.routes import router
from notification_consumer.ingest.kafka_link import AioKafkaLink
from notification_consumer.ingest.lag_monitor import LagMonitor
from notification_consumer.ingest.log_ends import LogEnds
from notification_consumer.ingest.loop import NotificationConsumer
from notification_consumer.ingest.view import IngestElsewhere, IngestView
from notification_consumer.reconcile.runner import Reconciler
from notification_consumer.reconcile.runner import router as reconcile_router
from notification_consumer.store.effects import PostgresEffects
from notification_consumer.webhooks.wiring import Webhooks
from service_kit.auth import ApiKeys
from service_kit.db import make_engine
from service_kit.http_app import service_app
from service_kit.lifecycle import stop_in_order
from service_kit.ops_routes import database_check
from service_kit.request_guard import GuardRules, allowed_hosts

log = logging.getLogger(__name__)
STUCK_AFTER_S = 60.0
IDLE_IN_TRANSACTION_MS = 15_000
REQUEST_STATEMENT_MS = 60_000  # or RECONCILE_TIMEOUT_S, when that is longer
Part = tuple[str, Callable[[], None], Callable[[], Awaitable[None]]]


def create_app(settings: Settings, *,
               after_db_commit: Callable[[], None] | None = None) -> FastAPI:
    """`after_db_commit` is a test hook (crash injection between the two commits)."""
    roles = settings.roles
    # A frozen member (GC pause, SIGSTOP) must not hold its row locks for ever: the server
    # ends a transaction idle for longer than this, so the new owner's claim goes through.
    # Longer than the dead-letter publish a transaction may wait for.
    engine = make_engine(settings, server_settings={
        "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS)})
    # REST, the console and reconciliation have a pool of their own, each statement bounded:
    # no caller can hold the connections the loop writes with.
    requests = make_engine(settings, pool_size=max(2, settings.db_pool_size // 2),
                           server_settings={
                               "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS),
                               "statement_timeout": str(max(
                                   REQUEST_STATEMENT_MS,
                                   int(settings.reconcile_timeout_s * 1000)))})
    keys = ApiKeys(settings.api_keys, settings.admin_api_keys)
    parts: list[Part] = []  # started in this order, stopped in reverse
    checks: dict[str, Callable[[], Awaitable[tuple[bool, str]]]] = {
        "database": database_check(requests)}
    routers: list[APIRouter] = []
    extras: list[Callable[[FastAPI], None]] = []

    ingest: IngestView = IngestElsewhere()
    if "ingest" in roles:
        store = PostgresEffects(engine, settings.kafka_group_id, settings.claim_stale_s,
                                settings.park_keys)
        consumer = NotificationConsumer(settings, store, AioKafkaLink(settings),
                                        after_db_commit=after_db_commit)
        ingest = consumer
        monitor = LagMonitor(settings, requests, consumer,
                             lambda: consumer.link.end_offsets(settings.kafka_topic))
        reconciler = Reconciler(settings, requests, monitor.window, settings.api_keys)
        parts += [("consumer", consumer.start, consumer.stop),
                  ("monitor", monitor.start, monitor.stop),
                  ("reconciler", reconciler.start, reconciler.stop)]
        checks["consumer"] = _consuming(consumer)
    else:  # /stats and the console still read lag, through a Kafka client of their own
        ends = LogEnds(settings)
        monitor = LagMonitor(settings, requests, ingest, ends.read)
        reconciler = Reconciler(settings, requests, monitor.window, settings.api_keys)
        parts.append(("log ends", _nothing, ends.close))
    if roles & {"http", "webhooks"}:
        webhooks = Webhooks(settings, keys, send="webhooks" in roles,
                            serve="http" in roles)
        parts.append(("webhooks", webhooks.start, webhooks.stop))
        extras.append(webhooks.install)
    if "http" in roles:
        routers += [router, asyncapi_router, reconcile_router]
    if "console" in roles:
        console = Console(settings, requests, ingest, monitor,
                          ConsoleKeys(settings.api_keys, settings.admin_api_keys), settings)
        parts.append(("console", console.start, console.stop))
        extras.append(lambda app: install(app, console))

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for _, start, _ in parts:
            start()
        log.info("notification consumer started",
                 extra={"port": settings.port, "roles": settings.consumer_roles})
        try:
            yield
        finally:
            await stop_in_order([(name, stop) for name, _, stop in reversed(parts)]
                                + [("database", engine.dispose),
                                   ("request database", requests.dispose)])
            log.info("notification consumer stopped")

    context = ConsumerContext(settings, requests, ingest, monitor, keys)
    return service_app(
        "notification-consumer", "Notification consumer",
        "Processes payment events exactly once in effect and serves them over REST.",
        routers=routers, checks=checks, required=set(checks), lifespan=lifespan,
        state={"context": context, "reconciler": reconciler}, extras=extras,
        # The console's login form carries its key in the body; its pages check sessions.
        guard=GuardRules(settings.max_body_bytes, keys, key_exempt=("/console/",),
                         allowed_hosts=allowed_hosts(settings.allowed_hosts)))


def _nothing() -> None:
    """A part with nothing to start (it connects on first use)."""


def _consuming(consumer: NotificationConsumer) -> Callable[[], Awaitable[tuple[bool, str]]]:
    async def check() -> tuple[bool, str]:
        health = consumer.health()
        if not health.connected:
            return False, str(health.degraded or "not connected")
        if health.degraded:
            return False, health.degraded
        if health.seconds_since_fetch > STUCK_AFTER_S:
            return False, "no fetch for over a minute"
        return True, f"assigned partitions {list(health.assigned)}"
    return check
