"""payment requests: idempotency record and outbox entry in one row"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service_kit.migration_ops import (
    TZ,
    counters,
    optional,
    payment_fields,
    required,
    written_at,
)

revision = "0001"
down_revision = None

SCHEMA = "transaction_api"


def upgrade() -> None:
    op.create_table(
        "payment_requests",
        sa.Column("event_id", sa.Uuid(), primary_key=True),
        *required(scope=sa.Text),
        *optional(idempotency_key=sa.Text),
        *required(request_hash=sa.Text),
        *payment_fields(),
        *required(event_key=sa.LargeBinary, event_value=sa.LargeBinary,
                  event_headers=postgresql.JSONB),
        written_at(),
        *optional(published_at=TZ),
        *counters("publish_attempts"),
        *optional(last_publish_error=sa.Text),
        schema=SCHEMA,
    )
    op.create_index(
        "payment_requests_idempotency",
        "payment_requests",
        ["scope", "idempotency_key"],
        unique=True,
        schema=SCHEMA,
        postgresql_where=sa.text("idempotency_key IS NOT NULL"),
    )
    op.create_index(
        "payment_requests_unpublished",
        "payment_requests",
        ["created_at"],
        schema=SCHEMA,
        postgresql_where=sa.text("published_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_table("payment_requests", schema=SCHEMA)
