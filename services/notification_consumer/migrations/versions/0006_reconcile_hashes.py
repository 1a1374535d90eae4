"""reconciliation hashes: each processed event's id and payload hashes, stored, and an index
by event time that covers them (it replaces 0005's plain occurred_at index)

Revision ID: 0006
Revises: 0005
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

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SCHEMA = "notification_consumer"
TABLE = "processed_events"


def upgrade() -> None:
    payload = payload_hash_sql(payload_text_sql(
        "event_id", "payer_id", "payee_id", "amount", "currency", "description", "occurred_at"))
    for name, expression in ((ID_HASH_COLUMN, id_hash_sql("event_id")),
                             (PAYLOAD_HASH_COLUMN, payload)):
        op.add_column(TABLE, sa.Column(name, sa.BigInteger(),
                                       sa.Computed(expression, persisted=True)), schema=SCHEMA)
    op.create_index("processed_events_reconcile", TABLE, ["occurred_at"], schema=SCHEMA,
                    postgresql_include=[ID_HASH_COLUMN, PAYLOAD_HASH_COLUMN])
    op.drop_index("processed_events_occurred_at", table_name=TABLE, schema=SCHEMA)


def downgrade() -> None:
    op.create_index("processed_events_occurred_at", TABLE, ["occurred_at"], schema=SCHEMA)
    op.drop_index("processed_events_reconcile", table_name=TABLE, schema=SCHEMA)
    for name in (PAYLOAD_HASH_COLUMN, ID_HASH_COLUMN):
        op.drop_column(TABLE, name, schema=SCHEMA)
