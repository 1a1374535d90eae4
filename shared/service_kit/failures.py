"""The one rule for which failures are an outage (retry, never skip) and which are the data's
fault (isolate the record, or answer 4xx/500), for both services.

    transient                the dependency is unreachable, busy or shutting down: connection
                             refused/reset/timed out, SQLSTATE classes 08, 53, 57, class 40
                             but 40002 (see below), a retriable Kafka error, PublishFailed,
                             TransientStoreError, a pool checkout that timed out
    caused by a concurrent   23503 foreign_key_violation: no record or request of ours names a
    request (transient)      row it did not write itself in the same transaction, so a missing
                             referenced row means another request removed it meanwhile; a
                             retry sees the new state
    the data's fault         everything else: data errors (22xxx), other constraint
                             violations (23xxx), encoding, values PostgreSQL cannot represent,
                             and any PermanentFailure (it says so itself)

SQLSTATE class 40 (transaction rollback): 40001 serialization failure, 40P01 deadlock,
40003 statement completion unknown and 40000 are the server aborting a transaction that may
well succeed again, so they are transient. 40002 (transaction integrity constraint violation)
is a deferred constraint failing at commit: the data's fault, like its 23xxx twin.

A transient-looking failure that persists on one record while both dependencies answer a
probe is still treated as poison by the consumer (ingest/isolation.py): the bound holds.
"""

import asyncio

import asyncpg
from aiokafka.errors import KafkaConnectionError, KafkaError, KafkaTimeoutError
from sqlalchemy import exc as sa_exc

from service_kit.errors import PublishFailed, TransientStoreError

_TRANSIENT_SQLSTATES = ("08", "53", "57", "40", "23503")
_PERMANENT_SQLSTATES = ("40002",)
MAX_CAUSES = 20


class PermanentFailure(Exception):
    """A failure that is never an outage, whatever caused it (its causes are not read)."""


def is_transient(exc: BaseException) -> bool:
    """True only when `exc` says a dependency is unavailable (or a concurrent request changed
    what it relied on), not that the data is wrong."""
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < MAX_CAUSES:
        seen += 1
        verdict = _own_verdict(cause)
        if verdict is not None:
            return verdict
        cause = cause.__cause__ or cause.__context__
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError))


def _own_verdict(exc: BaseException) -> bool | None:
    """True/False when this exception alone decides; None to look at its cause."""
    if isinstance(exc, PermanentFailure):
        return False
    if isinstance(exc, (TransientStoreError, PublishFailed, KafkaConnectionError,
                        KafkaTimeoutError)):
        return True
    if isinstance(exc, KafkaError):
        return bool(getattr(exc, "retriable", False))
    if isinstance(exc, asyncpg.PostgresError):
        state = getattr(exc, "sqlstate", None) or ""
        return state.startswith(_TRANSIENT_SQLSTATES) and state not in _PERMANENT_SQLSTATES
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
