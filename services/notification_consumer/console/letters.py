"""Dead letters for the console: filtered lists, one letter in full, and the dry run that
says which of a filtered set a replay would apply (the dedup keys live in the database)."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from notification_consumer.store.batch_sql import S
from notification_consumer.store.reads import DEAD_LETTER_COLUMNS

LIST_LIMIT = 200
BULK_MAX = 1000


@dataclass(frozen=True, slots=True)
class LetterFilter:
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    account: str | None = None  # the record key (payer id), or a payee id in the value
    topic: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"reason": self.reason, "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None,
                "account": self.account, "topic": self.topic}


# A filter field, when set, becomes this clause with the field's value as :<field>.
_CLAUSES = {
    "reason": "d.reason = :reason",
    "since": "d.created_at >= :since",
    "until": "d.created_at < :until",
    "topic": "d.topic = :topic",
}


def _where(f: LetterFilter) -> tuple[str, dict[str, Any]]:
    params: dict[str, Any] = {field: getattr(f, field) for field in _CLAUSES
                              if getattr(f, field)}
    clauses = ["TRUE", *(_CLAUSES[field] for field in params)]
    if f.account:
        # Events are keyed by payer id; the payee is found in the original JSON bytes.
        clauses.append("(d.key = :account_key OR position(:payee_needle IN d.value) > 0)")
        params["account_key"] = f.account.encode()
        params["payee_needle"] = orjson.dumps({"payee_id": f.account})[1:-1]
    return " AND ".join(clauses), params


async def list_letters(conn: AsyncConnection, f: LetterFilter,
                       limit: int = LIST_LIMIT) -> list[dict[str, Any]]:
    where, params = _where(f)
    rows = await conn.execute(text(f"""
        SELECT d.id, d.topic, d.partition, d."offset", d.reason, d.error_class, d.created_at,
               d.key, d.event_id, r.state AS replay_state, r.published_at AS replayed_at
        FROM {S}.dead_letters d LEFT JOIN {S}.dead_letter_replays r ON r.letter_id = d.id
        WHERE {where} ORDER BY d.id DESC LIMIT :limit"""), {**params, "limit": limit})
    return [{**r._mapping, "key_text": (r.key or b"")[:40].decode("utf-8", "replace")}
            for r in rows]


async def reasons(conn: AsyncConnection) -> list[str]:
    rows = await conn.execute(text(f"SELECT DISTINCT reason FROM {S}.dead_letters ORDER BY 1"))
    return [r.reason for r in rows]


async def get_letter(conn: AsyncConnection, letter_id: int) -> dict[str, Any] | None:
    columns = ", ".join(f"d.{c.strip()}" for c in DEAD_LETTER_COLUMNS.split(","))
    row = (await conn.execute(text(f"""
        SELECT {columns}, r.state AS replay_state, r.replay_id, r.published_at,
               r.partition AS replay_partition, r."offset" AS replay_offset, r.actor_scope,
               r.attempts AS replay_attempts, r.last_error AS replay_error
        FROM {S}.dead_letters d LEFT JOIN {S}.dead_letter_replays r ON r.letter_id = d.id
        WHERE d.id = :id"""), {"id": letter_id})).first()
    return dict(row._mapping) if row is not None else None


def event_id_of(row: dict[str, Any]) -> UUID | None:
    """The event id a letter carries: stored, else read from its JSON if it has one."""
    if row.get("event_id"):
        return UUID(str(row["event_id"]))
    try:
        body = orjson.loads(row.get("value") or b"")
        return UUID(str(body["event_id"])) if isinstance(body, dict) else None
    except (orjson.JSONDecodeError, KeyError, ValueError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class DryRun:
    new: list[int]  # letter ids a replay would publish
    applied: list[int]  # their event was processed since (replaying would change nothing)
    replayed: list[int]  # already replayed (or a replay is pending)
    foreign: list[int]  # from another topic or group: not this consumer's to replay
    truncated: bool


async def dry_run(conn: AsyncConnection, f: LetterFilter, group: str, topic: str) -> DryRun:
    where, params = _where(f)
    rows = [dict(r._mapping) for r in await conn.execute(text(f"""
        SELECT d.id, d.event_id, d.value, r.state, d.group_id, d.topic
        FROM {S}.dead_letters d LEFT JOIN {S}.dead_letter_replays r ON r.letter_id = d.id
        WHERE {where} ORDER BY d.id LIMIT :limit"""), {**params, "limit": BULK_MAX + 1})]
    truncated = len(rows) > BULK_MAX
    rows = rows[:BULK_MAX]
    ids = {r["id"]: event_id_of(r) for r in rows}
    wanted = [e for e in ids.values() if e is not None]
    processed = {r.event_id for r in await conn.execute(text(
        f"SELECT event_id FROM {S}.processed_events WHERE event_id = ANY(:ids)"),
        {"ids": wanted})} if wanted else set()
    new, applied, replayed, foreign = [], [], [], []
    for r in rows:
        if r["group_id"] != group or r["topic"] != topic:
            foreign.append(r["id"])
        elif r["state"] is not None:
            replayed.append(r["id"])
        elif ids[r["id"]] in processed:
            applied.append(r["id"])
        else:
            new.append(r["id"])
    return DryRun(new, applied, replayed, foreign, truncated)
