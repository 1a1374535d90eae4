import pytest

from payment_events.kafka import KafkaSettings, ensure_topics
from tests.support import BOOTSTRAP, unique


@pytest.fixture
async def topics6() -> tuple[str, str]:
    """A fresh (main, dead-letter) pair with six partitions, as in production."""
    main = unique("fault.transactions")
    await ensure_topics(KafkaSettings(kafka_bootstrap_servers=BOOTSTRAP), [main, f"{main}.dlq"], 6)
    return main, f"{main}.dlq"
