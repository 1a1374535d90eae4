"""processed events, notifications, stored offsets, dead letters, counters

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

SCHEMA = "notification_consumer"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "processed_events",
        sa.Column("seq", sa.BigInteger(), sa.Identity(), nullable=False, unique=True),
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        sa.Column("payer_id", sa.Text(), nullable=False),
        sa.Column("payee_id", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(24, 4), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("payload_hash", sa.Text(), nullable=False),
        sa.Column("trace_id", sa.Text(), nullable=True),
        sa.Column("processed_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=SCHEMA,
    )
    op.create_index("processed_events_payer", "processed_events", ["payer_id", "seq"],
                    schema=SCHEMA)
    op.create_index("processed_events_payee", "processed_events", ["payee_id", "seq"],
                    schema=SCHEMA)
    op.create_table(
        "notifications",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("event_id", sa.Uuid(), nullable=False),
        sa.Column("account_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("amount", sa.Numeric(24, 4), nullable=False),
        sa.Column("currency", sa.Text(), nullable=False),
        sa.Column("counterparty_id", sa.Text(), nullable=False),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
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
        sa.Column("next_offset", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=SCHEMA,
    )
    op.create_table(
        "consumer_counters",
        sa.Column("group_id", sa.Text(), primary_key=True),
        sa.Column("processed", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("duplicates", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("dead_letters", sa.BigInteger(), nullable=False, server_default="0"),
        schema=SCHEMA,
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("group_id", sa.Text(), nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("partition", sa.Integer(), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("kafka_timestamp", TZ, nullable=True),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=True),
        sa.Column("headers", postgresql.JSONB(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("error_class", sa.Text(), nullable=False),
        sa.Column("error_message", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("replayed_at", TZ, nullable=True),
        sa.UniqueConstraint("group_id", "topic", "partition", "offset",
                            name="dead_letters_once_per_record"),
        schema=SCHEMA,
    )


def downgrade() -> None:
    for table in ("dead_letters", "consumer_counters", "consumer_offsets", "notifications",
                  "processed_events"):
        op.drop_table(table, schema=SCHEMA)
