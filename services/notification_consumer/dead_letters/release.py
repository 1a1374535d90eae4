"""Releasing a parked key: discard its letter, or replay the letter (corrected or not) into
the head of the key's parked records. Either way this only marks the key released, in one
transaction with the letter's own change and its audit row; the partition's owner then
applies the parked records in offset order (ingest/release_step.py). So a release happens
once whoever calls it how often, and never bypasses the fence.

Replaying a letter that parked its key does not go through Kafka: the (corrected) record is
stored at the letter's own offset, which is below every record parked behind it, so it is
applied first, then the others.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notification_consumer.store.batch_sql import S
from service_kit.errors import Conflict

PREVIEW_OFFSETS = 20


class LetterDiscarded(Conflict):
    """The letter was discarded: it is never replayed."""

    problem_type = "/problems/dead-letter-discarded"


class LetterReplayed(Conflict):
    """The letter was replayed: it cannot be discarded any more."""


@dataclass(frozen=True, slots=True)
class ParkedKeyState:
    id: int
    partition: int
    key: bytes
    state: str
    records: int
    parked_at: datetime
    oldest_record_at: datetime | None
    release_kind: str | None


@dataclass(frozen=True, slots=True)
class Discarded:
    letter_id: int
    discarded_at: datetime
    already: bool
    released: ParkedKeyState | None


_PARK_OF = text(f"""
    SELECT id, partition, key, state, records, parked_at, oldest_record_at, release_kind
    FROM {S}.parked_keys WHERE letter_id = :id
""")
_REPLAY_ROW = text(f"SELECT 1 FROM {S}.dead_letter_replays WHERE letter_id = :id")
_DISCARD = text(f"""
    UPDATE {S}.dead_letters SET discarded_at = now(), discard_reason = :reason WHERE id = :id
    RETURNING discarded_at
""")
_RELEASE = text(f"""
    UPDATE {S}.parked_keys SET state = 'released', released_at = now(), release_kind = :kind
    WHERE id = :id AND state = 'parked'
""")
_AUDIT = text(f"""
    INSERT INTO {S}.replay_audit (actor_scope, action, reason, filters, selected, replayed,
        finished_at)
    VALUES (:actor, :action, :reason, CAST(:filters AS jsonb), 1, :done, now())
""")
_FIRST_OFFSETS = text(f"""
    SELECT "offset" FROM {S}.parked_records
    WHERE group_id = :g AND topic = :t AND partition = :p AND key_hash = sha256(:key)
    ORDER BY "offset" LIMIT :limit
""")
# The letter's record, at its own offset, becomes the first of the key's parked records.
_INTO_PARK = text(f"""
    INSERT INTO {S}.parked_records (group_id, topic, partition, "offset", key, value,
        kafka_timestamp, event_id, header_keys, header_values)
    SELECT group_id, topic, partition, "offset", key, COALESCE(:value, value), kafka_timestamp,
        event_id, header_keys, header_values FROM {S}.dead_letters WHERE id = :id
    ON CONFLICT DO NOTHING
    RETURNING parked_at
""")
_COUNT_ONE = text(f"""
    UPDATE {S}.parked_keys SET records = records + 1,
        oldest_record_at = LEAST(COALESCE(oldest_record_at, :at), :at)
    WHERE id = :id
""")
_REPLAYED = text(f"""
    WITH r AS (
        INSERT INTO {S}.dead_letter_replays AS r (letter_id, replay_id, state, audit_id,
            actor_scope, lease_until, published_at, partition, "offset", corrected_value)
        SELECT id, :replay_id, 'published', NULL, :actor, now(), now(), partition, "offset",
            :value FROM {S}.dead_letters WHERE id = :id
        ON CONFLICT (letter_id) DO UPDATE SET replay_id = EXCLUDED.replay_id,
            state = 'published', actor_scope = EXCLUDED.actor_scope, published_at = now(),
            corrected_value = EXCLUDED.corrected_value, attempts = r.attempts + 1
        RETURNING published_at, partition, "offset")
    UPDATE {S}.dead_letters SET replayed_at = (SELECT published_at FROM r) WHERE id = :id
    RETURNING replayed_at, partition, "offset"
""")


async def park_of(conn: AsyncConnection, letter_id: int,
                  lock: bool = False) -> ParkedKeyState | None:
    sql = _PARK_OF.text + (" FOR UPDATE" if lock else "")
    row = (await conn.execute(text(sql), {"id": letter_id})).first()
    if row is None:
        return None
    return ParkedKeyState(row.id, row.partition, bytes(row.key), row.state, row.records,
                          row.parked_at, row.oldest_record_at, row.release_kind)


async def first_offsets(conn: AsyncConnection, group: str, topic: str,
                        park: ParkedKeyState) -> list[int]:
    rows = await conn.execute(_FIRST_OFFSETS, {"g": group, "t": topic, "p": park.partition,
                                               "key": park.key, "limit": PREVIEW_OFFSETS})
    return [int(r.offset) for r in rows]


async def discard(conn: AsyncConnection, letter: Any, actor: str, reason: str) -> Discarded:
    """Inside the caller's transaction, with `letter` (a dead_letters row) locked by it."""
    park = await park_of(conn, letter.id, lock=True)
    replayed = (await conn.execute(_REPLAY_ROW, {"id": letter.id})).first()
    # A replay whose record was poison again parks the key again under the same letter:
    # then the letter may be discarded (or replayed once more).
    parks_again = park is not None and park.state == "parked"
    if (letter.replayed_at is not None or replayed is not None) and not parks_again:
        raise LetterReplayed(f"letter {letter.id} was replayed (or a replay is pending); "
                             "it cannot be discarded")
    if letter.discarded_at is not None:
        return Discarded(letter.id, letter.discarded_at, True, park)
    when = (await conn.execute(_DISCARD, {"id": letter.id, "reason": reason})).scalar_one()
    if park is not None:
        await conn.execute(_RELEASE, {"id": park.id, "kind": "discard"})
    await conn.execute(_AUDIT, {
        "actor": actor, "action": "discard", "reason": reason, "done": 1,
        "filters": orjson.dumps({"letter_id": letter.id,
                                 "released_key": park.id if park else None}).decode()})
    return Discarded(letter.id, when, False, park)


async def replay_into_park(conn: AsyncConnection, letter: Any, actor: str,
                           corrected: bytes | None) -> tuple[UUID, datetime, int, int] | None:
    """When the letter parks its key (and is not released yet): store its record, corrected
    or not, as the key's first parked record, record the replay, release the key. Returns
    (replay id, when, partition, offset), or None when the letter parks nothing. The caller
    writes the audit row (as for any replay)."""
    if letter.discarded_at is not None:
        raise LetterDiscarded(f"letter {letter.id} was discarded; it is never replayed")
    park = await park_of(conn, letter.id, lock=True)
    if park is None or park.state != "parked":
        return None
    added = (await conn.execute(_INTO_PARK, {"id": letter.id, "value": corrected})).first()
    if added is not None:
        await conn.execute(_COUNT_ONE, {"id": park.id, "at": added.parked_at})
    await conn.execute(_RELEASE, {"id": park.id, "kind": "replay"})
    replay_id = uuid4()
    row = (await conn.execute(_REPLAYED, {"id": letter.id, "replay_id": replay_id,
                                          "actor": actor, "value": corrected})).one()
    return replay_id, row.replayed_at, row.partition, row.offset
