"""reconciliation: processed events by event time, so a recent window is read, not the table

Revision ID: 0005
Revises: 0004
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SCHEMA = "notification_consumer"


def upgrade() -> None:
    op.create_index("processed_events_occurred_at", "processed_events", ["occurred_at"],
                    schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("processed_events_occurred_at", table_name="processed_events", schema=SCHEMA)
