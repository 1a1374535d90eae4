"""What /parked and a discard answer."""

import base64
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_serializer

from notification_consumer.store.text import display_bytes

MAX_REASON_CHARS = 500


class ParkedKeyView(BaseModel):
    id: int
    topic: str
    partition: int
    key: bytes = Field(description="the parked key, base64")
    key_text: str = Field(description="the key shown as UTF-8 (invalid bytes as U+FFFD)")
    state: str = Field(description="`parked`, or `released` while the owner applies its "
                                   "records")
    letter_id: int | None = Field(description="the dead letter that parked the key")
    letter_reason: str | None
    parked_at: datetime
    parked_for_s: float
    records: int = Field(description="records waiting behind the letter")
    oldest_record_age_s: float | None
    release_kind: str | None = Field(description="`discard` or `replay` once released")

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "ParkedKeyView":
        key = bytes(row["key"])
        return cls(**{**row, "key": key, "key_text": display_bytes(key[:256]),
                      "parked_for_s": round(float(row["parked_for_s"]), 3),
                      "oldest_record_age_s": None if row["oldest_record_age_s"] is None
                      else round(float(row["oldest_record_age_s"]), 3)})

    @field_serializer("key")
    def _b64(self, data: bytes) -> str:
        return base64.b64encode(data).decode()


class DiscardRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=MAX_REASON_CHARS,
                        description="why the letter is discarded (kept in the audit trail)")


class DiscardResult(BaseModel):
    id: int
    discarded_at: datetime
    already_discarded: bool = Field(description="true: an earlier call discarded it")
    released_key: int | None = Field(description="the parked key this released (its "
                                                 "records are applied in offset order)")
    parked_records: int = 0


class ReplayRequest(BaseModel):
    corrected_value: str | None = Field(
        default=None, max_length=65_536,
        description="the record's corrected value (UTF-8 text, e.g. the fixed JSON); the "
                    "key and headers stay the original's")


class ReleasePreview(BaseModel):
    letter_id: int
    dry_run: bool
    discarded: bool
    replayed: bool
    parked_key: dict[str, Any] | None
    discard_would: str
    replay_would: str
