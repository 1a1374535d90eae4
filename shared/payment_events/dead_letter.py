"""The dead-letter topic's contract: the original record (key, value, headers) unchanged, plus
`dlq_*` headers saying where it came from and why it could not be processed.

The consumer writes these headers (notification_consumer/dead_letters/wire.py); a unit test
keeps the two lists equal, and a fault test checks real dead letters (whole and truncated) on
a real broker against the AsyncAPI document made from this model. Every value is UTF-8 text on
the wire.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DLQ_HEADER_PREFIX = "dlq_"
# What a copy may have cut to fit the topic, always named in this order.
Truncated = Literal["headers", "key", "value", "headers,key", "headers,value", "key,value",
                    "headers,key,value"]
# Present together, exactly when something was cut.
WITH_TRUNCATED = ("original_size", "fetch")


class DeadLetterProvenance(BaseModel):
    """The `dlq_*` headers, without their prefix."""

    model_config = ConfigDict(frozen=True, title="DeadLetterProvenance")

    original_topic: str = Field(description="topic the record was read from")
    original_partition: str = Field(pattern=r"^[0-9]+$", description="its partition")
    original_offset: str = Field(pattern=r"^[0-9]+$", description="its offset")
    original_timestamp: str = Field(
        description="its Kafka timestamp, ISO 8601 UTC; empty when the record had none")
    original_key: str = Field(description="its key as text (invalid UTF-8 replaced)")
    consumer_group: str = Field(description="the consumer group that gave up on it")
    reason: str = Field(description="why, as a short code (not_json, invalid_schema, "
                                    "processing_failed, ...)")
    error_class: str = Field(max_length=200, description="the exception class behind the reason")
    error_message: str = Field(max_length=1000, description="the error, cut to 1000 chars")
    attempts: str = Field(pattern=r"^[0-9]+$", description="processing attempts made")
    dead_letter_id: str | None = Field(
        default=None, pattern=r"^[0-9]+$",
        description="the letter's id in the consumer's dead-letters table, which keeps the "
                    "original bytes whole (GET /dead-letters/{id}, replay, discard)")
    truncated: Truncated | None = Field(
        default=None, description="present when the copy was shortened to fit the topic's "
                                  "record size limit: what was cut (headers: the original "
                                  "headers dropped; key and value: cut short)")
    original_size: str | None = Field(
        default=None, pattern=r"^[0-9]+$",
        description="with truncated: the original value's length in bytes")
    fetch: str | None = Field(
        default=None, description="with truncated: where the whole record can be read")
