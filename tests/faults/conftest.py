import contextlib
from collections.abc import AsyncIterator

import pytest

from service_kit.kafka import KafkaSettings, delete_topics, ensure_topics
from tests.support import BOOTSTRAP, unique


@pytest.fixture
async def topics6() -> AsyncIterator[tuple[str, str]]:
    """A fresh (main, dead-letter) pair with six partitions, as in production."""
    main = unique("fault.transactions")
    settings = KafkaSettings(kafka_bootstrap_servers=BOOTSTRAP)
    await ensure_topics(settings, [main, f"{main}.dlq"], 6)
    yield main, f"{main}.dlq"
    with contextlib.suppress(Exception):  # best effort, as in tests/conftest.py
        await delete_topics(settings, [main, f"{main}.dlq"])
