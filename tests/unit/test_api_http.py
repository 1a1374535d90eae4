"""POST /payments at the HTTP edge, without servers: every bad input is a 4xx problem+json
naming what is wrong, and nothing reaches the store."""

from typing import Any

import pytest

from tests.support import payment
from tests.unit.api_fakes import fake_api

JSON = {"Content-Type": "application/json"}
PROBLEM = "application/problem+json"

BAD_BODIES: list[tuple[str, dict[str, Any], str]] = [
    ("amount as a number", payment(amount=12.5), "amount"),  # type: ignore[arg-type]
    ("zero amount", payment(amount="0.00"), "amount"),
    ("negative amount", payment(amount="-1.00"), "amount"),
    ("too many decimals for EUR", payment(amount="1.005"), "amount"),
    ("trailing zeros past EUR's decimals", payment(amount="5.000"), "amount"),
    ("decimals for JPY", payment(amount="5.5", currency="JPY"), "amount"),
    ("exponent", payment(amount="1E+3"), "amount"),
    ("plus sign", payment(amount="+5"), "amount"),
    ("leading space", payment(amount=" 5.00"), "amount"),
    ("underscore", payment(amount="1_000"), "amount"),
    ("forty digits", payment(amount="1" * 40), "amount"),
    ("over the maximum", payment(amount="1000000000.01"), "amount"),
    ("NaN", payment(amount="NaN"), "amount"),
    ("unknown currency", payment(currency="XYZ"), "currency"),
    ("lower-case currency", payment(currency="eur"), "currency"),
    ("payer is payee", payment(payer="acct_a", payee="acct_a"), "payee_id"),
    ("payer with a space", payment(payer="acct a"), "payer_id"),
    ("payer with NUL", payment(payer="acct\x00a"), "payer_id"),
    ("payer too long", payment(payer="a" * 65), "payer_id"),
    ("description with control character", payment(description="a\x07b"), "description"),
    ("description with NUL", payment(description="a\x00b"), "description"),
    ("description too long", payment(description="x" * 281), "description"),
    ("unknown field", payment(colour="blue"), "colour"),
    ("missing payee", {"payer_id": "a1", "amount": "1.00", "currency": "EUR"}, "payee_id"),
    ("payer as an object", payment(payer={"id": 1}), "payer_id"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("case", "body", "field"), BAD_BODIES, ids=[c[0] for c in BAD_BODIES])
async def test_invalid_body_is_a_422_naming_the_field(
    case: str, body: dict[str, Any], field: str
) -> None:
    api = fake_api()
    async with api.client() as client:
        response = await client.post("/payments", json=body)
    assert response.status_code == 422, (case, response.text)
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 422 and problem["field"] == field, problem
    assert problem["instance"] == "/payments"
    assert not api.store.rows and not api.publisher.sent


RAW_CASES: list[tuple[str, bytes, dict[str, str], int]] = [
    ("text/plain", b'{"a":1}', {"Content-Type": "text/plain"}, 415),
    ("no content type", b'{"a":1}', {}, 415),
    ("form encoded", b"a=1", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
    ("latin-1 charset", b'{"a":1}', {"Content-Type": "application/json; charset=latin-1"}, 415),
    ("malformed JSON", b'{"payer_id": ', JSON, 400),
    ("invalid UTF-8", b'{"payer_id": "\xff\xfe"}', JSON, 400),
    ("deep nesting", b"[" * 5000 + b"]" * 5000, JSON, 400),
    ("empty body", b"", JSON, 400),
    ("JSON array", b"[1, 2]", JSON, 422),
    ("JSON string", b'"pay me"', JSON, 422),
    ("oversized body", b'{"description": "' + b"x" * 20_000 + b'"}', JSON, 413),
]


@pytest.mark.parametrize(("case", "raw", "headers", "status"), RAW_CASES,
                         ids=[c[0] for c in RAW_CASES])
async def test_hostile_bodies_get_4xx_problems(
    case: str, raw: bytes, headers: dict[str, str], status: int
) -> None:
    api = fake_api()
    async with api.client() as client:
        response = await client.post("/payments", content=raw, headers=headers)
    assert response.status_code == status, (case, response.text)
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status
    assert not api.store.rows


async def test_declared_length_over_the_limit_is_413_before_reading() -> None:
    api = fake_api(max_body_bytes=1024)
    async with api.client() as client:
        response = await client.post("/payments", content=b"{}",
                                     headers={**JSON, "Content-Length": "999999"})
    assert response.status_code == 413


BAD_KEYS = [
    ("longer than 255", "k" * 256),
    ("space", "order 1"),
    ("tab", "order\t1"),
    ("non-ASCII", "ordér-1"),
]


@pytest.mark.parametrize(("case", "key"), BAD_KEYS, ids=[c[0] for c in BAD_KEYS])
async def test_bad_idempotency_key_is_422_naming_the_header(case: str, key: str) -> None:
    api = fake_api()
    async with api.client() as client:
        response = await client.post("/payments", json=payment(),
                                     headers={b"Idempotency-Key": key.encode()})
    assert response.status_code == 422, (case, response.text)
    assert response.json()["field"] == "Idempotency-Key"
    assert not api.store.rows


async def test_a_255_character_key_is_accepted() -> None:
    api = fake_api()
    async with api.client() as client:
        response = await client.post("/payments", json=payment(),
                                     headers={"Idempotency-Key": "k" * 255})
    assert response.status_code == 202


async def test_garbage_traceparent_is_ignored_and_a_new_trace_started() -> None:
    api = fake_api()
    async with api.client() as client:
        response = await client.post("/payments", json=payment(),
                                     headers={"traceparent": "00-zz-\x7f-01" + "x" * 500})
    assert response.status_code == 202
    [record] = api.publisher.sent
    headers = dict(record.headers)
    assert headers["ce_traceparent"].decode() == response.headers["traceparent"]


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Basic YWxwaGE6",
                                           "Bearer ", "bearer", "Bearer " + "a" * 10_000])
async def test_without_a_valid_key_it_is_401(authorization: str | None) -> None:
    api = fake_api(api_keys="alpha-key")
    headers = {"Authorization": authorization} if authorization is not None else {}
    async with api.client() as client:
        response = await client.post("/payments", json=payment(), headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == PROBLEM
    assert not api.store.rows
