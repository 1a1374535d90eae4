"""api hardening: per-row relay backoff, an index for idempotency-key expiry"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"

SCHEMA = "transaction_api"
T = "payment_requests"


def upgrade() -> None:
    # When the relay may try a row next: a failing row waits its own backoff while the rows
    # behind it keep flowing (no head-of-line blocking).
    op.add_column(T, sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False,
                               server_default=sa.text("now()")), schema=SCHEMA)
    op.execute(f"UPDATE {SCHEMA}.{T} SET next_attempt_at = created_at "
               "WHERE published_at IS NULL")
    op.drop_index("payment_requests_unpublished", T, schema=SCHEMA)
    op.create_index("payment_requests_due", T, ["next_attempt_at"], schema=SCHEMA,
                    postgresql_where=sa.text("published_at IS NULL"))
    # Expiry walks only the rows that still hold a key, oldest first.
    op.create_index("payment_requests_key_expiry", T, ["created_at"], schema=SCHEMA,
                    postgresql_where=sa.text("idempotency_key IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("payment_requests_key_expiry", T, schema=SCHEMA)
    op.drop_index("payment_requests_due", T, schema=SCHEMA)
    op.create_index("payment_requests_unpublished", T, ["created_at"], schema=SCHEMA,
                    postgresql_where=sa.text("published_at IS NULL"))
    op.drop_column(T, "next_attempt_at", schema=SCHEMA)
