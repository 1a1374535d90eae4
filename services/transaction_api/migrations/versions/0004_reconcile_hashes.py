"""reconciliation hashes: each payment's id and payload hashes, stored, and an index by time
that covers them, so a day of per-minute buckets is a sum over an index (it replaces 0003's
plain created_at index)

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

from payment_events.digest import (
    ID_HASH_COLUMN,
    PAYLOAD_HASH_COLUMN,
    id_hash_sql,
    payload_hash_sql,
    payload_text_sql,
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "transaction_api"
TABLE = "payment_requests"


def upgrade() -> None:
    payload = payload_hash_sql(payload_text_sql(
        "event_id", "payer_id", "payee_id", "amount", "currency", "description", "created_at"))
    for name, expression in ((ID_HASH_COLUMN, id_hash_sql("event_id")),
                             (PAYLOAD_HASH_COLUMN, payload)):
        op.add_column(TABLE, sa.Column(name, sa.BigInteger(),
                                       sa.Computed(expression, persisted=True)), schema=SCHEMA)
    op.create_index("payment_requests_reconcile", TABLE, ["created_at"], schema=SCHEMA,
                    postgresql_include=[ID_HASH_COLUMN, PAYLOAD_HASH_COLUMN])
    op.drop_index("payment_requests_created_at", table_name=TABLE, schema=SCHEMA)


def downgrade() -> None:
    op.create_index("payment_requests_created_at", TABLE, ["created_at"], schema=SCHEMA)
    op.drop_index("payment_requests_reconcile", table_name=TABLE, schema=SCHEMA)
    for name in (PAYLOAD_HASH_COLUMN, ID_HASH_COLUMN):
        op.drop_column(TABLE, name, schema=SCHEMA)
