"""Which failures are an outage and which are the record's fault.

    transient (retry, never skip)      the dependency is unreachable, busy or shutting down:
                                       connection refused/reset/timed out, SQLSTATE classes
                                       08, 53, 57, serialization failure 40001, deadlock 40P01,
                                       a retriable Kafka error, PublishFailed
    the record's fault (isolate it)    everything else: data errors (22xxx), constraint
                                       violations (23xxx), encoding, values PostgreSQL cannot
                                       represent, RecordRejected (too large for the broker)
    Fenced                             the partitions have a newer owner: drop the batch

When a transient-looking failure persists on one record while both dependencies answer a
probe, the record is treated as poison too (see isolation.py).
"""

import asyncio

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from sqlalchemy import exc as sa_exc

from service_kit.errors import PublishFailed, TransientStoreError

_TRANSIENT_SQLSTATES = ("08", "53", "57", "40001", "40P01")


class Fenced(Exception):
    """A write was refused: its partitions are claimed by a newer group generation."""


class RecordRejected(Exception):
    """The broker will never accept this record (too large, invalid): the record's fault."""


def is_transient(exc: BaseException) -> bool:
    """True only when `exc` says a dependency is unavailable, not that the data is wrong."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 20:
        seen += 1
        verdict = _own_verdict(cause)
        if verdict is not None:
            return verdict
        cause = cause.__cause__ or cause.__context__
    return False


def _own_verdict(exc: BaseException) -> bool | None:
    """True/False when this exception alone decides; None to look at its cause."""
    if isinstance(exc, (RecordRejected, Fenced)):
        return False
    if isinstance(exc, (TransientStoreError, PublishFailed, KafkaConnectionError,
                        KafkaTimeoutError)):
        return True
    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False))
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state.startswith(_TRANSIENT_SQLSTATES)
    if isinstance(exc, asyncpg.exceptions._base.InternalClientError):
        return True  # the connection's protocol state is broken (e.g. the server ended it)
    if isinstance(exc, asyncpg.InterfaceError):
        # asyncpg's client-side DataError (a parameter it cannot encode) is an InterfaceError
        # and a ValueError: the value's fault. Other interface errors are about the connection.
        if isinstance(exc, ValueError):
            return False
        return "connection" in str(exc).lower() or "closed" in str(exc).lower()
    if isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError)):
        return True
    if isinstance(exc, OSError) and exc.errno is not None:
        return True  # socket-level errors carry an errno; value errors never do
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa_exc.TimeoutError):  # pool checkout timed out
        return True
    return None
