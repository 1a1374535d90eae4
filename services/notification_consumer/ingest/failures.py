"""The consumer's own permanent failures; which failures are transient is decided in one
place for both services, service_kit.failures (is_transient is re-exported here for the
ingest modules).

    Fenced            the partitions have a newer owner: drop the batch
    RecordRejected    the broker will never accept this record: the record's fault
"""

from service_kit.failures import PermanentFailure, is_transient

__all__ = ["Fenced", "RecordRejected", "is_transient"]


class Fenced(PermanentFailure):
    """A write was refused: its partitions are claimed by a newer group generation."""


class RecordRejected(PermanentFailure):
    """The broker will never accept this record (too large, invalid): the record's fault."""
