"""Per-key parking, pure: which records of a plan wait behind a dead letter of their key.

A record dead-lettered for its content parks its key on its partition; every later record
with that key is stored as parked (not applied, not dead-lettered) until an operator releases
the key. A conflict (an event id reused with other content) does not park: the original was
applied. A record without a key cannot park. The store calls these functions inside the
batch transaction, with the parked keys it read there, so the decision and the offsets
commit together.
"""

from dataclasses import dataclass, field
from uuid import UUID

from notification_consumer.ingest.planning import (
    BatchPlan,
    DeadLetter,
    EventRow,
    RecordLike,
    plan_batch,
)

ParkedKey = tuple[int, bytes]  # (partition, key) within the plan's topic
NOT_PARKING = frozenset({"conflict"})


@dataclass(frozen=True, slots=True)
class Parked:
    """A record stored to be applied later, in offset order, when its key is released."""

    record: RecordLike
    event_id: UUID | None


@dataclass
class Parking:
    apply: BatchPlan  # what is applied now (events, dead letters, and every next offset)
    parked: list[Parked] = field(default_factory=list)
    parks: list[DeadLetter] = field(default_factory=list)  # letters that park their key now


def parks_its_key(letter: DeadLetter) -> bool:
    return letter.reason not in NOT_PARKING and letter.record.key is not None


def split_parked(plan: BatchPlan, parked: set[ParkedKey], park_new: bool) -> Parking:
    """Walk the plan in offset order per partition: a record whose key is parked (before the
    batch or by an earlier letter in it) is parked; a letter that parks its key opens a park
    when `park_new`. `parked` is not changed."""
    if not parked and not (park_new and any(parks_its_key(d) for d in plan.dead_letters)):
        return Parking(plan)
    keys = set(parked)
    out = Parking(BatchPlan(in_batch_duplicates=plan.in_batch_duplicates,
                            next_offsets=dict(plan.next_offsets)))
    items: list[EventRow | DeadLetter] = [*plan.events, *plan.dead_letters]
    items.sort(key=lambda item: (item.record.partition, item.record.offset))
    for item in items:
        record = item.record
        key = (record.partition, record.key) if record.key is not None else None
        if key is not None and key in keys:
            event_id = item.event.event_id if isinstance(item, EventRow) else item.event_id
            out.parked.append(Parked(record, event_id))
        elif isinstance(item, EventRow):
            out.apply.events.append(item)
        else:
            out.apply.dead_letters.append(item)
            if park_new and key is not None and parks_its_key(item):
                keys.add(key)
                out.parks.append(item)
    return out


@dataclass
class Release:
    """One step of a release: what is applied now, which parked offsets it consumes, and the
    letter that parks the key again (a parked record that is itself poison), if any."""

    apply: BatchPlan
    consumed: list[int]
    parked_again: DeadLetter | None = None


def plan_release(records: list[RecordLike]) -> Release:
    """Parked records of one key, in offset order, become a plan. Planning stops after the
    first record that would park the key again: the records behind it stay parked."""
    plan = plan_batch(records)
    stop = min((d for d in plan.dead_letters if parks_its_key(d)),
               key=lambda d: d.record.offset, default=None)
    if stop is None:
        return Release(_without_offsets(plan), [r.offset for r in records])
    taken = [r for r in records if r.offset <= stop.record.offset]
    return Release(_without_offsets(plan_batch(taken)), [r.offset for r in taken], stop)


def _without_offsets(plan: BatchPlan) -> BatchPlan:
    """A release moves no offsets: the records were read (and their offsets stored) when
    they were parked."""
    plan.next_offsets = {}
    return plan
