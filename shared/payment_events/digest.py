"""The reconciliation digests both services compute in SQL over their own copy of a payment.

The API (its accepted requests) and the consumer (its processed events) each keep the same
canonical fields of every payment. Both answer, per minute of event time, a count and two
order-independent sums modulo 2^64: one over a 64-bit hash of each event id, one over a
64-bit hash of the canonical payload. Equal buckets need no further look; a differing bucket
is compared id by id. Only PostgreSQL built-ins are used, so the two sides agree across
servers and versions: md5, to_char and json_build_array render the same bytes everywhere.
"""

MODULUS = 2**64


def id_hash_sql(event_id: str) -> str:
    """A signed 64-bit hash of the event id (the first 16 hex digits of md5 of its text)."""
    return f"('x' || left(md5({event_id}::text), 16))::bit(64)::bigint"


def payload_text_sql(event_id: str, payer: str, payee: str, amount: str, currency: str,
                     description: str, occurred_at: str) -> str:
    """The canonical payload: a JSON array of the fields that make a payment what it is.
    Amounts are numeric(24,4) on both sides; times are rendered in UTC to the microsecond."""
    return (f"json_build_array({event_id}::text, {payer}, {payee}, {amount}::text, {currency}, "
            f"{description}, to_char({occurred_at} AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS.US'))::text")


def payload_hash_sql(payload_text: str) -> str:
    """The payload's 64-bit hash as 16 hex digits (what the drill-down compares)."""
    return f"left(md5({payload_text}), 16)"


def hex_to_bigint_sql(hex16: str) -> str:
    return f"('x' || {hex16})::bit(64)::bigint"


def fold(total: int | str | None) -> str:
    """A bucket's digest as 16 hex digits: the SQL sum (exact numeric) modulo 2^64."""
    return f"{int(total or 0) % MODULUS:016x}"
