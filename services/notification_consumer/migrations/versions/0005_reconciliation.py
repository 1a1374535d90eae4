"""reconciliation: each processed event's id and payload hashes, stored, and an index by
event time that covers them, so the periodic run reads a recent window, not the table

Revision ID: 0005
Revises: 0001 (0002-0004 belong to other branches; rechain onto the newest at merge)
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

revision = "0005"
down_revision = "0001"
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


def downgrade() -> None:
    op.drop_index("processed_events_reconcile", table_name=TABLE, schema=SCHEMA)
    for name in (PAYLOAD_HASH_COLUMN, ID_HASH_COLUMN):
        op.drop_column(TABLE, name, schema=SCHEMA)
