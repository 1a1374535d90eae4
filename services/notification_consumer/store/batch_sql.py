"""The SQL of the write path around the events (which write_path.py writes, with their
notifications): dead letters, fenced offsets, partition claims, counters; and the two reads the
loop and the monitor need.

Exactly-once effect: an event row is inserted at most once (primary key = event id), its
notifications only when its row was inserted, and the partition offsets are stored in the
same transaction, only by the member whose claim (group generation + member id) is current.
"""

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notification_consumer.ingest.planning import DeadLetter, TopicPartition
from notification_consumer.store.text import header_key_bytes, safe_text

S = "notification_consumer"

_EXISTING = text(f"""
    SELECT event_id, payload_hash FROM {S}.processed_events WHERE event_id = ANY(:ids)
""")
_INSERT_DEAD_LETTER = text(f"""
    INSERT INTO {S}.dead_letters (group_id, topic, partition, "offset", kafka_timestamp, key,
        value, header_keys, header_values, reason, error_class, error_message, attempts,
        event_id)
    VALUES (:group_id, :topic, :partition, :offset, :ts, :key, :value,
        CAST(:header_keys AS bytea[]), CAST(:header_values AS bytea[]), :reason, :error_class,
        :error_message, :attempts, :event_id)
    ON CONFLICT ON CONSTRAINT dead_letters_once_per_record DO NOTHING
    RETURNING id
""")
# Only the claimed owner moves a partition's offset; a row it no longer owns is not returned.
_STORE_OFFSETS = text(f"""
    UPDATE {S}.consumer_offsets AS o
    SET next_offset = GREATEST(o.next_offset, b.o), updated_at = now()
    FROM unnest(CAST(:topics AS text[]), CAST(:partitions AS int[]),
        CAST(:offsets AS bigint[])) AS b(t, p, o)
    WHERE o.group_id = :group_id AND o.topic = b.t AND o.partition = b.p
        AND o.generation = :generation AND o.member_id = :member_id
    RETURNING o.partition
""")
# A claim never takes a partition from a newer generation, except from a claim nobody has
# used for `stale_s` (the group was deleted and its generations restarted from 1).
_CLAIM = text(f"""
    INSERT INTO {S}.consumer_offsets AS o (group_id, topic, partition, next_offset,
        generation, member_id)
    SELECT :group_id, t, p, NULL, :generation, :member_id
    FROM unnest(CAST(:topics AS text[]), CAST(:partitions AS int[])) AS b(t, p)
    ON CONFLICT (group_id, topic, partition) DO UPDATE
        SET generation = EXCLUDED.generation, member_id = EXCLUDED.member_id,
            updated_at = now()
        WHERE o.generation IS NULL OR o.generation <= EXCLUDED.generation
            OR o.updated_at < now() - make_interval(secs => :stale_s)
    RETURNING partition, next_offset
""")
_COUNT_SQL = f"""
    INSERT INTO {S}.consumer_counters AS c (group_id, processed, duplicates, dead_letters)
    VALUES (:group_id, :processed, :duplicates, :dead_letters)
    ON CONFLICT (group_id) DO UPDATE SET processed = c.processed + EXCLUDED.processed,
        duplicates = c.duplicates + EXCLUDED.duplicates,
        dead_letters = c.dead_letters + EXCLUDED.dead_letters
"""
_COUNT = text(_COUNT_SQL)
# A batch's offsets and its counts in one statement (one round trip less per batch). Every
# data-modifying part of a WITH runs once, read or not; a fenced batch raises and rolls both
# back.
_STORE_OFFSETS_COUNTED = text(f"""
    WITH moved AS ({_STORE_OFFSETS.text}), counted AS ({_COUNT_SQL})
    SELECT partition FROM moved
""")


async def existing_hashes(conn: AsyncConnection, ids: list[UUID]) -> dict[UUID, str]:
    if not ids:
        return {}
    result = await conn.execute(_EXISTING, {"ids": ids})
    return {row.event_id: row.payload_hash for row in result}


async def insert_dead_letters(
    conn: AsyncConnection, group_id: str, letters: list[DeadLetter]
) -> list[tuple[int, int]]:
    """Record dead letters once per (group, topic, partition, offset). Every column that
    comes from the record is bytes (key, value, header keys and values) or sanitised text,
    so no content can make this insert fail.

    Returns (index in `letters`, row id) for those not recorded before.
    """
    ids = []
    for index, letter in enumerate(letters):
        r = letter.record
        row = (await conn.execute(_INSERT_DEAD_LETTER, {
            "group_id": group_id, "topic": r.topic, "partition": r.partition,
            "offset": r.offset, "ts": kafka_time(r.timestamp),
            "key": r.key, "value": r.value,
            "header_keys": [header_key_bytes(k) for k, _ in r.headers],
            "header_values": [v if v is not None else b"" for _, v in r.headers],
            "reason": letter.reason, "error_class": safe_text(letter.error_class, 200),
            "error_message": safe_text(letter.error_message, 2000),
            "attempts": letter.attempts, "event_id": letter.event_id,
        })).first()
        if row is not None:
            ids.append((index, int(row.id)))
    return ids


def kafka_time(timestamp_ms: int | None) -> datetime | None:
    """A record's timestamp, or None when absent or outside what a datetime can hold (a
    producer may set any 64-bit value)."""
    if not timestamp_ms or timestamp_ms < 0:
        return None
    try:
        return datetime.fromtimestamp(timestamp_ms / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return None


async def store_offsets(
    conn: AsyncConnection, group_id: str, offsets: dict[TopicPartition, int],
    generation: int, member_id: str, counts: tuple[int, int, int] = (0, 0, 0),
) -> set[int]:
    """Move the offsets the caller still owns, and add `counts` (processed, duplicates, dead
    letters) to the group's counters in the same statement; returns the partitions moved."""
    if not offsets:
        await count(conn, group_id, *counts)
        return set()
    tps = list(offsets)
    params = {
        "group_id": group_id, "topics": [t for t, _ in tps], "partitions": [p for _, p in tps],
        "offsets": [offsets[tp] for tp in tps], "generation": generation,
        "member_id": member_id,
    }
    if any(counts):
        params.update(zip(("processed", "duplicates", "dead_letters"), counts, strict=True))
        result = await conn.execute(_STORE_OFFSETS_COUNTED, params)
    else:
        result = await conn.execute(_STORE_OFFSETS, params)
    return {row.partition for row in result}


async def claim(
    conn: AsyncConnection, group_id: str, partitions: Sequence[TopicPartition],
    generation: int, member_id: str, stale_s: float,
) -> dict[int, int | None]:
    result = await conn.execute(_CLAIM, {
        "group_id": group_id, "topics": [t for t, _ in partitions],
        "partitions": [p for _, p in partitions], "generation": generation,
        "member_id": member_id, "stale_s": stale_s,
    })
    return {row.partition: row.next_offset for row in result}


async def count(
    conn: AsyncConnection, group_id: str, processed: int, duplicates: int, dead_letters: int
) -> None:
    if processed or duplicates or dead_letters:
        await conn.execute(_COUNT, {"group_id": group_id, "processed": processed,
                                    "duplicates": duplicates, "dead_letters": dead_letters})


async def stored_offsets(conn: AsyncConnection, group_id: str, topic: str) -> dict[int, int]:
    result = await conn.execute(text(f"""
        SELECT partition, next_offset FROM {S}.consumer_offsets
        WHERE group_id = :g AND topic = :t AND next_offset IS NOT NULL
    """), {"g": group_id, "t": topic})
    return {row.partition: row.next_offset for row in result}


async def counters(conn: AsyncConnection, group_id: str) -> dict[str, int]:
    row = (await conn.execute(text(f"""
        SELECT processed, duplicates, dead_letters FROM {S}.consumer_counters
        WHERE group_id = :g
    """), {"g": group_id})).first()
    if row is None:
        return {"processed": 0, "duplicates": 0, "dead_letters": 0}
    return dict(row._mapping)
