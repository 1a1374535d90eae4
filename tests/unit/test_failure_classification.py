"""Transient means a dependency is unavailable; everything else is the record's fault."""

import errno

import asyncpg
import pytest
from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
)
from sqlalchemy import exc as sa_exc

from notification_consumer.ingest.failures import Fenced, RecordRejected, is_transient
from service_kit.errors import PublishFailed, TransientStoreError


def wrapped(error: BaseException) -> BaseException:
    """As SQLAlchemy raises it: a DBAPIError whose cause is the driver's error."""
    try:
        try:
            raise error
        except BaseException as inner:
            raise sa_exc.DBAPIError("stmt", {}, Exception("adapter")) from inner
    except sa_exc.DBAPIError as outer:
        return outer


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.SerializationError("could not serialize"),
    asyncpg.exceptions.DeadlockDetectedError("deadlock"),
    asyncpg.exceptions.AdminShutdownError("terminating"),
    asyncpg.exceptions.CannotConnectNowError("starting up"),
    asyncpg.exceptions.TooManyConnectionsError("too many"),
    asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
    asyncpg.exceptions._base.InternalClientError("cannot switch to state 12"),
    ConnectionRefusedError(errno.ECONNREFUSED, "refused"),
    TimeoutError("timed out"),
    OSError(errno.ECONNRESET, "reset"),
    KafkaConnectionError("down"),
    KafkaTimeoutError("slow"),
    NotLeaderForPartitionError(),
    PublishFailed("no ack"),
    TransientStoreError("down"),
])
def test_outages_are_transient(error: BaseException) -> None:
    assert is_transient(error)
    assert is_transient(wrapped(error))


@pytest.mark.parametrize("error", [
    asyncpg.exceptions.UntranslatableCharacterError("\\u0000 cannot be converted"),
    asyncpg.exceptions.CharacterNotInRepertoireError("invalid byte sequence"),
    asyncpg.exceptions.DatetimeFieldOverflowError("out of range"),
    asyncpg.exceptions.NumericValueOutOfRangeError("numeric overflow"),
    asyncpg.exceptions.UniqueViolationError("duplicate"),
    asyncpg.exceptions.CheckViolationError("check"),
    asyncpg.exceptions.StringDataRightTruncationError("too long"),
    asyncpg.exceptions.ProgramLimitExceededError("index row too large"),
    asyncpg.exceptions._base.DataError("invalid input for query argument $7"),
    OverflowError("date value out of range"),
    UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
    ValueError("bad"),
    RecordRejected("too large"),
    Fenced("newer owner"),
    MessageSizeTooLargeError(),
])
def test_the_records_own_faults_are_not_transient(error: BaseException) -> None:
    assert not is_transient(error)
    assert not is_transient(wrapped(error))


def test_a_data_error_wrapping_an_overflow_is_the_records_fault() -> None:
    try:
        try:
            raise OverflowError("date value out of range")
        except OverflowError as inner:
            raise asyncpg.exceptions._base.DataError("invalid input") from inner
    except asyncpg.InterfaceError as exc:
        assert not is_transient(wrapped(exc))


def test_message_size_too_large_is_not_retriable() -> None:
    assert not is_transient(MessageSizeTooLargeError())


def test_an_os_error_without_errno_is_not_an_outage() -> None:
    assert not is_transient(OSError("value too large for the platform"))


def _postgres_error(sqlstate: str) -> asyncpg.PostgresError:
    cls = asyncpg.PostgresError.get_message_class_for_sqlstate(sqlstate)
    return cls(f"sqlstate {sqlstate}")


@pytest.mark.parametrize(("sqlstate", "transient"), [
    ("40000", True), ("40001", True), ("40P01", True), ("40003", True),
    ("40002", False),  # a deferred constraint failing at commit: the data's fault
    ("23503", True),   # a row another request deleted meanwhile: not the record's fault
    ("23505", False), ("23514", False), ("22P02", False),
])
def test_one_classifier_decides_class_40_and_concurrent_deletes(sqlstate: str,
                                                                  transient: bool) -> None:
    from service_kit import failures

    error = _postgres_error(sqlstate)
    assert error.sqlstate == sqlstate
    assert failures.is_transient(error) is transient
    assert failures.is_transient(wrapped(error)) is transient
    # The consumer's ingest uses the same function: one rule, not two that disagree.
    assert is_transient is failures.is_transient
