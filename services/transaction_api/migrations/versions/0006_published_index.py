"""published index: payments by the time Kafka acknowledged them, carrying their accepted
time, so reconciliation can find the minutes that received a late-published payment without
reading the table"""

from alembic import op

revision = "0006"
down_revision = "0005"

SCHEMA = "transaction_api"
T = "payment_requests"
INDEX = "payment_requests_published"


def upgrade() -> None:
    op.create_index(INDEX, T, ["published_at"], schema=SCHEMA,
                    postgresql_include=["created_at"],
                    postgresql_where="published_at IS NOT NULL")


def downgrade() -> None:
    op.drop_index(INDEX, table_name=T, schema=SCHEMA)
