"""per-key parking: parked keys and records beside the offsets, discarded letters, corrections"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service_kit.migration_ops import TZ, counters, optional, required, serial_id, written_at

revision = "0009"
down_revision = "0008"

S = "notification_consumer"
BYTEA_ARRAY = postgresql.ARRAY(postgresql.BYTEA())


def upgrade() -> None:
    # One row per key parked on a partition. Written only by the partition's fenced owner
    # (in its batch transaction), except `state`, which a release turns to 'released'.
    op.create_table(
        "parked_keys",
        serial_id(),
        *required(group_id=sa.Text, topic=sa.Text, partition=sa.Integer, key=postgresql.BYTEA,
                  state=sa.Text),
        sa.Column("letter_id", sa.BigInteger(),
                  sa.ForeignKey(f"{S}.dead_letters.id", ondelete="SET NULL"), nullable=True),
        written_at("parked_at"),
        *counters("records", type_=sa.BigInteger),
        *optional(oldest_record_at=TZ, released_at=TZ, release_kind=sa.Text),
        _key_hash(),
        sa.UniqueConstraint("group_id", "topic", "partition", "key_hash",
                            name="parked_key_once"),
        sa.CheckConstraint("state IN ('parked', 'released')", name="parked_key_state"),
        schema=S,
    )
    op.create_index("parked_keys_letter", "parked_keys", ["letter_id"], schema=S)
    op.create_table(
        "parked_records",
        sa.Column("group_id", sa.Text(), primary_key=True),
        sa.Column("topic", sa.Text(), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True),
        sa.Column("offset", sa.BigInteger(), primary_key=True),
        *required(key=postgresql.BYTEA),
        *optional(value=postgresql.BYTEA, kafka_timestamp=TZ, event_id=sa.Uuid),
        sa.Column("header_keys", BYTEA_ARRAY, nullable=False, server_default="{}"),
        sa.Column("header_values", BYTEA_ARRAY, nullable=False, server_default="{}"),
        written_at("parked_at"),
        _key_hash(),
        schema=S,
    )
    op.create_index("parked_records_by_key", "parked_records",
                    ["group_id", "topic", "partition", "key_hash", "offset"], schema=S)
    op.create_index("parked_records_event", "parked_records", ["event_id"], schema=S)
    # A discarded letter is never replayed; discarding releases the key it parked.
    op.add_column("dead_letters", sa.Column("discarded_at", TZ, nullable=True), schema=S)
    op.add_column("dead_letters", sa.Column("discard_reason", sa.Text(), nullable=True),
                  schema=S)
    # A replay may carry a corrected value; a replay resumed after a crash publishes it too.
    op.add_column("dead_letter_replays",
                  sa.Column("corrected_value", postgresql.BYTEA(), nullable=True), schema=S)


def _key_hash() -> sa.Column[bytes]:
    """Keys are indexed by their SHA-256: a key may be far larger than a btree entry."""
    return sa.Column("key_hash", postgresql.BYTEA(), sa.Computed("sha256(key)", persisted=True),
                     nullable=False)


def downgrade() -> None:
    op.drop_column("dead_letter_replays", "corrected_value", schema=S)
    op.drop_column("dead_letters", "discard_reason", schema=S)
    op.drop_column("dead_letters", "discarded_at", schema=S)
    op.drop_table("parked_records", schema=S)
    op.drop_table("parked_keys", schema=S)
