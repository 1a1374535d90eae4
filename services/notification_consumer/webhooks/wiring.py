"""Builds the webhook worker (the `webhooks` role) and the subscription and stream routes
(the `http` role) for the consumer's app."""

import logging
from datetime import timedelta

from fastapi import FastAPI

from notification_consumer.stream import routes as stream_routes
from notification_consumer.stream.hub import StreamHub
from notification_consumer.webhooks import history, routes
from notification_consumer.webhooks.context import WebhookContext
from notification_consumer.webhooks.settings import WebhookSettings
from notification_consumer.webhooks.worker import DeliveryWorker
from service_kit.auth import ApiKeys
from service_kit.db import make_engine
from service_kit.lifecycle import stop_in_order
from service_kit.periodic import Periodic

log = logging.getLogger(__name__)


class Webhooks:
    """Its own small connection pool, so deliveries and streams never take the consumer's."""

    def __init__(self, settings: WebhookSettings, api_keys: ApiKeys, *, send: bool = True,
                 serve: bool = True) -> None:
        self.send, self.serve = send, serve
        self.engine = make_engine(settings)
        self.worker = DeliveryWorker(settings, self.engine, settings.database_url)
        self.hub = StreamHub(settings, self.engine)
        self.context = WebhookContext(settings, self.engine, api_keys, self.hub)
        retention = timedelta(hours=settings.webhook_history_retention_h)

        async def prune() -> None:
            await history.prune(self.engine, retention)

        self.pruner = Periodic("webhook-history", settings.webhook_history_prune_interval_s,
                               prune, _pruning_failed, first_at_once=True)

    def install(self, app: FastAPI) -> None:
        if self.serve:
            app.state.webhooks = self.context
            app.include_router(routes.router)
            app.include_router(stream_routes.router)

    def start(self) -> None:
        if self.send:
            self.worker.start()
            self.pruner.start()
        if self.serve:
            self.hub.start()

    async def stop(self) -> None:
        await stop_in_order([("webhook history", self.pruner.stop), ("streams", self.hub.stop),
                             ("deliveries", self.worker.stop),
                             ("webhook database", self.engine.dispose)])


def _pruning_failed(exc: Exception) -> None:
    log.warning("webhook history not pruned; the next run tries again",
                extra={"error": repr(exc)})
