"""One trace from a payment's POST to the webhook request its notification causes, on the real
stack: both console scripts as processes configured only by environment variables, real Kafka
and PostgreSQL, a real receiver. With spans exported (OTLP over HTTP or gRPC, chosen by the
standard OTEL_* variables, to a stand-in collector) and with no export at all."""

import secrets
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from tests.otlp_sink import Collector, Span
from tests.processes import Service
from tests.support import payment, unique, wait_until
from tests.webhook_receiver import Attempt, Receiver
from tests.webhooks_support import FAST_ENV

SERVER, CLIENT = 2, 3  # OTLP span kinds
# Every OTel variable a test machine might have set, cleared; each mode then sets its own.
CLEARED = dict.fromkeys(("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_TRACES_SAMPLER",
                         "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                         "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), "")
MODES: dict[str, dict[str, str]] = {
    # The signal's own endpoint, used as it is (no /v1/traces appended); protocol by default.
    "otlp-http": {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "{url}/collector/traces"},
    "otlp-grpc": {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
                  "OTEL_EXPORTER_OTLP_ENDPOINT": "{url}"},
    "no-export": {},
}


def one(spans: list[Span], **where: Any) -> Span:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in where.items())]
    assert len(found) == 1, (where, [(s.service, s.name, s.kind) for s in spans])
    return found[0]


@pytest.mark.parametrize("mode", sorted(MODES))
async def test_a_webhook_request_continues_its_payments_trace(
    database_url: str, topics: tuple[str, str], mode: str
) -> None:
    main, dlq = topics
    collector, receiver, account = Collector(), Receiver(), unique("acct")
    trace_id = secrets.token_hex(16)
    async with AsyncExitStack() as stack:
        url = await stack.enter_async_context(
            collector.grpc() if mode == "otlp-grpc" else collector.http())
        otel = {**CLEARED, "OTEL_BSP_SCHEDULE_DELAY": "100",
                **{k: v.format(url=url) for k, v in MODES[mode].items()}}
        env = {"DATABASE_URL": database_url, "KAFKA_TOPIC": main, "KAFKA_DLQ_TOPIC": dlq,
               "KAFKA_GROUP_ID": unique("group"), "BATCH_WAIT_MS": "20", **FAST_ENV, **otel}
        api = Service("transaction-api", env).start()
        stack.callback(api.kill)
        consumer = Service("notification-consumer", env).start()
        stack.callback(consumer.kill)
        await api.ready()
        await consumer.ready()
        await stack.enter_async_context(receiver.running())
        async with httpx.AsyncClient(timeout=10) as client:
            created = await client.post(f"{consumer.url}/webhooks", json={
                "url": receiver.url, "account_id": account})
            assert created.status_code == 201, created.text
            receiver.secrets.append(created.json()["secret"])
            accepted = await client.post(f"{api.url}/payments", json=payment(payer=account),
                                         headers={"traceparent": f"00-{trace_id}-"
                                                                 f"{secrets.token_hex(8)}-01"})
            assert accepted.status_code == 202, accepted.text

        async def delivered() -> Attempt | None:
            return next((a for a in receiver.attempts if a.answered == 204), None)

        attempt = await wait_until(delivered, 60, what="the webhook delivered")
        assert attempt.verified_with == [0]
        assert attempt.traceparent is not None
        version, seen_trace, parent_id, flags = attempt.traceparent.split("-")
        assert (version, seen_trace, flags) == ("00", trace_id, "01")
        if mode == "no-export":
            assert collector.spans == [] and collector.paths == set()
            return

        async def exported() -> list[Span] | None:
            spans = collector.in_trace(trace_id)
            return spans if any(s.span_id == parent_id for s in spans) else None

        spans = await wait_until(exported, 30, what="the webhook's client span exported")
    request = one(spans, kind=SERVER, name="POST /payments")
    deliver = one(spans, name="webhook deliver")
    send = one(spans, span_id=parent_id)  # the span the receiver's traceparent names
    assert send.kind == CLIENT and send.parent_span_id == deliver.span_id
    assert deliver.parent_span_id == request.span_id  # under the payment's request
    assert deliver.attributes["webhook.attempt"] == attempt.attempt
    assert {request.service, deliver.service} == {"transaction-api", "notification-consumer"}
    if mode == "otlp-http":
        assert collector.paths == {"/collector/traces"}
