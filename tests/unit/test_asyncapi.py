"""The AsyncAPI document: committed = generated from the models, a valid AsyncAPI 3.0 document,
and what the code really puts on both topics (key, headers, value) conforms to it."""

import json
import warnings
from typing import Any

import httpx
from jsonschema import Draft7Validator
from jsonschema_rs import validator_for

from notification_consumer.dead_letters.wire import dead_letter_record, minimal_record
from notification_consumer.http.asyncapi_route import router
from notification_consumer.ingest.planning import DeadLetter
from payment_events.asyncapi import ASYNCAPI_FILE, render
from payment_events.codec import encode
from payment_events.dead_letter import DLQ_HEADER_PREFIX
from tests.unit.test_codec import event

DOC: dict[str, Any] = json.loads(ASYNCAPI_FILE.read_text())


def message(name: str) -> dict[str, Any]:
    return DOC["components"]["messages"][name]  # type: ignore[no-any-return]


def resolve(ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = DOC
    for part in ref[2:].split("/"):
        node = node[part]
    return node


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


class FakeRecord:
    topic, partition, offset, timestamp = "events.transactions", 4, 17, 1_700_000_000_000
    key: bytes | None = b"acct_alice"
    value: bytes | None = b"{not json"
    headers = (("ce_type", b"something.else"), ("x-origin", b"test"))


def test_committed_document_matches_the_models() -> None:
    assert ASYNCAPI_FILE.read_text() == render(), "run: python -m payment_events.asyncapi"


def test_document_is_valid_asyncapi_3() -> None:
    with warnings.catch_warnings():  # the model package warns about its own field names
        warnings.simplefilter("ignore")
        from asyncapi3.models.asyncapi import AsyncAPI3

    AsyncAPI3.model_validate(DOC)
    assert DOC["asyncapi"] == "3.0.0"
    assert {c["address"] for c in DOC["channels"].values()} == {
        "events.transactions", "events.transactions.dlq"}
    found = refs(DOC)
    assert {f"#/components/messages/{m}" for m in DOC["components"]["messages"]} <= set(found)
    for ref in found:
        resolve(ref)  # every reference points inside the document
    for op in DOC["operations"].values():
        assert op["action"] in ("send", "receive")
        for ref in refs(op["messages"]):
            assert ref.startswith(op["channel"]["$ref"] + "/messages/")


def test_an_encoded_event_conforms_to_key_headers_and_payload() -> None:
    record = encode(event(), traceparent="00-" + "a" * 32 + "-" + "b" * 16 + "-01",
                    owner_scope="0123456789abcdef")
    spec = message("PaymentAccepted")
    headers = {k: v.decode() for k, v in record.headers}
    assert validator_for(spec["headers"]).is_valid(headers)
    assert set(headers) <= set(spec["headers"]["properties"])  # nothing undocumented
    payload = resolve(spec["payload"]["$ref"])
    assert validator_for(payload).is_valid(json.loads(record.value))
    assert record.key is not None
    assert validator_for(spec["bindings"]["kafka"]["key"]).is_valid(record.key.decode())
    assert not validator_for(spec["headers"]).is_valid({**headers, "ce_type": "other"})


def test_a_dead_letter_conforms_to_the_provenance_headers() -> None:
    letter = DeadLetter(FakeRecord(), "not_json", "PoisonMessage", "bad", attempts=1)
    record = dead_letter_record(letter, "transaction-consumers")
    spec = message("DeadLetter")["headers"]
    headers = {k: v.decode() for k, v in record.headers}
    assert validator_for(spec).is_valid(headers)
    written = {k for k in headers if k.startswith(DLQ_HEADER_PREFIX)}
    documented = {k for k in spec["properties"] if k.startswith(DLQ_HEADER_PREFIX)}
    assert written <= documented  # every provenance header the consumer writes is documented
    assert set(spec["required"]) <= written  # and it writes every required one
    assert headers["ce_type"] == "something.else"  # the original headers, as received
    assert record.value == FakeRecord.value and record.key == FakeRecord.key


class BigRecord:
    topic, partition, offset, timestamp = "events.transactions", 1, 3, 1_700_000_000_000
    key = b"k" * 5000
    value = b"v" * 50_000
    headers = (("x-big", b"h" * 9000),)


def test_every_truncated_copy_conforms_to_the_provenance_headers() -> None:
    # AsyncAPI 3.0 schemas are JSON Schema draft 7 (`dependencies` ties the truncation headers).
    spec = Draft7Validator(message("DeadLetter")["headers"])
    letter = DeadLetter(BigRecord(), "not_json", "PoisonMessage", "bad", attempts=2)
    seen = set()
    for limit in (16_384, 20_000, 30_000, 60_000, 100_000):
        for letter_id in (7, None):
            record = dead_letter_record(letter, "g", letter_id, max_bytes=limit)
            headers = {k: v.decode() for k, v in record.headers}
            assert not list(spec.iter_errors(headers)), (limit, headers.get("dlq_truncated"))
            seen.add(headers.get("dlq_truncated"))
    minimal = {k: v.decode() for k, v in minimal_record(letter, "g", 7).headers}
    assert not list(spec.iter_errors(minimal))
    seen.add(minimal["dlq_truncated"])
    assert {"value", "headers,key,value"} <= seen
    assert not spec.is_valid({**minimal, "dlq_truncated": "true"})  # what the wire never says


async def test_served_at_asyncapi_json() -> None:
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://127.0.0.1") as client:
        response = await client.get("/asyncapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == ASYNCAPI_FILE.read_text()
