"""reconciliation: accepted payments by time, for the per-minute buckets

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SCHEMA = "transaction_api"


def upgrade() -> None:
    op.create_index("payment_requests_created_at", "payment_requests", ["created_at"],
                    schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("payment_requests_created_at", table_name="payment_requests", schema=SCHEMA)
