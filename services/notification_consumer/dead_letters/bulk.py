"""Replays with an audit trail: who (the key's scope, never the key), when, why, how many.

A bulk replay takes the dry run's "new" letters and replays each exactly once (see
letter_replay), one after another at most REPLAY_RATE_PER_S per second, so a large set cannot
flood the topic. The audit row is written before the first publish and completed after.
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from notification_consumer.console.letters import LetterFilter, dry_run
from notification_consumer.dead_letters.replay import LetterReplayer
from notification_consumer.store.batch_sql import S

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class BulkResult:
    audit_id: int
    selected: int
    replayed: int
    already: int
    failed: int


async def open_audit(engine: AsyncEngine, actor: str, action: str, reason: str,
                     filters: dict[str, Any], selected: int) -> int:
    async with engine.begin() as conn:
        audit_id: int = (await conn.execute(text(f"""
            INSERT INTO {S}.replay_audit (actor_scope, action, reason, filters, selected)
            VALUES (:actor, :action, :reason, CAST(:filters AS jsonb), :selected) RETURNING id
        """), {"actor": actor, "action": action, "reason": reason[:500],
               "filters": orjson.dumps(filters).decode(), "selected": selected})).scalar_one()
    return audit_id


async def close_audit(engine: AsyncEngine, audit_id: int, replayed: int, already: int,
                      failed: int) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(f"""
            UPDATE {S}.replay_audit SET replayed = :r, already = :a, failed = :f,
                finished_at = now() WHERE id = :id
        """), {"id": audit_id, "r": replayed, "a": already, "f": failed})


async def recent_audit(conn: AsyncConnection, limit: int = 20) -> list[dict[str, Any]]:
    rows = await conn.execute(text(f"""
        SELECT id, actor_scope, action, reason, filters, selected, replayed, already, failed,
               started_at, finished_at FROM {S}.replay_audit ORDER BY id DESC LIMIT :limit
    """), {"limit": limit})
    return [dict(r._mapping) for r in rows]


async def bulk_replay(replayer: LetterReplayer, f: LetterFilter, actor: str, reason: str,
                      rate_per_s: float) -> BulkResult:
    engine, settings = replayer.engine, replayer.settings
    async with engine.connect() as conn:
        plan = await dry_run(conn, f, settings.kafka_group_id, settings.kafka_topic)
    audit_id = await open_audit(engine, actor, "bulk_replay", reason, f.as_dict(),
                                len(plan.new))
    replayed = already = failed = 0
    try:
        for letter_id in plan.new:
            try:
                outcome = await replayer.replay(letter_id, actor, audit_id)
            except Exception as exc:  # noqa: BLE001 - counted; the letter stays replayable
                failed += 1
                log.warning("bulk replay: letter failed", extra={"letter_id": letter_id,
                                                                 "error": repr(exc)[:300]})
            else:
                if outcome.already_replayed:
                    already += 1
                else:
                    replayed += 1
            await asyncio.sleep(1.0 / rate_per_s)
    finally:
        await close_audit(engine, audit_id, replayed, already, failed)
    log.info("bulk replay done", extra={"audit_id": audit_id, "replayed": replayed,
                                        "already": already, "failed": failed, "actor": actor})
    return BulkResult(audit_id, len(plan.new), replayed, already, failed)
