"""Fixtures shared by the integration tests."""

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from notification_consumer.reconcile.sources import ApiBuckets
from tests.databases import fresh_database
from tests.support import api_app, consumer_app, in_process


def read_api_in_process(consumer: FastAPI, api: FastAPI) -> None:
    """The consumer's real reconciliation client and key, over ASGI instead of a socket."""
    reconciler = consumer.state.reconciler
    reconciler.api = ApiBuckets("http://api", reconciler.api_key,
                                transport=httpx.ASGITransport(app=api))


@pytest.fixture
async def stack(topics: tuple[str, str]) -> AsyncIterator[tuple[str, httpx.AsyncClient,
                                                                httpx.AsyncClient, Any]]:
    """Both services on a database of their own (reconciliation counts every row), the
    background check off: (database url, API client, consumer client, the reconciler)."""
    main, dlq = topics
    async with fresh_database() as url:
        api = api_app(url, main)
        consumer = consumer_app(url, main, dlq, reconcile_interval_s=0, reconcile_grace_s=0)
        async with in_process(api) as api_client, in_process(consumer) as consumer_client:
            read_api_in_process(consumer, api)
            yield url, api_client, consumer_client, consumer.state.reconciler
