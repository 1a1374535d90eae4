"""Partition ownership in the batch loop, against in-memory fakes: a fenced (zombie) batch,
refused and failed claims, revocation, Kafka's copy of the offsets, owned partitions in
health. No Kafka, no PostgreSQL."""

import asyncio

import pytest
from aiokafka.structs import TopicPartition

from notification_consumer.ingest import ownership
from notification_consumer.ingest.ports import Fence
from tests.unit.consumer_fakes import TOPIC, FakeLink, FakeStore, event_value
from tests.unit.loop_support import TP0, fenced_count, produce_event, running, until


@pytest.fixture(autouse=True)
def quick_claim_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """A failed or refused claim is retried every CLAIM_RETRY_S (2 s); the tests here prove
    that it is retried, not how long the pause is."""
    monkeypatch.setattr(ownership, "CLAIM_RETRY_S", 0.05)


async def test_a_zombie_batch_is_rolled_back_counted_and_its_partition_paused() -> None:
    store, link = FakeStore(), FakeLink()
    async with running(store, link):
        await until(lambda: store.stored(0) is None and (TOPIC, 0) in store.offsets)
        # Another member claims the partition with a newer generation (we were expelled).
        store.offsets[(TOPIC, 0)] = (None, 2, "member-2")
        before = fenced_count()
        produce_event(link)
        await until(lambda: fenced_count() > before)
        assert TP0 in link.paused
        assert not store.events and store.stored(0) is None
        # The rebalance reaches us: generation 3, we own it again, it resumes from stored.
        await link.rebalance({TP0}, Fence(3, "member-1"))
        await until(lambda: store.stored(0) == 1)
    assert len(store.events) == 1


async def test_a_claim_refused_keeps_the_partition_paused_and_unwritten() -> None:
    store = FakeStore()
    store.offsets[(TOPIC, 0)] = (0, 5, "member-9")  # a newer generation holds it
    link = FakeLink(partitions=2)
    _, v0, h0 = event_value()
    link.produce(v0, 0, h0)
    _, v1, h1 = event_value()
    link.produce(v1, 1, h1)
    async with running(store, link):
        await until(lambda: store.stored(1) == 1)  # the other partition flows
        assert TP0 in link.paused and store.stored(0) == 0


async def test_a_failed_claim_is_retried_and_resumes_from_the_stored_offset() -> None:
    store, link = FakeStore(), FakeLink()
    store.offsets[(TOPIC, 0)] = (1, 0, "")
    link.produce(b"already done")
    event_id = produce_event(link)
    store.claim_error = ConnectionResetError(104, "reset")
    async with running(store, link) as consumer:
        await until(lambda: TP0 in link.paused)
        assert "claim failed" in (consumer.health().degraded or "")
        store.claim_error = None
        await until(lambda: store.stored() == 2, timeout=8)
    assert list(store.events) == [event_id] and not store.dead_letters  # offset 0 not redone


async def test_revocation_lets_the_batch_in_flight_finish_and_flushes_kafkas_copy() -> None:
    store, link = FakeStore(), FakeLink()
    produce_event(link)
    async with running(store, link):
        await until(lambda: store.stored() == 1)
        await link.rebalance(set(), Fence(2, "member-1"))
        assert link.committed[TP0] == 1


async def test_kafkas_copy_is_requeued_when_a_commit_fails() -> None:
    store, link = FakeStore(), FakeLink()
    link.commit_error = RuntimeError("coordinator moving")
    produce_event(link)
    async with running(store, link) as consumer:
        await until(lambda: store.stored() == 1)
        await asyncio.sleep(0.02)
        assert consumer.offsets.pending == {TP0: 1}
        link.commit_error = None
    assert link.committed[TP0] == 1


async def test_health_reports_owned_partitions_and_time_since_commit() -> None:
    store, link = FakeStore(), FakeLink(partitions=2)
    produce_event(link, 1)
    async with running(store, link) as consumer:
        await until(lambda: store.stored(1) == 1)
        health = consumer.health()
        assert health.assigned == (0, 1) and set(health.since_commit) == {1}
        await link.rebalance({TopicPartition(TOPIC, 0)}, Fence(2, "member-1"))
        assert consumer.health().since_commit == {}


async def test_a_stale_claim_answering_after_a_new_assignment_does_not_pause_it() -> None:
    store, link = FakeStore(), FakeLink()
    async with running(store, link) as consumer:
        await until(lambda: (TOPIC, 0) in store.offsets)
        store.offsets[(TOPIC, 0)] = (None, 2, "member-2")  # we were expelled
        produce_event(link)
        await until(lambda: TP0 in link.paused)  # fenced
        store.claim_gate = asyncio.Event()
        await until(lambda: consumer.ownership._claiming.locked())  # a retry in flight
        rebalance = asyncio.create_task(link.rebalance({TP0}, Fence(3, "member-1")))
        await asyncio.sleep(0.01)
        store.claim_gate.set()
        await rebalance
        await until(lambda: store.stored(0) == 1)
        assert TP0 not in link.paused


async def test_records_fetched_while_a_new_partition_is_claimed_are_not_skipped() -> None:
    store, link = FakeStore(), FakeLink(partitions=2)
    link.log.pop(TopicPartition(TOPIC, 1))
    async with running(store, link):
        await until(lambda: (TOPIC, 0) in store.offsets)
        tp1 = TopicPartition(TOPIC, 1)
        link.log[tp1] = []
        ids = set()
        for _ in range(20):
            event_id, value, headers = event_value()
            link.produce(value, 1, headers)
            ids.add(event_id)
        # Kafka's position for the new partition starts at 0 (nothing committed): the loop
        # can fetch from it while the claim waits for the beginning offsets.
        await link.rebalance({TP0, tp1}, Fence(2, "member-1"))
        await until(lambda: store.stored(1) == 20)
    assert set(store.events) == ids
