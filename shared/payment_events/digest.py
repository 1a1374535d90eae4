"""The reconciliation digests both services compute in SQL over their own copy of a payment.

The API (its accepted requests) and the consumer (its processed events) each keep the same
canonical fields of every payment. Both answer, per minute of event time, a count and two
order-independent sums modulo 2^64: one over a 64-bit hash of each event id, one over a
64-bit hash of the canonical payload. Equal buckets need no further look; a differing bucket
is compared id by id. Only PostgreSQL built-ins are used, so the two sides agree across servers.

Each side stores the two hashes in generated columns (its own migration), so a day of
buckets is a sum over an index, not 100,000 hash computations. The expressions here are
immutable, as generated columns require; changing them needs a migration on both sides.
"""

MODULUS = 2**64
SEPARATOR = "chr(31)"  # the unit separator: no id, amount, currency or description holds it


def id_hash_sql(event_id: str) -> str:
    """A signed 64-bit hash of the event id's text. hashtextextended is what PostgreSQL's
    hash partitioning relies on, so it gives the same value on every server and version."""
    return f"hashtextextended({event_id}::text, 0)"


def payload_text_sql(event_id: str, payer: str, payee: str, amount: str, currency: str,
                     description: str, occurred_at: str) -> str:
    """The canonical payload: the fields that make a payment what it is, joined by a
    separator none of them can hold. Amounts are numeric(24,4) on both sides, so their text
    is equal; the time is whole microseconds since the epoch; a null description is ''."""
    parts = [f"{event_id}::text", payer, payee, f"{amount}::text", currency,
             f"coalesce('=' || {description}, '')",
             f"(extract(epoch from ({occurred_at} AT TIME ZONE 'UTC')) * 1000000)::bigint::text"]
    return f" || {SEPARATOR} || ".join(parts)


def payload_hash_sql(payload_text: str) -> str:
    """The payload's signed 64-bit hash."""
    return f"hashtextextended({payload_text}, 0)"


ID_HASH_COLUMN = "reconcile_id_hash"
PAYLOAD_HASH_COLUMN = "reconcile_payload_hash"


def stored_hashes(occurred_at: str) -> dict[str, str]:
    """The two generated columns, name -> expression, over a table that keeps the canonical
    fields under their event names; only the column holding the event time differs."""
    payload = payload_text_sql("event_id", "payer_id", "payee_id", "amount", "currency",
                               "description", occurred_at)
    return {ID_HASH_COLUMN: id_hash_sql("event_id"),
            PAYLOAD_HASH_COLUMN: payload_hash_sql(payload)}


def fold(total: int | str | None) -> str:
    """A bucket's digest as 16 hex digits: the SQL sum (exact numeric) modulo 2^64."""
    return f"{int(total or 0) % MODULUS:016x}"
