"""published placement: the Kafka partition and offset each payment was published at, so
`GET /payments/{id}` shows when and where"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

SCHEMA = "transaction_api"
T = "payment_requests"


def upgrade() -> None:
    # Both NULL until Kafka acknowledged the event (rows published before this revision too).
    op.add_column(T, sa.Column("published_partition", sa.Integer()), schema=SCHEMA)
    op.add_column(T, sa.Column("published_offset", sa.BigInteger()), schema=SCHEMA)


def downgrade() -> None:
    op.drop_column(T, "published_offset", schema=SCHEMA)
    op.drop_column(T, "published_partition", schema=SCHEMA)
