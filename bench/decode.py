"""The consumer's decode, measured three ways on the same record values:

  pydantic_each   PaymentAccepted.model_validate_json per record (today, payment_events.codec)
  pydantic_batch  one TypeAdapter(list[PaymentAccepted]) over the batch's values joined into
                  one JSON array (a failure would fall back to per-record decoding)
  msgspec_each    a msgspec Struct per record, with the same patterns as msgspec constraints, then
                  the same money and party checks in Python (payment_events.money.check_amount)

Run: python -m bench.decode [records] [batch] -> one JSON line (records/s, median of 5).
"""

import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import orjson
from pydantic import TypeAdapter

from payment_events.codec import encode
from payment_events.events import (
    ACCOUNT_ID_PATTERN,
    CURRENCY_PATTERN,
    MAX_DESCRIPTION,
    PaymentAccepted,
)
from payment_events.money import AMOUNT_PATTERN, check_amount

Account = Annotated[str, msgspec.Meta(pattern=ACCOUNT_ID_PATTERN)]


class WireEvent(msgspec.Struct, forbid_unknown_fields=True):
    """The same field rules as PaymentAccepted, in msgspec's own constraint language."""

    schema_version: int
    event_id: uuid.UUID
    payer_id: Account
    payee_id: Account
    amount: Annotated[str, msgspec.Meta(pattern=AMOUNT_PATTERN)]
    currency: Annotated[str, msgspec.Meta(pattern=CURRENCY_PATTERN)]
    occurred_at: datetime
    description: Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)] | None = None


_WIRE = msgspec.json.Decoder(WireEvent)
_BATCH = TypeAdapter(list[PaymentAccepted])


def pydantic_each(values: list[bytes]) -> int:
    return len([PaymentAccepted.model_validate_json(v) for v in values])


def pydantic_batch(values: list[bytes]) -> int:
    return len(_BATCH.validate_json(b"[" + b",".join(values) + b"]"))


def msgspec_each(values: list[bytes]) -> int:
    n = 0
    for v in values:
        e = _WIRE.decode(v)
        if e.schema_version != 1 or e.payer_id == e.payee_id or e.occurred_at.tzinfo is None:
            raise ValueError("invalid event")
        check_amount(Decimal(e.amount), e.currency)
        n += 1
    return n


def main(n: int, batch: int) -> dict[str, Any]:
    now = datetime.now(UTC)
    values = [encode(PaymentAccepted(
        event_id=uuid.uuid4(), payer_id=f"acct_{i % 997}", payee_id=f"acct_{i % 997 + 1000}",
        amount=Decimal("1.25"), currency="EUR", description="bench", occurred_at=now)).value
        for i in range(n)]
    batches = [values[i:i + batch] for i in range(0, n, batch)]
    ways: dict[str, Callable[[list[bytes]], int]] = {
        "pydantic_each": pydantic_each, "pydantic_batch": pydantic_batch,
        "msgspec_each": msgspec_each}
    seconds: dict[str, list[float]] = {k: [] for k in ways}
    for _ in range(5):
        for name, fn in ways.items():
            started = time.perf_counter()
            assert sum(fn(b) for b in batches) == n
            seconds[name].append(time.perf_counter() - started)
    return {"records": n, "batch": batch,
            "rate": {k: n / statistics.median(v) for k, v in seconds.items()}}


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:]] + [50_000, 500][len(sys.argv) - 1:]
    sys.stdout.write(orjson.dumps(main(args[0], args[1])).decode() + "\n")
