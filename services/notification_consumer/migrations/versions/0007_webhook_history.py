"""webhook history retention: finished deliveries found by age without reading pending ones"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"

S = "notification_consumer"


def upgrade() -> None:
    op.create_index("webhook_deliveries_finished", "webhook_deliveries", ["created_at"],
                    schema=S, postgresql_where=sa.text("state <> 'pending'"))


def downgrade() -> None:
    op.drop_index("webhook_deliveries_finished", "webhook_deliveries", schema=S)
