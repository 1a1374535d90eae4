"""A new user's path: both console scripts as processes, configured only by environment."""

import json

import httpx

from tests.processes import Service
from tests.support import payment, served_event, unique


async def test_post_then_get_processed_event_and_trace_follows(
    database_url: str, topics: tuple[str, str]
) -> None:
    main, dlq = topics
    env = {"DATABASE_URL": database_url, "KAFKA_TOPIC": main, "KAFKA_DLQ_TOPIC": dlq,
           "KAFKA_GROUP_ID": unique("group"), "BATCH_WAIT_MS": "20"}
    # Both log each payment (with its trace id) at DEBUG; at INFO, the API nothing per request
    # and the consumer one line per batch.
    api = Service("transaction-api", {**env, "LOG_LEVEL": "DEBUG"}).start()
    consumer = Service("notification-consumer", {**env, "LOG_LEVEL": "DEBUG"}).start()
    try:
        await api.ready()
        await consumer.ready()
        trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.post(f"{api.url}/payments", json=payment(), headers={
                "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"})
            assert response.status_code == 202, response.text
            event_id = response.json()["event_id"]
            event = await served_event(client, event_id, 20, consumer.url)
        assert event["trace_id"] == trace_id
        # Graceful SIGTERM: uvicorn finishes, runs the shutdown, then re-raises the signal.
        assert await api.terminate() in (0, -15) and await consumer.terminate() in (0, -15)
        assert "transaction api stopped" in api.log_text()
        assert "notification consumer stopped" in consumer.log_text()
        for service in (api, consumer):
            lines = [json.loads(line) for line in service.log_text().splitlines()
                     if line.startswith("{")]
            assert any(line.get("trace_id") == trace_id and
                       line.get("event_id") == event_id for line in lines), service.name
    finally:
        await api.crash()
        await consumer.crash()
