"""The payment service and its problem mapping, without servers: idempotency decisions,
ownership, publishing, and every error of the tree mapped to its status in one place."""

from uuid import uuid4

import pytest

from service_kit.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    NotFound,
    PublishFailed,
    ServiceError,
    TransientStoreError,
)
from service_kit.problems import service_problem
from tests.support import payment
from tests.unit.api_fakes import fake_api

ALPHA = {"Authorization": "Bearer alpha-key"}
BETA = {"Authorization": "Bearer beta-key"}


async def test_same_key_same_body_is_one_payment_published_once() -> None:
    api = fake_api()
    body = payment()
    async with api.client() as client:
        first = await client.post("/payments", json=body, headers={"Idempotency-Key": "k1"})
        second = await client.post("/payments", json=body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 202
    assert first.json()["event_id"] == second.json()["event_id"]
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert len(api.store.rows) == 1 and len(api.publisher.sent) == 1


async def test_the_same_amount_spelled_differently_is_the_same_request() -> None:
    api = fake_api()
    async with api.client() as client:
        first = await client.post("/payments", json=payment(payer="p1", payee="p2",
                                                             amount="12.5"),
                                  headers={"Idempotency-Key": "k"})
        second = await client.post("/payments", json=payment(payer="p1", payee="p2",
                                                              amount="12.50"),
                                   headers={"Idempotency-Key": "k"})
    assert first.json()["event_id"] == second.json()["event_id"]


async def test_same_key_different_body_is_422_with_its_type() -> None:
    api = fake_api()
    async with api.client() as client:
        await client.post("/payments", json=payment(), headers={"Idempotency-Key": "k"})
        reused = await client.post("/payments", json=payment(), headers={"Idempotency-Key": "k"})
    assert reused.status_code == 422
    problem = reused.json()
    assert problem["type"] == "/problems/idempotency-key-reused"
    assert problem["field"] == "Idempotency-Key"
    assert len(api.store.rows) == 1


async def test_a_twin_still_in_flight_is_409() -> None:
    api = fake_api()
    api.store.in_flight.add(("public", "k"))
    async with api.client() as client:
        response = await client.post("/payments", json=payment(),
                                     headers={"Idempotency-Key": "k"})
    assert response.status_code == 409
    assert response.json()["type"] == "/problems/idempotency-key-in-flight"


async def test_without_a_key_every_request_is_a_new_payment() -> None:
    api = fake_api()
    body = payment()
    async with api.client() as client:
        ids = {(await client.post("/payments", json=body)).json()["event_id"] for _ in range(3)}
    assert len(ids) == 3 and len(api.publisher.sent) == 3


async def test_the_same_idempotency_key_under_two_api_keys_is_two_payments() -> None:
    api = fake_api(api_keys="alpha-key,beta-key")
    body = payment()
    async with api.client() as client:
        alpha = await client.post("/payments", json=body,
                                  headers={**ALPHA, "Idempotency-Key": "k"})
        beta = await client.post("/payments", json=body,
                                 headers={**BETA, "Idempotency-Key": "k"})
    assert alpha.status_code == beta.status_code == 202
    assert alpha.json()["event_id"] != beta.json()["event_id"]


async def test_owner_scope_is_published_with_keys_and_absent_without() -> None:
    keyed, open_ = fake_api(api_keys="alpha-key"), fake_api()
    async with keyed.client() as client:
        await client.post("/payments", json=payment(), headers=ALPHA)
    async with open_.client() as client:
        await client.post("/payments", json=payment())
    [with_key], [without] = keyed.publisher.sent, open_.publisher.sent
    scope = dict(with_key.headers)["ce_ownerscope"].decode()
    assert len(scope) == 16 and "alpha" not in scope  # a digest prefix, never the key
    assert "ce_ownerscope" not in dict(without.headers)


async def test_a_payment_is_visible_only_to_the_key_that_created_it() -> None:
    api = fake_api(api_keys="alpha-key,beta-key")
    async with api.client() as client:
        created = (await client.post("/payments", json=payment(), headers=ALPHA)).json()
        path = f"/payments/{created['event_id']}"
        own = await client.get(path, headers=ALPHA)
        other = await client.get(path, headers=BETA)
        anonymous = await client.get(path)
        missing = await client.get(f"/payments/{uuid4()}", headers=BETA)
    assert own.status_code == 200 and own.json()["event_id"] == created["event_id"]
    assert other.status_code == 404 and missing.status_code == 404
    assert other.json()["detail"].startswith("no payment")  # the same answer as missing
    assert anonymous.status_code == 401


async def test_without_keys_reads_stay_open() -> None:
    api = fake_api()
    async with api.client() as client:
        created = (await client.post("/payments", json=payment(amount="7", currency="JPY",
                                                               description="d"))).json()
        read = await client.get(f"/payments/{created['event_id']}")
        bad = await client.get("/payments/not-a-uuid")
    assert read.status_code == 200
    assert read.json()["amount"] == "7" and read.json()["status"] == "published"
    assert bad.status_code == 422 and bad.json()["field"] == "event_id"


async def test_kafka_down_is_still_202_accepted_and_not_marked_published() -> None:
    api = fake_api()
    api.publisher.down = True
    async with api.client() as client:
        response = await client.post("/payments", json=payment())
    assert response.status_code == 202
    assert response.json()["status"] == "accepted"
    assert len(api.store.rows) == 1 and api.store.marked == []


async def test_the_answer_says_accepted_and_the_read_says_where_it_was_published() -> None:
    api = fake_api()
    async with api.client() as client:
        response = await client.post("/payments", json=payment())
        read = (await client.get(f"/payments/{response.json()['event_id']}")).json()
    assert response.json()["status"] == "accepted"
    assert [str(i) for i in api.store.marked] == [response.json()["event_id"]]
    assert read["status"] == "published" and read["published_at"] is not None
    assert (read["partition"], read["offset"]) == (0, 0)


async def test_store_down_is_a_fast_503_with_retry_after_that_leaks_nothing() -> None:
    api = fake_api()
    api.store.down = True
    async with api.client() as client:
        post = await client.post("/payments", json=payment())
        get = await client.get(f"/payments/{uuid4()}")
    for response in (post, get):
        assert response.status_code == 503
        assert response.headers["retry-after"] == "2"
        assert response.headers["content-type"] == "application/problem+json"
        assert "fake" not in response.text
    assert api.publisher.sent == []


async def test_an_unexpected_error_is_a_500_problem_not_a_traceback() -> None:
    api = fake_api()

    async def broken(**_: object) -> None:
        raise RuntimeError("secret internals")

    api.store.record = broken  # type: ignore[method-assign, assignment]
    async with api.client() as client:
        response = await client.post("/payments", json=payment())
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "secret" not in response.text


@pytest.mark.parametrize(("error", "status", "field"), [
    (NotFound("no payment x"), 404, None),
    (IdempotencyKeyReused(), 422, "Idempotency-Key"),
    (IdempotencyKeyInFlight(), 409, "Idempotency-Key"),
    (TransientStoreError("pool exhausted at 10.0.0.5"), 503, None),
    (PublishFailed("broker 3 down"), 503, None),
    (ServiceError("unclassified"), 500, None),
])
def test_each_error_of_the_tree_maps_to_one_status(
    error: ServiceError, status: int, field: str | None
) -> None:
    problem = service_problem(error)
    assert problem.status == status and problem.field == field
    if status == 503:
        assert problem.headers == {"Retry-After": "2"}
        assert str(error) not in problem.detail  # internals stay in the log
