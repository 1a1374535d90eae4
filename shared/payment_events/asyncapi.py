"""The AsyncAPI 3.0 document of both topics, generated from the models and committed.

The event topic carries `PaymentAccepted` (key = payer id, CloudEvents `ce_*` headers); the
dead-letter topic carries whatever record could not be processed, unchanged, plus the
`DeadLetterProvenance` headers. Regenerate after changing events.py or dead_letter.py:
`python -m payment_events.asyncapi` (a unit test fails while the file and the models disagree).
"""

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from payment_events.dead_letter import DLQ_HEADER_PREFIX, WITH_TRUNCATED, DeadLetterProvenance
from payment_events.events import (
    ACCOUNT_ID_PATTERN,
    DATA_CONTENT_TYPE,
    SCHEMA_VERSION,
    CloudEventAttributes,
)
from payment_events.schema import generate as event_schema

ASYNCAPI_FILE = Path(__file__).parent / "schemas" / "asyncapi.json"
EVENT_TOPIC = "events.transactions"
DLQ_TOPIC = "events.transactions.dlq"
CONSUMER_GROUP = "transaction-consumers"
KAFKA_BINDING = "0.5.0"
MESSAGES = "#/components/messages"
REPLICATION = ("Created when missing: KAFKA_TOPIC_PARTITIONS partitions (6 by default), one "
               "replica per broker up to three (KAFKA_REPLICATION_FACTOR overrides), "
               "min.insync.replicas 2 from three replicas (KAFKA_MIN_INSYNC_REPLICAS).")
TRACEPARENT_PATTERN = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"


def _headers(model: type[BaseModel], prefix: str) -> dict[str, Any]:
    """One string header per field. A field with a fixed default is a `const`; a field that
    may be None is an optional header (absent, never null, on the wire)."""
    schema = model.model_json_schema(mode="serialization")
    properties: dict[str, Any] = {}
    required = []
    for name, field in model.model_fields.items():
        outer = schema["properties"][name]
        inner = next((o for o in outer.get("anyOf", []) if o.get("type") != "null"), outer)
        prop = {k: v for k, v in (outer | inner).items() if k not in ("title", "default", "anyOf")}
        if isinstance(field.default, str):
            prop["const"] = field.default
        if field.default is not None:  # a required field's default is not None either
            required.append(prefix + name)
        properties[prefix + name] = prop
    return {"type": "object", "properties": properties, "required": required}


def _event_headers() -> dict[str, Any]:
    headers = _headers(CloudEventAttributes, "ce_")
    headers["properties"].pop("ce_datacontenttype")
    headers["required"].remove("ce_datacontenttype")
    # CloudEvents' Kafka binding maps datacontenttype to the plain content-type header.
    headers["properties"]["content-type"] = {"type": "string", "const": DATA_CONTENT_TYPE}
    headers["required"].insert(0, "content-type")
    # Added at send time by the OpenTelemetry aiokafka instrumentation: the producer span.
    headers["properties"]["traceparent"] = {
        "type": "string", "pattern": TRACEPARENT_PATTERN,
        "description": "W3C trace context of the send span (the request's trace is ce_traceparent)"}
    headers["description"] = (
        "CloudEvents 1.0, Kafka protocol binding, binary content mode. Consumers also accept "
        "records without them: the value alone decodes an event.")
    return headers


def _dead_letter_headers() -> dict[str, Any]:
    headers = _headers(DeadLetterProvenance, DLQ_HEADER_PREFIX)
    # The original headers come as received: a poison record's ce_* may be anything.
    headers["additionalProperties"] = {"type": "string"}
    # A truncated copy names its size and where to fetch it; a whole one has neither.
    truncated, others = DLQ_HEADER_PREFIX + "truncated", [DLQ_HEADER_PREFIX + f
                                                          for f in WITH_TRUNCATED]
    headers["dependencies"] = {truncated: others} | {o: [truncated] for o in others}
    headers["description"] = (
        "The original record's headers unchanged, plus the dlq_* provenance headers. Replaying "
        "a dead letter republishes it without the dlq_* headers.")
    return headers


def _key(description: str, pattern: str | None = None) -> dict[str, Any]:
    key: dict[str, Any] = {"type": "string", "description": description}
    if pattern:
        key["pattern"] = pattern
    return {"kafka": {"key": key, "bindingVersion": KAFKA_BINDING}}


def _channel(address: str, message: str, description: str) -> dict[str, Any]:
    # `partitions` is the default; no `replicas`: the services create a missing topic with
    # min(3, brokers) replicas unless told otherwise (1 on the local broker, 3 on a cluster).
    return {"address": address, "description": description + " " + REPLICATION,
            "messages": {message: {"$ref": f"{MESSAGES}/{message}"}},
            "bindings": {"kafka": {"topic": address, "partitions": 6,
                                   "bindingVersion": KAFKA_BINDING}}}


def _operation(action: str, channel: str, message: str, summary: str,
               group: bool = False) -> dict[str, Any]:
    op: dict[str, Any] = {"action": action, "summary": summary,
                          "channel": {"$ref": f"#/channels/{channel}"},
                          "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}]}
    if group:
        op["bindings"] = {"kafka": {"groupId": {"type": "string", "enum": [CONSUMER_GROUP]},
                                    "bindingVersion": KAFKA_BINDING}}
    return op


def generate() -> dict[str, Any]:
    payload = {k: v for k, v in event_schema().items() if k not in ("$schema", "$id")}
    return {
        "asyncapi": "3.0.0",
        "id": "urn:paystream:asyncapi",
        "info": {"title": "paystream events", "version": str(SCHEMA_VERSION),
                 "description": "Accepted payments from the transaction API to the "
                                "notification consumer, and the records it dead-letters."},
        "defaultContentType": DATA_CONTENT_TYPE,
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                              "description": "KAFKA_BOOTSTRAP_SERVERS (any broker works)"}},
        "channels": {
            "transactions": _channel(EVENT_TOPIC, "PaymentAccepted",
                                     "KAFKA_TOPIC: one record per accepted payment, in order "
                                     "per payer."),
            "deadLetters": _channel(DLQ_TOPIC, "DeadLetter",
                                    "KAFKA_DLQ_TOPIC: records the consumer could not process."),
        },
        "operations": {
            "publishPaymentAccepted": _operation(
                "send", "transactions", "PaymentAccepted",
                "The transaction API (and its relay) publish each accepted payment."),
            "processPaymentAccepted": _operation(
                "receive", "transactions", "PaymentAccepted",
                "The notification consumer records each event exactly once in effect.", True),
            "publishDeadLetter": _operation(
                "send", "deadLetters", "DeadLetter",
                "The notification consumer dead-letters what it cannot process."),
        },
        "components": {
            "messages": {
                "PaymentAccepted": {
                    "name": "PaymentAccepted", "title": "A payment was accepted",
                    "contentType": DATA_CONTENT_TYPE, "headers": _event_headers(),
                    "payload": {"$ref": "#/components/schemas/PaymentAccepted"},
                    "correlationId": {"location": "$message.header#/ce_id"},
                    "bindings": _key("the payer id: one payer's events stay in order",
                                     ACCOUNT_ID_PATTERN),
                },
                "DeadLetter": {
                    "name": "DeadLetter", "title": "A record that could not be processed",
                    "contentType": "application/octet-stream",
                    "headers": _dead_letter_headers(),
                    "payload": {"description": "the original value, byte for byte (it may be "
                                               "anything: that is why it is here)"},
                    "bindings": _key("the original key, unchanged"),
                },
            },
            "schemas": {"PaymentAccepted": payload},
        },
    }


def render() -> str:
    return json.dumps(generate(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    ASYNCAPI_FILE.write_text(render())
