"""Bytes <-> events. Decoding never raises anything but PoisonMessage for bad input."""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from uuid import UUID

from pydantic import ValidationError

from payment_events.errors import PoisonMessage
from payment_events.events import (
    EVENT_TYPE,
    OWNER_SCOPE_PATTERN,
    SCHEMA_VERSION,
    CloudEventAttributes,
    PaymentAccepted,
)

Headers = list[tuple[str, bytes]]
OWNER_SCOPE = re.compile(OWNER_SCOPE_PATTERN.strip("^$").encode())


@dataclass(frozen=True, slots=True)
class KafkaRecord:
    """What a producer sends: key = payer id so one account's events stay in order."""

    key: bytes | None
    value: bytes
    headers: Headers


def encode(
    event: PaymentAccepted, traceparent: str | None = None, owner_scope: str | None = None
) -> KafkaRecord:
    return KafkaRecord(key=event.payer_id.encode(), value=event.model_dump_json().encode(),
                       headers=ce_headers(event, traceparent, owner_scope))


def model_headers(event: PaymentAccepted, traceparent: str | None,
                  owner_scope: str | None) -> Headers:
    """The `ce_*` headers: CloudEventAttributes as JSON, in field order, None left out."""
    attributes = CloudEventAttributes.for_event(event, traceparent, owner_scope)
    return [
        ("content-type", attributes.datacontenttype.encode()),
        *(
            (f"ce_{name}", str(value).encode())
            for name, value in attributes.model_dump(mode="json").items()
            if value is not None and name != "datacontenttype"
        ),
    ]


# Every attribute but id, time, traceparent and ownerscope is a constant: written once.
_CONSTANT = model_headers(PaymentAccepted(
    event_id=UUID(int=1), payer_id="a", payee_id="b", amount=Decimal(1), currency="EUR",
    occurred_at=datetime(2000, 1, 1, tzinfo=UTC)), None, None)
if [k for k, _ in _CONSTANT] != ["content-type", "ce_specversion", "ce_id", "ce_source",
                                  "ce_type", "ce_time", "ce_dataschema", "ce_schemaversion"]:
    raise RuntimeError("CloudEventAttributes changed: ce_headers must follow it")


def ce_headers(event: PaymentAccepted, traceparent: str | None,
               owner_scope: str | None) -> Headers:
    """`model_headers`, without building the model per event for a time in UTC (the API's):
    the same bytes (the unit tests hold the two equal). Anything else goes through the model,
    which also refuses a malformed owner scope."""
    when = event.occurred_at
    if when.tzinfo is not UTC or (owner_scope is not None
                                  and not OWNER_SCOPE.fullmatch(owner_scope.encode())):
        return model_headers(event, traceparent, owner_scope)
    headers = [*_CONSTANT[:2], ("ce_id", str(event.event_id).encode()), *_CONSTANT[3:5],
               ("ce_time", when.isoformat().replace("+00:00", "Z").encode()), *_CONSTANT[6:]]
    if traceparent is not None:
        headers.append(("ce_traceparent", traceparent.encode()))
    if owner_scope is not None:
        headers.append(("ce_ownerscope", owner_scope.encode()))
    return headers


# The headers decoding reads, found in one pass over a record's headers.
READ_HEADERS = frozenset({"ce_type", "ce_schemaversion", "ce_id", "ce_ownerscope",
                          "ce_traceparent"})
AnyHeaders = Headers | tuple[tuple[str, bytes], ...]


def read_headers(headers: Sequence[tuple[str, bytes | None]]) -> dict[str, bytes]:
    """The first value of each header in READ_HEADERS that the record has. One of them without
    a value (Kafka allows a null header value) is poison: absent would be a different claim."""
    found: dict[str, bytes] = {}
    for key, value in headers:
        if key in READ_HEADERS and key not in found:
            if value is None:
                raise PoisonMessage("invalid_header", f"header {key} has no value")
            found[key] = value
    return found


def header_text(value: bytes | None) -> str | None:
    return None if value is None else value.decode("utf-8", errors="replace")


def header(headers: AnyHeaders, name: str) -> str | None:
    for key, value in headers:
        if key == name:
            return header_text(value)
    return None


def decode(value: bytes | None, headers: AnyHeaders = ()) -> PaymentAccepted:
    """Turn a record into an event, or raise PoisonMessage naming the reason."""
    return decode_read(value, read_headers(headers))


def decode_read(value: bytes | None, found: dict[str, bytes]) -> PaymentAccepted:
    """`decode`, given the record's headers as `read_headers` returns them."""
    if not value:
        raise PoisonMessage("empty_value", "the record has no value")
    event_type = header_text(found.get("ce_type"))
    if event_type is not None and event_type != EVENT_TYPE:
        raise PoisonMessage("unknown_type", f"unknown event type {event_type!r}")
    version = header_text(found.get("ce_schemaversion"))
    if version is not None and version != str(SCHEMA_VERSION):
        raise PoisonMessage("unsupported_version", f"unsupported schema version {version!r}")
    try:
        event = PaymentAccepted.model_validate_json(value)
    except ValidationError as exc:
        raise _classify(exc) from exc
    ce_id = header_text(found.get("ce_id"))
    if ce_id is not None and ce_id != str(event.event_id):
        raise PoisonMessage("invalid_schema", "ce_id header does not match event_id")
    return event


def owner_scope(headers: AnyHeaders) -> str | None:
    """The `ce_ownerscope` extension (the accepting API key's scope), or None when the payment
    was accepted without auth. A malformed value is poison: it would decide who may see the
    payment."""
    return owner_scope_of(read_headers(headers).get("ce_ownerscope"))


def owner_scope_of(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    if not OWNER_SCOPE.fullmatch(raw):
        raise PoisonMessage("invalid_schema", "ce_ownerscope is not a 16-hex-digit scope")
    return raw.decode("ascii")


def _classify(exc: ValidationError) -> PoisonMessage:
    errors = exc.errors(include_url=False, include_input=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"]) or "value"
    if first["type"] in {"json_invalid", "json_type"}:
        return PoisonMessage("not_json", f"value is not a JSON object: {first['msg']}")
    if first["loc"] == ("schema_version",):
        return PoisonMessage("unsupported_version", f"schema_version: {first['msg']}")
    about_money = first["loc"] in {("amount",), ()} or "amount" in where or "currency" in where
    if about_money and any(w in first["msg"] for w in ("amount", "ISO 4217", "decimal")):
        return PoisonMessage("invalid_money", f"{where}: {first['msg']}")
    return PoisonMessage("invalid_schema", f"{where}: {first['msg']}")
