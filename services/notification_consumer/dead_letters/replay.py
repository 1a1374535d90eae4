"""Dead-letter replay, at most one publish per letter, recorded before it happens.

The protocol (one `dead_letter_replays` row per letter, primary key = letter id):
1. Under a row lock on the letter: no replay row -> insert one as `pending` with a fresh
   replay id and a lease, commit, then publish. The published record carries the replay id in
   a header (`paystream_replay_id`).
2. Ack received -> the row becomes `published` with partition and offset. Later calls answer
   that outcome (`already_replayed`) and publish nothing.
3. A call that finds a `pending` row whose lease is still running waits briefly for the outcome,
   else answers "in progress" (409). It publishes nothing.
4. A call that finds a `pending` row whose lease ran out (the first call crashed, timed out, or
   lost the database after the ack) claims it and scans the topic for the replay id: found ->
   recorded as `published`, no publish; provably absent -> publishes (step 1's publish).
The lease (REPLAY_LEASE_S) is longer than any publish attempt can last (ATTEMPT_BOUND_S), so a
scan never races a publish still in flight. What this rests on: the topic keeps records at
least as long as a replay stays pending, and producer and database clocks agree within
CLOCK_MARGIN_S. Effects are exactly once regardless: the consumer dedups by event id.
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notification_consumer.dead_letters.release import replay_into_park
from notification_consumer.dead_letters.republish import ATTEMPT_BOUND_S, Placement, ReplayPublisher
from notification_consumer.dead_letters.stored import letter_record
from notification_consumer.ingest.settings import GroupSettings
from notification_consumer.store.batch_sql import S
from payment_events.codec import KafkaRecord
from service_kit.errors import Conflict, NotFound

REPLAY_LEASE_S = ATTEMPT_BOUND_S + 30.0
WAIT_FOR_TWIN_S = 5.0


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    letter_id: int
    replay_id: UUID
    already_replayed: bool
    published_at: datetime
    partition: int
    offset: int


class LetterNotFound(NotFound):
    def __init__(self, letter_id: int) -> None:
        super().__init__(f"no dead letter {letter_id}")


class LetterNotOurs(Conflict):
    """The letter came from another topic or group: replaying it here would be wrong."""

    problem_type = "/problems/dead-letter-not-ours"


class ReplayInProgress(Conflict):
    problem_type = "/problems/replay-in-progress"

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"a replay of this letter is in progress; retry in {retry_after_s}s")
        self.retry_after_s = retry_after_s


# Two statements on purpose: under READ COMMITTED a statement that waited for the row lock
# re-reads the locked row but not a joined one, so the replay row is read after the lock.
_LOCK = text(f"""
    SELECT id, group_id, topic, partition, "offset", key, value, header_keys, header_values,
        replayed_at, discarded_at FROM {S}.dead_letters
    WHERE id = :id FOR UPDATE
""")
_REPLAY = text(f"""
    SELECT replay_id, state, published_at, partition, "offset", first_requested_at,
           corrected_value,
           lease_until > now() AS leased,
           GREATEST(0, EXTRACT(EPOCH FROM lease_until - now())) AS lease_left
    FROM {S}.dead_letter_replays WHERE letter_id = :id
""")
_INSERT = text(f"""
    INSERT INTO {S}.dead_letter_replays (letter_id, replay_id, state, audit_id, actor_scope,
        lease_until, corrected_value) VALUES (:id, :replay_id, 'pending', :audit_id, :actor,
        now() + make_interval(secs => :lease), :corrected)
    RETURNING first_requested_at
""")
_CLAIM = text(f"""
    UPDATE {S}.dead_letter_replays SET lease_until = now() + make_interval(secs => :lease),
        attempts = attempts + 1 WHERE letter_id = :id AND state = 'pending'
""")
_PUBLISHED = text(f"""
    WITH r AS (
        UPDATE {S}.dead_letter_replays SET state = 'published', published_at = now(),
            partition = :partition, "offset" = :offset, last_error = NULL
        WHERE letter_id = :id RETURNING published_at)
    UPDATE {S}.dead_letters SET replayed_at = (SELECT published_at FROM r) WHERE id = :id
    RETURNING replayed_at
""")
_FAILED = text(f"UPDATE {S}.dead_letter_replays SET last_error = :error WHERE letter_id = :id")
_OUTCOME = text(f"""
    SELECT replay_id, state, published_at, partition, "offset"
    FROM {S}.dead_letter_replays WHERE letter_id = :id
""")


class LetterReplayer:
    def __init__(self, settings: GroupSettings, engine: AsyncEngine,
                 publisher: ReplayPublisher) -> None:
        self.settings = settings
        self.engine = engine
        self.publisher = publisher

    async def replay(self, letter_id: int, actor_scope: str, audit_id: int | None = None,
                     corrected: bytes | None = None) -> ReplayOutcome:
        """Raises LetterNotFound, LetterNotOurs, LetterDiscarded, ReplayInProgress,
        PublishFailed, ScanInconclusive, or a database error; none of them leaves a second
        publish behind. A letter that parks its key is replayed into the key's parked
        records instead (release.py). `corrected`: the value to replay in place of the
        original (the key and headers stay)."""
        async with self.engine.begin() as conn:
            row = await lock_letter(conn, letter_id, self.settings.kafka_group_id,
                                    self.settings.kafka_topic)
            done = (await conn.execute(_REPLAY, {"id": letter_id})).first()
            lease_left = int(done.lease_left or 0) + 1 if done is not None else 0
            if done is None or done.state == "published":
                # Into the key's parked records when the letter parks it (again, after a
                # replayed record was poison once more); else as before.
                parked = await replay_into_park(conn, row, actor_scope, corrected)
                if parked is not None:
                    replay_id, when, partition, offset = parked
                    return ReplayOutcome(letter_id, replay_id, False, when, partition, offset)
            if done is not None and done.state == "published":
                return _outcome(letter_id, done, already=True)
            if done is not None and done.leased:
                mode, replay_id, since = "wait", done.replay_id, done.first_requested_at
            elif done is not None:
                await conn.execute(_CLAIM, {"id": letter_id, "lease": REPLAY_LEASE_S})
                mode, replay_id, since = "resolve", done.replay_id, done.first_requested_at
                corrected = done.corrected_value
            else:
                replay_id = uuid4()
                since = (await conn.execute(_INSERT, {
                    "id": letter_id, "replay_id": replay_id, "audit_id": audit_id,
                    "actor": actor_scope, "lease": REPLAY_LEASE_S,
                    "corrected": corrected})).scalar_one()
                mode = "publish"
            record = letter_record(row.key, row.value, row.header_keys, row.header_values)
            if corrected is not None:
                record = KafkaRecord(record.key, bytes(corrected), record.headers)
        if mode == "wait":
            return await self._wait_for_twin(letter_id, lease_left)
        if mode == "resolve":
            found = await self.publisher.find(replay_id, since)
            if found is not None:
                return await self._record(letter_id, replay_id, found, already=True)
        try:
            placement = await self.publisher.publish(record, replay_id)
        except Exception as exc:
            await self._note_failure(letter_id, repr(exc))
            raise
        return await self._record(letter_id, replay_id, placement, already=False)

    async def _record(self, letter_id: int, replay_id: UUID, placement: Placement,
                      already: bool) -> ReplayOutcome:
        async with self.engine.begin() as conn:
            when = (await conn.execute(_PUBLISHED, {
                "id": letter_id, "partition": placement.partition,
                "offset": placement.offset})).scalar_one()
        return ReplayOutcome(letter_id, replay_id, already, when, placement.partition,
                             placement.offset)

    async def _note_failure(self, letter_id: int, error: str) -> None:
        try:
            async with self.engine.begin() as conn:
                await conn.execute(_FAILED, {"id": letter_id, "error": error[:1000]})
        except Exception:  # noqa: BLE001 - the pending row and its lease are what matter
            return

    async def _wait_for_twin(self, letter_id: int, lease_left: int) -> ReplayOutcome:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + WAIT_FOR_TWIN_S
        while loop.time() < deadline:
            await asyncio.sleep(0.1)
            async with self.engine.connect() as conn:
                row = (await conn.execute(_OUTCOME, {"id": letter_id})).first()
            if row is not None and row.state == "published":
                return _outcome(letter_id, row, already=True)
        raise ReplayInProgress(max(1, lease_left))

    async def outcome(self, conn: AsyncConnection, letter_id: int) -> dict[str, Any] | None:
        row = (await conn.execute(_OUTCOME, {"id": letter_id})).first()
        return dict(row._mapping) if row is not None else None


async def lock_letter(conn: AsyncConnection, letter_id: int, group: str, topic: str) -> Any:
    """The letter's row, locked for the transaction; raises LetterNotFound, LetterNotOurs."""
    row = (await conn.execute(_LOCK, {"id": letter_id})).first()
    if row is None:
        raise LetterNotFound(letter_id)
    if row.group_id != group or row.topic != topic:
        raise LetterNotOurs(f"letter {letter_id} came from topic {row.topic!r}, group "
                            f"{row.group_id!r}, not this consumer's")
    return row


def _outcome(letter_id: int, row: Any, already: bool) -> ReplayOutcome:
    return ReplayOutcome(letter_id, row.replay_id, already, row.published_at, row.partition,
                         row.offset)
