"""Reads of parked keys: the admin list (keyset, oldest park first), the totals the metrics
and the console show, and the dry run of a release. Each reads park rows, which carry their
own counts: the cost is bounded by the page, never by how many records are parked."""

from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notification_consumer.dead_letters.release import first_offsets, park_of
from notification_consumer.dead_letters.replay import lock_letter
from notification_consumer.store.batch_sql import S
from notification_consumer.store.reads import decode_cursor, encode_cursor, reading

_PAGE = text(f"""
    SELECT k.id, k.topic, k.partition, k.key, k.state, k.letter_id, k.parked_at, k.records,
        k.release_kind, k.released_at, d.reason AS letter_reason,
        EXTRACT(EPOCH FROM now() - k.parked_at) AS parked_for_s,
        EXTRACT(EPOCH FROM now() - k.oldest_record_at) AS oldest_record_age_s
    FROM {S}.parked_keys k LEFT JOIN {S}.dead_letters d ON d.id = k.letter_id
    WHERE k.group_id = :g AND k.topic = :t AND k.id > :after
    ORDER BY k.id LIMIT :limit
""")
_TOTALS = text(f"""
    SELECT count(*) AS keys, COALESCE(sum(records), 0) AS records,
        COALESCE(EXTRACT(EPOCH FROM now() - min(parked_at)), 0) AS oldest_park_s,
        count(*) FILTER (WHERE state = 'released') AS releasing
    FROM {S}.parked_keys WHERE group_id = :g AND topic = :t
""")


async def list_parked(engine: AsyncEngine, group: str, topic: str, limit: int,
                      cursor: str | None) -> dict[str, Any]:
    after = decode_cursor(cursor) or 0
    async with reading(engine) as conn:
        rows = [dict(r._mapping) for r in await conn.execute(
            _PAGE, {"g": group, "t": topic, "after": after, "limit": limit + 1})]
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": rows, "next_cursor": encode_cursor(rows[-1]["id"]) if more else None}


async def totals(conn: AsyncConnection, group: str, topic: str) -> dict[str, float]:
    row = (await conn.execute(_TOTALS, {"g": group, "t": topic})).one()
    return {"keys": int(row.keys), "records": int(row.records),
            "oldest_park_s": float(row.oldest_park_s), "releasing": int(row.releasing)}


async def release_preview(engine: AsyncEngine, group: str, topic: str,
                          letter_id: int) -> dict[str, Any]:
    """What a discard or a replay of this letter would do now; changes nothing. Raises
    LetterNotFound, LetterNotOurs."""
    async with reading(engine) as conn, conn.begin():
        letter = await lock_letter(conn, letter_id, group, topic)
        park = await park_of(conn, letter_id)
        offsets = await first_offsets(conn, group, topic, park) if park else []
    parks = park is not None and park.state == "parked"
    return {
        "letter_id": letter_id, "dry_run": True,
        "discarded": letter.discarded_at is not None,
        "replayed": letter.replayed_at is not None,
        "parked_key": None if park is None else {
            "id": park.id, "partition": park.partition, "state": park.state,
            "records": park.records, "first_offsets": offsets},
        "discard_would": "nothing (already discarded)" if letter.discarded_at else
        "refuse (already replayed)" if letter.replayed_at else
        f"release the key: apply its {park.records} parked records in offset order"
        if parks and park else "mark the letter discarded (it parks no key)",
        "replay_would": "refuse (discarded)" if letter.discarded_at else
        "nothing (already replayed)" if letter.replayed_at else
        f"apply the letter's record at offset {letter.offset}, then the "
        f"{park.records} parked records, in offset order (no Kafka round trip)"
        if parks and park else "republish the record to the topic, once",
    }
