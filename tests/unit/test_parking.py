"""Per-key parking, pure (ingest/parking.py): which records wait behind a dead letter of their
key, and how a release replays them. No Kafka, no database: fakes only."""

from notification_consumer.ingest.parking import plan_release, split_parked
from notification_consumer.ingest.planning import BatchPlan, RecordLike, plan_batch
from tests.unit.consumer_fakes import Rec, event_value

A, B = b"acct_a", b"acct_b"


def valid(offset: int, key: bytes | None, partition: int = 0) -> Rec:
    _, value, headers = event_value()
    return Rec(value, offset, partition=partition, key=key, headers=headers)


def poison(offset: int, key: bytes | None, partition: int = 0) -> Rec:
    return Rec(b"{not json", offset, partition=partition, key=key)


def offsets(plan: BatchPlan) -> list[int]:
    return sorted([r.offset for r in plan.events] + [d.record.offset for d in plan.dead_letters])


def test_a_poison_parks_its_key_and_only_its_key() -> None:
    records: list[RecordLike] = [valid(0, A), poison(1, A), valid(2, B), valid(3, A),
                                 valid(4, B), valid(5, A)]
    parking = split_parked(plan_batch(records), set(), park_new=True)
    assert offsets(parking.apply) == [0, 1, 2, 4]
    assert [p.record.offset for p in parking.parked] == [3, 5]
    assert all(p.event_id is not None for p in parking.parked)
    assert [d.record.offset for d in parking.parks] == [1]
    assert parking.apply.next_offsets == {("t", 0): 6}  # parked records are not lag


def test_a_key_parked_before_the_batch_parks_everything_of_it_even_poison() -> None:
    records: list[RecordLike] = [valid(10, A), poison(11, A), valid(12, B)]
    parking = split_parked(plan_batch(records), {(0, A)}, park_new=True)
    assert offsets(parking.apply) == [12]
    assert [p.record.offset for p in parking.parked] == [10, 11]
    assert parking.parks == []


def test_the_same_key_on_another_partition_is_not_parked() -> None:
    records: list[RecordLike] = [valid(0, A, partition=1), valid(0, B, partition=0)]
    parking = split_parked(plan_batch(records), {(0, A)}, park_new=True)
    assert sorted((r.partition, r.offset) for r in parking.apply.events) == [(0, 0), (1, 0)]
    assert parking.parked == []


def test_a_conflict_or_a_record_without_a_key_does_not_park() -> None:
    event_id, value, headers = event_value()
    _, other, _ = event_value(event_id=event_id, amount="2.00")
    records: list[RecordLike] = [Rec(value, 0, key=A, headers=headers),
                                 Rec(other, 1, key=A, headers=headers),
                                 poison(2, None), valid(3, A), valid(4, None)]
    plan = plan_batch(records)
    assert [d.reason for d in plan.dead_letters] == ["conflict", "not_json"]
    parking = split_parked(plan, set(), park_new=True)
    assert parking.parks == [] and parking.parked == []
    assert offsets(parking.apply) == [0, 1, 2, 3, 4]


def test_park_keys_off_opens_no_park_but_honours_the_parked_ones() -> None:
    records: list[RecordLike] = [poison(0, A), valid(1, A), valid(2, B)]
    off = split_parked(plan_batch(records), set(), park_new=False)
    assert off.parks == [] and off.parked == [] and offsets(off.apply) == [0, 1, 2]
    held = split_parked(plan_batch(records), {(0, B)}, park_new=False)
    assert [p.record.offset for p in held.parked] == [2]


def test_nothing_parked_leaves_the_plan_as_it_is() -> None:
    plan = plan_batch([valid(0, A), valid(1, B)])
    assert split_parked(plan, set(), park_new=True).apply is plan


def test_a_release_applies_in_order_and_moves_no_offset() -> None:
    step = plan_release(list[RecordLike]([valid(3, A), valid(5, A), valid(9, A)]))
    assert [r.offset for r in step.apply.events] == [3, 5, 9]
    assert step.consumed == [3, 5, 9] and step.parked_again is None
    assert step.apply.next_offsets == {}


def test_a_release_stops_after_a_record_that_is_poison_again() -> None:
    step = plan_release(list[RecordLike]([valid(3, A), poison(5, A), valid(9, A), valid(12, A)]))
    assert [r.offset for r in step.apply.events] == [3]
    assert [d.record.offset for d in step.apply.dead_letters] == [5]
    assert step.consumed == [3, 5]  # 9 and 12 stay parked behind the new letter
    assert step.parked_again is not None and step.parked_again.record.offset == 5
