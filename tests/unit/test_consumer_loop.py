"""The batch loop's control flow against in-memory fakes: processing, poison, isolation,
retry, outages, duplicates, supervision. No Kafka, no PostgreSQL. Partition ownership
(claims, fencing, revocation, Kafka's copy of the offsets) is in test_consumer_ownership.py."""

import asyncio

import asyncpg

from notification_consumer import metrics
from notification_consumer.ingest.loop import NotificationConsumer
from notification_consumer.ingest.planning import BatchPlan
from tests.unit.consumer_fakes import FakeLink, FakeStore, event_value
from tests.unit.loop_support import TP0, produce_event, running, settings, until


async def test_valid_events_are_written_once_and_offsets_stored() -> None:
    store, link = FakeStore(), FakeLink()
    ids = [event_value() for _ in range(5)]
    for _, value, headers in ids:
        link.produce(value, headers=headers)
    async with running(store, link):
        await until(lambda: store.stored() == 5)
    assert set(store.events) == {i for i, _, _ in ids}
    assert link.committed[TP0] == 5  # Kafka's copy flushed on stop


async def test_poison_is_dead_lettered_and_the_next_event_processed() -> None:
    store, link = FakeStore(), FakeLink()
    link.produce(b"{not json")
    event_id = produce_event(link)
    async with running(store, link):
        await until(lambda: store.stored() == 2)
    assert list(store.events) == [event_id]
    assert [k[2] for k in store.dead_letters] == [0]
    assert [r.headers[-1][0] for _, r in link.sent] and link.sent[0][0] == "events.transactions.dlq"


async def test_a_record_failing_late_is_retried_then_dead_lettered_alone() -> None:
    store, link = FakeStore(), FakeLink()
    bad_id, bad, h1 = event_value()
    good_id, good, h2 = event_value()
    link.produce(bad, headers=h1)
    link.produce(good, headers=h2)
    attempts = []

    def fail(plan: BatchPlan) -> BaseException | None:
        if any(r.event.event_id == bad_id for r in plan.events):
            attempts.append(1)
            error: BaseException = asyncpg.exceptions.CheckViolationError("refused")
            return error
        return None

    store.fail = fail
    async with running(store, link):
        await until(lambda: store.stored() == 2)
    assert list(store.events) == [good_id]
    [letter] = store.dead_letters.values()
    assert letter.reason == "processing_failed" and letter.attempts == 3
    assert letter.error_class == "CheckViolationError"


async def test_an_outage_is_retried_without_counting_attempts_or_skipping() -> None:
    store, link = FakeStore(), FakeLink()
    event_id = produce_event(link)
    store.healthy = False
    store.fail = lambda plan: ConnectionRefusedError(111, "refused")
    async with running(store, link) as consumer:
        await until(lambda: metrics.TRANSIENT_FAILURES._value.get() > 0)
        await until(lambda: consumer.health().degraded is not None)
        await asyncio.sleep(0.05)  # many retries while down
        assert store.stored() is None and not store.dead_letters
        store.healthy = True
        store.fail = lambda plan: None
        await until(lambda: store.stored() == 1)
        await until(lambda: consumer.health().degraded is None)
    assert list(store.events) == [event_id] and not store.dead_letters


async def test_a_transient_looking_failure_while_healthy_makes_the_record_poison() -> None:
    store, link = FakeStore(), FakeLink()
    bad_id, bad, h1 = event_value()
    link.produce(bad, headers=h1)
    good_id, good, h2 = event_value()
    link.produce(good, headers=h2)
    store.fail = lambda plan: (TimeoutError("statement timeout")
                               if any(r.event.event_id == bad_id for r in plan.events) else None)
    async with running(store, link, record_hold_max_s=0.05):
        await until(lambda: store.stored() == 2)
    assert list(store.events) == [good_id]
    assert [letter.error_class for letter in store.dead_letters.values()] == ["TimeoutError"]


async def test_no_record_holds_a_partition_past_the_bound_while_healthy() -> None:
    store, link = FakeStore(), FakeLink()
    bad_id, bad, h1 = event_value()
    link.produce(bad, headers=h1)
    store.fail = lambda plan: (ValueError("weird")
                               if any(r.event.event_id == bad_id for r in plan.events) else None)
    async with running(store, link, max_attempts=100, record_hold_max_s=0.05,
                       backoff_max_s=0.01):
        await until(lambda: store.stored() == 1)
    [letter] = store.dead_letters.values()
    assert 1 < letter.attempts < 100


async def test_the_dead_letter_copy_refused_by_the_broker_goes_as_provenance_only() -> None:
    from notification_consumer.ingest.failures import RecordRejected

    store, link = FakeStore(), FakeLink()
    link.produce(b"x" * 5000)
    link.send_error = lambda r: RecordRejected("too large") if r.value else None
    async with running(store, link):
        await until(lambda: store.stored() == 1)
    [(_, copy)] = link.sent
    assert copy.value == b"" and dict(copy.headers)["dlq_dead_letter_id"] == b"1"


async def test_kafka_down_for_the_dead_letter_publish_rolls_back_and_retries() -> None:
    from service_kit.errors import PublishFailed

    store, link = FakeStore(), FakeLink()
    link.produce(b"junk")
    link.healthy = False
    link.send_error = lambda r: PublishFailed("no ack")
    async with running(store, link):
        await until(lambda: metrics.TRANSIENT_FAILURES._value.get() > 0)
        assert store.stored() is None and not store.dead_letters
        link.healthy, link.send_error = True, (lambda r: None)
        await until(lambda: store.stored() == 1)
    assert len(store.dead_letters) == 1 and len(link.sent) == 1


async def test_an_idle_successful_fetch_clears_a_fetch_problem() -> None:
    from aiokafka.errors import KafkaConnectionError

    store, link = FakeStore(), FakeLink()
    async with running(store, link) as consumer:
        link.fetch_error = KafkaConnectionError("gone")
        await until(lambda: "fetch failed" in (consumer.health().degraded or ""))
        link.fetch_error = None
        await until(lambda: consumer.health().degraded is None)
        assert consumer.health().connected


async def test_a_crashing_loop_is_restarted() -> None:
    store, link = FakeStore(), FakeLink()
    link.fetch_error = RuntimeError("bug")
    async with running(store, link, max_loop_restarts=50, backoff_initial_s=0.001):
        await until(lambda: link.starts >= 2)
        link.fetch_error = None
        produce_event(link)
        await until(lambda: store.stored() == 1)


async def test_a_loop_that_keeps_crashing_exits_the_process_non_zero() -> None:
    store, link = FakeStore(), FakeLink()
    link.fetch_error = RuntimeError("bug")
    async with running(store, link, max_loop_restarts=2, backoff_initial_s=0.001) as consumer:
        await until(lambda: consumer.exit_codes == [70])  # type: ignore[attr-defined]


async def test_the_hook_after_each_database_commit_is_called() -> None:
    calls = []
    store, link = FakeStore(), FakeLink()
    for _ in range(3):
        produce_event(link)
    consumer = NotificationConsumer(settings(), store, link,
                                    after_db_commit=lambda: calls.append(1))
    consumer.start()
    await until(lambda: store.stored() == 3)
    await consumer.stop()
    assert calls


async def test_duplicates_in_a_later_batch_are_counted_not_written() -> None:
    store, link = FakeStore(), FakeLink()
    event_id, value, headers = event_value()
    link.produce(value, headers=headers)
    async with running(store, link):
        await until(lambda: store.stored() == 1)
        link.produce(value, headers=headers)
        await until(lambda: store.stored() == 2)
    assert list(store.events) == [event_id] and not store.dead_letters


async def test_same_event_id_with_other_bytes_is_a_conflict_dead_letter() -> None:
    store, link = FakeStore(), FakeLink()
    event_id, value, headers = event_value()
    _, other, _ = event_value(event_id=event_id, amount="2.00")
    link.produce(value, headers=headers)
    async with running(store, link):
        await until(lambda: store.stored() == 1)
        link.produce(other)
        await until(lambda: store.stored() == 2)
    assert [letter.reason for letter in store.dead_letters.values()] == ["conflict"]
