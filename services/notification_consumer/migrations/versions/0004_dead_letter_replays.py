"""dead-letter replays (one per letter, recorded before the publish) and their audit trail"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from service_kit.migration_ops import TZ, counters, optional, required, serial_id, written_at

revision = "0004"
down_revision = "0003"

SCHEMA = "notification_consumer"


def upgrade() -> None:
    op.create_table(
        "replay_audit",
        serial_id(),
        *required(actor_scope=sa.Text, action=sa.Text, reason=sa.Text, filters=postgresql.JSONB,
                  selected=sa.Integer),
        *counters("replayed", "already", "failed"),
        written_at("started_at"),
        *optional(finished_at=TZ),
        schema=SCHEMA,
    )
    op.create_table(
        "dead_letter_replays",
        # One row per letter, ever: the primary key is what makes a replay happen once.
        sa.Column("letter_id", sa.BigInteger(),
                  sa.ForeignKey(f"{SCHEMA}.dead_letters.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("replay_id", sa.Uuid(), nullable=False, unique=True),
        *required(state=sa.Text),
        sa.Column("audit_id", sa.BigInteger(), sa.ForeignKey(f"{SCHEMA}.replay_audit.id"),
                  nullable=True),
        *required(actor_scope=sa.Text),
        written_at("first_requested_at"),
        *required(lease_until=TZ),
        *counters("attempts", start="1"),
        *optional(published_at=TZ, partition=sa.Integer, offset=sa.BigInteger,
                  last_error=sa.Text),
        sa.CheckConstraint("state IN ('pending', 'published')", name="replay_state"),
        schema=SCHEMA,
    )
    op.create_index("dead_letters_created", "dead_letters", ["created_at"], schema=SCHEMA)
    op.create_index("dead_letters_event", "dead_letters", ["event_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("dead_letters_event", "dead_letters", schema=SCHEMA)
    op.drop_index("dead_letters_created", "dead_letters", schema=SCHEMA)
    op.drop_table("dead_letter_replays", schema=SCHEMA)
    op.drop_table("replay_audit", schema=SCHEMA)
