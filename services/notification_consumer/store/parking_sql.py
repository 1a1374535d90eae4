"""The SQL of parking, run inside the owner's batch (or release) transaction: which keys are
parked, open a park, store parked records, and the steps of a release.

A park row counts its records and the oldest one's time, so listing and metrics never scan
the parked records themselves.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notification_consumer.ingest.parking import Parked, ParkedKey
from notification_consumer.ingest.planning import DeadLetter
from notification_consumer.store.batch_sql import S, kafka_time
from notification_consumer.store.text import header_key_bytes

_PARKED = text(f"""
    SELECT partition, key FROM {S}.parked_keys
    WHERE group_id = :g AND topic = :t AND partition = ANY(:partitions)
""")
# The letter that parks is looked up by its record's position: it was inserted earlier in the
# same transaction (or by an earlier delivery of the same record).
_OPEN = text(f"""
    INSERT INTO {S}.parked_keys AS k (group_id, topic, partition, key, state, letter_id)
    VALUES (:g, :t, :p, :key, 'parked', (SELECT id FROM {S}.dead_letters d
        WHERE d.group_id = :g AND d.topic = :t AND d.partition = :p AND d."offset" = :o))
    ON CONFLICT ON CONSTRAINT parked_key_once DO UPDATE SET state = 'parked',
        letter_id = EXCLUDED.letter_id, parked_at = now(), released_at = NULL,
        release_kind = NULL
""")
_STORE = text(f"""
    INSERT INTO {S}.parked_records (group_id, topic, partition, "offset", key, value,
        kafka_timestamp, event_id, header_keys, header_values)
    VALUES (:g, :t, :p, :o, :key, :value, :ts, :event_id, CAST(:hk AS bytea[]),
        CAST(:hv AS bytea[]))
    ON CONFLICT DO NOTHING
    RETURNING parked_at
""")
_COUNT = text(f"""
    UPDATE {S}.parked_keys SET records = records + :n,
        oldest_record_at = COALESCE(oldest_record_at, :at)
    WHERE group_id = :g AND topic = :t AND partition = :p AND key_hash = sha256(:key)
""")
# SKIP LOCKED: a key a discard or replay is changing right now is taken on the next round.
_RELEASED = text(f"""
    SELECT id, partition, key, letter_id FROM {S}.parked_keys
    WHERE group_id = :g AND topic = :t AND partition = ANY(:partitions) AND state = 'released'
    ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED
""")
_CHUNK = text(f"""
    SELECT partition, "offset", key, value, kafka_timestamp, header_keys, header_values
    FROM {S}.parked_records
    WHERE group_id = :g AND topic = :t AND partition = :p AND key_hash = sha256(:key)
    ORDER BY "offset" LIMIT :limit
""")
_CONSUME = text(f"""
    DELETE FROM {S}.parked_records
    WHERE group_id = :g AND topic = :t AND partition = :p AND "offset" = ANY(:offsets)
""")
_RECOUNT = text(f"""
    UPDATE {S}.parked_keys SET records = GREATEST(0, records - :n),
        oldest_record_at = (SELECT parked_at FROM {S}.parked_records r
            WHERE r.group_id = :g AND r.topic = :t AND r.partition = :p
                AND r.key_hash = sha256(:key)
            ORDER BY "offset" LIMIT 1)
    WHERE id = :id RETURNING records, state
""")
_CLOSE = text(f"DELETE FROM {S}.parked_keys WHERE id = :id AND state = 'released' AND records = 0")
# Only the claimed owner may apply a release: its claim row is locked for the transaction.
_FENCE = text(f"""
    UPDATE {S}.consumer_offsets SET updated_at = now()
    WHERE group_id = :g AND topic = :t AND partition = ANY(:partitions)
        AND generation = :generation AND member_id = :member_id
    RETURNING partition
""")


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """A parked record read back: what planning reads of a Kafka record (RecordLike)."""

    topic: str
    partition: int
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ReleasedKey:
    id: int
    partition: int
    key: bytes
    letter_id: int | None


async def parked_keys(conn: AsyncConnection, group: str, topic: str,
                      partitions: Sequence[int]) -> set[ParkedKey]:
    if not partitions:
        return set()
    rows = await conn.execute(_PARKED, {"g": group, "t": topic, "partitions": list(partitions)})
    return {(row.partition, bytes(row.key)) for row in rows}


async def open_parks(conn: AsyncConnection, group: str, letters: list[DeadLetter]) -> None:
    for letter in letters:
        r = letter.record
        await conn.execute(_OPEN, {"g": group, "t": r.topic, "p": r.partition, "key": r.key,
                                   "o": r.offset})


async def store_parked(conn: AsyncConnection, group: str, parked: list[Parked]) -> int:
    """Store each record once (a redelivery stores nothing); returns how many were new."""
    added: dict[tuple[str, int, bytes], tuple[int, datetime]] = {}
    for item in parked:
        r = item.record
        assert r.key is not None  # only keyed records park
        row = (await conn.execute(_STORE, {
            "g": group, "t": r.topic, "p": r.partition, "o": r.offset, "key": r.key,
            "value": r.value, "ts": kafka_time(r.timestamp), "event_id": item.event_id,
            "hk": [header_key_bytes(k) for k, _ in r.headers],
            "hv": [v if v is not None else b"" for _, v in r.headers]})).first()
        if row is not None:
            n, at = added.get((r.topic, r.partition, r.key), (0, row.parked_at))
            added[(r.topic, r.partition, r.key)] = (n + 1, at)
    for (topic, partition, key), (n, at) in added.items():
        await conn.execute(_COUNT, {"g": group, "t": topic, "p": partition, "key": key,
                                    "n": n, "at": at})
    return sum(n for n, _ in added.values())


async def fence(conn: AsyncConnection, group: str, topic: str, partitions: Sequence[int],
                generation: int, member_id: str) -> set[int]:
    rows = await conn.execute(_FENCE, {"g": group, "t": topic, "partitions": list(partitions),
                                       "generation": generation, "member_id": member_id})
    return {row.partition for row in rows}


async def released_keys(conn: AsyncConnection, group: str, topic: str,
                        partitions: Sequence[int], limit: int) -> list[ReleasedKey]:
    rows = await conn.execute(_RELEASED, {"g": group, "t": topic,
                                          "partitions": list(partitions), "limit": limit})
    return [ReleasedKey(r.id, r.partition, bytes(r.key), r.letter_id) for r in rows]


async def parked_chunk(conn: AsyncConnection, group: str, topic: str, released: ReleasedKey,
                       limit: int) -> list[StoredRecord]:
    rows = await conn.execute(_CHUNK, {"g": group, "t": topic, "p": released.partition,
                                       "key": released.key, "limit": limit})
    return [_record(topic, row) for row in rows]


async def consume(conn: AsyncConnection, group: str, topic: str, released: ReleasedKey,
                  offsets: list[int]) -> None:
    """Drop the parked records a release applied; close the park once none is left."""
    p = {"g": group, "t": topic, "p": released.partition, "key": released.key}
    await conn.execute(_CONSUME, {**p, "offsets": offsets})
    await conn.execute(_RECOUNT, {**p, "n": len(offsets), "id": released.id})
    await conn.execute(_CLOSE, {"id": released.id})


def _record(topic: str, row: Any) -> StoredRecord:
    ts: datetime | None = row.kafka_timestamp
    headers = [(bytes(k).decode("utf-8", "surrogateescape"), bytes(v))
               for k, v in zip(row.header_keys, row.header_values, strict=True)]
    return StoredRecord(topic, row.partition, row.offset,
                        int(ts.timestamp() * 1000) if ts is not None else 0,
                        bytes(row.key), bytes(row.value) if row.value is not None else None,
                        headers)


def event_ids(parked: list[Parked]) -> list[UUID]:
    return [p.event_id for p in parked if p.event_id is not None]
