"""processed events, notifications, stored offsets, dead letters, counters"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service_kit.migration_ops import (
    AMOUNT,
    TZ,
    counters,
    optional,
    payment_fields,
    record_position,
    required,
    serial_id,
    written_at,
)

revision = "0001"
down_revision = None

SCHEMA = "notification_consumer"


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False, unique=True),
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        *payment_fields(),
        *required(occurred_at=TZ),
        *record_position(),
        *required(payload_hash=sa.Text),
        *optional(trace_id=sa.Text),
        written_at("processed_at"),
        schema=SCHEMA,
    )
    op.create_index("processed_events_payer", "processed_events", ["payer_id", "seq"],
                    schema=SCHEMA)
    op.create_index("processed_events_payee", "processed_events", ["payee_id", "seq"],
                    schema=SCHEMA)
    op.create_table(
        "notifications",
        serial_id(),
        *required(event_id=sa.Uuid, account_id=sa.Text, kind=sa.Text, amount=AMOUNT,
                  currency=sa.Text, counterparty_id=sa.Text),
        written_at(),
        sa.UniqueConstraint("event_id", "kind", name="notifications_once_per_event"),
        schema=SCHEMA,
    )
    op.create_index("notifications_account", "notifications", ["account_id", "id"],
                    schema=SCHEMA)
    op.create_table(
        "consumer_offsets",
        sa.Column("group_id", sa.Text(), primary_key=True),
        sa.Column("topic", sa.Text(), primary_key=True),
        sa.Column("partition", sa.Integer(), primary_key=True),
        *required(next_offset=sa.BigInteger),
        written_at("updated_at"),
        schema=SCHEMA,
    )
    op.create_table(
        "consumer_counters",
        sa.Column("group_id", sa.Text(), primary_key=True),
        *counters("processed", "duplicates", "dead_letters", type_=sa.BigInteger),
        schema=SCHEMA,
    )
    op.create_table(
        "dead_letters",
        serial_id(),
        *required(group_id=sa.Text),
        *record_position(),
        *optional(kafka_timestamp=TZ, key=sa.LargeBinary, value=sa.LargeBinary),
        *required(headers=postgresql.JSONB, reason=sa.Text, error_class=sa.Text,
                  error_message=sa.Text, attempts=sa.Integer),
        *optional(event_id=sa.Uuid),
        written_at(),
        *optional(replayed_at=TZ),
        sa.UniqueConstraint("group_id", "topic", "partition", "offset",
                            name="dead_letters_once_per_record"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("dead_letters", "consumer_counters", "consumer_offsets", "notifications",
                  "processed_events"):
        op.drop_table(table, schema=SCHEMA)
