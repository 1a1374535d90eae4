"""Where one payment's time goes: each stage of POST /payments timed on its own, in one
process, against the real PostgreSQL and Kafka. Medians over N payments, in ms.
Run: `python -m bench.stages [N]` (DATABASE_URL / KAFKA_BOOTSTRAP_SERVERS as for the API)."""

import asyncio
import io
import logging
import statistics
import sys
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import orjson

from payment_events.codec import encode
from payment_events.events import PaymentAccepted
from service_kit.db import StatementPool
from service_kit.logs import JsonFormatter
from service_kit.responses import JsonResponse
from transaction_api.accept import request_hash
from transaction_api.config import Settings
from transaction_api.http.schemas import PaymentRequest
from transaction_api.outbox.marker import PublishedMarker
from transaction_api.outbox.publisher import Publisher
from transaction_api.outbox.requests import _INSERT


class Stopwatch:
    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = (now - self._last) * 1000
        self._last = now


async def run(n: int) -> dict[str, float]:
    times: dict[str, list[float]] = defaultdict(list)
    results: dict[str, float] = {}
    for linger in (2, 0):
        settings = Settings(producer_linger_ms=linger)
        pool, publisher = StatementPool(settings), Publisher(settings)
        marker = PublishedMarker(pool)
        await pool.start()
        publisher.start()
        marker.start()
        await publisher.wait_ready(15)
        log = logging.getLogger("stage")
        handler = logging.StreamHandler(io.StringIO())
        handler.setFormatter(JsonFormatter("transaction-api"))
        log.handlers[:] = [handler]
        log.propagate = False
        for i in range(n + 20):
            raw = orjson.dumps({"payer_id": f"acct_{uuid.uuid4().hex[:12]}",
                                "payee_id": "acct_bob", "amount": "12.50", "currency": "EUR"})
            watch = Stopwatch()
            mark = watch.mark
            body = orjson.loads(raw)
            mark("body")
            payment = PaymentRequest.model_validate(body)
            mark("validate")
            event = PaymentAccepted(event_id=uuid.uuid4(), payer_id=payment.payer_id,
                                    payee_id=payment.payee_id, amount=payment.decimal_amount,
                                    currency=payment.currency, occurred_at=datetime.now(UTC))
            record = encode(event, None)
            hash_ = request_hash(payment.canonical())
            headers = orjson.dumps([[k, v.decode()] for k, v in record.headers]).decode()
            mark("event+encode")
            async with pool.acquire() as conn:
                mark("pool checkout")
                await conn.fetchval(_INSERT, event.event_id, "public", None, hash_,
                                    event.payer_id, event.payee_id, event.amount,
                                    event.currency, None, record.key, record.value, headers,
                                    event.occurred_at, event.occurred_at + timedelta(seconds=3))
                mark("insert+commit")
            mark("pool release")
            await publisher.publish(record, 2.0)
            mark(f"publish (linger {linger} ms)")
            marker.mark(event.event_id)
            mark("published-marker")
            log.info("payment accepted", extra={"event_id": str(event.event_id)})
            mark("log line")
            JsonResponse({"event_id": str(event.event_id), "status": "published",
                          "created_at": event.occurred_at.isoformat()}, status_code=202)
            mark("response")
            if i >= 20:
                for name, ms in watch.laps.items():
                    times[name].append(ms)
        await marker.stop()
        await publisher.stop()
        await pool.close()
    for name, values in times.items():
        results[name] = round(statistics.median(values), 3)
    return results


if __name__ == "__main__":
    for name, ms in asyncio.run(run(int(sys.argv[1]) if len(sys.argv) > 1 else 300)).items():
        print(f"{name:24} {ms:8.3f} ms")
